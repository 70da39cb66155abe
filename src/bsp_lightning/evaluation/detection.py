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

The implementation is vectorised (see :func:`_true_positives`): about 20-40x faster than the per-prediction
loop of the official code, which ``tests/evaluation/reference_activitynet.py`` restates as the test oracle.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from bsp_lightning.evaluation._io import EvaluationInputError

# The reader of the results file moved to formats.py; the old names stay importable from here.
from bsp_lightning.evaluation.formats import ActivityNetPredictions  # noqa: F401
from bsp_lightning.evaluation.formats import read_detections as read_activitynet_predictions  # noqa: F401

logger = logging.getLogger(__name__)

#: The official tIoU thresholds, ``numpy.linspace(0.5, 0.95, 10)`` (the paper's "[0.05:0.95]" is a typo).
DEFAULT_TIOU_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)


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


def segment_iou(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """tIoU of one ``[start, end]`` segment with ``(N, 2)`` candidates, with the official operation order."""
    target = np.asarray(target, dtype=np.float64)
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    inter = (np.minimum(target[1], candidates[:, 1]) - np.maximum(target[0], candidates[:, 0])).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-2011 interpolated AP, as the official ``interpolated_prec_rec``.

    Precision is made monotone from the right (with sentinels precision 0 at both ends, recall 0 and 1),
    then summed as ``(r_i - r_{i-1}) * p_i`` over the points where recall changes.
    """
    mprec = np.concatenate(([0.0], np.asarray(precision, dtype=np.float64), [0.0]))
    mrec = np.concatenate(([0.0], np.asarray(recall, dtype=np.float64), [1.0]))
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.nonzero(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


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


def average_precision_per_class(
    gt_video: np.ndarray,
    gt_label: np.ndarray,
    gt_segments: np.ndarray,
    pred_video: np.ndarray,
    pred_label: np.ndarray,
    pred_segments: np.ndarray,
    pred_scores: np.ndarray,
    num_classes: int,
    tiou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS,
    num_videos: int | None = None,
) -> np.ndarray:
    """The ``(T, num_classes)`` AP matrix on integer-coded inputs (the vectorised core).

    Labels are in ``[0, num_classes)`` (every prediction label must be one of them); video ids are
    integers in ``[0, num_videos)``, and a prediction whose video has no ground truth of its label is a
    false positive. Classes without ground truth get AP 0 (the official code never evaluates them: do not
    include them in ``num_classes`` if you average).
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64).reshape(-1)
    gt_label = np.asarray(gt_label, dtype=np.int64)
    pred_label = np.asarray(pred_label, dtype=np.int64)
    gt_video = np.asarray(gt_video, dtype=np.int64)
    pred_video = np.asarray(pred_video, dtype=np.int64)
    if num_videos is None:
        num_videos = int(max(gt_video.max(initial=-1), pred_video.max(initial=-1))) + 1
    ranked, class_bounds = _rank_by_class(pred_label, np.asarray(pred_scores, dtype=np.float64), num_classes)
    tp = _true_positives(
        gt_video, gt_label, np.asarray(gt_segments, dtype=np.float64),
        pred_video[ranked], pred_label[ranked], np.asarray(pred_segments, dtype=np.float64)[ranked],
        thresholds, num_videos,
    )
    npos = np.bincount(gt_label, minlength=num_classes)
    ap = np.zeros((len(thresholds), num_classes))
    # One running count over all classes; per class it is offset by the count before the class (exact:
    # these are integers).
    tp_running = np.zeros((len(thresholds), tp.shape[1] + 1), dtype=np.int64)
    np.cumsum(tp, axis=1, out=tp_running[:, 1:])
    for c in range(num_classes):
        lo, hi = class_bounds[c], class_bounds[c + 1]
        if hi == lo or npos[c] == 0:
            continue
        tp_cum = (tp_running[:, lo + 1 : hi + 1] - tp_running[:, lo : lo + 1]).astype(np.float64)
        fp_cum = np.arange(1, hi - lo + 1, dtype=np.float64) - tp_cum
        ap[:, c] = _interpolated_ap_rows(tp_cum / (tp_cum + fp_cum), tp_cum / float(npos[c]))
    return ap


