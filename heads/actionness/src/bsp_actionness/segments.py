"""The CrossTask actionness protocol in pure numpy: segment grid, segment-to-snippet mapping, per-task split.

* Grid and labels (BSP Sec. 4.1; ``docs/heads/gtad-actionness.md`` §2.4 points 2-3): a video of ``duration``
  seconds is cut into ``ceil(duration / 0.2)`` segments ``[0.2 i, 0.2 (i + 1))`` (the last one may run past the
  end of the video: it is kept, as ``docs/decisions.md#actionness-protocol`` fixes); a segment is positive when
  it overlaps a step, with the strict overlap of :func:`bsp_lightning.annotations.crosstask.segment_labels` (a
  step that ends exactly on a segment's start does not mark it).
* Features (``docs/heads/gtad-actionness.md`` §2.4 point 4, a decision: BSP does not say): a snippet ``k`` spans
  ``[s_k, s_k + L)`` seconds, ``s_k`` from the feature manifest's ``snippet_starts`` and ``L = snippet_length / fps``.
  ``"centre"`` gives a segment the features of the snippet whose span contains the segment's centre ``0.2 i + 0.1``
  (the last snippet starting at or before the centre; the first snippet for centres before it, the last one for
  centres after the last snippet). ``"interpolate"`` interpolates linearly between the two snippets whose centres
  ``s_k + L / 2`` surround the segment's centre (the end snippets beyond the first and last centres).
* Split (``docs/heads/gtad-actionness.md`` §2.4 point 1, a decision: the list of Zhukov et al. is unknown): per task,
  the annotated videos in sorted order are shuffled by ``numpy.random.default_rng([seed, crc32(task id)])`` and the
  first ``round(test_fraction * n)`` go to test (3:1 train:test with ``test_fraction = 0.25``). Each task is drawn
  independently, so adding or removing a task leaves the other tasks' splits unchanged.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bsp_lightning.annotations.crosstask import SEGMENT_LENGTH, num_segments, segment_labels

__all__ = [
    "MAPPINGS",
    "SEGMENT_LENGTH",
    "centre_snippet_index",
    "segment_centres",
    "segment_features",
    "split_per_task",
    "video_segment_labels",
]

MAPPINGS = ("centre", "interpolate")


def segment_centres(count: int, segment_length: float = SEGMENT_LENGTH) -> np.ndarray:
    """float64 ``(count,)``: the centres ``segment_length * (i + 0.5)`` of the segments, in seconds."""
    return (np.arange(count, dtype=np.float64) + 0.5) * segment_length


def video_segment_labels(steps: Iterable, duration: float, segment_length: float = SEGMENT_LENGTH) -> np.ndarray:
    """bool ``(ceil(duration / segment_length),)``: the actionness labels of one video.

    ``steps`` are :class:`~bsp_lightning.annotations.CrossTaskStep` records or ``(start, end)`` pairs in seconds.
    A video shorter than one segment has one segment.

    Raises:
        ValueError: a negative or non-finite duration, non-finite step times.
    """
    return segment_labels(list(steps), num_segments(duration, segment_length), segment_length)


def centre_snippet_index(snippet_starts: Sequence[float], centres: Sequence[float]) -> np.ndarray:
    """int64 ``(len(centres),)``: for each time, the last snippet starting at or before it (clipped to the
    first snippet for earlier times). With contiguous snippets that is the snippet whose span contains it.

    Raises:
        ValueError: no snippet, or start times that are not non-decreasing.
    """
    starts = np.asarray(snippet_starts, dtype=np.float64).reshape(-1)
    if starts.size == 0:
        raise ValueError("a video without snippets has no segment features")
    if np.any(np.diff(starts) < 0):
        raise ValueError("snippet start times must be non-decreasing")
    # a tolerance so that a centre equal to a start (up to float error) picks that snippet
    index = np.searchsorted(starts, np.asarray(centres, dtype=np.float64) + 1e-9, side="right") - 1
    return np.clip(index, 0, starts.size - 1).astype(np.int64)


def segment_features(
    features: np.ndarray,
    snippet_starts: Sequence[float],
    snippet_seconds: float,
    count: int,
    mapping: str = "centre",
    segment_length: float = SEGMENT_LENGTH,
) -> np.ndarray:
    """float32 ``(count, D)``: the feature of each of the ``count`` segments of a video (module docstring).

    Args:
        features: ``(num_snippets, D)`` snippet features.
        snippet_starts: ``(num_snippets,)`` snippet start times in seconds (the manifest's ``snippet_starts``).
        snippet_seconds: duration of one snippet in seconds (``snippet_length / fps``).
        count: number of segments.
        mapping: ``"centre"`` or ``"interpolate"``.
        segment_length: seconds per segment.

    Raises:
        ValueError: unknown mapping, or a feature/start-time count mismatch.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
    starts = np.asarray(snippet_starts, dtype=np.float64).reshape(-1)
    if features.ndim != 2 or features.shape[0] != starts.size:
        raise ValueError(f"{features.shape[0] if features.ndim else 0} snippet features for {starts.size} start times")
    centres = segment_centres(count, segment_length)
    if mapping == "centre":
        return np.asarray(features[centre_snippet_index(starts, centres)], dtype=np.float32)
    mids = starts + snippet_seconds / 2.0
    right = np.clip(np.searchsorted(mids, centres, side="right"), 1, max(starts.size - 1, 1))
    left = right - 1
    if starts.size == 1:
        return np.repeat(np.asarray(features[:1], dtype=np.float32), count, axis=0)
    span = mids[right] - mids[left]
    weight = np.clip((centres - mids[left]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None]
    feats = np.asarray(features, dtype=np.float64)
    return ((1.0 - weight) * feats[left] + weight * feats[right]).astype(np.float32)


def split_per_task(
    video_task: Mapping[str, str], test_fraction: float = 0.25, seed: int = 0
) -> tuple[list[str], list[str]]:
    """``(train, test)`` video ids, both sorted: a seeded split made per task (module docstring).

    Args:
        video_task: video id -> task id (e.g. :attr:`~bsp_lightning.annotations.CrossTaskAnnotations.video_task`).
        test_fraction: share of each task's videos in test (0.25 = the paper's 3:1).
        seed: the same seed and video set give the same split.

    Raises:
        ValueError: ``test_fraction`` outside ``[0, 1]``.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1], got {test_fraction}")
    by_task: dict[str, list[str]] = {}
    for video, task in video_task.items():
        by_task.setdefault(str(task), []).append(str(video))
    train: list[str] = []
    test: list[str] = []
    for task in sorted(by_task):
        videos = sorted(by_task[task])
        rng = np.random.default_rng([seed, zlib.crc32(task.encode())])
        order = rng.permutation(len(videos))
        n_test = int(round(test_fraction * len(videos)))
        test += [videos[i] for i in order[:n_test]]
        train += [videos[i] for i in order[n_test:]]
    return sorted(train), sorted(test)
