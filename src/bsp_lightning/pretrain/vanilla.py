"""VanillaModule: plain action-classification pre-training on the source videos (the paper's baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from bsp_lightning.models.pretext_heads import ActionHead
from bsp_lightning.pretrain.base import BSPModule, action_metrics, batch_accuracy

__all__ = ["VanillaModule"]


class VanillaModule(BSPModule):
    """Vanilla pre-training: action classification of the source videos (target ``batch["action_label"]``).

    With the DataModule in action mode the clips are plain clips of one video; in boundary mode the target
    is the class of the first source video.
    """

    def build_heads(self) -> dict[str, nn.Module]:
        return {"action": ActionHead(self.backbone.num_features, self.hparams.num_action_classes, self.hparams.dropout)}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        logits = outputs["action"]
        return {"loss": F.cross_entropy(logits.float(), batch["action_label"]),
                "acc": batch_accuracy(logits, batch["action_label"])}

    def build_metrics(self) -> dict[str, Metric]:
        return action_metrics(self.hparams.num_action_classes)

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        metrics.update(outputs["action"].detach(), batch["action_label"])
