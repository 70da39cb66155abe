"""Matching and AP of ActivityNet detection: tIoU, greedy matching per threshold, interpolated AP.

The vectorised core of :func:`bsp_lightning.evaluation.detection.activitynet_map`, on integer-coded inputs,
with the semantics of ``ANETdetection`` (``activitynet/ActivityNet`` ``Evaluation/eval_detection.py``) that
the docstring of :mod:`bsp_lightning.evaluation.detection` lists: ranking with the official ``argsort`` call,
greedy matching in ``tiou.argsort()[::-1]`` order (each ground truth once per threshold, a NaN tIoU matches),
and the VOC-2011 interpolated area.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_TIOU_THRESHOLDS", "average_precision_per_class", "interpolated_ap", "segment_iou"]

#: The official tIoU thresholds, ``numpy.linspace(0.5, 0.95, 10)`` (the paper's "[0.05:0.95]" is a typo).
DEFAULT_TIOU_THRESHOLDS: np.ndarray = np.linspace(0.5, 0.95, 10)


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
