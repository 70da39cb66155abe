"""DistillationModule: a student matches two frozen teachers through pointwise projections (paper Fig. 3c)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection

from bsp_lightning import legacy
from bsp_lightning.models.pretext_heads import ClassificationHead, DistillationProjections
from bsp_lightning.pretrain.base import BSPModule, action_metrics, batch_accuracy
from bsp_lightning.pretrain import frozen
from bsp_lightning.pretrain.frozen import FrozenBackbone

__all__ = ["DistillationModule"]


class DistillationModule(BSPModule):
    """Feature distillation (Fig. 3c): a student ``f_s`` matches two frozen teachers through projections.

    ``loss = feature_weight * (||f_v - h1(f_s)||^2 + ||f_b - h2(f_s)||^2) + CE`` on the clip features, with
    ``f_v`` the vanilla teacher, ``f_b`` the BSP teacher, ``h1``/``h2`` pointwise linear projections and the
    cross-entropy on the student's own head (action classes by default, as the vanilla stream).

    The teachers are loaded from their checkpoints when a fit/validate/test run starts
    (:meth:`configure_model`), kept in eval mode with no gradients, and left out of this module's checkpoints:
    a distilled checkpoint loads for feature extraction without the teacher files.

    Args:
        vanilla_checkpoint: checkpoint of the vanilla teacher: a :class:`VanillaModule` checkpoint or an
            official TSM checkpoint (see :func:`~bsp_lightning.pretrain.frozen.load_teacher`).
        bsp_checkpoint: checkpoint of the BSP teacher (a :class:`BSPModule` checkpoint).
        vanilla_dim: ``f_v`` dimension; ``None``: the student's.
        bsp_dim: ``f_b`` dimension; ``None``: the student's.
        feature_weight: weight of the two feature-matching terms.
        ce_target: ``"action"`` (``batch["action_label"]``) or ``"boundary"`` (``batch["label"]``).
        **kwargs: :class:`BSPModule` arguments.
    """

    TEACHERS = ("vanilla_teacher", "bsp_teacher")

    def __init__(
        self,
        *args: Any,
        vanilla_checkpoint: str | None = None,
        bsp_checkpoint: str | None = None,
        vanilla_dim: int | None = None,
        bsp_dim: int | None = None,
        feature_weight: float = 1.0,
        ce_target: Literal["action", "boundary"] = "action",
        **kwargs: Any,
    ) -> None:
        if ce_target not in ("action", "boundary"):
            raise ValueError(f"DistillationModule: ce_target must be 'action' or 'boundary', got {ce_target!r}")
        super().__init__(*args, **kwargs)
        self.vanilla_teacher: FrozenBackbone | None = None
        self.bsp_teacher: FrozenBackbone | None = None

    def build_heads(self) -> dict[str, nn.Module]:
        d, hp = self.backbone.num_features, self.hparams
        classes = hp.num_action_classes if hp.ce_target == "action" else hp.num_classes
        return {hp.ce_target: ClassificationHead(d, classes, hp.dropout),
                "projections": DistillationProjections(d, hp.vanilla_dim or d, hp.bsp_dim or d)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.backbone(x)
        out = {"features": features, self.hparams.ce_target: self.heads[self.hparams.ce_target](features)}
        if self.vanilla_teacher is not None and self.bsp_teacher is not None:
            out["vanilla_target"] = self.vanilla_teacher(x)
            out["bsp_target"] = self.bsp_teacher(x)
        return out

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        target = batch["action_label"] if self.hparams.ce_target == "action" else batch["label"]
        logits = outputs[self.hparams.ce_target]
        ce = F.cross_entropy(logits.float(), target)
        if "vanilla_target" not in outputs:
            raise RuntimeError(
                "DistillationModule: the teachers are not loaded; give model.vanilla_checkpoint and "
                "model.bsp_checkpoint (they are loaded when a fit/validate/test run starts)"
            )
        projections: DistillationProjections = self.heads["projections"]
        p1, p2 = projections(outputs["features"].float())
        loss_vanilla = ((outputs["vanilla_target"].float() - p1) ** 2).sum(-1).mean()
        loss_bsp = ((outputs["bsp_target"].float() - p2) ** 2).sum(-1).mean()
        return {"loss": self.hparams.feature_weight * (loss_vanilla + loss_bsp) + ce,
                "loss_vanilla": loss_vanilla, "loss_bsp": loss_bsp, "loss_ce": ce,
                "acc": batch_accuracy(logits, target)}

    def build_metrics(self) -> dict[str, Metric]:
        if self.hparams.ce_target == "action":
            return action_metrics(self.hparams.num_action_classes)
        return super().build_metrics()

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        target = batch["action_label"] if self.hparams.ce_target == "action" else batch["label"]
        metrics.update(outputs[self.hparams.ce_target].detach(), target)

    def configure_model(self) -> None:
        super().configure_model()
        stage = getattr(getattr(self._trainer, "state", None), "fn", None) if self._trainer is not None else None
        if self.vanilla_teacher is not None or stage is None or stage == "predict":
            return
        hp = self.hparams
        if hp.vanilla_checkpoint is None or hp.bsp_checkpoint is None:
            raise ValueError("DistillationModule: give both model.vanilla_checkpoint and model.bsp_checkpoint")
        self.vanilla_teacher = frozen.load_teacher(hp.vanilla_checkpoint, hp.num_segments)
        self.bsp_teacher = frozen.load_teacher(hp.bsp_checkpoint, hp.num_segments)
        projections: DistillationProjections = self.heads["projections"]
        for name, teacher, layer in (("vanilla", self.vanilla_teacher, projections.h1),
                                     ("bsp", self.bsp_teacher, projections.h2)):
            if teacher.num_features != layer.out_features:
                raise ValueError(
                    f"DistillationModule: the {name} teacher has {teacher.num_features}-d features but "
                    f"{name}_dim is {layer.out_features}; set model.{name}_dim={teacher.num_features}"
                )
        if self.hparams.channels_last:
            self.vanilla_teacher.to(memory_format=torch.channels_last)
            self.bsp_teacher.to(memory_format=torch.channels_last)

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        # solo-learn style: frozen networks are put back in eval() at every step
        for teacher in (self.vanilla_teacher, self.bsp_teacher):
            if teacher is not None:
                teacher.eval()
        return super().training_step(batch, batch_idx)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        # the teachers are reproducible from their own checkpoints; the student must load without them
        checkpoint["state_dict"] = {
            k: v for k, v in checkpoint["state_dict"].items() if not k.startswith(self.TEACHERS)
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # resuming a fit: the teachers are already rebuilt, so give strict loading their current weights
        for name in self.TEACHERS:
            teacher = getattr(self, name)
            if teacher is not None:
                checkpoint["state_dict"].update({f"{name}.{k}": v for k, v in teacher.state_dict().items()})


__getattr__ = legacy.module_getattr(__name__)
