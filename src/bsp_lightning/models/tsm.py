"""Temporal Shift Module (TSM) on timm ResNets.

The shift follows the official code (mit-han-lab/temporal-shift-module, ``ops/temporal_shift.py``):
``fold = C // shift_div``; channels ``[0, fold)`` take frame ``t + 1``, channels ``[fold, 2 fold)`` take
frame ``t - 1``, the rest stay; clip ends are zero-filled and clips never mix. With the default
``shift_place="blockres"`` the shift wraps ``conv1`` of the residual branch of every block, so the module
and state-dict names (``layer1.0.conv1.net.weight``) are those of the official checkpoints.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import timm
import torch
from timm.models.resnet import ResNet
from torch import nn

from bsp_lightning.models.checkpoints import read_checkpoint, unwrap_state_dict

logger = logging.getLogger(__name__)

SHIFT_PLACES = ("blockres", "block", "none")


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 8) -> torch.Tensor:
    """Shift a fraction of the channels one frame forward and one frame backward in time.

    Args:
        x: ``(N * T, C, H, W)`` frames, clip-major (the ``T`` frames of a clip are consecutive).
        num_segments: ``T``, the number of frames per clip.
        shift_div: the shifted fraction in each direction is ``1 / shift_div`` of the channels.

    Returns:
        A new tensor of the shape, dtype and memory format of ``x``.

    Raises:
        ValueError: if ``x`` is not 4-D or its first dimension is not a multiple of ``num_segments``.
    """
    if x.dim() != 4:
        raise ValueError(f"temporal_shift expects (N*T, C, H, W) frames, got shape {tuple(x.shape)}")
    nt, c, h, w = x.shape
    if num_segments < 1 or nt % num_segments:
        raise ValueError(f"temporal_shift: {nt} frames is not a multiple of num_segments={num_segments}")
    fold = c // shift_div
    x5 = x.view(nt // num_segments, num_segments, c, h, w)
    # One allocation plus slice copies (no torch.roll, no zeros_like over the whole tensor): only the two
    # vacated end slices are zero-filled.
    out = torch.empty_like(x5)
    out[:, :-1, :fold] = x5[:, 1:, :fold]
    out[:, -1:, :fold] = 0
    out[:, 1:, fold : 2 * fold] = x5[:, :-1, fold : 2 * fold]
    out[:, :1, fold : 2 * fold] = 0
    out[:, :, 2 * fold :] = x5[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    """Apply :func:`temporal_shift` to the input of ``net`` (the official wrapper, child named ``net``).

    Args:
        net: the wrapped layer (a block's ``conv1`` for "blockres", a whole block for "block").
        num_segments: frames per clip.
        shift_div: shifted channel fraction per direction is ``1 / shift_div``.
    """

    def __init__(self, net: nn.Module, num_segments: int = 8, shift_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))

    def extra_repr(self) -> str:
        return f"num_segments={self.num_segments}, shift_div={self.shift_div}"


def shifted_block_indices(num_blocks: tuple[int, ...]) -> list[list[int]]:
    """Indices of the shifted blocks per stage under the official "blockres" rule.

    The official code shifts every block, except for very deep nets (``layer3`` with >= 23 blocks, i.e.
    ResNet-101/152) where it shifts every other block of every stage.

    Args:
        num_blocks: number of blocks in ``layer1`` .. ``layer4``.
    """
    n_round = 2 if num_blocks[2] >= 23 else 1
    return [[i for i in range(n) if i % n_round == 0] for n in num_blocks]


def _create_resnet(arch: str, drop_path_rate: float) -> ResNet:
    try:
        net = timm.create_model(arch, pretrained=False, num_classes=0, drop_path_rate=drop_path_rate)
    except RuntimeError as err:  # timm raises RuntimeError("Unknown model ...")
        raise ValueError(f"TSM: unknown timm architecture {arch!r} ({err})") from err
    if not isinstance(net, ResNet):
        raise ValueError(
            f"TSM: architecture {arch!r} is a {type(net).__name__}, not a timm ResNet; use a ResNet-family "
            "name such as resnet18, resnet50, resnet101, resnext50_32x4d or wide_resnet50_2"
        )
    return net


class TSM(nn.Module):
    """TSM backbone: a timm ResNet with temporal shifts, mapping clips to features.

    Args:
        arch: timm ResNet-family name (``resnet18``, ``resnet50``, ``resnet101``, ``resnext50_32x4d``...).
        num_segments: frames per clip ``T``; clips must have exactly this many frames
            (change it later with :meth:`set_num_segments`).
        shift_div: shifted channel fraction per direction is ``1 / shift_div`` (official default 8).
        shift_place: "blockres" (shift inside the residual branch, before ``conv1``; official default),
            "block" (shift the block input, so the identity path is shifted too) or "none" (plain TSN).
        pretrained: local path of ImageNet weights for the 2D ResNet (timm or torchvision state dict,
            ``.pth``/``.pt``/``.bin``/``.safetensors``). Nothing is downloaded.
        drop_path_rate: stochastic depth rate passed to timm.

    Attributes:
        base_model: the timm ResNet with the shifts inserted (classifier removed).
        num_features: feature dimension ``D`` (512 for ResNet-18/34, 2048 for ResNet-50/101).
    """

    def __init__(
        self,
        arch: str = "resnet18",
        num_segments: int = 8,
        shift_div: int = 8,
        shift_place: str = "blockres",
        pretrained: str | Path | None = None,
        drop_path_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if shift_place not in SHIFT_PLACES:
            raise ValueError(f"TSM: shift_place must be one of {SHIFT_PLACES}, got {shift_place!r}")
        if num_segments < 1 or shift_div < 1:
            raise ValueError(f"TSM: num_segments and shift_div must be >= 1, got {num_segments}, {shift_div}")
        self.arch = arch
        self.shift_div = shift_div
        self.shift_place = shift_place
        self._num_segments = num_segments
        self.base_model = _create_resnet(arch, drop_path_rate)
        self.num_features: int = self.base_model.num_features
        self._insert_shifts()
        if pretrained is not None:
            load_imagenet_weights(self, pretrained)

    def _insert_shifts(self) -> None:
        stages = [getattr(self.base_model, f"layer{i}") for i in range(1, 5)]
        if self.shift_place == "blockres":
            for stage, shifted in zip(stages, shifted_block_indices(tuple(len(s) for s in stages))):
                for i in shifted:
                    stage[i].conv1 = TemporalShift(stage[i].conv1, self._num_segments, self.shift_div)
        elif self.shift_place == "block":
            for stage in stages:
                for i in range(len(stage)):
                    stage[i] = TemporalShift(stage[i], self._num_segments, self.shift_div)

    @property
    def num_segments(self) -> int:
        """Frames per clip that the shifts assume."""
        return self._num_segments

    def set_num_segments(self, num_segments: int) -> None:
        """Change the clip length (e.g. test with 16 frames a model trained with 8, as the official code)."""
        if num_segments < 1:
            raise ValueError(f"TSM: num_segments must be >= 1, got {num_segments}")
        self._num_segments = num_segments
        for m in self.modules():
            if isinstance(m, TemporalShift):
                m.num_segments = num_segments

    def forward_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame features.

        Args:
            x: float clips ``(N, T, C, H, W)``, already normalised. Frames laid out channels-last
                (e.g. ``x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)``) stay channels-last.

        Returns:
            ``(N, T, D)`` globally pooled per-frame features.
        """
        if x.dim() != 5:
            raise ValueError(f"TSM expects clips (N, T, C, H, W), got shape {tuple(x.shape)}")
        n, t = x.shape[:2]
        if t != self._num_segments:
            raise ValueError(
                f"TSM was built with num_segments={self._num_segments} but got clips of {t} frames; "
                f"build it with num_segments={t} or call set_num_segments({t})"
            )
        frames = self.base_model.forward_features(x.flatten(0, 1))
        return self.base_model.forward_head(frames, pre_logits=True).view(n, t, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Clip features ``(N, D)``: the temporal average of :meth:`forward_frames`."""
        return self.forward_frames(x).mean(dim=1)


class TSMClassifier(TSM):
    """TSM with the official TSN classifier: dropout, ``new_fc`` per frame, average over frames.

    The state-dict keys are those of the official ``TSN`` model without the ``module.`` prefix
    (``base_model.*``, ``new_fc.*``). Since ``new_fc`` is linear, averaging its per-frame outputs equals
    applying it to the averaged features, which is what :meth:`forward` does.

    Args:
        num_classes: number of action classes.
        dropout: dropout on the per-frame features before ``new_fc`` (identity in eval mode).
        **kwargs: forwarded to :class:`TSM`.
    """

    def __init__(self, num_classes: int, dropout: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        self.new_fc = nn.Linear(self.num_features, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled clip features ``(N, D)`` before ``new_fc`` (the features used for extraction)."""
        return self.forward_frames(x).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, num_classes)``: the segment consensus (average) of the per-frame logits."""
        return self.new_fc(self.dropout(self.forward_frames(x)).mean(dim=1))


def _plain_name(key: str) -> str:
    # The shift wrappers add a `.net` level that 2D ImageNet weights do not have.
    return key.replace(".net.", ".")


def load_imagenet_weights(model: TSM, weights: str | Path | Mapping[str, torch.Tensor]) -> None:
    """Load 2D ImageNet ResNet weights (timm or torchvision names) into a TSM backbone.

    The classifier (``fc.*``) of the file is ignored. Everything else must match exactly.

    Args:
        model: the TSM to initialise.
        weights: local path or an already-loaded state dict.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a state dict, or its keys or shapes do not match ``model.arch``.
    """
    source = str(weights) if isinstance(weights, (str, Path)) else "ImageNet state dict"
    obj = read_checkpoint(weights, "ImageNet weights") if isinstance(weights, (str, Path)) else weights
    state = {k: v for k, v in unwrap_state_dict(obj, source).items() if not k.startswith("fc.")}
    target = model.base_model.state_dict()
    by_plain = {_plain_name(k): k for k in target}
    missing = sorted(set(by_plain) - set(state))
    unexpected = sorted(set(state) - set(by_plain))
    if missing or unexpected:
        raise ValueError(
            f"{source}: keys do not match a timm/torchvision {model.arch}: "
            f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
        )
    mapped = {by_plain[k]: v for k, v in state.items()}
    bad = [k for k, v in mapped.items() if v.shape != target[k].shape]
    if bad:
        k = bad[0]
        raise ValueError(
            f"{source}: shape mismatch for {len(bad)} tensors, e.g. {_plain_name(k)}: "
            f"file {tuple(mapped[k].shape)} vs {model.arch} {tuple(target[k].shape)}"
        )
    model.base_model.load_state_dict(mapped, strict=True)
    logger.info("loaded ImageNet weights for %s from %s", model.arch, source)
