"""Framewise actionness AP for CrossTask step localisation (Zhukov et al., CVPR 2019; BSP Table 3).

Each test video is cut into 0.2 s segments ``[0.2 i, 0.2 (i+1))``; a segment is positive when it overlaps
a step. The model gives one score per segment. Two numbers:

* ``AP``: average precision pooled over all segments of the test set (the paper's number);
* ``AP_per_video_mean``: the mean of the per-video APs over the videos that have at least one positive
  segment. A video without positives has no defined AP (scikit-learn warns and returns a meaningless
  value): it is skipped and counted in ``num_videos_without_positives``.

The segments of a video are fixed by its duration (``ceil(duration / 0.2)``, the labels), not by the length of
its score list. A list shorter than the labels scores the first segments; the rest are *unscored*: an unscored
positive is a miss (counted in the recall's denominator, never retrieved, as an undetected ground truth is in
the ActivityNet mAP) and an unscored negative changes nothing. The result names those videos
(``videos_with_missing_scores``) so that every caller warns about them; a score list longer than the labels is
an error (the scores past the video's end belong to no segment: the caller decides what to drop).

AP is scikit-learn's ``average_precision_score``: non-interpolated, ``sum_n (R_n - R_{n-1}) P_n`` over the
distinct score thresholds in decreasing order, tied scores forming one threshold (so the order of tied
segments does not matter). Computed in float64. ``torchmetrics.classification.BinaryAveragePrecision`` is
not used for the Metric below: it applies a sigmoid to scores outside [0, 1], which in float32 can merge
distinct large scores into ties and change the number.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

# one CrossTask segment length (seconds), defined with the labels it cuts
from bsp_lightning.annotations.crosstask import SEGMENT_LENGTH



class ActionnessResult(NamedTuple):
    """What :func:`actionness_ap` returns."""

    AP: float
    AP_per_video_mean: float
    num_videos: int
    num_videos_without_positives: int
    num_segments: int
    videos_with_missing_scores: tuple[Hashable, ...] = ()
    num_missing_segments: int = 0
    num_missed_positives: int = 0


def average_precision(labels: Any, scores: Any, num_unscored_positives: int = 0) -> float:
    """Non-interpolated AP with scikit-learn's ``average_precision_score`` semantics (ties grouped).

    Args:
        labels: ``(N,)`` 0/1 or booleans of the scored items.
        scores: ``(N,)`` finite scores.
        num_unscored_positives: positives that have no score: misses, in the recall's denominator only
            (with them, the AP is scikit-learn's times ``P / (P + num_unscored_positives)``).

    Returns:
        AP in [0, 1]; 0.0 when no item is scored but some positive exists.

    Raises:
        ValueError: no positive at all, mismatched lengths, or non-finite scores.
    """
    y = np.asarray(labels).reshape(-1).astype(bool)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"{y.size} labels for {s.size} scores")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or infinite values")
    if num_unscored_positives < 0:
        raise ValueError(f"num_unscored_positives must be >= 0, got {num_unscored_positives}")
    num_pos = int(y.sum()) + int(num_unscored_positives)
    if num_pos == 0:
        raise ValueError("average precision is undefined without positive labels")
    if s.size == 0:
        return 0.0
    order = np.argsort(s, kind="stable")[::-1]
    s, y = s[order], y[order]
    # The last index of each run of tied scores is one threshold.
    last_of_tie = np.r_[np.nonzero(s[1:] != s[:-1])[0], s.size - 1]
    tps = np.cumsum(y, dtype=np.float64)[last_of_tie]
    precision = tps / (last_of_tie + 1)
    recall = tps / num_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def actionness_ap(scores: Mapping[Hashable, Any], labels: Mapping[Hashable, Any]) -> ActionnessResult:
    """Pooled and per-video-mean AP of segment scores against segment labels.

    Args:
        scores: video id -> ``(k,)`` scores of the video's first ``k`` segments (``k`` may be 0).
        labels: video id -> ``(num_segments,)`` booleans for every video of ``scores``, ``num_segments >= k``
            set by the video's duration. Segments ``k..num_segments-1`` are unscored: their positives are misses.

    Returns:
        :class:`ActionnessResult`; ``num_segments`` counts the labelled segments (scored or not),
        ``videos_with_missing_scores`` the videos with ``k < num_segments`` in ``scores`` order,
        ``num_missing_segments`` / ``num_missed_positives`` their unscored segments / positives.

    Raises:
        ValueError: a video without labels, more scores than labels, or no positive segment at all.
    """
    all_scores, all_labels, per_video, missing = [], [], [], []
    skipped = missing_segments = missed_positives = total_segments = 0
    for video, video_scores in scores.items():
        if video not in labels:
            raise ValueError(f"video {video!r} has scores but no labels")
        s = np.asarray(video_scores, dtype=np.float64).reshape(-1)
        y = np.asarray(labels[video]).reshape(-1).astype(bool)
        if s.size > y.size:
            raise ValueError(f"video {video!r}: {s.size} scores for {y.size} segment labels")
        total_segments += y.size
        missed = int(y[s.size :].sum())
        if s.size < y.size:
            missing.append(video)
            missing_segments += y.size - s.size
            missed_positives += missed
        y = y[: s.size]
        all_scores.append(s)
        all_labels.append(y)
        if y.any() or missed:
            per_video.append(average_precision(y, s, num_unscored_positives=missed))
        else:
            skipped += 1
    if not all_scores:
        raise ValueError("no video to evaluate")
    pooled = average_precision(
        np.concatenate(all_labels), np.concatenate(all_scores), num_unscored_positives=missed_positives
    )
    mean = float(np.mean(per_video)) if per_video else float("nan")
    return ActionnessResult(
        pooled, mean, len(all_scores), skipped, total_segments, tuple(missing), missing_segments, missed_positives
    )


def missing_scores_warning(
    result: ActionnessResult, scores: Mapping[Hashable, Any], labels: Mapping[Hashable, Any], shown: int = 5
) -> str | None:
    """The warning every caller gives for ``result.videos_with_missing_scores`` (``None`` when there are none):
    ``"2 video(s) with fewer scores than segments: 'a' (6 of 10), 'b' (0 of 3); their 4 unscored positive
    segment(s) count as misses"``, naming up to ``shown`` videos."""
    videos = result.videos_with_missing_scores
    if not videos:
        return None
    named = [f"{v!r} ({np.size(scores[v])} of {np.size(labels[v])})" for v in videos[:shown]]
    more = f" and {len(videos) - shown} more" if len(videos) > shown else ""
    return (f"{len(videos)} video(s) with fewer scores than segments: {', '.join(named)}{more}; their "
            f"{result.num_missed_positives} unscored positive segment(s) count as misses")


class ActionnessAP(Metric):
    """Framewise actionness AP as a torchmetrics ``Metric`` (states are concatenated under DDP).

    ``update(scores, labels, video)``: ``(N,)`` segment scores, ``(N,)`` 0/1 labels and ``(N,)`` integer
    video indices (any integers identifying the video; needed for the per-video mean). ``compute()``
    returns ``{"AP", "AP_per_video_mean"}`` as float64 0-d tensors, with :func:`actionness_ap`'s semantics.
    """

    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")
        self.add_state("videos", default=[], dist_reduce_fx="cat")

    def update(self, scores: torch.Tensor, labels: torch.Tensor, video: torch.Tensor) -> None:
        scores, labels, video = (torch.as_tensor(x).reshape(-1) for x in (scores, labels, video))
        if not scores.numel() == labels.numel() == video.numel():
            raise ValueError(f"{scores.numel()} scores, {labels.numel()} labels, {video.numel()} video indices")
        self.scores.append(scores.detach().double())
        self.labels.append(labels.detach().to(torch.bool))
        self.videos.append(video.detach().to(torch.int64))

    def compute(self) -> dict[str, torch.Tensor]:
        scores = dim_zero_cat(self.scores).cpu().numpy()
        labels = dim_zero_cat(self.labels).cpu().numpy()
        videos = dim_zero_cat(self.videos).cpu().numpy()
        by_video = np.argsort(videos, kind="stable")
        ids, starts = np.unique(videos[by_video], return_index=True)
        bounds = np.r_[starts, videos.size]
        score_of = {int(v): scores[by_video[bounds[i] : bounds[i + 1]]] for i, v in enumerate(ids)}
        label_of = {int(v): labels[by_video[bounds[i] : bounds[i + 1]]] for i, v in enumerate(ids)}
        result = actionness_ap(score_of, label_of)
        return {
            "AP": torch.tensor(result.AP, dtype=torch.float64),
            "AP_per_video_mean": torch.tensor(result.AP_per_video_mean, dtype=torch.float64),
        }
