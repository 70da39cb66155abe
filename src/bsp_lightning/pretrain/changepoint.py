"""ChangePointModule: the regression pretext, a per-frame change-point heatmap (paper 3.3, "regression").

The target of a clip with a boundary after frame ``mu`` (1-based) is the heatmap
``exp(-(t - mu)^2 / (2 tau))`` over its frames ``t = 1..T``
(:func:`bsp_lightning.data.synthesis.change_point_heatmap`); clips without a boundary (same-speed) have an
all-zero target. The loss is smooth-L1 between the predicted and target heatmaps; the validation metric is
the mean absolute error between the predicted change point (the heatmap's peak, as a 1-based frame) and
the true one, over the clips that have a boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.regression import MeanAbsoluteError

from bsp_lightning.models.pretext_heads import ChangePointHead
from bsp_lightning.pretrain.base import BSPModule

__all__ = ["ChangePointModule", "heatmap_peak"]


def heatmap_peak(heatmap: torch.Tensor) -> torch.Tensor:
    """The 1-based frame of each heatmap's maximum: ``(N, T) -> (N,)`` float (ties: the first)."""
    return heatmap.argmax(dim=1).float() + 1


class ChangePointModule(BSPModule):
    """Change-point regression: the backbone's per-frame features ``(N, T, D)`` give a heatmap ``(N, T)``.

    Takes the :class:`~bsp_lightning.pretrain.base.BSPModule` arguments. It was ``BSPModule(pretext="regression")``
    before it was a class of its own; configs and checkpoints that say so load as this class
    (:mod:`bsp_lightning.legacy`).
    """

    def build_heads(self) -> dict[str, nn.Module]:
        return {"heatmap": ChangePointHead(self.backbone.num_features, self.hparams.dropout)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"features": (N, D) mean of the frame features, "heatmap": (N, T)}``."""
        frames = self.backbone.forward_frames(x)
        return {"features": frames.mean(1), "heatmap": self.heads["heatmap"](frames)}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        heatmap = outputs["heatmap"].float()
        return {"loss": F.smooth_l1_loss(heatmap, batch["heatmap"].to(heatmap.dtype))}

    def build_metrics(self) -> dict[str, Metric]:
        return {"change_point_mae": MeanAbsoluteError()}

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        # clips without a boundary have no change point to find
        has_boundary = batch["change_point"] > 0
        if has_boundary.any():
            peak = heatmap_peak(outputs["heatmap"].detach())
            metrics.update(peak[has_boundary], batch["change_point"][has_boundary].float())
