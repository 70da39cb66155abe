"""Slow, straightforward restatement of the official ActivityNet detection evaluation (the test oracle).

This follows ``compute_average_precision_detection`` of ``activitynet/ActivityNet``
``Evaluation/eval_detection.py`` statement by statement (per class, then per prediction, then per
threshold, then per ground truth), with Python lists in place of pandas frames. It exists to check the
vectorised :func:`bsp_lightning.evaluation.detection.activitynet_map` in ``test_detection.py`` and in
``benchmarks/eval_speed.py``; do not use it for real evaluation (it is 20-40x slower).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def _segment_iou(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    tt1 = np.maximum(target[0], candidates[:, 0])
    tt2 = np.minimum(target[1], candidates[:, 1])
    inter = (tt2 - tt1).clip(0)
    union = (candidates[:, 1] - candidates[:, 0]) + (target[1] - target[0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter.astype(float) / union


def _interpolated_prec_rec(prec: np.ndarray, rec: np.ndarray) -> float:
    mprec = np.hstack([[0], prec, [0]])
    mrec = np.hstack([[0], rec, [1]])
    for i in range(len(mprec) - 1)[::-1]:
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.where(mrec[1::] != mrec[0:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def reference_class_ap(
    gt_videos: Sequence[Hashable],
    gt_segments: np.ndarray,
    pred_videos: Sequence[Hashable],
    pred_segments: np.ndarray,
    pred_scores: np.ndarray,
    tiou_thresholds: np.ndarray,
) -> np.ndarray:
    """AP of one class per threshold: the official ``compute_average_precision_detection``."""
    ap = np.zeros(len(tiou_thresholds))
    if len(pred_videos) == 0:
        return ap
    npos = float(len(gt_videos))
    lock_gt = np.ones((len(tiou_thresholds), len(gt_videos))) * -1
    sort_idx = np.asarray(pred_scores, dtype=np.float64).argsort()[::-1]
    gt_by_video: dict[Hashable, list[int]] = {}
    for i, vid in enumerate(gt_videos):
        gt_by_video.setdefault(vid, []).append(i)

    tp = np.zeros((len(tiou_thresholds), len(sort_idx)))
    fp = np.zeros((len(tiou_thresholds), len(sort_idx)))
    for idx, p in enumerate(sort_idx):
        this_gt = gt_by_video.get(pred_videos[p])
        if this_gt is None:
            fp[:, idx] = 1
            continue
        tiou_arr = _segment_iou(pred_segments[p], gt_segments[this_gt])
        tiou_sorted_idx = tiou_arr.argsort()[::-1]
        for tidx, tiou_thr in enumerate(tiou_thresholds):
            for jdx in tiou_sorted_idx:
                if tiou_arr[jdx] < tiou_thr:
                    fp[tidx, idx] = 1
                    break
                if lock_gt[tidx, this_gt[jdx]] >= 0:
                    continue
                tp[tidx, idx] = 1
                lock_gt[tidx, this_gt[jdx]] = idx
                break
            if fp[tidx, idx] == 0 and tp[tidx, idx] == 0:
                fp[tidx, idx] = 1

    tp_cumsum = np.cumsum(tp, axis=1).astype(float)
    fp_cumsum = np.cumsum(fp, axis=1).astype(float)
    recall_cumsum = tp_cumsum / npos
    precision_cumsum = tp_cumsum / (tp_cumsum + fp_cumsum)
    for tidx in range(len(tiou_thresholds)):
        ap[tidx] = _interpolated_prec_rec(precision_cumsum[tidx, :], recall_cumsum[tidx, :])
    return ap


def reference_activitynet_map(
    gt_videos: Sequence[Hashable],
    gt_labels: Sequence[Hashable],
    gt_segments: np.ndarray,
    pred_videos: Sequence[Hashable],
    pred_labels: Sequence[Hashable],
    pred_segments: np.ndarray,
    pred_scores: np.ndarray,
    tiou_thresholds: np.ndarray = np.linspace(0.5, 0.95, 10),
    classes: Sequence[Hashable] | None = None,
) -> tuple[list[Hashable], np.ndarray]:
    """``(labels, ap (T, C))`` as ``ANETdetection.wrapper_compute_average_precision`` computes them.

    ``classes`` restricts the evaluation to some of the labels (the benchmark times a subset of classes and
    extrapolates); by default every ground-truth label, in order of first appearance. Predicted labels
    absent from the ground truth raise ``KeyError``, as in the official code.
    """
    gt_segments = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    pred_segments = np.asarray(pred_segments, dtype=np.float64).reshape(-1, 2)
    pred_scores = np.asarray(pred_scores, dtype=np.float64)
    activity_index: dict[Hashable, int] = {}
    for label in gt_labels:
        activity_index.setdefault(label, len(activity_index))
    gt_of: dict[Hashable, list[int]] = {label: [] for label in activity_index}
    for i, label in enumerate(gt_labels):
        gt_of[label].append(i)
    pred_of: dict[Hashable, list[int]] = {label: [] for label in activity_index}
    for i, label in enumerate(pred_labels):
        pred_of[label].append(i)  # KeyError for an unknown label, like the official activity_index lookup
    labels = list(activity_index) if classes is None else list(classes)
    ap = np.zeros((len(tiou_thresholds), len(labels)))
    for c, label in enumerate(labels):
        g, p = gt_of[label], pred_of[label]
        ap[:, c] = reference_class_ap(
            [gt_videos[i] for i in g], gt_segments[g], [pred_videos[i] for i in p], pred_segments[p],
            pred_scores[p], tiou_thresholds,
        )
    return labels, ap
