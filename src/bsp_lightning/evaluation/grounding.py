"""Video grounding metrics: R@n,IoU=m and mIoU, under the conventions of the two official codes.

A query has one ground-truth moment ``[s, e]`` and a ranked list of predicted moments (best first).

* ``"lgi"`` -- LGI (``JonghwanMun/LGI4temporalgrounding``, ``src/utils/eval_utils.py``, ``TALLEvaluator``):
  the top ``n`` predictions as given, no NMS; a hit is ``IoU >= m``; IoU = intersection / hull
  (``max(ends) - min(starts)``).
* ``"2dtan"`` -- 2D-TAN (official ``lib/core/eval.py``, ``eval`` and ``nms``): the ranked list is first reduced by
  greedy NMS (suppress a later moment whose overlap ``inter / (len_i + len_j - inter)`` with a kept one is
  ``> nms_threshold``; ``TEST.NMS_THRESH``, default 0.5), keeping at most ``max(n)``; a hit is ``IoU > m``
  (strict); IoU = intersection / ``max(0, hull)``.
* ``mIoU`` is the mean over queries of the IoU of the top-1 prediction (NMS never removes the top-1, so
  the two conventions agree). LGI's code adds the best IoU among the top 5; LGI predicts one moment per
  query, where both are the same.

A query without predictions is a miss with IoU 0 (both official codes crash on it). A 0/0 IoU (zero-length
prediction on a zero-length ground truth) is taken as 0.

Which convention the paper's tables use (BSP, ICCV 2021): Table 2 (Charades-STA) reports the 2D-TAN rows with
the 2D-TAN code (``"2dtan"``: R@1 at IoU 0.5 and 0.7, no R@0.3 and no mIoU) and the LGI rows with the LGI
code (``"lgi"``: R@1 at 0.3, 0.5, 0.7 and mIoU); Table 5 (fusion methods) reports 2D-TAN R@1 at 0.5 and 0.7
(``"2dtan"``).

Values are fractions in [0, 1] (the tables print percentages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

CONVENTIONS = ("lgi", "2dtan")
DEFAULT_RECALL_AT = (1, 5)
DEFAULT_IOU_THRESHOLDS = (0.3, 0.5, 0.7)


def metric_names(
    recall_at: Sequence[int] = DEFAULT_RECALL_AT, iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS
) -> list[str]:
    """The result keys in output order: ``R@1,IoU=0.3``, ``R@5,IoU=0.3``, ..., then ``mIoU``."""
    return [f"R@{n},IoU={m:g}" for m in iou_thresholds for n in recall_at] + ["mIoU"]


def temporal_iou(predictions: np.ndarray, gt: Sequence[float], convention: str = "lgi") -> np.ndarray:
    """IoU of ``(N, 2)`` predicted moments with one ground-truth ``[s, e]``, as the convention's code computes it."""
    _check_convention(convention)
    pred = np.asarray(predictions, dtype=np.float64).reshape(-1, 2)
    gt_start, gt_end = float(gt[0]), float(gt[1])
    inter = np.maximum(0.0, np.minimum(pred[:, 1], gt_end) - np.maximum(pred[:, 0], gt_start))
    hull = np.maximum(pred[:, 1], gt_end) - np.minimum(pred[:, 0], gt_start)
    if convention == "2dtan":
        hull = np.maximum(0.0, hull)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / hull
    return np.where(hull == 0, 0.0, iou)


