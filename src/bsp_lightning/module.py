"""Pre-training LightningModules: boundary-sensitive pretexts, vanilla, two-head and distillation (paper 3.3-3.4).

:class:`BSPModule` is a small base class built to be subclassed (solo-learn style). Every variant overrides a
few hooks:

==========================  ===========================================================================
hook                        default
==========================  ===========================================================================
``build_backbone()``        :class:`~bsp_lightning.models.tsm.TSM` on a timm ResNet
``build_heads()``           ``{"boundary": ClassificationHead}`` (or ``{"heatmap": ChangePointHead}``)
``forward(x)``              ``{"features": (N, D), <head name>: head output}`` for a normalised clip
``compute_loss(out, b)``    ``{"loss": ..., <other logged scalars>}``
``build_metrics()``         per-boundary-type accuracy + confusion matrix (torchmetrics)
``update_metrics(m, o, b)`` feeds the metrics from one batch
==========================  ===========================================================================

Variants (``--model <name>`` on the command line):

* :class:`BSPModule`: ``pretext="classification"`` (4-way or binary over the DataModule's boundary types,
  cross-entropy) or ``pretext="regression"`` (per-frame change-point heatmap, smooth-L1).
* :class:`VanillaModule`: action classification on the source videos' labels (``batch["action_label"]``).
* :class:`TwoHeadModule`: one backbone, a boundary head and an action head, weighted joint loss (Fig. 3b).
* :class:`DistillationModule`: a student, two frozen teachers and pointwise projections (Fig. 3c).

Clips arrive as ``uint8 (N, T, C, H, W)``; the float conversion and ImageNet normalisation run here, on the
accelerator, so a quarter of the bytes cross the bus.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix
from torchmetrics.regression import MeanAbsoluteError

from bsp_lightning.callbacks import log_confusion_matrix
from bsp_lightning.data.synthesis import BOUNDARY_TYPES
from bsp_lightning.models.heads import ActionHead, ChangePointHead, ClassificationHead, DistillationProjections
from bsp_lightning.models.normalize import normalize_clip, register_imagenet_stats
from bsp_lightning.models.tsm import TSM

logger = logging.getLogger(__name__)

# Stored in every checkpoint so that BSPModule.load_from_checkpoint rebuilds the right variant.
CLASS_KEY = "bsp_lightning_class"


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
        pretext: ``"classification"`` (boundary type, cross-entropy) or ``"regression"`` (change-point heatmap,
            smooth-L1).
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
    """

    def __init__(
        self,
        arch: str = "resnet18",
        pretrained: str | None = None,
        num_segments: int = 8,
        shift_div: int = 8,
        shift_place: str = "blockres",
        pretext: Literal["classification", "regression"] = "classification",
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
        if pretext not in ("classification", "regression"):
            raise ValueError(f"BSPModule: pretext must be 'classification' or 'regression', got {pretext!r}")
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

        Per-frame pretexts (regression) also need ``forward_frames -> (N, T, D)``.
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
        if hp.pretext == "regression":
            return {"heatmap": ChangePointHead(d, hp.dropout)}
        return {"boundary": ClassificationHead(d, hp.num_classes, hp.dropout)}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the backbone and every head on a normalised float clip ``(N, T, C, H, W)``.

        Returns:
            ``{"features": (N, D)}`` plus one entry per head. The regression head sees the per-frame
            features ``(N, T, D)`` and gives a heatmap ``(N, T)``.
        """
        if self.hparams.pretext == "regression":
            frames = self.backbone.forward_frames(x)
            return {"features": frames.mean(1), "heatmap": self.heads["heatmap"](frames)}
        features = self.backbone(x)
        return {"features": features, **{name: head(features) for name, head in self.heads.items()}}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Loss of one batch: ``{"loss": total, ...}``; every entry is logged as ``<stage>/<name>``."""
        if self.hparams.pretext == "regression":
            heatmap = outputs["heatmap"].float()
            return {"loss": F.smooth_l1_loss(heatmap, batch["heatmap"].to(heatmap.dtype))}
        logits = outputs["boundary"]
        return {"loss": F.cross_entropy(logits.float(), batch["label"]), "acc": _accuracy(logits, batch["label"])}

    def build_metrics(self) -> dict[str, Metric]:
        """Validation/test metrics (built once per stage). Names become ``<stage>/<name>``.

        A metric whose value is a vector is logged per class (``<name>_<boundary type>``), a square matrix is
        logged as a confusion matrix (figure on wandb/TensorBoard, text for CSV).
        """
        if self.hparams.pretext == "regression":
            return {"change_point_mae": MeanAbsoluteError()}
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
        if self.hparams.pretext == "regression":
            # change point = the heatmap's peak (1-based frame); clips without a boundary have none to find
            has_boundary = batch["change_point"] > 0
            if has_boundary.any():
                peak = outputs["heatmap"].argmax(dim=1).float() + 1
                metrics.update(peak[has_boundary], batch["change_point"][has_boundary].float())
            return
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
        """TSM's optimiser policy: weights decay; biases (lr x2) and normalisation layers get no decay."""
        decay, no_decay_norm, biases = [], [], []
        for module in self.modules():
            is_norm = isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm))
            for pname, p in module.named_parameters(recurse=False):
                if not p.requires_grad:
                    continue
                if is_norm:
                    no_decay_norm.append(p)
                elif pname == "bias":
                    biases.append(p)
                else:
                    decay.append(p)
        groups = [
            {"params": decay, "lr": lr, "weight_decay": self.hparams.weight_decay},
            {"params": no_decay_norm, "lr": lr, "weight_decay": 0.0},
            {"params": biases, "lr": 2 * lr, "weight_decay": 0.0},
        ]
        return [g for g in groups if g["params"]]

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
        total_steps = self.trainer.estimated_stepping_batches  # also loads the training dataloader
        if hp.scheduler == "cosine" and math.isinf(total_steps):
            raise ValueError("BSPModule: the cosine schedule needs trainer.max_epochs or trainer.max_steps")
        total_steps = max(1, int(min(total_steps, 2**62)))
        batches = self.trainer.num_training_batches
        steps_per_epoch = max(1, math.ceil(batches / self.trainer.accumulate_grad_batches)) if math.isfinite(
            batches) else total_steps
        warmup_steps = int(round(hp.warmup_epochs * steps_per_epoch))
        milestones = [int(e) * steps_per_epoch for e in hp.lr_steps]

        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            if hp.scheduler == "cosine":
                progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
                return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
            if hp.scheduler == "step":
                return hp.lr_gamma ** sum(step >= m for m in milestones)
            return 1.0

        if hp.scheduler not in ("cosine", "step", "constant"):
            raise ValueError(f"BSPModule: scheduler must be 'cosine', 'step' or 'constant', got {hp.scheduler!r}")
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # --------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CLASS_KEY] = f"{type(self).__module__}:{type(self).__qualname__}"

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls, checkpoint_path: str | Path, map_location: Any = None, strict: bool | None = None, **kwargs: Any
    ) -> BSPModule:
        """Load a checkpoint of any variant: called on :class:`BSPModule`, it builds the saved subclass.

        The ImageNet ``pretrained`` path is not needed (the weights come from the checkpoint), so it is
        dropped unless given again in ``kwargs``.
        """
        path = Path(checkpoint_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: checkpoint not found")
        target = _saved_class(path) or cls
        if not issubclass(target, cls):
            raise TypeError(f"{path}: holds a {target.__name__}, which is not a {cls.__name__}")
        kwargs.setdefault("pretrained", None)
        from pytorch_lightning.core.saving import _load_from_checkpoint

        return _load_from_checkpoint(target, path, map_location, None, strict, None, **kwargs)


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
                "acc": _accuracy(logits, batch["action_label"])}

    def build_metrics(self) -> dict[str, Metric]:
        return _action_metrics(self.hparams.num_action_classes)

    def update_metrics(
        self, metrics: MetricCollection, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
    ) -> None:
        metrics.update(outputs["action"].detach(), batch["action_label"])


