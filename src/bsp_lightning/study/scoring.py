"""A head run's test metrics, recomputed from its prediction file on any resample of the test videos.

The bootstrap of :mod:`bsp_lightning.study.statistics` draws test videos with replacement; a video drawn ``k``
times counts ``k`` times. Each scorer reads one run's ``predictions/test.json`` (the benchmark's official format)
and the toy ground truth once, then scores a whole batch of resamples, given as per-video multiplicities
``counts (B, V)``:

* :class:`DetectionScores` (G-TAD): ActivityNet ``mAP@t`` and ``average_mAP``. A prediction's true/false-positive
  status at each tIoU threshold depends only on its own video (greedy matching never crosses videos), so the
  flags of :func:`bsp_lightning.evaluation.detection.activitynet_map` are computed once; a resample weights them
  by the multiplicity of their video. ``k`` copies of a prediction have the same score and sit together in the
  ranking, so the weighted cumulative counts give the same interpolated AP as the copied list, and only the true
  positives need visiting (:func:`_weighted_ap`). Classes without ground truth in a resample are left out of the
  mean, as the official code does.
* :class:`GroundingScores` (2D-TAN, LGI): per-query hits (``R@n,IoU=m``) and top-1 IoU with
  :func:`bsp_lightning.evaluation.grounding.query_hits` under the head's convention, averaged over the resampled
  queries.
* :class:`ActionnessScores`: pooled segment AP (scikit-learn semantics, ties grouped) with weighted segments,
  and the mean per-video AP over the resampled videos that have a positive segment.

``full()`` gives the metrics on the whole split with the official-equivalent functions the heads use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bsp_lightning.annotations import load_activitynet
from bsp_lightning.annotations.crosstask import read_crosstask_annotations, segment_labels
from bsp_lightning.evaluation.actionness import actionness_ap, average_precision
from bsp_lightning.evaluation.detection import activitynet_map
from bsp_lightning.evaluation.detection_ap import (
    DEFAULT_TIOU_THRESHOLDS,
    _rank_by_class,
    _true_positives,
)
from bsp_lightning.evaluation.formats import read_actionness, read_detections, read_grounding
from bsp_lightning.evaluation.grounding import grounding_metrics, metric_names, query_hits

__all__ = ["ActionnessScores", "DetectionScores", "GroundingScores", "RunScores"]


class RunScores(ABC):
    """Base: ``names`` (metric names), ``videos`` (the run's test video ids), ``full()`` and ``resampled()``."""

    names: list[str]
    videos: list[str]

    @abstractmethod
    def full(self) -> np.ndarray:
        """``float64 (M,)``: the metrics on the whole test split."""

    @abstractmethod
    def resampled(self, counts: np.ndarray) -> np.ndarray:
        """``float64 (B, M)``: the metrics on each resample; ``counts (B, V)`` is the multiplicity of each of
        :attr:`videos` (columns in that order)."""


class DetectionScores(RunScores):
    """ActivityNet detection mAP of one run (module docstring).

    Args:
        predictions: an ActivityNet results file.
        ground_truth: the ActivityNet JSON.
        subset: the evaluated subset (the toy ``testing`` one).
        thresholds: tIoU thresholds (default ``0.5:0.05:0.95``).
    """

    def __init__(self, predictions: str | Path, ground_truth: str | Path, subset: str = "testing",
                 thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS) -> None:
        gt = load_activitynet(ground_truth, subset=subset)
        segments = list(gt.segments)  # file order, as the heads pass them to activitynet_map
        self.videos = sorted({s.video_id for s in segments})
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.names = [f"mAP@{t:.2f}" for t in self.thresholds] + ["average_mAP"]
        self._gt = ([s.video_id for s in segments], [s.label for s in segments],
                    np.array([[s.start, s.end] for s in segments], dtype=np.float64).reshape(-1, 2))
        self._pred = read_detections(predictions)
        classes = sorted(set(self._gt[1]))
        video_of = {v: i for i, v in enumerate(self.videos)}
        class_of = {c: i for i, c in enumerate(classes)}
        keep = np.array([label in class_of and video in video_of
                         for video, label in zip(self._pred.videos, self._pred.labels)], dtype=bool)
        pred_video = np.array([video_of.get(v, -1) for v in self._pred.videos], dtype=np.int64)[keep]
        pred_label = np.array([class_of.get(c, -1) for c in self._pred.labels], dtype=np.int64)[keep]
        gt_video = np.array([video_of[v] for v in self._gt[0]], dtype=np.int64)
        gt_label = np.array([class_of[c] for c in self._gt[1]], dtype=np.int64)
        ranked, self._bounds = _rank_by_class(pred_label, self._pred.scores[keep], len(classes))
        self._tp = _true_positives(gt_video, gt_label, self._gt[2], pred_video[ranked], pred_label[ranked],
                                   self._pred.segments[keep][ranked], self.thresholds, len(self.videos))
        self._pred_video = pred_video[ranked]
        self._npos = np.zeros((len(self.videos), len(classes)))
        np.add.at(self._npos, (gt_video, gt_label), 1.0)
        # predictions of videos outside the subset are false positives in the official code: they stay so
        self._outside = np.flatnonzero(~keep & np.array([v not in video_of for v in self._pred.videos]))

    def full(self) -> np.ndarray:
        p = self._pred
        if not len(p.videos):
            return np.zeros(len(self.names))
        result = activitynet_map(*self._gt, p.videos, p.labels, p.segments, p.scores,
                                 tiou_thresholds=self.thresholds, ignore_unknown_labels=True)
        return np.append(np.asarray(result.mAP, dtype=np.float64), result.average_mAP)

    def resampled(self, counts: np.ndarray, chunk: int = 250) -> np.ndarray:
        if self._outside.size:
            raise ValueError(f"{self._outside.size} detections of videos outside the test subset: a resample of "
                             "test videos cannot weight them")
        counts = np.asarray(counts, dtype=np.float64)
        num_t = len(self.thresholds)
        total = np.zeros((len(counts), num_t))
        classes = np.zeros(len(counts))
        npos = counts @ self._npos  # (B, C)
        for c in range(self._npos.shape[1]):
            lo, hi = self._bounds[c], self._bounds[c + 1]
            present = npos[:, c] > 0
            classes += present
            if hi == lo:  # a class without detections scores 0 where it has ground truth
                continue
            hits = [np.flatnonzero(row) for row in self._tp[:, lo:hi]]
            for start in range(0, len(counts), chunk):
                w = counts[start : start + chunk][:, self._pred_video[lo:hi]]  # (b, n) weight of each detection
                seen = np.cumsum(w, axis=1)
                positives = npos[start : start + chunk, c]
                for t, idx in enumerate(hits):
                    total[start : start + chunk, t] += _weighted_ap(w[:, idx], seen[:, idx], positives,
                                                                    present[start : start + chunk])
        with np.errstate(invalid="ignore", divide="ignore"):
            per_threshold = total / classes[:, None]
        return np.concatenate([per_threshold, per_threshold.mean(axis=1, keepdims=True)], axis=1)


def _weighted_ap(w_hits: np.ndarray, seen: np.ndarray, positives: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Interpolated AP of each resample from its true positives only: ``(b,)``.

    Recall only steps at a true positive (by its weight over the resample's positives), and the interpolated
    precision after a true positive is the largest precision at a true positive at or after it: a false positive
    has the precision of the last true positive before it, over more detections seen. So the area is
    ``sum_k w_k / positives * max_{j >= k} precision_j`` over the true positives, in rank order, which is the
    interpolated AP of the whole ranked list (:func:`bsp_lightning.evaluation.detection_ap.interpolated_ap`) with
    ``k`` copies of each detection of a video drawn ``k`` times. A zero-weight true positive adds no recall and its
    precision is that of the detection before it, a value of the list: it cannot change the maximum.

    Args:
        w_hits: ``(b, m)`` weights of the ``m`` true positives of a class at one tIoU, in rank order.
        seen: ``(b, m)`` summed weights of every detection of the class up to and including each true positive.
        positives: ``(b,)`` ground-truth segments of the class in each resample.
        present: ``(b,)`` whether the class has ground truth in the resample (else 0, left out of the mean).
    """
    if not w_hits.shape[1]:
        return np.zeros(len(w_hits))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, np.cumsum(w_hits, axis=1) / seen, 0.0)
        envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        ap = np.sum(w_hits * envelope, axis=1) / positives
    return np.where(present, ap, 0.0)


class GroundingScores(RunScores):
    """Recall and mIoU of one grounding run (module docstring).

    Args:
        predictions: a grounding results file (JSON list of ``{"video", "duration", "query", "gt", "predictions"}``).
        convention: ``"lgi"`` or ``"2dtan"`` (:mod:`bsp_lightning.evaluation.grounding`).
        recall_at: the ``n`` of R@n.
        iou_thresholds: the ``m`` of IoU=m.
        nms_threshold: 2D-TAN's NMS threshold.
    """

    def __init__(self, predictions: str | Path, convention: str = "lgi", recall_at: Sequence[int] = (1,),
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7), nms_threshold: float = 0.5) -> None:
        self._records = read_grounding(predictions)
        self._args = (tuple(recall_at), tuple(iou_thresholds), convention, nms_threshold)
        self.names = metric_names(recall_at, iou_thresholds)
        self.videos = sorted({str(r["video"]) for r in self._records})
        video_of = {v: i for i, v in enumerate(self.videos)}
        self._sums = np.zeros((len(self.videos), len(self.names)))
        self._queries = np.zeros(len(self.videos))
        for r in self._records:
            hits, top1 = query_hits(np.asarray(r["predictions"], dtype=np.float64).reshape(-1, 2), r["gt"],
                                    *self._args)
            row = video_of[str(r["video"])]
            # metric_names order: for each threshold, each n; then mIoU
            self._sums[row] += np.append(hits.reshape(-1).astype(np.float64), top1)
            self._queries[row] += 1

    def full(self) -> np.ndarray:
        metrics = grounding_metrics([np.asarray(r["predictions"], dtype=np.float64).reshape(-1, 2)
                                     for r in self._records], [r["gt"] for r in self._records], *self._args)
        return np.array([metrics[n] for n in self.names], dtype=np.float64)

    def resampled(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (counts @ self._sums) / (counts @ self._queries)[:, None]


class ActionnessScores(RunScores):
    """Pooled and per-video-mean actionness AP of one run (module docstring).

    Args:
        predictions: an actionness results file (``{video_id: [score per 0.2 s segment]}``).
        crosstask: the CrossTask release folder (or its annotations folder) with the steps.
    """

    names = ["AP", "AP_per_video_mean"]

    def __init__(self, predictions: str | Path, crosstask: str | Path) -> None:
        steps = read_crosstask_annotations(crosstask)
        scores = {v: s for v, s in read_actionness(predictions).items() if s.size}
        self._scores = scores
        self._labels = {v: segment_labels(steps[v], len(s)) for v, s in scores.items()}
        self.videos = sorted(scores)
        video_of = {v: i for i, v in enumerate(self.videos)}
        flat_scores = np.concatenate([scores[v] for v in self.videos])
        flat_labels = np.concatenate([self._labels[v] for v in self.videos])
        flat_video = np.concatenate([np.full(len(scores[v]), video_of[v]) for v in self.videos])
        order = np.argsort(flat_scores, kind="stable")[::-1]
        ranked = flat_scores[order]
        self._last_of_tie = np.r_[np.nonzero(ranked[1:] != ranked[:-1])[0], ranked.size - 1]
        self._label = flat_labels[order].astype(np.float64)
        self._video = flat_video[order]
        self._video_ap = np.array([average_precision(self._labels[v], scores[v]) if self._labels[v].any()
                                   else np.nan for v in self.videos])

    def full(self) -> np.ndarray:
        result = actionness_ap(self._scores, self._labels)
        return np.array([result.AP, result.AP_per_video_mean])

    def resampled(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        out = np.empty((len(counts), 2))
        has_positive = np.isfinite(self._video_ap)
        for b, weights in enumerate(counts):
            w = weights[self._video]
            tps = np.cumsum(w * self._label)[self._last_of_tie]
            seen = np.cumsum(w)[self._last_of_tie]
            recall_step = np.diff(np.r_[0.0, tps]) / tps[-1] if tps[-1] > 0 else np.full(len(tps), np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[b, 0] = np.sum(np.where(recall_step > 0, recall_step * tps / seen, 0.0))
            vw = weights[has_positive]
            out[b, 1] = (vw @ self._video_ap[has_positive]) / vw.sum() if vw.sum() > 0 else np.nan
            if tps[-1] == 0:
                out[b, 0] = np.nan
        return out
