"""Import checkpoints of the official TSM code (mit-han-lab/temporal-shift-module).

A released file is ``{'epoch', 'arch', 'state_dict', 'best_prec1'}`` whose state dict comes from
``nn.DataParallel(TSN(...))``: ``module.base_model.<torchvision ResNet>``, shifted convs under
``...conv1.net.weight`` ("blockres") or whole blocks under ``layerX.Y.net.*`` ("block"), and the classifier
``module.new_fc.*`` (or ``module.base_model.fc.*`` when trained without dropout). Torchvision and timm ResNets
share parameter names, so the keys map one to one onto :class:`~bsp_lightning.models.tsm.TSMClassifier`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from bsp_lightning.models.checkpoints import read_checkpoint, unwrap_state_dict
from bsp_lightning.models.tsm import TSMClassifier, shifted_block_indices

logger = logging.getLogger(__name__)

# torchvision depths; timm uses the same names for the same nets.
_ARCH_BY_LAYOUT: dict[tuple[bool, tuple[int, ...]], list[str]] = {
    (False, (2, 2, 2, 2)): ["resnet18"],
    (False, (3, 4, 6, 3)): ["resnet34"],
    (True, (3, 4, 6, 3)): ["resnet50", "resnext50_32x4d", "wide_resnet50_2"],
    (True, (3, 4, 23, 3)): ["resnet101", "resnext101_32x8d", "wide_resnet101_2"],
    (True, (3, 8, 36, 3)): ["resnet152"],
}
_BLOCK_KEY = re.compile(r"^base_model\.layer([1-4])\.(\d+)\.(net\.)?")


class OfficialCheckpointError(ValueError):
    """An official TSM checkpoint whose layout this loader does not recognise."""


def _layout(state: Mapping[str, torch.Tensor], source: str) -> tuple[str | None, tuple[int, ...], bool]:
    """Infer (shift place, blocks per stage, bottleneck) from the backbone keys."""
    blocks: list[set[int]] = [set() for _ in range(4)]
    block_wrapped: set[tuple[int, int]] = set()
    conv_shifted: set[tuple[int, int]] = set()
    for key in state:
        match = _BLOCK_KEY.match(key)
        if not match:
            continue
        stage, idx = int(match.group(1)) - 1, int(match.group(2))
        blocks[stage].add(idx)
        if match.group(3):
            block_wrapped.add((stage, idx))
        if ".conv1.net." in key:
            conv_shifted.add((stage, idx))
    if any(not b for b in blocks):
        raise OfficialCheckpointError(f"{source}: no ResNet stages layer1..layer4 under base_model.*")
    depths = tuple(max(b) + 1 for b in blocks)
    bottleneck = any(".conv3." in k for k in state if k.startswith("base_model.layer1.0."))
    if block_wrapped and conv_shifted:
        raise OfficialCheckpointError(f"{source}: mixes 'block' and 'blockres' shift layouts")
    if block_wrapped:
        place: str | None = "block"
        expected = {(s, i) for s in range(4) for i in range(depths[s])}
        found = block_wrapped
    elif conv_shifted:
        place = "blockres"
        expected = {(s, i) for s, idx in enumerate(shifted_block_indices(depths)) for i in idx}
        found = conv_shifted
    else:
        place, expected, found = "none", set(), set()
    if found != expected:
        odd = sorted(found ^ expected)[:5]
        raise OfficialCheckpointError(
            f"{source}: shifted blocks do not follow the official {place!r} rule (differing at "
            f"{[f'layer{s + 1}.{i}' for s, i in odd]})"
        )
    return place, depths, bottleneck


def _filename_options(name: str) -> dict[str, Any]:
    """Options encoded in official file names, e.g. ``TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50``."""
    opts: dict[str, Any] = {}
    parts = Path(name).name.split("_")
    for i, part in enumerate(parts):
        if re.fullmatch(r"shift\d+", part):
            opts["shift_div"] = int(part[len("shift") :])
            if i + 1 < len(parts):
                opts["shift_place"] = parts[i + 1]
        elif re.fullmatch(r"segment\d+", part):
            opts["num_segments"] = int(part[len("segment") :])
    return opts


def _to_tsm_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if k.startswith("base_model.fc."):  # trained with dropout=0: the classifier stays inside base_model
            k = "new_fc." + k[len("base_model.fc.") :]
        elif k.startswith("base_model.classifier."):  # renamed by the official test script too
            k = "new_fc." + k[len("base_model.classifier.") :]
        out[k] = v
    return out


def load_official_tsm(
    checkpoint: str | Path | Mapping[str, Any],
    num_segments: int = 8,
    shift_div: int | None = None,
    shift_place: str | None = None,
    arch: str | None = None,
    dropout: float = 0.5,
    source: str | Path | None = None,
) -> TSMClassifier:
    """Build a :class:`TSMClassifier` from an official TSM checkpoint, in eval mode.

    ``model(x)`` with ``x`` a normalised float clip ``(N, T, 3, H, W)`` (ImageNet mean/std) gives the
    official logits ``(N, num_classes)`` (average of the per-frame logits), and ``model.features(x)`` the
    pooled ``(N, D)`` features before ``new_fc``. BatchNorm running statistics are loaded.

    Args:
        checkpoint: path of a released file, the loaded file, or a plain (``module.``-prefixed or not)
            state dict.
        num_segments: frames per clip at inference (the official test script also builds the net with the
            test segment count; a different count from the file name gives a warning).
        shift_div: shifted channel fraction ``1 / shift_div``. ``None``: from the file name
            (``..._shift8_...``), else 8. Not stored in the weights, so it cannot be checked.
        shift_place: "blockres", "block" or "none"; ``None`` infers it from the keys (a given value must agree).
        arch: timm ResNet name; ``None`` uses the file's ``arch`` entry or infers it from the block layout.
        dropout: dropout before ``new_fc`` when the model is put back in training mode.
        source: the file a ``checkpoint`` mapping was read from (a
            :class:`~bsp_lightning.models.checkpoints.CheckpointInfo`'s ``path``): named in messages, and its
            name gives the options above as for a path.

    Raises:
        FileNotFoundError: the path does not exist.
        OfficialCheckpointError: the keys are not an official TSM/TSN ResNet layout.
    """
    is_path = isinstance(checkpoint, (str, Path))
    file_name = str(checkpoint) if is_path else (None if source is None else str(source))
    source = file_name or "official TSM state dict"
    obj = read_checkpoint(checkpoint, "official TSM checkpoint") if is_path else checkpoint
    try:
        state = _to_tsm_keys(unwrap_state_dict(obj, source))
    except ValueError as err:
        raise OfficialCheckpointError(str(err)) from err
    file_arch = obj.get("arch") if isinstance(obj, Mapping) and isinstance(obj.get("arch"), str) else None

    foreign = [k for k in state if not (k.startswith("base_model.") or k.startswith("new_fc."))]
    if foreign or "new_fc.weight" not in state:
        raise OfficialCheckpointError(
            f"{source}: not an official TSM layout (base_model.*, new_fc.*): "
            + (f"unexpected keys {foreign[:5]}" if foreign else "no classifier new_fc.weight / base_model.fc.weight")
        )
    place, depths, bottleneck = _layout(state, source)
    if shift_place is not None and shift_place != place:
        raise OfficialCheckpointError(f"{source}: shift_place={shift_place!r} given, but the keys are {place!r}")

    named = _filename_options(file_name) if file_name else {}
    if shift_div is None:
        shift_div = named.get("shift_div", 8)
    elif "shift_div" in named and named["shift_div"] != shift_div:
        warnings.warn(f"{source}: file name says shift{named['shift_div']} but shift_div={shift_div} was given")
    if named.get("shift_place") in ("block", "blockres") and named["shift_place"] != place:
        warnings.warn(f"{source}: file name says {named['shift_place']!r} but the keys are {place!r}; using the keys")
    if "num_segments" in named and named["num_segments"] != num_segments:
        warnings.warn(
            f"{source}: trained with {named['num_segments']} segments, loading with num_segments={num_segments} "
            "(allowed, as in the official test script, but accuracy may differ)"
        )

    candidates = [arch] if arch else _ARCH_BY_LAYOUT.get((bottleneck, depths), [])
    if file_arch and not arch and file_arch in candidates:
        candidates = [file_arch] + [c for c in candidates if c != file_arch]
    if not candidates:
        kind = "Bottleneck" if bottleneck else "BasicBlock"
        raise OfficialCheckpointError(f"{source}: no known ResNet with {kind} depths {depths}; pass arch=")
    num_classes = state["new_fc.weight"].shape[0]
    errors = []
    for name in candidates:
        model = TSMClassifier(
            num_classes=num_classes,
            dropout=dropout,
            arch=name,
            num_segments=num_segments,
            shift_div=shift_div,
            shift_place=place,
        )
        target = model.state_dict()
        missing = sorted(set(target) - set(state))
        unexpected = sorted(set(state) - set(target))
        shapes = [k for k in set(target) & set(state) if target[k].shape != state[k].shape]
        if not (missing or unexpected or shapes):
            model.load_state_dict(state, strict=True)
            logger.info("loaded official TSM %s (%s, %d classes) from %s", name, place, num_classes, source)
            return model.eval()
        errors.append(
            f"{name}: missing {missing[:5]}, unexpected {unexpected[:5]}, shape mismatch {sorted(shapes)[:3]}"
        )
    raise OfficialCheckpointError(f"{source}: keys do not match " + "; ".join(errors))
