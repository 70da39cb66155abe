"""BSPModule: the pre-training LightningModule, a small base class built to be subclassed (paper 3.3).

Every variant overrides a few hooks (solo-learn style):

==========================  ===========================================================================
hook                        default
==========================  ===========================================================================
``build_backbone()``        :class:`~bsp_lightning.models.tsm.TSM` on a timm ResNet
``build_heads()``           ``{"boundary": ClassificationHead}``
``forward(x)``              ``{"features": (N, D), <head name>: head output}`` for a normalised clip
``compute_loss(out, b)``    ``{"loss": ..., <other logged scalars>}``
``build_metrics()``         per-boundary-type accuracy + confusion matrix (torchmetrics)
``update_metrics(m, o, b)`` feeds the metrics from one batch
==========================  ===========================================================================

The variants live one per file in this package (:mod:`bsp_lightning.module` re-exports them):
:class:`~bsp_lightning.pretrain.changepoint.ChangePointModule` (regression pretext),
:class:`~bsp_lightning.pretrain.vanilla.VanillaModule`, :class:`~bsp_lightning.pretrain.two_head.TwoHeadModule`,
:class:`~bsp_lightning.pretrain.distillation.DistillationModule`.

Clips arrive as ``uint8 (N, T, C, H, W)``; the float conversion and ImageNet normalisation run here, on the
accelerator, so a quarter of the bytes cross the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from bsp_lightning import legacy
from bsp_lightning.callbacks import log_confusion_matrix
from bsp_lightning.data.synthesis import BOUNDARY_TYPES
from bsp_lightning.models.checkpoints import CheckpointInfo, clean_state_dict
from bsp_lightning.models.normalize import normalize_clip, register_imagenet_stats
from bsp_lightning.models.pretext_heads import ClassificationHead
from bsp_lightning.models.tsm import TSM
from bsp_lightning.pretrain.optim import lr_factor, tsm_parameter_groups
from bsp_lightning.pretrain.restore import load_module

logger = logging.getLogger(__name__)

__all__ = ["BSPModule", "action_metrics", "batch_accuracy"]


class BSPModule(pl.LightningModule):
    """Boundary-sensitive pre-training of a TSM backbone (paper section 3.3).

    Subclass it and override one hook to change one thing. For example, an MLP boundary head::

        class MLPHeadModule(BSPModule):
            def build_heads(self):
                d = self.backbone.num_features
                return {"boundary": nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, self.hparams.num_classes))}

    or a label-smoothed loss::

        class SmoothBSPModule(BSPModule):
            def compute_loss(self, outputs, batch):
                loss = F.cross_entropy(outputs["boundary"], batch["label"], label_smoothing=0.1)
                return {"loss": loss}

    Then ``bsp-lightning fit --config toy --model my_package.MLPHeadModule``.

    Args:
        arch: timm ResNet-family name of the backbone (``resnet18``, ``resnet50``, ...).
        pretrained: local path of ImageNet weights for the backbone; ``None`` starts from scratch (every
            BatchNorm weight at 1, as torchvision's ResNets that TSM uses).
        num_segments: frames per clip ``T`` (linked from the DataModule's ``num_frames`` by the CLI).
        shift_div: TSM shifts ``1 / shift_div`` of the channels each way.
        shift_place: ``"blockres"`` (official default), ``"block"`` or ``"none"``.
        num_classes: boundary classes in use (4, or 2 for a binary pair); linked from the DataModule.
        class_names: names of the boundary classes in label order, used in logged metric names; linked
            from the DataModule's ``boundary_types``. ``None``: the paper's four types (or ``class_<i>``).
        num_action_classes: action classes of the source videos (vanilla, two-head and distillation heads);
            linked from the DataModule.
        dropout: dropout before the heads (TSM recipe: 0.5).
        optimizer: ``"sgd"`` (TSM recipe) or ``"adamw"``.
        lr: learning rate per ``lr_batch_size`` clips; scaled linearly with the effective batch size.
        lr_batch_size: the reference batch of ``lr`` (TSM's Kinetics recipe: 0.02 per 128 clips).
        momentum: SGD momentum.
        weight_decay: weight decay of conv and linear weights (biases and norm layers get none, as TSM).
        scheduler: ``"cosine"`` (per step), ``"step"`` (multiply by ``lr_gamma`` at ``lr_steps`` epochs, TSM's
            Kinetics recipe 20/40 of 50 epochs) or ``"constant"``.
        lr_steps: epochs of the step decay.
        lr_gamma: factor of the step decay.
        warmup_epochs: linear warm-up length (fractional epochs allowed), before the decay.
        channels_last: run the backbone in channels-last memory format (faster convolutions on GPUs).
        compile: ``torch.compile`` the backbone (in place: checkpoints keep their keys).

    The pretext is the class: boundary-type classification here, the change-point heatmap (regression) in
    :class:`~bsp_lightning.pretrain.changepoint.ChangePointModule`. Configs and checkpoints of older versions
    that say ``BSPModule`` with ``pretext: regression`` load as that class (:mod:`bsp_lightning.legacy`).
    """

    def __init__(
        self,
        arch: str = "resnet18",
        pretrained: str | None = None,
        num_segments: int = 8,
        shift_div: int = 8,
        shift_place: str = "blockres",
        num_classes: int = 4,
        class_names: Sequence[str] | None = None,
        num_action_classes: int = 400,
        dropout: float = 0.5,
        optimizer: Literal["sgd", "adamw"] = "sgd",
        lr: float = 0.02,
        lr_batch_size: int = 128,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        scheduler: Literal["cosine", "step", "constant"] = "cosine",
        lr_steps: Sequence[int] = (20, 40),
        lr_gamma: float = 0.1,
        warmup_epochs: float = 0.0,
        channels_last: bool = False,
        compile: bool = False,
    ) -> None:
        super().__init__()
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"BSPModule: {len(class_names)} class_names {list(class_names)} for num_classes={num_classes}"
            )
        self.save_hyperparameters()
        register_imagenet_stats(self)
        self.backbone = self.build_backbone()
        self.heads = nn.ModuleDict(self.build_heads())
        self.val_metrics = MetricCollection(self.build_metrics(), prefix="val/")
        self.test_metrics = MetricCollection(self.build_metrics(), prefix="test/")

    # ------------------------------------------------------------------ hooks
    def build_backbone(self) -> nn.Module:
        """The feature extractor: ``(N, T, C, H, W)`` float -> ``(N, D)``, with ``.num_features == D``.

        Per-frame pretexts (:class:`~bsp_lightning.pretrain.changepoint.ChangePointModule`) also need
        ``forward_frames -> (N, T, D)``.
        """
        hp = self.hparams
        backbone = TSM(hp.arch, hp.num_segments, hp.shift_div, hp.shift_place, pretrained=hp.pretrained)
        if hp.pretrained is None:
            # timm zero-initialises the last BatchNorm of each residual branch, which silences the temporal
            # shifts (they sit in that branch) at the start of a from-scratch run; TSM's torchvision ResNets
            # start every BatchNorm at weight 1
            for module in backbone.modules():
                if isinstance(module, nn.BatchNorm2d):
                    nn.init.ones_(module.weight)
        return backbone

    def build_heads(self) -> dict[str, nn.Module]:
        """Heads on the backbone features, by name; ``forward`` returns each head's output under its name."""
        d, hp = self.backbone.num_features, self.hparams
        return {"boundary": ClassificationHead(d, hp.num_classes, hp.dropout)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the backbone and every head on a normalised float clip ``(N, T, C, H, W)``.

        Returns:
            ``{"features": (N, D)}`` plus one entry per head.
        """
        features = self.backbone(x)
        return {"features": features, **{name: head(features) for name, head in self.heads.items()}}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Loss of one batch: ``{"loss": total, ...}``; every entry is logged as ``<stage>/<name>``."""
        logits = outputs["boundary"]
        return {"loss": F.cross_entropy(logits.float(), batch["label"]), "acc": batch_accuracy(logits, batch["label"])}

    def build_metrics(self) -> dict[str, Metric]:
        """Validation/test metrics (built once per stage). Names become ``<stage>/<name>``.

        A metric whose value is a vector is logged per class (``<name>_<boundary type>``), a square matrix is
        logged as a confusion matrix (figure on wandb/TensorBoard, text for CSV).
        """
        n = self.hparams.num_classes
        return {
            "acc": MulticlassAccuracy(n, average="micro"),
            "acc_per_type": MulticlassAccuracy(n, average=None),
            "confusion": MulticlassConfusionMatrix(n),
        }

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        """Feed ``metrics`` (a collection built by :meth:`build_metrics`) with one batch."""
        metrics.update(outputs["boundary"].detach(), batch["label"])

    # --------------------------------------------------------------- helpers
    @property
    def class_names(self) -> list[str]:
        """Boundary class names in label order (for metric names and the confusion matrix)."""
        if self.hparams.class_names is not None:
            return list(self.hparams.class_names)
        n = self.hparams.num_classes
        return list(BOUNDARY_TYPES) if n == len(BOUNDARY_TYPES) else [f"class_{i}" for i in range(n)]

    def normalize(self, clip: torch.Tensor) -> torch.Tensor:
        """``uint8 (N, T, C, H, W)`` in ``[0, 255]`` -> float ``(x / 255 - mean) / std`` (ImageNet statistics).

        Float input is taken as already scaled to ``[0, 1]``. The result follows the module's dtype under
        autocast and is channels-last when ``channels_last=True``.
        """
        if clip.dim() != 5 or clip.shape[2] != 3:
            raise ValueError(f"expected clips (N, T, 3, H, W), got shape {tuple(clip.shape)}")
        x = normalize_clip(clip, self.mean, self.std)
        if self.hparams.channels_last:
            n, t = x.shape[:2]
            x = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).unflatten(0, (n, t))
        return x

    @torch.no_grad()
    def extract_features(self, clip: torch.Tensor) -> torch.Tensor:
        """Clip features ``(N, D)`` before any head, in eval mode, for a ``uint8 (N, T, C, H, W)`` clip.

        The module's training flag is restored afterwards.
        """
        was_training = self.training
        self.eval()
        try:
            return self.backbone(self.normalize(clip.to(self.device)))
        finally:
            self.train(was_training)

    # ----------------------------------------------------------- Lightning
    def configure_model(self) -> None:
        if self.hparams.channels_last:
            self.backbone.to(memory_format=torch.channels_last)
        if self.hparams.compile and not getattr(self, "_compiled", False):
            # nn.Module.compile keeps the parameter names, so checkpoints stay loadable without compile
            self.backbone.compile()
            self._compiled = True

    def _shared_step(self, batch: Mapping[str, Any], stage: str) -> dict[str, torch.Tensor]:
        outputs = self(self.normalize(batch["clip"]))
        losses = self.compute_loss(outputs, batch)
        batch_size = batch["clip"].shape[0]
        on_step = stage == "train"
        for name, value in losses.items():
            self.log(f"{stage}/{name}", value, on_step=on_step,
                     on_epoch=True, prog_bar=name in ("loss", "acc"), batch_size=batch_size, sync_dist=not on_step)
        if stage != "train":
            self.update_metrics(self.val_metrics if stage == "val" else self.test_metrics, outputs, batch)
        return losses

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")["loss"]

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        """``{"features": (N, D)}`` plus the batch's other entries (ids, labels) passed through."""
        features = self.backbone(self.normalize(batch["clip"]))
        return {"features": features, **{k: v for k, v in batch.items() if k != "clip"}}

    def on_validation_epoch_end(self) -> None:
        self._log_metrics(self.val_metrics)

    def on_test_epoch_end(self) -> None:
        self._log_metrics(self.test_metrics)

    def _log_metrics(self, metrics: MetricCollection) -> None:
        # computed once here (synchronised across processes by torchmetrics), so self.log must not sync again
        for name, value in metrics.compute().items():
            if value.dim() == 0:
                self.log(name, value, prog_bar=name.endswith("/acc"))
            elif value.dim() == 1:
                names = self.class_names if len(value) == len(self.class_names) else range(len(value))
                for cls, v in zip(names, value):
                    self.log(f"{name}_{cls}", v)
            elif value.dim() == 2 and not self.trainer.sanity_checking:
                log_confusion_matrix(self.trainer, value, self.class_names, name)
        metrics.reset()

    # --------------------------------------------------------- optimisation
    def effective_batch_size(self) -> int:
        """Clips per optimiser step over all processes: batch size x devices x nodes x accumulation."""
        batch_size = getattr(getattr(self.trainer, "datamodule", None), "batch_size", None)
        if batch_size is None:
            # estimated_stepping_batches loads the training dataloader when it is not loaded yet
            _ = self.trainer.estimated_stepping_batches
            batch_size = getattr(self.trainer.train_dataloader, "batch_size", None)
        if batch_size is None:
            raise ValueError(
                "BSPModule: cannot scale the learning rate: neither the DataModule nor the training "
                "DataLoader has a `batch_size`"
            )
        return int(batch_size) * self.trainer.world_size * self.trainer.accumulate_grad_batches

    def scaled_lr(self) -> float:
        """``lr * effective_batch_size / lr_batch_size`` (linear scaling rule, TSM recipe)."""
        return self.hparams.lr * self.effective_batch_size() / self.hparams.lr_batch_size

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """TSM's optimiser policy (:func:`~bsp_lightning.pretrain.optim.tsm_parameter_groups`)."""
        return tsm_parameter_groups(self, lr, self.hparams.weight_decay)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        lr = self.scaled_lr()
        groups = self.parameter_groups(lr)
        if hp.optimizer == "sgd":
            optimizer = torch.optim.SGD(groups, lr=lr, momentum=hp.momentum)
        elif hp.optimizer == "adamw":
            optimizer = torch.optim.AdamW(groups, lr=lr)
        else:
            raise ValueError(f"BSPModule: optimizer must be 'sgd' or 'adamw', got {hp.optimizer!r}")
        factor = lr_factor(
            hp.scheduler, self.trainer.estimated_stepping_batches, self.trainer.num_training_batches,
            self.trainer.accumulate_grad_batches, hp.warmup_epochs, hp.lr_steps, hp.lr_gamma,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # --------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning records the class of a module built by LightningCLI (`_class_path`); one built in Python gets
        # the same key, so that load_from_checkpoint on the base class rebuilds the saved variant
        hparams = checkpoint.setdefault(self.CHECKPOINT_HYPER_PARAMS_KEY, {})
        hparams.setdefault("_class_path", legacy.class_path(type(self)))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # weights of a torch.compile'd or DataParallel-wrapped model load like the plain ones
        checkpoint["state_dict"] = clean_state_dict(checkpoint["state_dict"], "BSPModule checkpoint")

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls,
        checkpoint_path: str | Path | CheckpointInfo,
        map_location: Any = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> BSPModule:
        """Load a checkpoint of any variant: called on :class:`BSPModule`, it builds the saved subclass.

        The class and the arguments recorded under old names go through :mod:`bsp_lightning.legacy`
        (:mod:`bsp_lightning.pretrain.restore`). The ImageNet ``pretrained`` path is not needed (the weights
        come from the checkpoint), so it is dropped unless given again in ``kwargs``.

        Args:
            checkpoint_path: the file, or the :class:`~bsp_lightning.models.checkpoints.CheckpointInfo` of a file
                already read (it is not read again).
            map_location: the device the module goes to (``str`` or ``torch.device``; default: the CPU).
            strict: as ``load_state_dict``'s.
            **kwargs: constructor arguments that replace the recorded ones.

        Raises:
            FileNotFoundError: no such file.
            ValueError: unreadable, or the recorded class cannot be imported.
            TypeError: the file holds a module that is not a ``cls``.
        """
        kwargs.setdefault("pretrained", None)
        return load_module(checkpoint_path, cls, map_location, strict, **kwargs)


def batch_accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy of one batch (logged as ``<stage>/acc``)."""
    return (logits.detach().argmax(dim=-1) == target).float().mean()


def action_metrics(num_classes: int) -> dict[str, Metric]:
    """Action-classification metrics: top-1 accuracy, and top-5 when there are more than 5 classes."""
    metrics: dict[str, Metric] = {"acc": MulticlassAccuracy(num_classes, average="micro")}
    if num_classes > 5:
        metrics["acc_top5"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
    return metrics


__getattr__ = legacy.module_getattr(__name__)