class TwoHeadModule(BSPModule):
    """Two-head design (Fig. 3b): one shared backbone, a boundary head and an action head.

    ``loss = action_weight * CE(action) + bsp_weight * CE(boundary)``.

    Args:
        bsp_weight: weight of the boundary-classification loss.
        action_weight: weight of the action-classification loss.
        **kwargs: :class:`BSPModule` arguments (``pretext`` must stay ``"classification"``).
    """

    def __init__(self, *args: Any, bsp_weight: float = 1.0, action_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.hparams.pretext != "classification":
            raise ValueError("TwoHeadModule: the boundary head is a classifier; use pretext='classification'")

    def build_heads(self) -> dict[str, nn.Module]:
        d, hp = self.backbone.num_features, self.hparams
        return {"boundary": ClassificationHead(d, hp.num_classes, hp.dropout),
                "action": ActionHead(d, hp.num_action_classes, hp.dropout)}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        bsp = F.cross_entropy(outputs["boundary"].float(), batch["label"])
        action = F.cross_entropy(outputs["action"].float(), batch["action_label"])
        return {"loss": self.hparams.action_weight * action + self.hparams.bsp_weight * bsp,
                "loss_bsp": bsp, "loss_action": action,
                "acc": _accuracy(outputs["boundary"], batch["label"]),
                "acc_action": _accuracy(outputs["action"], batch["action_label"])}

    def build_metrics(self) -> dict[str, Metric]:
        metrics = super().build_metrics()
        metrics.update({f"action_{k}": v for k, v in _action_metrics(self.hparams.num_action_classes).items()})
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


class FrozenTeacher(nn.Module):
    """A frozen feature extractor: ``forward(x normalised) -> (N, D)``; stays in eval mode, no gradients.

    Args:
        net: the network.
        method: the method of ``net`` that returns clip features (``"forward"`` for a TSM backbone,
            ``"features"`` for an official TSM classifier).
        num_features: feature dimension ``D``.
    """

    def __init__(self, net: nn.Module, num_features: int, method: str = "forward") -> None:
        super().__init__()
        self.net = net
        self.method = method
        self.num_features = num_features
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenTeacher:
        # Lightning puts the whole module in train mode each epoch: BatchNorm statistics must not drift
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(x)


def load_teacher(path: str | Path, num_segments: int) -> FrozenTeacher:
    """A frozen teacher from a :class:`BSPModule`-family checkpoint or an official TSM checkpoint.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: teacher checkpoint not found")
    if _saved_class(path) is not None or _is_lightning_checkpoint(path):
        module = BSPModule.load_from_checkpoint(path, map_location="cpu")
        if module.backbone.num_segments != num_segments:
            module.backbone.set_num_segments(num_segments)
        return FrozenTeacher(module.backbone, module.backbone.num_features)
    from bsp_lightning.models.official import load_official_tsm

    net = load_official_tsm(path, num_segments=num_segments)
    return FrozenTeacher(net, net.num_features, method="features")


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
            official TSM checkpoint (see :func:`~bsp_lightning.models.official.load_official_tsm`).
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
        self.vanilla_teacher: FrozenTeacher | None = None
        self.bsp_teacher: FrozenTeacher | None = None

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
                "loss_vanilla": loss_vanilla, "loss_bsp": loss_bsp, "loss_ce": ce, "acc": _accuracy(logits, target)}

    def build_metrics(self) -> dict[str, Metric]:
        if self.hparams.ce_target == "action":
            return _action_metrics(self.hparams.num_action_classes)
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
        self.vanilla_teacher = load_teacher(hp.vanilla_checkpoint, hp.num_segments)
        self.bsp_teacher = load_teacher(hp.bsp_checkpoint, hp.num_segments)
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


# ---------------------------------------------------------------- helpers
def _accuracy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (logits.detach().argmax(dim=-1) == target).float().mean()


def _action_metrics(num_classes: int) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {"acc": MulticlassAccuracy(num_classes, average="micro")}
    if num_classes > 5:
        metrics["acc_top5"] = MulticlassAccuracy(num_classes, top_k=5, average="micro")
    return metrics


def _peek(path: Path) -> dict[str, Any]:
    try:
        # mmap: only the small top-level entries are read, not the weights
        return torch.load(path, map_location="cpu", mmap=True, weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({err})") from err


def _is_lightning_checkpoint(path: Path) -> bool:
    ckpt = _peek(path)
    return isinstance(ckpt, dict) and "pytorch-lightning_version" in ckpt


def _saved_class(path: Path) -> type[BSPModule] | None:
    ckpt = _peek(path)
    spec = ckpt.get(CLASS_KEY) if isinstance(ckpt, dict) else None
    if spec is None:
        return None
    module_name, qualname = spec.split(":")
    try:
        target = getattr(importlib.import_module(module_name), qualname)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{path}: saved by {spec}, which cannot be imported ({err})") from err
    if not (isinstance(target, type) and issubclass(target, BSPModule)):
        raise ValueError(f"{path}: saved by {spec}, which is not a BSPModule")
    return target
