"""``HeadModule``: the base LightningModule of every downstream head.

Like :class:`~bsp_lightning.module.BSPModule`, a small base class with hooks (solo-learn style): a head overrides
:meth:`HeadModule.build_model` (a pure-torch model that knows nothing of Lightning), :meth:`HeadModule.forward`,
:meth:`HeadModule.compute_loss`, :meth:`HeadModule.postprocess` (network outputs to prediction items) and
:meth:`HeadModule.build_metric` (the official-equivalent score of the merged predictions). The loops are here:
the test and predict loops gather the prediction items of every rank, merge them into the predictions object of the
head's task (its format object, :data:`bsp_lightning.evaluation.formats.FORMATS`), write them atomically to
``<default_root_dir>/predictions/<stage>.json``, score them (test) and print the table.

The model learns the data's shapes only from ``data_info`` (linked from the DataModule at fit time, recorded in the
checkpoint); at test and predict time :meth:`HeadModule.check_data_info` compares the recorded ``data_info`` with the
data's and names any difference. The base class saves the hyper-parameters of the whole constructor chain.

A subclass follows this shape (``**kwargs`` lets a checkpoint's old hyper-parameters reach the table of old names,
:mod:`bsp_lightning.legacy`, instead of being dropped)::

    class MyHead(HeadModule):
        task = "grounding"

        def __init__(self, feature_dim: int = 0, data_info: dict | None = None, lr: float = 1e-3,
                     hidden: int = 256, **kwargs):
            super().__init__(feature_dim, data_info, lr=lr, **kwargs)
            self.model = self.build_model()
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities import rank_zero_info
from torch import nn

from bsp_lightning import legacy
from bsp_lightning.evaluation.formats import FORMATS, TASKS
from bsp_lightning.evaluation.tables import format_metric_table

logger = logging.getLogger(__name__)

__all__ = ["DataInfoMismatchError", "HeadModule", "data_info_differences", "format_metric_table"]

_CHECKED_STAGES = (TrainerFn.VALIDATING, TrainerFn.TESTING, TrainerFn.PREDICTING)


class DataInfoMismatchError(ValueError):
    """The data's ``data_info`` differs from the one the model was trained with (the message names each key)."""