def nms_2dtan(predictions: np.ndarray, threshold: float = 0.5, top_k: int | None = None) -> np.ndarray:
    """Indices kept by 2D-TAN's greedy NMS over a ranked list (best first), at most ``top_k`` of them.

    A later moment is suppressed when its overlap ``inter / (len_i + len_j - inter)`` with a kept one is
    not ``<= threshold`` (so a NaN overlap, from two zero-length moments, suppresses, as in 2D-TAN).
    """
    pred = np.asarray(predictions, dtype=np.float64).reshape(-1, 2)
    order = np.arange(len(pred))
    lengths = pred[:, 1] - pred[:, 0]
    keep: list[int] = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        if top_k is not None and len(keep) == top_k:
            break
        rest = order[1:]
        inter = np.maximum(0.0, np.minimum(pred[i, 1], pred[rest, 1]) - np.maximum(pred[i, 0], pred[rest, 0]))
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = inter / (lengths[i] + lengths[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def query_hits(
    predictions: np.ndarray,
    gt: Sequence[float],
    recall_at: Sequence[int] = DEFAULT_RECALL_AT,
    iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    convention: str = "lgi",
    nms_threshold: float = 0.5,
) -> tuple[np.ndarray, float]:
    """``(hits (len(iou_thresholds), len(recall_at)) bool, top-1 IoU)`` of one query."""
    _check_convention(convention)
    pred = np.asarray(predictions, dtype=np.float64).reshape(-1, 2)
    hits = np.zeros((len(iou_thresholds), len(recall_at)), dtype=bool)
    if len(pred) == 0:
        return hits, 0.0
    top1 = float(temporal_iou(pred[:1], gt, convention)[0])
    if convention == "2dtan":
        pred = pred[nms_2dtan(pred, nms_threshold, top_k=max(recall_at))]
    else:
        pred = pred[: max(recall_at)]
    iou = temporal_iou(pred, gt, convention)
    for i, m in enumerate(iou_thresholds):
        hit = iou > m if convention == "2dtan" else iou >= m
        for j, n in enumerate(recall_at):
            hits[i, j] = bool(hit[:n].any())
    return hits, top1


def grounding_metrics(
    predictions: Sequence[Any],
    gts: Sequence[Sequence[float]],
    recall_at: Sequence[int] = DEFAULT_RECALL_AT,
    iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
    convention: str = "lgi",
    nms_threshold: float = 0.5,
) -> dict[str, float]:
    """R@n,IoU=m for every pair and mIoU over queries.

    Args:
        predictions: per query, an ``(n_i, 2)`` array of moments ranked best first (may be empty).
        gts: per query, the ground-truth ``[s, e]``.
        recall_at: the ``n`` of R@n.
        iou_thresholds: the ``m`` of IoU=m.
        convention: ``"lgi"`` or ``"2dtan"`` (module docstring).
        nms_threshold: 2D-TAN's NMS threshold (ignored for ``"lgi"``).

    Returns:
        ``{"R@1,IoU=0.3": ..., ..., "mIoU": ...}`` in the order of :func:`metric_names` (fractions).
    """
    if len(predictions) != len(gts):
        raise ValueError(f"{len(predictions)} prediction lists for {len(gts)} ground truths")
    if len(gts) == 0:
        raise ValueError("no query to evaluate")
    hits = np.zeros((len(iou_thresholds), len(recall_at)))
    iou_sum = 0.0
    for pred, gt in zip(predictions, gts):
        h, iou = query_hits(pred, gt, recall_at, iou_thresholds, convention, nms_threshold)
        hits += h
        iou_sum += iou
    return _as_dict(hits / len(gts), iou_sum / len(gts), recall_at, iou_thresholds)


class GroundingRecall(Metric):
    """R@n,IoU=m and mIoU as a torchmetrics ``Metric`` (sums of hits and IoU; syncs under DDP).

    ``update(predictions, gt)``: ``predictions`` is a list of ``(n_i, 2)`` tensors ranked best first, or a
    ``(B, n, 2)`` tensor; ``gt`` is ``(B, 2)``. ``compute()`` returns the dict of :func:`grounding_metrics`
    as 0-d tensors.
    """

    full_state_update = False

    def __init__(
        self,
        recall_at: Sequence[int] = DEFAULT_RECALL_AT,
        iou_thresholds: Sequence[float] = DEFAULT_IOU_THRESHOLDS,
        convention: str = "lgi",
        nms_threshold: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _check_convention(convention)
        self.recall_at = tuple(int(n) for n in recall_at)
        self.iou_thresholds = tuple(float(m) for m in iou_thresholds)
        self.convention = convention
        self.nms_threshold = float(nms_threshold)
        shape = (len(self.iou_thresholds), len(self.recall_at))
        self.add_state("hits", default=torch.zeros(shape, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("iou_sum", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", default=torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, predictions: torch.Tensor | Sequence[torch.Tensor], gt: torch.Tensor) -> None:
        gt_np = torch.as_tensor(gt).detach().double().cpu().numpy().reshape(-1, 2)
        if len(predictions) != len(gt_np):
            raise ValueError(f"{len(predictions)} prediction lists for {len(gt_np)} ground truths")
        hits = np.zeros((len(self.iou_thresholds), len(self.recall_at)))
        iou_sum = 0.0
        for pred, g in zip(predictions, gt_np):
            pred_np = torch.as_tensor(pred).detach().double().cpu().numpy().reshape(-1, 2)
            h, iou = query_hits(pred_np, g, self.recall_at, self.iou_thresholds, self.convention, self.nms_threshold)
            hits += h
            iou_sum += iou
        self.hits += torch.as_tensor(hits, dtype=torch.float64, device=self.hits.device)
        self.iou_sum += iou_sum
        self.count += len(gt_np)

    def compute(self) -> dict[str, torch.Tensor]:
        if self.count == 0:
            raise ValueError("GroundingRecall.compute() called before any update")
        recall = (self.hits / self.count).cpu().numpy()
        values = _as_dict(recall, float(self.iou_sum / self.count), self.recall_at, self.iou_thresholds)
        return {k: torch.tensor(v, dtype=torch.float64) for k, v in values.items()}


def _as_dict(
    recall: np.ndarray, miou: float, recall_at: Sequence[int], iou_thresholds: Sequence[float]
) -> dict[str, float]:
    out = {
        f"R@{n},IoU={m:g}": float(recall[i, j]) for i, m in enumerate(iou_thresholds) for j, n in enumerate(recall_at)
    }
    out["mIoU"] = float(miou)
    return out


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown grounding convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