def _interpolated_ap_rows(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """:func:`interpolated_ap` of each row of ``(T, N)`` precision/recall arrays, in one pass."""
    rows = precision.shape[0]
    mprec = np.hstack([np.zeros((rows, 1)), precision, np.zeros((rows, 1))])
    mrec = np.hstack([np.zeros((rows, 1)), recall, np.ones((rows, 1))])
    mprec = np.maximum.accumulate(mprec[:, ::-1], axis=1)[:, ::-1]
    step = mrec[:, 1:] - mrec[:, :-1]
    # Where recall does not change the term is exactly 0, as if it had been left out.
    return np.sum(np.where(step != 0, step * mprec[:, 1:], 0.0), axis=1)


def _rank_by_class(labels: np.ndarray, scores: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Prediction indices grouped by class, each group ranked exactly as the official code ranks it."""
    by_class = np.argsort(labels, kind="stable")  # stable: each class keeps the input order
    bounds = np.searchsorted(labels[by_class], np.arange(num_classes + 1))
    ranked = np.empty_like(by_class)
    for c in range(num_classes):
        members = by_class[bounds[c] : bounds[c + 1]]
        # The official call, on the same values in the same order: the tie order is the official one.
        ranked[bounds[c] : bounds[c + 1]] = members[scores[members].argsort()[::-1]]
    return ranked, bounds


def _true_positives(
    gt_video: np.ndarray,
    gt_label: np.ndarray,
    gt_segments: np.ndarray,
    pred_video: np.ndarray,
    pred_label: np.ndarray,
    pred_segments: np.ndarray,
    thresholds: np.ndarray,
    num_videos: int,
) -> np.ndarray:
    """``(T, N)`` true-positive flags of ranked predictions (ranked within each class, best first).

    The greedy matching is sequential only inside one (label, video) block: a block's k-th prediction
    needs the matches of its first k-1. So every block's k-th prediction is matched in the same numpy
    "wave", for all thresholds at once; waves run k = 0, 1, ... Predictions whose best tIoU is below every
    threshold are false positives everywhere and never lock a ground truth, so they skip the waves.
    """
    num_t, num_pred = len(thresholds), len(pred_video)
    tp = np.zeros((num_t, num_pred), dtype=bool)
    if num_pred == 0:
        return tp

    # Ground-truth blocks keyed by (label, video); the stable sort keeps the file order inside a block,
    # which is the order of the official per-video ground-truth frame.
    gt_key = gt_label * num_videos + gt_video
    gt_order = np.argsort(gt_key, kind="stable")
    block_keys, block_start, block_size = np.unique(gt_key[gt_order], return_index=True, return_counts=True)
    pred_key = pred_label * num_videos + pred_video
    block = np.searchsorted(block_keys, pred_key)
    block = np.minimum(block, len(block_keys) - 1)
    has_block = block_keys[block] == pred_key
    rows = np.nonzero(has_block)[0]
    if rows.size == 0:
        return tp
    block = block[rows]
    size = block_size[block]

    # Blocks of different sizes share no ground truth, so each size is matched on its own, with dense
    # (rows, k) arrays. tIoU rows are ordered as the official ``tiou.argsort()[::-1]``: a 2-D argsort sorts
    # each row exactly as the 1-D call on that row would.
    min_thr = thresholds.min()
    thr = thresholds[:, None]
    unlocked = np.ones((num_t, len(gt_video)), dtype=bool)
    for k in np.unique(size):
        sel = np.nonzero(size == k)[0]
        gt_idx = gt_order[block_start[block[sel]][:, None] + np.arange(k)]
        p = pred_segments[rows[sel]]
        g_start, g_end = gt_segments[gt_idx, 0], gt_segments[gt_idx, 1]
        inter = (np.minimum(p[:, 1:2], g_end) - np.maximum(p[:, 0:1], g_start)).clip(0)
        union = (g_end - g_start) + (p[:, 1:2] - p[:, 0:1]) - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            tiou = inter / union
        order = np.argsort(tiou, axis=1)[:, ::-1]
        tiou = np.take_along_axis(tiou, order, axis=1)
        gt_idx = np.take_along_axis(gt_idx, order, axis=1)
        # Predictions below every threshold are false positives everywhere and lock nothing. NaN (0/0)
        # is never ``< t``, so, as in the official loop, it matches.
        eligible = np.nonzero(~(tiou[:, 0] < min_thr))[0]
        if eligible.size == 0:
            continue
        # Rank order inside each block (rows are already in rank order within a class).
        eligible = eligible[np.argsort(block[sel[eligible]], kind="stable")]
        pred_row, tiou, gt_idx = rows[sel[eligible]], tiou[eligible], gt_idx[eligible]
        blk = block[sel[eligible]]
        new_block = np.concatenate(([True], blk[1:] != blk[:-1]))
        block_first = np.maximum.accumulate(np.where(new_block, np.arange(blk.size), 0))
        if k == 1:
            # One ground truth: at each threshold the first reaching prediction of the block takes it.
            reach = ~(tiou[:, 0][None] < thr)
            seen = np.cumsum(reach, axis=1)
            before = np.where(block_first > 0, seen[:, block_first - 1], 0)
            tp[:, pred_row] = reach & (seen - before == 1)
            continue
        # Greedy matching is sequential only inside a block: match every block's w-th prediction at once.
        position = np.arange(blk.size) - block_first
        wave_order = np.argsort(position, kind="stable")
        wave_bounds = np.searchsorted(position[wave_order], np.arange(position.max() + 2))
        for w in range(len(wave_bounds) - 1):
            members = wave_order[wave_bounds[w] : wave_bounds[w + 1]]
            gts = gt_idx[members]
            # Official scan: stop at the first ground truth with tiou < t, take the first unlocked before it.
            reach = np.logical_and.accumulate(~(tiou[members][None] < thr[:, :, None]), axis=2)
            candidate = reach & unlocked[:, gts]
            t_idx, m_idx = np.nonzero(candidate.any(axis=2))
            chosen = gts[m_idx, candidate[t_idx, m_idx].argmax(axis=1)]
            unlocked[t_idx, chosen] = False
            tp[t_idx, pred_row[members[m_idx]]] = True
    return tp


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
