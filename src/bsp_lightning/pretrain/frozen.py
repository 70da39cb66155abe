"""Frozen backbones from checkpoints: the distillation teachers and the extraction streams.

Both are a backbone in eval mode without gradients, fed an already-normalised clip (so a two-stream extraction
normalises each clip once). The backbone comes from a :class:`~bsp_lightning.module.BSPModule` checkpoint of any
variant (its ``backbone``) or from an official TSM file (``features``, before ``new_fc``); the file is read once,
by :func:`~bsp_lightning.models.checkpoints.inspect_checkpoint`, and its :class:`CheckpointInfo` is passed here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from bsp_lightning.models.checkpoints import CheckpointInfo, inspect_checkpoint
from bsp_lightning.models.official import load_official_tsm
from bsp_lightning.pretrain.base import BSPModule

logger = logging.getLogger(__name__)

__all__ = ["FrozenBackbone", "load_backbone", "load_teacher"]


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


def load_backbone(checkpoint: CheckpointInfo | str | Path, snippet_length: int) -> tuple[FrozenBackbone, str]:
    """A frozen backbone from a BSPModule checkpoint (any variant) or an official TSM checkpoint.

    The temporal shift needs the clip length: a backbone trained with another number of frames is rebuilt for
    ``snippet_length`` (the official test script does the same), with a warning.

    Args:
        checkpoint: the file as read by :func:`~bsp_lightning.models.checkpoints.inspect_checkpoint` (a path is
            read here).
        snippet_length: frames per clip (per snippet, for an extraction).

    Returns:
        ``(backbone, kind)``, ``kind`` ``"bsp"`` or ``"official_tsm"``.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError (or the loader's error): the file is not loadable as its kind.
    """
    info = checkpoint if isinstance(checkpoint, CheckpointInfo) else inspect_checkpoint(checkpoint)
    if info.obj is None:
        raise ValueError(f"{info.path}: {info.error}")
    if info.kind == "bsp":
        net: nn.Module = BSPModule.load_from_checkpoint(info, map_location="cpu").backbone
        method = "forward"
    else:
        net = load_official_tsm(info.obj, num_segments=snippet_length, source=info.path)
        method = "features"
    if net.num_segments != snippet_length:
        logger.warning("%s: trained with %d frames per clip, used with %d", info.path, net.num_segments,
                       snippet_length)
        net.set_num_segments(snippet_length)
    return FrozenBackbone(net, net.num_features, method), info.kind


def load_teacher(path: str | Path, num_segments: int) -> FrozenBackbone:
    """A frozen distillation teacher from a BSPModule-family or an official TSM checkpoint (:func:`load_backbone`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    return load_backbone(path, num_segments)[0]
