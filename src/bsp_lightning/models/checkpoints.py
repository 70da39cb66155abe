"""Checkpoint files: reading weights, cleaning their keys, telling the kinds apart, frozen backbones.

Two kinds of file hold a video backbone:

* ``"bsp"``: a Lightning ``.ckpt`` of a :class:`~bsp_lightning.module.BSPModule` (any variant). The rule:
  the file is a dict with ``pytorch-lightning_version`` (every Lightning checkpoint), ``hyper_parameters`` or
  the class key this library stores (:data:`CLASS_KEY`). The extension does not matter.
* ``"official_tsm"``: anything else, read as a released file of the official TSM code
  (:func:`~bsp_lightning.models.official.load_official_tsm`).

Key cleaning (:func:`clean_key`) is the one rule every loader applies (official TSM files, ImageNet weights,
BSP checkpoints): weights saved from an ``nn.DataParallel``/DDP model carry a leading ``module.``, those saved
from a ``torch.compile``d model carry ``_orig_mod.`` (leading, or in front of a compiled submodule); both are
removed in any order and any number.

:class:`FrozenBackbone` is the one frozen feature extractor: distillation teachers and extraction streams
are both a backbone in eval mode without gradients, fed an already-normalised clip (so a two-stream
extraction normalises each clip once).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

__all__ = [
    "CLASS_KEY",
    "FrozenBackbone",
    "checkpoint_kind",
    "clean_key",
    "clean_state_dict",
    "datamodule_hparams",
    "load_backbone",
    "peek_checkpoint",
    "read_checkpoint",
    "unwrap_state_dict",
]

# Stored in every BSPModule checkpoint so that BSPModule.load_from_checkpoint rebuilds the right variant.
CLASS_KEY = "bsp_lightning_class"
_WRAPPERS = ("module.", "_orig_mod.")


def clean_key(key: str) -> str:
    """``key`` without the ``module.`` / ``_orig_mod.`` prefixes of DataParallel, DDP and ``torch.compile``.

    Leading prefixes are removed in any order and number (``module._orig_mod.module.x -> x``); an
    ``_orig_mod.`` further in (a compiled submodule: ``backbone._orig_mod.layer1...``) is removed too. An
    inner ``module.`` is kept: it can be a real attribute name.
    """
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPERS:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key.replace("._orig_mod.", ".")


def clean_state_dict(state: Mapping[str, Any], source: str = "state dict") -> dict[str, Any]:
    """:func:`clean_key` on every key.

    Raises:
        ValueError: two keys clean to the same name (the file holds a wrapped and an unwrapped copy).
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        name = clean_key(key)
        if name in out:
            raise ValueError(f"{source}: keys {key!r} and another one both clean to {name!r}")
        out[name] = value
    return out


def _read_weights(path: Path) -> Any:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors have no common base class worth catching separately
        raise ValueError(f"{path}: cannot read as a PyTorch weights file ({type(err).__name__}: {err})") from err


def read_checkpoint(path: str | Path, what: str) -> Any:
    """Load a weights file on the CPU, safely (``weights_only``), with clear errors.

    Args:
        path: local file (``.pth``, ``.pt``, ``.tar``, ``.bin`` or ``.safetensors``).
        what: what the file should contain, for the error message.

    Raises:
        FileNotFoundError: no such file (nothing is downloaded).
        ValueError: not a readable weights file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} file not found (nothing is downloaded; give a local path)")
    return _read_weights(path)


def unwrap_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint object, keys cleaned by :func:`clean_key`.

    Accepts a plain state dict or a dict holding one under ``state_dict``, ``model`` or ``state_dict_ema``.

    Raises:
        ValueError: no mapping of names to tensors.
    """
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "state_dict_ema"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{source}: not a state dict (expected a mapping of parameter names to tensors)")
    return clean_state_dict(obj, source)


def peek_checkpoint(path: str | Path) -> Any:
    """The top-level object of a checkpoint, its tensors memory-mapped where the format allows.

    Lightning checkpoints may hold hyper-parameter objects that ``weights_only`` refuses, so this is a full
    unpickling: only for files the user chose to load anyway.

    Raises:
        ValueError: not a readable PyTorch file.
    """
    path = Path(path).expanduser()
    error: Exception | None = None
    for mmap in (True, False):  # mmap reads only what is asked of zip files; legacy (pre-1.6) files need False
        try:
            return torch.load(path, map_location="cpu", mmap=mmap, weights_only=False)
        except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
            error = err
    raise ValueError(f"{path}: not a readable PyTorch checkpoint ({type(error).__name__}: {error})")


def checkpoint_kind(path: str | Path) -> str:
    """``"bsp"`` for a Lightning checkpoint of a BSPModule, ``"official_tsm"`` for anything else.

    See the module docstring for the rule. An unreadable file is ``"official_tsm"`` (whose loader then
    reports it).
    """
    try:
        obj = peek_checkpoint(path)
    except ValueError:
        return "official_tsm"
    is_bsp = isinstance(obj, Mapping) and any(
        k in obj for k in ("pytorch-lightning_version", "hyper_parameters", CLASS_KEY)
    )
    return "bsp" if is_bsp else "official_tsm"


def datamodule_hparams(path: str | Path) -> dict[str, Any]:
    """The DataModule hyper-parameters a Lightning checkpoint recorded (``{}`` when none)."""
    obj = peek_checkpoint(path)
    hparams = obj.get("datamodule_hyper_parameters") if isinstance(obj, Mapping) else None
    return dict(hparams) if isinstance(hparams, Mapping) else {}


class FrozenBackbone(nn.Module):
    """A frozen feature extractor: ``forward(x) -> (N, D)`` for a normalised float clip ``(N, T, 3, H, W)``.

    It stays in eval mode (Lightning puts whole modules back in train mode every epoch; BatchNorm statistics
    must not drift) and has no gradients.

    Args:
        net: the network.
        num_features: feature dimension ``D``.
        method: the method of ``net`` that returns clip features (``"forward"`` for a TSM backbone,
            ``"features"`` for an official TSM classifier, before ``new_fc``).
    """

    def __init__(self, net: nn.Module, num_features: int, method: str = "forward") -> None:
        super().__init__()
        self.net = net
        self.method = method
        self.num_features = int(num_features)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenBackbone:
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(x)


def load_backbone(path: str | Path, num_segments: int) -> tuple[FrozenBackbone, str]:
    """A frozen backbone from a BSPModule checkpoint (any variant) or an official TSM checkpoint.

    The temporal shift needs the clip length: a backbone trained with another ``num_segments`` is rebuilt
    for ``num_segments`` (the official test script does the same), with a warning.

    Returns:
        ``(backbone, kind)``, ``kind`` from :func:`checkpoint_kind`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError (or the loader's error): the file is not loadable as its kind.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (nothing is downloaded; give a local path)")
    kind = checkpoint_kind(path)
    if kind == "bsp":
        from bsp_lightning.module import BSPModule

        net: nn.Module = BSPModule.load_from_checkpoint(path, map_location="cpu").backbone
        method = "forward"
    else:
        from bsp_lightning.models.official import load_official_tsm

        net = load_official_tsm(path, num_segments=num_segments)
        method = "features"
    if net.num_segments != num_segments:
        logger.warning("%s: trained with %d frames per clip, used with %d", path, net.num_segments, num_segments)
        net.set_num_segments(num_segments)
    return FrozenBackbone(net, net.num_features, method), kind
