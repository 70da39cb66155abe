"""ImageNet normalisation of ``uint8`` clips, done on the accelerator by whatever runs the backbone."""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def register_imagenet_stats(module: nn.Module) -> None:
    """Give ``module`` non-persistent ``mean``/``std`` buffers shaped for ``(N, T, C, H, W)`` clips.

    Buffers follow the module to its device and dtype; non-persistent keeps them out of checkpoints.
    """
    module.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1), persistent=False)
    module.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1), persistent=False)


def normalize_clip(clip: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``uint8`` in ``[0, 255]`` -> float ``(x / 255 - mean) / std``; float input is taken as already in ``[0, 1]``."""
    x = clip.float()
    if clip.dtype == torch.uint8:
        x = x / 255.0
    return (x - mean) / std
