"""TwoHeadModule: one backbone with a boundary head and an action head, a weighted joint loss (paper Fig. 3b)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from bsp_lightning.models.pretext_heads import ActionHead, ClassificationHead
from bsp_lightning.pretrain.base import BSPModule, action_metrics, batch_accuracy

__all__ = ["TwoHeadModule"]


class TwoHeadModule(BSPModule):
    """Two-head design (Fig. 3b): one shared backbone, a boundary head and an action head.

    ``loss = action_weight * CE(action) + bsp_weight * CE(boundary)``.

    Args:
        bsp_weight: weight of the boundary-classification loss.
        action_weight: weight of the action-classification loss.
        **kwargs: :class:`BSPModule` arguments.
    """

    def __init__(self, *args: Any, bsp_weight: float = 1.0, action_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def build_heads(self) -> dict[str, nn.Module]:
        d, hp = self.backbone.num_features, self.hparams
        return {"boundary": ClassificationHead(d, hp.num_classes, hp.dropout),
                "action": ActionHead(d, hp.num_action_classes, hp.dropout)}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        bsp = F.cross_entropy(outputs["boundary"].float(), batch["label"])
        action = F.cross_entropy(outputs["action"].float(), batch["action_label"])
        return {"loss": self.hparams.action_weight * action + self.hparams.bsp_weight * bsp,
                "loss_bsp": bsp, "loss_action": action,
                "acc": batch_accuracy(outputs["boundary"], batch["label"]),
                "acc_action": batch_accuracy(outputs["action"], batch["action_label"])}

    def build_metrics(self) -> dict[str, Metric]:
        metrics = super().build_metrics()
        metrics.update({f"action_{k}": v for k, v in action_metrics(self.hparams.num_action_classes).items()})
        return metrics

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        boundary, action = outputs["boundary"].detach(), outputs["action"].detach()
        for name, metric in metrics.items(keep_base=True):
            if name.startswith("action_"):
                metric.update(action, batch["action_label"])
            else:
                metric.update(boundary, batch["label"])
