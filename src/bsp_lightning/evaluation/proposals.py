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
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, read_json, require_keys
from bsp_lightning.evaluation.detection import segment_iou

__all__ = ["ProposalResult", "average_recall_vs_proposals", "read_proposals", "REPORTED_AN"]

#: The AN values reported in tables (AR@1, @5, @10, @50, @100).
REPORTED_AN = (1, 5, 10, 50, 100)


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


def read_proposals(path) -> dict[str, np.ndarray]:
    """Read ``{"results": {video: [{"segment": [s, e], "score", ...}]}}`` (a detection file works: labels are
    ignored, so each top-k duplicate counts as a proposal, as in the official script) -> video -> ``(n, 3)``.

    Raises:
        EvaluationInputError: missing/malformed file, an entry without ``segment``/``score``, a bad number.
    """
    data = read_json(path)
    require_keys(data, ("results",), "top level", path)
    results = data["results"]
    if not isinstance(results, dict):
        raise EvaluationInputError("'results' must be an object video id -> list", path)
    out = {}
    for video, entries in results.items():
        if not isinstance(entries, list):
            raise EvaluationInputError(f"results[{video!r}] must be a list", path)
        rows = []
        for i, entry in enumerate(entries):
            where = f"results[{video!r}][{i}]"
            require_keys(entry, ("segment", "score"), where, path)
            seg = entry["segment"]
            if not isinstance(seg, (list, tuple)) or len(seg) != 2:
                raise EvaluationInputError(f"{where}: segment must be a [start, end] pair, got {seg!r}", path)
            rows.append([as_number(seg[0], where, path, "segment bound"), as_number(seg[1], where, path, "segment bound"),
                         as_number(entry["score"], where, path)])
        out[str(video)] = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return out


def evaluate_proposals(ground_truth, predictions, subset: str = "validation",
                       max_avg_nr_proposals: float = 100) -> tuple[dict[str, Any], str]:
    """``bsp-lightning evaluate proposals``: AR@AN and AUC of a proposal (or detection) file against an ActivityNet
    ground truth; returns ``(json dict, table text)``.

    Raises:
        EvaluationInputError / AnnotationError: unusable files (one line naming the file and the problem).
    """
    from bsp_lightning.annotations.activitynet import load_activitynet

    gt = load_activitynet(ground_truth, subset=subset)
    if not gt.segments:
        raise EvaluationInputError(f"no ground-truth segment in subset {subset!r}", ground_truth)
    from bsp_lightning.evaluation.cli import _v_prefix_hint, _warn

    props = read_proposals(predictions)
    gt_videos = {s.video_id for s in gt.segments}
    if not any(len(p) for p in props.values()):
        # the official script divides by the proposal count: report the 0 of a model that proposed nothing
        _warn(f"{predictions}: no proposal in the file: every AR and the AUC are reported as 0")
        summary = {**{f"AR@{an}": 0.0 for an in REPORTED_AN}, "AUC": 0.0}
        out = {**summary, "average_recall": [], "proposals_per_video": []}
    else:
        if not any(len(props.get(v, ())) for v in gt_videos):
            hint = _v_prefix_hint(props, gt_videos)
            raise EvaluationInputError(f"no video of the {subset!r} subset of {ground_truth} has a proposal{hint}",
                                       predictions)
        try:
            result = average_recall_vs_proposals([s.video_id for s in gt.segments],
                                                 [(s.start, s.end) for s in gt.segments], props, max_avg_nr_proposals)
        except EvaluationInputError as err:
            raise EvaluationInputError(str(err), predictions) from None
        summary = result.summary()
        out = {**summary, "average_recall": [float(v) for v in result.average_recall],
               "proposals_per_video": [float(v) for v in result.proposals_per_video]}
    names = list(summary)
    cells = [f"{100 * summary[n]:.2f}" for n in names]
    widths = [max(len(n), len(c)) for n, c in zip(names, cells)]
    head = "  ".join(n.rjust(w) for n, w in zip(names, widths))
    rule = "-" * len(head)
    header = (f"ActivityNet proposals, subset {subset!r}: {len(set(gt.videos))} videos, {len(gt.segments)} ground-truth "
              f"segments, {sum(len(p) for p in props.values())} proposals (tIoU 0.5:0.05:0.95; AUC of AR vs AN, %)")
    table = "\n".join([header, rule, head, rule, "  ".join(c.rjust(w) for c, w in zip(cells, widths)), rule])
    return out, table


def add_proposals_parser(subparsers) -> Any:
    """Register ``proposals`` on the ``bsp-lightning evaluate`` subparsers; its ``evaluate(args)`` default runs it."""
    from pathlib import Path

    p = subparsers.add_parser(
        "proposals", help="ActivityNet proposal AR@AN and AUC (official Evaluation/eval_proposal.py)",
        description="Average recall vs average number of proposals (AN = 1..100) and the area under that curve, "
                    "with the numbers of ActivityNet's eval_proposal.py (labels ignored).",
    )
    p.add_argument("--ground-truth", required=True, type=Path, help="official activity_net.v1-3.min.json")
    p.add_argument("--predictions", required=True, type=Path,
                   help='{"results": {video: [{"segment", "score"}]}} (a detection file works: labels ignored)')
    p.add_argument("--subset", default="validation", help="ground-truth subset (default: validation)")
    p.add_argument("--max-avg-proposals", type=float, default=100, help="official max_avg_nr_proposals (100)")
    p.set_defaults(evaluate=lambda a: evaluate_proposals(a.ground_truth, a.predictions, a.subset,
                                                         a.max_avg_proposals))
    return p
