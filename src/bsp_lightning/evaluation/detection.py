"""ActivityNet-1.3 temporal action detection mAP with the numbers of the official evaluation code.

The reference is ``ANETdetection`` of ``activitynet/ActivityNet`` ``Evaluation/eval_detection.py`` (with
``check_status=False``: no blocked-video list is fetched; pass ``blocked_videos`` to reproduce one). Its
semantics, all kept here:

* classes are the labels of the ground truth *of the evaluated subset*, indexed in order of first
  appearance (``activity_index``); mAP is the mean over exactly these classes;
* tIoU thresholds ``numpy.linspace(0.5, 0.95, 10)``; ``segment_iou`` = intersection / (sum of lengths -
  intersection), segments are not clipped, a 0/0 tIoU is NaN and (as in the official loop) never
  ``< threshold``, so it matches;
* per class, predictions are ranked with ``scores.argsort()[::-1]`` on the class's scores in input order.
  numpy's default sort is not stable, so the order of tied scores is whatever that exact call returns;
  we make the same call on the same float64 array, which reproduces the official tie order on the same
  machine and numpy (on AVX-512 machines numpy's default argsort is visibly unstable). One residual
  difference: a file whose scores are all JSON integers gives pandas an int64 column, whose argsort may
  order ties differently from our float64 one;
* a prediction is a true positive at threshold ``t`` when, scanning the ground truths of its video and
  label in the order ``tiou.argsort()[::-1]``, one not yet matched at ``t`` comes before the first with
  ``tiou < t``; that one is then matched (each ground truth matches once per threshold, duplicates are
  false positives); a prediction on a video with no ground truth of its label (including videos outside
  the subset) is a false positive;
* AP is the VOC-2011 interpolated area (:func:`interpolated_ap`); a class with ground truth and no
  prediction scores 0.

Where the official code crashes (a predicted label without ground truth in the subset: ``KeyError`` in
``activity_index``) :func:`activitynet_map` raises :class:`UnknownLabelError`; ``ignore_unknown_labels=True``
drops those predictions with a warning and reports their number.

The implementation is vectorised (:mod:`bsp_lightning.evaluation.detection_ap`: tIoU, matching and AP)
about 20-40x faster than the per-prediction loop of the official code, which
``tests/evaluation/reference_activitynet.py`` restates as the test oracle. The torchmetrics wrapper is
:class:`~bsp_lightning.evaluation.detection_metric.ActivityNetMAP`; both stay importable from here.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError
from bsp_lightning.evaluation.detection_ap import (
    DEFAULT_TIOU_THRESHOLDS,
    average_precision_per_class,
    interpolated_ap,
    segment_iou,
)
from bsp_lightning.evaluation.detection_metric import ActivityNetMAP

# The reader of the results file moved to formats.py; the old names stay importable from here.
from bsp_lightning.evaluation.formats import ActivityNetPredictions  # noqa: F401
from bsp_lightning.evaluation.formats import read_detections as read_activitynet_predictions  # noqa: F401

__all__ = [
    "DEFAULT_TIOU_THRESHOLDS",
    "ActivityNetMAP",
    "ActivityNetPredictions",
    "DetectionResult",
    "UnknownLabelError",
    "activitynet_map",
    "average_precision_per_class",
    "interpolated_ap",
    "read_activitynet_predictions",
    "segment_iou",
]

logger = logging.getLogger(__name__)


class UnknownLabelError(EvaluationInputError):
    """Predictions carry labels that have no ground truth in the evaluated subset (the official code crashes).

    Attributes:
        count: number of such predictions.
        examples: up to five of the labels.
        base_message: the message without the advice on how to proceed.
    """

    count: int = 0
    examples: list[str] = []
    base_message: str = ""


class DetectionResult(NamedTuple):
    """What :func:`activitynet_map` returns.

    Attributes:
        tiou_thresholds: ``(T,)`` thresholds.
        labels: the evaluated classes, in the official ``activity_index`` order (first appearance in the
            subset's ground truth).
        ap: ``(T, C)`` AP per threshold and class (columns follow ``labels``).
        mAP: ``(T,)`` mean AP over the classes, per threshold.
        average_mAP: the mean of ``mAP``.
        num_ignored_predictions: predictions dropped by ``ignore_unknown_labels=True``.
    """

    tiou_thresholds: np.ndarray
    labels: list[Hashable]
    ap: np.ndarray
    mAP: np.ndarray
    average_mAP: float
    num_ignored_predictions: int = 0

    def per_class_ap(self) -> dict[Hashable, float]:
        """Label -> AP averaged over the thresholds."""
        return {label: float(v) for label, v in zip(self.labels, self.ap.mean(axis=0))}


def activitynet_map(
    gt_videos: Sequence[Hashable],
    gt_labels: Sequence[Hashable],
    gt_segments: Any,
    pred_videos: Sequence[Hashable],
    pred_labels: Sequence[Hashable],
    pred_segments: Any,
    pred_scores: Any,
    tiou_thresholds: Any = DEFAULT_TIOU_THRESHOLDS,
    ignore_unknown_labels: bool = False,
    blocked_videos: Iterable[Hashable] = (),
) -> DetectionResult:
    """ActivityNet detection mAP of predictions against the ground truth of one subset.

    Every argument is a plain sequence or array; ids and labels may be strings or integers. Ground truth
    must already be restricted to the evaluated subset (in file order); predictions must be in the order
    the official code reads them (videos in file order, each video's list in order) because that order
    decides how tied scores are ranked.

    Args:
        gt_videos: ``(M,)`` video id of each ground-truth segment.
        gt_labels: ``(M,)`` label of each ground-truth segment.
        gt_segments: ``(M, 2)`` ``[start, end]`` in seconds.
        pred_videos: ``(N,)`` video id of each prediction (ids outside the subset are false positives).
        pred_labels: ``(N,)`` predicted label.
        pred_segments: ``(N, 2)`` predicted ``[start, end]``.
        pred_scores: ``(N,)`` confidence (finite).
        tiou_thresholds: ``(T,)`` thresholds, default ``numpy.linspace(0.5, 0.95, 10)``.
        ignore_unknown_labels: drop predictions whose label has no ground truth in the subset (with a
            warning) instead of raising.
        blocked_videos: videos removed from both sides, like the official blocked list.

    Returns:
        A :class:`DetectionResult`.

    Raises:
        EvaluationInputError: empty ground truth, mismatched lengths, non-finite scores.
        UnknownLabelError: a predicted label is not among the ground-truth labels and
            ``ignore_unknown_labels`` is False.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    gt_seg = _as_segments(gt_segments, len(gt_videos), "ground truth")
    pred_seg = _as_segments(pred_segments, len(pred_videos), "predictions")
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    if not (len(gt_videos) == len(gt_labels) and len(pred_videos) == len(pred_labels) == len(scores)):
        raise EvaluationInputError("ids, labels, segments and scores must have the same length")
    if not np.isfinite(scores).all():
        raise EvaluationInputError(f"{int((~np.isfinite(scores)).sum())} prediction score(s) are NaN or infinite")

    blocked = set(blocked_videos)
    if blocked:
        keep_gt = np.array([v not in blocked for v in gt_videos], dtype=bool)
        keep_pred = np.array([v not in blocked for v in pred_videos], dtype=bool)
        gt_videos, gt_labels = _take(gt_videos, keep_gt), _take(gt_labels, keep_gt)
        pred_videos, pred_labels = _take(pred_videos, keep_pred), _take(pred_labels, keep_pred)
        gt_seg, pred_seg, scores = gt_seg[keep_gt], pred_seg[keep_pred], scores[keep_pred]
    if len(gt_videos) == 0:
        raise EvaluationInputError("the ground truth has no segment in the evaluated subset")

    activity_index = _index_of(gt_labels)
    gt_lab = _encode(gt_labels, activity_index)
    pred_lab = _encode(pred_labels, activity_index, default=-1)
    num_ignored = 0
    unknown = pred_lab < 0
    if unknown.any():
        names = sorted({str(pred_labels[i]) for i in np.nonzero(unknown)[0][:1000]})
        message = (
            f"{int(unknown.sum())} prediction(s) have label(s) without ground truth in the evaluated subset "
            f"(the official code raises KeyError), e.g. {', '.join(map(repr, names[:5]))}"
        )
        if not ignore_unknown_labels:
            err = UnknownLabelError(message + "; use ignore_unknown_labels=True to drop them")
            err.count, err.examples, err.base_message = int(unknown.sum()), names[:5], message
            raise err
        num_ignored = int(unknown.sum())
        logger.warning("%s; dropped", message)
        warnings.warn(message + "; dropped", stacklevel=2)
        keep = ~unknown
        pred_videos, pred_lab, pred_seg, scores = _take(pred_videos, keep), pred_lab[keep], pred_seg[keep], scores[keep]

    # Videos outside the ground truth get ids of their own: they never meet a ground truth.
    video_index = _index_of(gt_videos, pred_videos)
    gt_vid, pred_vid = _encode(gt_videos, video_index), _encode(pred_videos, video_index)

    ap = average_precision_per_class(
        gt_vid, gt_lab, gt_seg, pred_vid, pred_lab, pred_seg, scores, len(activity_index), thresholds, len(video_index)
    )
    mean_ap = ap.mean(axis=1)
    return DetectionResult(thresholds, list(activity_index), ap, mean_ap, float(mean_ap.mean()), num_ignored)


def _as_segments(segments: Any, n: int, what: str) -> np.ndarray:
    seg = np.asarray(segments, dtype=np.float64)
    if n == 0:
        return seg.reshape(0, 2)
    if seg.shape != (n, 2):
        raise EvaluationInputError(f"{what}: segments must have shape ({n}, 2), got {seg.shape}")
    if not np.isfinite(seg).all():
        bad = int((~np.isfinite(seg)).any(axis=1).sum())
        raise EvaluationInputError(f"{what}: {bad} segment(s) are NaN or infinite")
    return seg


def _index_of(*sequences: Sequence[Hashable]) -> dict[Hashable, int]:
    """Value -> index in order of first appearance (``dict.fromkeys`` keeps insertion order, in C)."""
    merged: dict[Hashable, None] = {}
    for values in sequences:
        merged.update(dict.fromkeys(values))
    return {value: i for i, value in enumerate(merged)}


def _encode(values: Sequence[Hashable], index: Mapping[Hashable, int], default: int | None = None) -> np.ndarray:
    if default is None:
        return np.fromiter(map(index.__getitem__, values), np.int64, len(values))
    return np.fromiter(map(index.get, values, itertools.repeat(default, len(values))), np.int64, len(values))


def _take(values: Sequence[Hashable], keep: np.ndarray) -> list[Hashable]:
    return [v for v, k in zip(values, keep) if k]
