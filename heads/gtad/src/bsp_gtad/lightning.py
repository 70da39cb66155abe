"""``GTADModule``: G-TAD on the head contract (training, official-format detections, mAP and AR@AN).

* Data: ``T``, ``D``, the class names and the benchmark come from the data's ``data_info`` (linked by
  ``bsp-lightning fit``, recorded in the checkpoint, checked at test time); the benchmark's rules are the
  :class:`~bsp_gtad.benchmarks.Benchmark` it names.
* Optimiser: Adam (``lr``, ``weight_decay``) with StepLR (``step_size`` epochs, ``gamma``), per the official
  ``gtad_train.py`` (ActivityNet 4e-3 / 1e-4 / 5 / 0.1; THUMOS 4e-5).
* Loss: :func:`bsp_gtad.losses.gtad_loss` with the benchmark's weights; batches whose official loss would be NaN
  (no positive) are guarded, counted (``guarded`` in the logs, :attr:`GTADModule.guarded_terms`) and warned about.
* Labels: the top-2 fusion with video-level class scores from ``class_scores`` (official JSON format) or, when
  none is given, from :class:`~bsp_gtad.classifier.VideoClassifier`, trained alongside (its BCE is added to the
  training loss only: its parameters are disjoint, so G-TAD's gradients and ``val/loss`` -- the official
  model-selection quantity -- are unchanged). ``external_data.labels`` names the source.
* Test: detections -> ``predictions/test.json``; class-agnostic proposals -> ``predictions/test_proposals.json``;
  printed: mAP at each tIoU (ActivityNet 0.5:0.05:0.95, THUMOS 0.3:0.1:0.7), its average, AR@AN and AUC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn

from bsp_lightning.evaluation.formats import Detections
from bsp_lightning.heads import HeadModule
from bsp_gtad.benchmarks import BENCHMARKS, benchmark_of
from bsp_gtad.classifier import VideoClassifier, read_class_scores
from bsp_gtad.losses import gtad_loss
from bsp_gtad.model import GTAD
from bsp_gtad.postprocess import classify
from bsp_gtad.targets import valid_mask

logger = logging.getLogger(__name__)

__all__ = ["GTADModule", "TIOU_THRESHOLDS"]

#: The tIoU thresholds of the reported mAP, per benchmark.
TIOU_THRESHOLDS = {name: np.asarray(b.tiou_thresholds) for name, b in BENCHMARKS.items()}


class GTADModule(HeadModule):
    """G-TAD head. Model arguments are those of :class:`bsp_gtad.model.GTAD` (``T`` and ``D`` from ``data_info``);
    the rest:

    Args:
        feature_dim, data_info: linked from :class:`~bsp_gtad.data.GTADActivityNetData` /
            :class:`~bsp_gtad.thumos.GTADThumosData` (``data_info``: ``classes``, ``benchmark``,
            ``temporal_scale``, ``max_duration``).
        step_size, gamma: StepLR.
        nms_denominator: Soft-NMS denominator (ActivityNet 0.8, THUMOS 0.46).
        top_k: proposals kept per video (100 / 200).
        top_classes: classes per proposal (2).
        max_proposal_seconds: THUMOS's 300-frame rule in seconds (10.0); ``None`` on ActivityNet.
        class_scores: official-format video class-score JSON; ``None`` = the own classifier.
        **kwargs: old hyper-parameter names of a checkpoint (:mod:`bsp_lightning.legacy`).

    Raises:
        ValueError: ``data_info`` lacks the benchmark, ``temporal_scale`` or ``max_duration``.
    """

    task = "detection"

    def __init__(
        self,
        feature_dim: int = 0,
        data_info: dict[str, Any] | None = None,
        lr: float = 4e-3,
        weight_decay: float = 1e-4,
        hidden_1d: int = 256,
        hidden_2d: int = 128,
        hidden_3d: int = 512,
        inner_points: int = 32,
        context_points: int = 4,
        kernel_2d: int = 1,
        padding_2d: int = 0,
        groups: int = 32,
        width_group: int = 4,
        memory_saving: bool = False,
        chunk_starts: int = 10,
        step_size: int = 5,
        gamma: float = 0.1,
        nms_denominator: float = 0.8,
        top_k: int = 100,
        top_classes: int = 2,
        max_proposal_seconds: float | None = None,
        class_scores: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(feature_dim, data_info, lr=lr, weight_decay=weight_decay, **kwargs)
        self.benchmark = benchmark_of(self.data_info)
        missing = [k for k in ("temporal_scale", "max_duration") if not self.data_info.get(k)]
        if missing:
            raise ValueError(f"G-TAD: data_info lacks {', '.join(missing)} (linked from the data by bsp-lightning fit)")
        self.temporal_scale = int(self.data_info["temporal_scale"])
        self.max_duration = int(self.data_info["max_duration"])
        self.classes = list(self.data_info.get("classes", []))
        self.model = self.build_model()
        self.video_classifier = VideoClassifier(self.feature_dim, len(self.classes))
        mask = valid_mask(self.temporal_scale, self.max_duration)
        self.register_buffer("mask", torch.from_numpy(mask).float(), persistent=False)
        self.guarded_terms = 0

    def build_model(self) -> nn.Module:
        h = self.hparams
        if self.feature_dim <= 0:
            raise ValueError("feature_dim must be set (bsp-lightning fit links it from the feature manifests)")
        return GTAD(self.feature_dim, self.temporal_scale, self.max_duration, h.hidden_1d, h.hidden_2d, h.hidden_3d,
                    h.inner_points, h.context_points, h.kernel_2d, h.padding_2d, groups=h.groups,
                    width_group=h.width_group, memory_saving=h.memory_saving, chunk_starts=h.chunk_starts)

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        out = self.model(batch["features"])
        out["class_logits"] = self.video_classifier(batch["features"])
        return out

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        losses = gtad_loss(outputs["confidence"], outputs["start"], outputs["end"], batch["iou_map"], batch["start"],
                           batch["end"], self.mask, self.benchmark.loss_weights,
                           cls_smoothing=self.benchmark.cls_smoothing)
        guarded = int(losses["guarded"].item())
        if guarded:
            self.guarded_terms += guarded
            rank_zero_warn(f"G-TAD: {guarded} loss term(s) of a batch had no positive (NaN in the official code) and "
                           f"were set to 0 ({self.guarded_terms} so far)")
        video = F.binary_cross_entropy_with_logits(outputs["class_logits"], batch["video_labels"].to(outputs["class_logits"]))
        losses["video_cls"] = video.detach()
        if self.training:
            losses["loss"] = losses["loss"] + video
        return losses

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, self.hparams.step_size, self.hparams.gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    # --- inference ------------------------------------------------------------------------------------------

    def postprocess(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> list[Any]:
        conf = outputs["confidence"].detach().float().cpu().numpy()
        start = outputs["start"].detach().float().cpu().numpy()
        end = outputs["end"].detach().float().cpu().numpy()
        probs = torch.sigmoid(outputs["class_logits"].detach().float()).cpu().numpy()
        items = []
        for i, vid in enumerate(batch["video_id"]):
            item = {key: batch[key][i] for key in ("duration", "origin", "step") if key in batch}
            props = self.benchmark.proposals(start[i], end[i], conf[i], item, self.hparams)
            items.append({"video": str(vid), "duration": float(batch["duration"][i]), "proposals": props,
                          "class_probs": probs[i]})
        return items

    def _class_source(self):
        if self.hparams.class_scores:
            return read_class_scores(self.hparams.class_scores, class_names=self.classes or None)
        return None

    def prediction_metadata(self) -> dict[str, Any]:
        """The results file's ``external_data``: where the labels came from."""
        if self.hparams.class_scores:
            return {"labels": f"video-level class scores from {self.hparams.class_scores} (top-{self.hparams.top_classes})"}
        return {"labels": "bsp_gtad VideoClassifier: linear layer on mean-pooled frozen features, multi-label BCE, "
                          f"trained with the head (top-{self.hparams.top_classes})"}

    def on_test_epoch_start(self) -> None:
        super().on_test_epoch_start()
        if self.hparams.class_scores:  # fail before the epoch, naming the file and the problem
            dm = getattr(self.trainer, "datamodule", None)
            ids = dm.dataset("test").video_ids if dm is not None else []
            read_class_scores(self.hparams.class_scores, ids, self.classes or None)

    def merge_predictions(self, items: list[Any]) -> Detections:
        """Items of every rank (videos, or THUMOS windows) -> each video's proposals (the benchmark's merge),
        labelled by the top classes: :class:`~bsp_lightning.evaluation.formats.Detections` with the class-agnostic
        proposals, which are written beside the results (``test_proposals.json``) and scored by AR@AN."""
        h = self.hparams
        grouped: dict[str, list[dict]] = {}
        for item in items:
            grouped.setdefault(item["video"], []).append(item)
        source = self._class_source()
        results, proposals = {}, {}
        for vid, parts in grouped.items():
            props = self.benchmark.merge(parts, h)
            if source is not None:
                scores, names = source.scores(vid), source.names
            else:
                scores, names = np.mean([p["class_probs"] for p in parts], axis=0), self.classes
            proposals[vid] = props
            results[vid] = classify(props, scores, names, h.top_classes, decimals=self.benchmark.decimals)
        return Detections(results, self.prediction_metadata(), self.benchmark.version, proposals)

    def build_metric(self) -> Callable[[Any], dict[str, float]]:
        from bsp_lightning.evaluation import activitynet_map
        from bsp_lightning.evaluation.proposals import average_recall_vs_proposals

        dm = self.trainer.datamodule
        gt_videos, gt_labels, gt_segments = dm.ground_truth("test")
        thresholds = np.asarray(self.benchmark.tiou_thresholds)

        def metric(predictions: Detections) -> dict[str, float]:
            videos, labels, segments, scores = [], [], [], []
            for vid, dets in predictions.results.items():
                for d in dets:
                    videos.append(vid)
                    labels.append(d["label"])
                    segments.append(d["segment"])
                    scores.append(d["score"])
            if not videos:
                rank_zero_warn("G-TAD: no detection at all; mAP is 0")
                return {f"mAP@{t:.2f}": 0.0 for t in thresholds} | {"average_mAP": 0.0}
            result = activitynet_map(gt_videos, gt_labels, gt_segments, videos, labels,
                                     np.asarray(segments, dtype=np.float64).reshape(-1, 2), scores,
                                     tiou_thresholds=thresholds, ignore_unknown_labels=True)
            out = {f"mAP@{t:.2f}": float(v) for t, v in zip(thresholds, result.mAP)}
            out["average_mAP"] = float(result.average_mAP)
            if predictions.proposals and any(len(p) for p in predictions.proposals.values()):
                ar = average_recall_vs_proposals(gt_videos, gt_segments, predictions.proposals)
                out.update(ar.summary())
            return out

        return metric