def _describe(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return f"{len(value)} entries"
    return repr(value)


def data_info_differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One phrase per key that both ``data_info`` have with different values (keys of one side only are not
    compared: an older checkpoint may lack a key the data now gives)."""
    out = []
    for key in sorted(set(recorded) & set(current)):
        mine, theirs = recorded[key], current[key]
        if mine == theirs:
            continue
        text = f"{key}: {_describe(mine)} in the checkpoint, {_describe(theirs)} in the data"
        if isinstance(mine, (list, tuple)) and isinstance(theirs, (list, tuple)):
            first = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
            a = repr(mine[first]) if first < len(mine) else "(end)"
            b = repr(theirs[first]) if first < len(theirs) else "(end)"
            text += f" (first difference at {first}: {a} vs {b})"
        out.append(text)
    return out


def _batch_size(batch: Any) -> int | None:
    if isinstance(batch, Mapping):
        for value in batch.values():
            if isinstance(value, torch.Tensor) and value.ndim > 0:
                return int(value.shape[0])
    return None


class HeadModule(pl.LightningModule, metaclass=legacy.LegacyArguments):
    """Base LightningModule of the heads.

    Args:
        feature_dim: ``D`` of the input features (linked from the DataModule's manifests by ``bsp-lightning fit``).
        data_info: what the model must know about the data (class names, vocabulary, input length...), linked from
            :attr:`~bsp_lightning.heads.FeatureDataModule.data_info`; stored in the hyper-parameters so a
            checkpoint rebuilds the model alone, and checked against the data at test and predict time.
        lr: learning rate of the default optimiser (Adam).
        weight_decay: weight decay of the default optimiser.

    Attributes:
        task: ``"detection"``, ``"grounding"`` or ``"actionness"`` (class attribute): the prediction format
            (:attr:`prediction_format`).
        evaluate_on_validation: also postprocess and score the validation split each epoch (logged as
            ``val/<metric>``; used for model selection on a validation metric).
        test_results: the metrics of the last test run (fractions).
    """

    task: str = "detection"
    evaluate_on_validation: bool = False

    def __init__(
        self, feature_dim: int = 0, data_info: dict[str, Any] | None = None, lr: float = 1e-3, weight_decay: float = 0.0
    ) -> None:
        super().__init__()
        if self.task not in TASKS:
            raise ValueError(f"{type(self).__name__}.task must be one of {TASKS}, got {self.task!r}")
        self.feature_dim = int(feature_dim)
        self.data_info = dict(data_info or {})
        self.lr = lr
        self.weight_decay = weight_decay
        # every constructor argument of the subclass chain (the frames of their __init__), for the checkpoint
        self.save_hyperparameters()
        self.test_results: dict[str, float] = {}
        self._items: dict[str, list[Any]] = {"val": [], "test": [], "predict": []}

    # --- hooks ------------------------------------------------------------------------------------------------

    def build_model(self) -> nn.Module:
        """The pure-torch model; subclasses implement it.

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement build_model()")

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Network outputs for a batch; default ``{"out": self.model(batch["features"])}``."""
        return {"out": self.model(batch["features"])}

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The losses: a dict holding ``"loss"`` (what is optimised); every entry is logged.

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement compute_loss(outputs, batch)")

    def postprocess(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> list[Any]:
        """Prediction items of one batch, as plain Python/numpy objects (see :meth:`merge_predictions`).

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement postprocess(outputs, batch)")

    def build_metric(self) -> Callable[[Any], dict[str, float]]:
        """A function scoring the merged predictions (the official object) -> ``{name: fraction}``.

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement build_metric()")

    @property
    def prediction_format(self) -> Any:
        """The format object of :attr:`task` (:data:`bsp_lightning.evaluation.formats.FORMATS`)."""
        return FORMATS[self.task]

    def prediction_metadata(self) -> dict[str, Any] | None:
        """What the predictions file records about how they were made: a detection file's ``external_data`` (e.g.
        where the labels came from), an actionness file's ``_protocol``; a grounding file has no place for it.
        Default ``None``."""
        return None

    def merge_predictions(self, items: list[Any]) -> Any:
        """All ranks' prediction items -> the task's predictions object (docs/design.md, "Predictions on disk"),
        by the format's ``merge`` with :meth:`prediction_metadata`:

        * detection: items ``(video_id, [{"label", "score", "segment": [s, e]}, ...])`` ->
          :class:`~bsp_lightning.evaluation.formats.Detections` (several items of one video concatenated in item
          order); a head may add its class-agnostic proposals to it (written beside it);
        * grounding: items ``{"video", "duration", "query", "gt", "predictions", ["index"]}`` -> the list, sorted
          by ``"index"`` when given (the dataset order, whatever the ranks' order), which is then dropped;
        * actionness: items ``(video_id, scores)`` -> :class:`~bsp_lightning.evaluation.formats.ActionnessScores`.
        """
        return self.prediction_format.merge(items, self.prediction_metadata())

    def write_predictions(self, predictions: Any, path: str | Path) -> Path:
        """Write the merged predictions atomically in the official format of :attr:`task`."""
        return self.prediction_format.write(path, predictions)

    # --- data_info: the data the model was built for ------------------------------------------------------------

    def check_data_info(self, recorded: Mapping[str, Any] | None = None) -> None:
        """Compare the ``data_info`` the model was built with (``recorded``, default :attr:`data_info`) with the
        attached DataModule's; called at validate, test and predict time (:meth:`setup`, and
        :meth:`on_load_checkpoint` for ``--ckpt_path``, before the weights are loaded).

        Raises:
            DataInfoMismatchError: a key differs (each named, with both values or lengths).
        """
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        current = getattr(datamodule, "data_info", None)
        if current is None:
            return
        differences = data_info_differences(self.data_info if recorded is None else recorded, current)
        if differences:
            raise DataInfoMismatchError(
                f"{type(self).__name__}: the data is not what the model was trained on: {'; '.join(differences)} "
                "(same annotations, feature folders and data options as at fit time?)")

    def setup(self, stage: str) -> None:
        if self._trainer is not None and self.trainer.state.fn in _CHECKED_STAGES:
            self.check_data_info()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        recorded = checkpoint.get("hyper_parameters", {}).get("data_info")
        if recorded is not None and self._trainer is not None and self.trainer.state.fn in _CHECKED_STAGES:
            # the checkpoint's own hyper-parameters, with the names of the table of old names
            hparams = legacy.rename_arguments(type(self), checkpoint["hyper_parameters"])
            self.check_data_info(hparams.get("data_info") or {})

    def configure_optimizers(self) -> Any:
        """Adam at ``lr`` with ``weight_decay``; heads override with their official schedule."""
        return {"optimizer": torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)}

    # --- loops ------------------------------------------------------------------------------------------------

    def _log_losses(self, losses: Mapping[str, torch.Tensor], stage: str, batch: Any) -> None:
        self.log_dict(
            {f"{stage}/{k}": v.detach() if isinstance(v, torch.Tensor) else v for k, v in losses.items()},
            prog_bar=False, on_step=stage == "train", on_epoch=True, sync_dist=stage != "train",
            batch_size=_batch_size(batch),
        )
        self.log(f"{stage}_loss", losses["loss"].detach(), prog_bar=True, on_step=stage == "train", on_epoch=True,
                 sync_dist=stage != "train", batch_size=_batch_size(batch), logger=False)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        losses = self.compute_loss(self(batch), batch)
        self._log_losses(losses, "train", batch)
        return losses["loss"]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        outputs = self(batch)
        self._log_losses(self.compute_loss(outputs, batch), "val", batch)
        if self.evaluate_on_validation:
            self._items["val"].extend(self.postprocess(outputs, batch))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._items["test"].extend(self.postprocess(self(batch), batch))

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._items["predict"].extend(self.postprocess(self(batch), batch))

    def on_validation_epoch_start(self) -> None:
        self._items["val"] = []

    def on_test_epoch_start(self) -> None:
        self._items["test"] = []

    def on_predict_epoch_start(self) -> None:
        self._items["predict"] = []

    def on_validation_epoch_end(self) -> None:
        if self.evaluate_on_validation and not self.trainer.sanity_checking:
            metrics = self._finish("val", write=False)
            self.log_dict({f"val/{k}": float(v) for k, v in metrics.items()}, sync_dist=False)

    def on_test_epoch_end(self) -> None:
        self.test_results = self._finish("test")
        self.log_dict({f"test/{k}": float(v) for k, v in self.test_results.items()}, sync_dist=False)

    def on_predict_epoch_end(self) -> None:
        self._finish("predict", score=False)

    def gather_items(self, items: list[Any]) -> list[Any]:
        """Every rank's items, in rank order, on every rank (``all_gather_object``; a no-op on one process)."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[list[Any] | None] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, items)
            return [item for part in gathered for item in (part or [])]
        return list(items)

    def predictions_path(self, stage: str) -> Path:
        """``<default_root_dir>/predictions/<stage>.json``."""
        root = self.trainer.default_root_dir if self._trainer is not None else "."
        return Path(root) / "predictions" / f"{stage}.json"

    def _finish(self, stage: str, score: bool = True, write: bool = True) -> dict[str, float]:
        predictions = self.merge_predictions(self.gather_items(self._items[stage]))
        self._items[stage] = []
        if write and self.global_rank == 0:
            path = self.write_predictions(predictions, self.predictions_path(stage))
            rank_zero_info(f"{stage} predictions written to {path}")
        if write and torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()
        if not score:
            return {}
        metrics = {k: float(v) for k, v in self.build_metric()(predictions).items()}
        if stage == "test":
            rank_zero_info(format_metric_table(metrics, f"{type(self).__name__}: {stage}"))
        return metrics
