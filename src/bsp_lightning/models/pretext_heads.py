"""Pretext heads on top of the TSM backbone features: boundary, change-point, action and distillation projections
(paper 3.3, 3.4). "Head" alone means a downstream head (:mod:`bsp_lightning.heads`).

Linear layers start as in the official TSM ``new_fc``: weights ``N(0, 0.001)``, zero bias.
"""

from __future__ import annotations

import torch
from torch import nn


def _init_linear(layer: nn.Linear | nn.Conv1d) -> None:
    nn.init.normal_(layer.weight, 0.0, 0.001)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class ClassificationHead(nn.Module):
    """Dropout then a linear classifier on clip features: the boundary-type pretext head.

    Args:
        in_features: feature dimension ``D``.
        num_classes: 4 for the 4-way boundary task, 2 for a binary pair.
        dropout: dropout probability before the linear layer (TSM recipe: 0.5).
    """

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_classes)
        _init_linear(self.fc)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map ``(N, D)`` clip features to ``(N, num_classes)`` logits."""
        return self.fc(self.dropout(features))


class ActionHead(ClassificationHead):
    """Action-classification head for vanilla pre-training and the two-head design (Fig. 3b).

    Identical in form to the official TSM classifier (dropout, ``new_fc``, segment average): since the
    layer is linear, classifying the averaged clip features equals averaging the per-frame logits.
    """


class ChangePointHead(nn.Module):
    """Per-frame change-point regression: ``(N, T, D)`` frame features to an ``(N, T)`` heatmap.

    The prediction ``r_t`` is compared with ``y_t = exp(-(t - mu)^2 / (2 tau))`` by a smooth-L1 loss.

    Args:
        in_features: feature dimension ``D``.
        dropout: dropout probability on the frame features.
        kernel_size: temporal extent of the regressor; 1 (default) is a pointwise linear layer per frame,
            an odd size > 1 lets each frame see its neighbours (same-length output).
    """

    def __init__(self, in_features: int, dropout: float = 0.5, kernel_size: int = 1) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"ChangePointHead: kernel_size must be odd and >= 1, got {kernel_size}")
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(in_features, 1, kernel_size, padding=kernel_size // 2)
        _init_linear(self.conv)

    def forward(self, frame_features: torch.Tensor) -> torch.Tensor:
        """Map ``(N, T, D)`` to ``(N, T)``."""
        if frame_features.dim() != 3:
            raise ValueError(f"ChangePointHead expects (N, T, D), got shape {tuple(frame_features.shape)}")
        x = self.dropout(frame_features).transpose(1, 2)
        return self.conv(x).squeeze(1)


class DistillationProjections(nn.Module):
    """The pointwise projections ``h1`` (to the vanilla teacher) and ``h2`` (to the BSP teacher), Fig. 3c.

    They act on the last dimension, so clip features ``(N, D)`` and frame features ``(N, T, D)`` both work
    (on frames, a linear layer is a 1x1 convolution).

    Args:
        student_dim: student feature dimension.
        vanilla_dim: vanilla teacher feature dimension (``f_v``).
        bsp_dim: BSP teacher feature dimension (``f_b``); defaults to ``vanilla_dim``.
    """

    def __init__(self, student_dim: int, vanilla_dim: int, bsp_dim: int | None = None) -> None:
        super().__init__()
        self.h1 = nn.Linear(student_dim, vanilla_dim)
        self.h2 = nn.Linear(student_dim, vanilla_dim if bsp_dim is None else bsp_dim)

    def forward(self, student: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(h1(f_s), h2(f_s))``."""
        return self.h1(student), self.h2(student)

    def matching_loss(
        self, student: torch.Tensor, vanilla: torch.Tensor, bsp: torch.Tensor
    ) -> torch.Tensor:
        """``||f_v - h1(f_s)||^2 + ||f_b - h2(f_s)||^2``: squared L2 over features, mean over samples.

        Args:
            student: ``f_s``, ``(N, D_s)`` (or ``(N, T, D_s)``: every frame counts as a sample).
            vanilla: ``f_v``, the frozen vanilla teacher's features, same leading shape.
            bsp: ``f_b``, the frozen BSP teacher's features, same leading shape.
        """
        p1, p2 = self(student)
        return ((vanilla - p1) ** 2).sum(-1).mean() + ((bsp - p2) ** 2).sum(-1).mean()
