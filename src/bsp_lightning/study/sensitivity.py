"""Boundary sensitivity of snippet features: the paper's Fig. 4, as a number with a confidence interval.

Fig. 4 of the paper shows that the difference between consecutive snippet features is larger across a boundary
for BSP features than for vanilla ones. Here, on the toy-untrimmed test videos, every pair of consecutive
snippets ``(i, i + 1)`` gets the **distance** between their features, and the question is how well that distance
separates pairs that straddle an annotated boundary from pairs that do not: the **AUROC**, the probability that
a straddling pair is farther apart than a non-straddling one (ties count one half; 0.5 = no sensitivity).

* Distance: Euclidean, between features L2-normalised per stream (a two-stream feature set is the concatenation
  of its normalised streams, each stream weighing the same), so feature sets of different scales compare.
* A pair **straddles** a boundary at time ``b`` when the snippets' centres enclose it: ``c_i < b <= c_{i+1}``
  (one pair per boundary). A pair is **negative** when no boundary lies anywhere in the time the two snippets
  cover, ``[start_i, end_{i+1}]``. Pairs that are neither (a boundary inside a snippet but not between the
  centres) are left out.
* Per boundary group (:data:`~bsp_lightning.data.toy.BOUNDARY_GROUPS`: motion change, same-class cut, speed
  change) the positives are that group's straddling pairs against all negatives; ``overall`` takes every
  straddling pair.
* The 95 % interval is the percentile bootstrap over test videos (:mod:`bsp_lightning.study.statistics`): a video
  drawn ``k`` times weighs its pairs ``k`` times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.data.toy.schedule import BOUNDARY_GROUPS
from bsp_lightning.features.featureset import FeatureSet

__all__ = ["GROUPS", "PairSet", "auroc", "boundary_pairs", "consecutive_distances", "load_pairs", "weighted_auroc"]

#: The reported groups, in report order.
GROUPS = ("overall", "motion_change", "same_class_cut", "speed_change")


def consecutive_distances(streams: Sequence[np.ndarray]) -> np.ndarray:
    """``(N - 1,)`` Euclidean distances between consecutive rows of the per-stream L2-normalised features.

    Args:
        streams: one ``(N, D_k)`` array per stream (same ``N``).
    """
    parts = []
    for features in streams:
        f = np.asarray(features, dtype=np.float64)
        norm = np.linalg.norm(f, axis=1, keepdims=True)
        parts.append(f / np.where(norm > 0, norm, 1.0))
    joined = np.concatenate(parts, axis=1)
    return np.linalg.norm(joined[1:] - joined[:-1], axis=1)


def boundary_pairs(starts: Sequence[float], length: float, boundaries: Sequence[tuple[float, str]]) -> list[str | None]:
    """The label of each consecutive pair of snippets: a boundary group, ``"negative"``, or ``None`` (left out).

    Args:
        starts: snippet start times in seconds (``N``).
        length: snippet duration in seconds.
        boundaries: ``(time in seconds, kind)`` of every annotated boundary of the video.
    """
    starts = np.asarray(starts, dtype=np.float64)
    centres = starts + length / 2
    labels: list[str | None] = []
    for i in range(len(starts) - 1):
        label: str | None = "negative"
        for time, kind in boundaries:
            if centres[i] < time <= centres[i + 1]:
                label = BOUNDARY_GROUPS[kind]
                break
            if starts[i] < time < starts[i + 1] + length:
                label = None
        labels.append(label)
    return labels


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(positive score > negative score) + 0.5 P(equal), the Mann-Whitney form of the ROC area.

    Raises:
        ValueError: no positive or no negative score.
    """
    return weighted_auroc(np.asarray(positive, dtype=np.float64), np.ones(len(positive)),
                          np.asarray(negative, dtype=np.float64), np.ones(len(negative)))


def weighted_auroc(positive: np.ndarray, positive_weight: np.ndarray, negative: np.ndarray,
                   negative_weight: np.ndarray) -> float:
    """:func:`auroc` where each score counts its weight times (a bootstrap multiplicity).

    Raises:
        ValueError: the positive or the negative weights sum to 0.
    """
    total_pos, total_neg = float(np.sum(positive_weight)), float(np.sum(negative_weight))
    if total_pos <= 0 or total_neg <= 0:
        raise ValueError("AUROC needs at least one positive and one negative score")
    order = np.argsort(negative, kind="stable")
    neg, cum = negative[order], np.concatenate([[0.0], np.cumsum(negative_weight[order])])
    below = cum[np.searchsorted(neg, positive, side="left")]
    tied = cum[np.searchsorted(neg, positive, side="right")] - below
    return float(np.sum(positive_weight * (below + 0.5 * tied)) / (total_pos * total_neg))


class PairSet(NamedTuple):
    """Every labelled pair of the test videos of one feature set: distance, label, video (column index)."""

    distance: np.ndarray
    label: np.ndarray
    video: np.ndarray

    def scores(self, counts: np.ndarray) -> np.ndarray:
        """``(B, len(GROUPS))`` AUROC per resample (``counts (B, V)``); NaN where a group has no pair."""
        counts = np.asarray(counts, dtype=np.float64)
        negative = self.label == "negative"
        out = np.full((len(counts), len(GROUPS)), np.nan)
        for g, group in enumerate(GROUPS):
            positive = (self.label != "negative") if group == "overall" else (self.label == group)
            if not positive.any() or not negative.any():
                continue
            for b, weights in enumerate(counts):
                pw, nw = weights[self.video[positive]], weights[self.video[negative]]
                if pw.sum() > 0 and nw.sum() > 0:
                    out[b, g] = weighted_auroc(self.distance[positive], pw, self.distance[negative], nw)
        return out

    def counts_by_group(self) -> dict[str, int]:
        """Number of pairs per group (and ``negative``)."""
        return {g: int(np.sum(self.label != "negative")) if g == "overall" else int(np.sum(self.label == g))
                for g in (*GROUPS, "negative")}


def load_pairs(folders: Sequence[str | Path], videos: Sequence[str], boundaries: Mapping[str, Any]) -> PairSet:
    """The labelled pairs of ``videos`` from feature folders (``bsp-lightning extract`` layout).

    Args:
        folders: one folder per stream (two for a two-stream feature set).
        videos: the test videos, in column order of the bootstrap counts.
        boundaries: ``boundaries.json`` of toy-untrimmed: video id -> ``[{"time", "kind"}, ...]``.

    Raises:
        ValueError: a video is missing from a folder's manifest, or streams disagree on its snippets.
    """
    streams = [FeatureSet([folder]) for folder in folders]
    distance, label, column = [], [], []
    for k, video in enumerate(videos):
        try:
            starts, length = streams[0].snippet_starts(video), streams[0].snippet_seconds(video)
            features = [s.load(video) for s in streams]
        except KeyError:
            raise ValueError(f"video {video!r} has no usable features in {', '.join(map(str, folders))}") from None
        if any(len(f) != len(starts) for f in features):
            raise ValueError(f"video {video!r}: the streams' snippet counts differ")
        labels = boundary_pairs(starts, length, [(b["time"], b["kind"]) for b in boundaries.get(video, [])])
        d = consecutive_distances(features)
        keep = [i for i, lab in enumerate(labels) if lab is not None]
        distance += [d[i] for i in keep]
        label += [labels[i] for i in keep]
        column += [k] * len(keep)
    return PairSet(np.asarray(distance, dtype=np.float64), np.asarray(label, dtype=object),
                   np.asarray(column, dtype=np.int64))
