"""ActivityNet proposal metric: average recall vs. average number of proposals (AR@AN) and its AUC.

The numbers of ``ANETproposal`` in ActivityNet's ``Evaluation/eval_proposal.py`` (``check_status=False``), the
metric of BSN, BMN and G-TAD. Its rules, all kept:

* only ground-truth videos count; a video without proposals contributes its ground truths as misses;
  proposals of videos outside the ground truth are ignored -- but they count in the file's proposal total;
* ``ratio = max_avg_nr_proposals * num_gt_videos / total_proposals_in_file``; each video keeps its
  ``min(int(n * ratio), n)`` best proposals (ranked with ``scores.argsort()[::-1]``, numpy's default sort);
* for ``pcn = (1..100) / 100 * max_avg * num_videos / total_kept`` each video uses its first
  ``min(int(n_kept * pcn), n_kept)`` proposals; a ground truth is recalled at threshold ``t`` when one of
  them has tIoU >= ``t``; recall is pooled over all ground truths, then averaged over the thresholds
  (default ``numpy.linspace(0.5, 0.95, 10)``);
* AN (x axis) = ``pcn * total_kept / num_videos``; AUC = ``trapz(AR, AN) / AN[-1]`` (reported as a fraction
  here; the official script prints it times 100).

A pure metric: the file format is :mod:`bsp_lightning.evaluation.formats.proposals`, the command
``bsp-lightning evaluate proposals`` is in :mod:`bsp_lightning.evaluation.cli`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning import legacy
from bsp_lightning.evaluation._io import EvaluationInputError
from bsp_lightning.evaluation.detection import segment_iou
from bsp_lightning.evaluation.formats.proposals import REPORTED_AN

__all__ = ["ProposalResult", "average_recall_vs_proposals", "REPORTED_AN"]


class ProposalResult(NamedTuple):
    """What :func:`average_recall_vs_proposals` returns.

    Attributes:
        recall: ``(T, 100)`` recall per tIoU threshold and AN point.
        average_recall: ``(100,)`` mean over thresholds.
        proposals_per_video: ``(100,)`` the AN of each point.
        auc: area under AR vs AN divided by the largest AN (a fraction).
        tiou_thresholds: ``(T,)``.
    """

    recall: np.ndarray
    average_recall: np.ndarray
    proposals_per_video: np.ndarray
    auc: float
    tiou_thresholds: np.ndarray

    def ar_at(self, an: int) -> float:
        """AR at the point whose AN is closest to ``an`` (exactly ``an`` when every video has enough proposals)."""
        return float(self.average_recall[int(np.argmin(np.abs(self.proposals_per_video - an)))])

    def summary(self) -> dict[str, float]:
        """``{"AR@1": .., "AR@5": .., ..., "AR@100": .., "AUC": ..}`` (fractions)."""
        out = {f"AR@{an}": self.ar_at(an) for an in REPORTED_AN}
        out["AUC"] = self.auc
        return out


def average_recall_vs_proposals(
    gt_videos: Sequence[Hashable],
    gt_segments: Any,
    proposals: Mapping[Hashable, Any],
    max_avg_nr_proposals: float = 100,
    tiou_thresholds: Any = None,
) -> ProposalResult:
    """AR@AN and AUC of class-agnostic proposals.

    Args:
        gt_videos: ``(M,)`` video id of each ground-truth segment (the evaluated subset, file order).
        gt_segments: ``(M, 2)`` seconds.
        proposals: video id -> ``(n, 3)`` ``[start, end, score]`` (any order; ranked here).
        max_avg_nr_proposals: the official ``max_avg_nr_proposals`` (100).
        tiou_thresholds: default ``numpy.linspace(0.5, 0.95, 10)``.

    Raises:
        EvaluationInputError: empty ground truth, no proposal at all, malformed arrays.
    """
    thresholds = np.linspace(0.5, 0.95, 10) if tiou_thresholds is None else np.asarray(tiou_thresholds, float)
    thresholds = thresholds.reshape(-1)
    gt_seg = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    if len(gt_videos) == 0:
        raise EvaluationInputError("the ground truth has no segment")
    if len(gt_videos) != len(gt_seg):
        raise EvaluationInputError(f"{len(gt_videos)} ground-truth ids for {len(gt_seg)} segments")
    props = {v: np.asarray(p, dtype=np.float64).reshape(-1, 3) for v, p in proposals.items()}
    total = sum(len(p) for p in props.values())
    if total == 0:
        raise EvaluationInputError("no proposal at all")
    videos = list(dict.fromkeys(gt_videos))
    by_video: dict[Hashable, list[int]] = {v: [] for v in videos}
    for i, v in enumerate(gt_videos):
        by_video[v].append(i)
    ratio = max_avg_nr_proposals * float(len(videos)) / total
    scores, total_kept = [], 0
    for v in videos:
        gts = gt_seg[by_video[v]]
        p = props.get(v)
        if p is None or len(p) == 0:
            scores.append(np.zeros((len(gts), 1)))
            continue
        p = p[p[:, 2].argsort()[::-1]]
        n_kept = min(int(p.shape[0] * ratio), p.shape[0])
        total_kept += n_kept
        # (n_gt, n_kept): the official wrapper_segment_iou, one ground truth per row
        scores.append(np.stack([segment_iou(g, p[:n_kept, :2]) for g in gts]))
    if total_kept == 0:
        raise EvaluationInputError("no ground-truth video has proposals")
    pcn = np.arange(1, 101) / 100.0 * (max_avg_nr_proposals * float(len(videos)) / total_kept)
    positives = np.array([s.shape[0] for s in scores], dtype=np.float64)
    recall = np.empty((len(thresholds), len(pcn)))
    for r, t in enumerate(thresholds):
        matches = np.empty((len(videos), len(pcn)))
        for i, s in enumerate(scores):
            hit = s >= t
            # first proposal index at which each ground truth is recalled (n_prop when never)
            first = np.where(hit.any(axis=1), hit.argmax(axis=1), s.shape[1]) if s.shape[1] else np.zeros(len(s))
            n_used = np.minimum((s.shape[1] * pcn).astype(int), s.shape[1])
            matches[i] = (first[None, :] < n_used[:, None]).sum(axis=1)
        recall[r] = matches.sum(axis=0) / positives.sum()
    average = recall.mean(axis=0)
    per_video = pcn * (float(total_kept) / len(videos))
    trapz = getattr(np, "trapezoid", None) or np.trapz
    auc = float(trapz(average, per_video)) / float(per_video[-1])
    return ProposalResult(recall, average, per_video, auc, thresholds)


__getattr__ = legacy.module_getattr(__name__)
