"""ActivityNet detection mAP as a torchmetrics ``Metric`` (integer-coded ids, states gathered under DDP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from bsp_lightning.evaluation.detection_ap import DEFAULT_TIOU_THRESHOLDS

__all__ = ["ActivityNetMAP"]


class ActivityNetMAP(Metric):
    """ActivityNet detection mAP as a torchmetrics ``Metric``, with :func:`activitynet_map`'s numbers.

    Torch cannot gather strings, so video ids and labels are integers: ``labels`` (given at construction)
    names the label indices, and video ids are any integers identifying videos (e.g. dataset indices),
    the same on the ground-truth and prediction sides. States are float64/int64 lists concatenated
    under DDP (``dist_reduce_fx="cat"``).

    ``update(pred_video, pred_label, pred_segments, pred_scores, gt_video, gt_label, gt_segments)`` takes
    ``(N,)``, ``(N,)``, ``(N, 2)``, ``(N,)`` predictions and ``(M,)``, ``(M,)``, ``(M, 2)`` ground truths; give
    each video's ground truth once (a video repeated by a padding ``DistributedSampler`` would count twice).
    ``compute()`` returns ``{"mAP": (T,), "average_mAP": (), "per_class_AP": (num_labels,)}`` float64
    tensors; ``per_class_AP`` is averaged over thresholds and NaN for labels without ground truth (they
    are not evaluated, as in the official code).

    Tied scores are ranked in accumulation order, as the official code ranks them in file order; after a
    DDP gather that order is rank-major, so ties may be broken differently than in a single process.
    """

    full_state_update = False

    def __init__(
        self,
        labels: Sequence[str] | int,
        tiou_thresholds: Any = DEFAULT_TIOU_THRESHOLDS,
        ignore_unknown_labels: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.labels = [str(i) for i in range(labels)] if isinstance(labels, int) else [str(x) for x in labels]
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be distinct")
        self.tiou_thresholds = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
        self.ignore_unknown_labels = ignore_unknown_labels
        for name in ("pred_video", "pred_label", "pred_segments", "pred_scores", "gt_video", "gt_label", "gt_segments"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(
        self,
        pred_video: torch.Tensor,
        pred_label: torch.Tensor,
        pred_segments: torch.Tensor,
        pred_scores: torch.Tensor,
        gt_video: torch.Tensor,
        gt_label: torch.Tensor,
        gt_segments: torch.Tensor,
    ) -> None:
        def ids(x: Any) -> torch.Tensor:
            return torch.as_tensor(x).detach().reshape(-1).to(torch.int64)

        def reals(x: Any, width: int | None = None) -> torch.Tensor:
            t = torch.as_tensor(x).detach().to(torch.float64)
            return t.reshape(-1) if width is None else t.reshape(-1, width)

        self.pred_video.append(ids(pred_video))
        self.pred_label.append(ids(pred_label))
        self.pred_segments.append(reals(pred_segments, 2))
        self.pred_scores.append(reals(pred_scores))
        self.gt_video.append(ids(gt_video))
        self.gt_label.append(ids(gt_label))
        self.gt_segments.append(reals(gt_segments, 2))

    def compute(self) -> dict[str, torch.Tensor]:
        def cat(state: Any, width: int | None = None) -> np.ndarray:
            if isinstance(state, list) and not state:
                return np.zeros((0,) if width is None else (0, width))
            arr = dim_zero_cat(state).cpu().numpy()
            return arr.reshape(-1) if width is None else arr.reshape(-1, width)

        gt_label = cat(self.gt_label).astype(np.int64)
        pred_label = cat(self.pred_label).astype(np.int64)
        for what, lab in (("ground-truth", gt_label), ("predicted", pred_label)):
            if lab.size and (lab.min() < 0 or lab.max() >= len(self.labels)):
                raise ValueError(f"{what} label index out of range [0, {len(self.labels)})")
        from bsp_lightning.evaluation.detection import activitynet_map  # it imports this module

        names = np.asarray(self.labels, dtype=object)  # names make the unknown-label message readable
        result = activitynet_map(
            cat(self.gt_video).astype(np.int64).tolist(), names[gt_label].tolist(), cat(self.gt_segments, 2),
            cat(self.pred_video).astype(np.int64).tolist(), names[pred_label].tolist(), cat(self.pred_segments, 2),
            cat(self.pred_scores), tiou_thresholds=self.tiou_thresholds,
            ignore_unknown_labels=self.ignore_unknown_labels,
        )
        index = {name: i for i, name in enumerate(self.labels)}
        per_class = np.full(len(self.labels), np.nan)
        per_class[[index[name] for name in result.labels]] = result.ap.mean(axis=0)
        return {
            "mAP": torch.as_tensor(result.mAP, dtype=torch.float64),
            "average_mAP": torch.tensor(result.average_mAP, dtype=torch.float64),
            "per_class_AP": torch.as_tensor(per_class, dtype=torch.float64),
        }
