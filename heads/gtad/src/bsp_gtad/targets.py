"""G-TAD training targets: start/end IoA curves and the ``[duration, start]`` IoU map.

Rules of ``gtad_lib/dataset.py`` (ActivityNet: branch ``anet`` @ 3f145d5; THUMOS: ``master`` @ 6deb5b1), see
``docs/heads/gtad-actionness.md`` §1.4:

* time is normalised to ``[0, 1]`` over the covered span (ActivityNet: the feature-covered duration
  ``feature_frame / duration_frame * duration_second``; THUMOS: the window) and each ground truth is clipped
  to ``[0, 1]``;
* IoU map cell ``[d, s]`` = max over ground truths of the IoU of ``[s/T, s/T + (d+1)/T]`` with it (the proposal
  end computed as the official ``xmin + gap * (d + 1)``); no mask applied (:func:`valid_mask` is separate);
* start/end targets: max over ground truths of the overlap of anchor ``j`` with the region
  ``boundary +- 1.5/T`` divided by the anchor length (IoA). ActivityNet anchors are 2 snippets long,
  ``[(j - 0.5)/T, (j + 1.5)/T]`` (BMN convention), built from the clipped boundaries. THUMOS anchors are one
  snippet, ``[j/T, (j+1)/T]`` in window coordinates (``5 i +- 2.5`` frames in the official frame units), and
  use the *unclipped* boundaries (a ground truth starting before the window has no start target inside it).
"""

from __future__ import annotations

import numpy as np

__all__ = ["gtad_targets", "valid_mask", "iou_with_anchors", "ioa_with_anchors"]

STYLES = ("activitynet", "thumos")


def iou_with_anchors(anchors_min: np.ndarray, anchors_max: np.ndarray, box_min: float, box_max: float) -> np.ndarray:
    """IoU of 1-D anchors with one box (union = anchor length + box length - intersection)."""
    inter = np.maximum(np.minimum(anchors_max, box_max) - np.maximum(anchors_min, box_min), 0.0)
    return inter / (anchors_max - anchors_min - inter + box_max - box_min)


def ioa_with_anchors(anchors_min: np.ndarray, anchors_max: np.ndarray, box_min, box_max) -> np.ndarray:
    """Intersection of each anchor with a box, divided by the anchor's length."""
    inter = np.maximum(np.minimum(anchors_max, box_max) - np.maximum(anchors_min, box_min), 0.0)
    return inter / (anchors_max - anchors_min)


def valid_mask(temporal_scale: int, max_duration: int | None = None) -> np.ndarray:
    """``(D, T)`` float64 mask: 1 where ``s + d < T`` (the official ``get_mask``, first ``D`` rows)."""
    d_max = temporal_scale if max_duration is None else max_duration
    d = np.arange(d_max)[:, None]
    s = np.arange(temporal_scale)[None, :]
    return ((s + d) < temporal_scale).astype(np.float64)


def gtad_targets(
    segments: np.ndarray,
    temporal_scale: int = 100,
    *,
    duration_second: float = 1.0,
    duration_frame: float = 1.0,
    feature_frame: float = 1.0,
    max_duration: int | None = None,
    style: str = "activitynet",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training targets of one video (ActivityNet) or window (``style="thumos"``).

    Args:
        segments: ``(K, 2)`` ground truths ``[start, end]``; divided by
            ``feature_frame / duration_frame * duration_second`` then clipped to ``[0, 1]`` (with the defaults
            they are taken as already normalised).
        temporal_scale: T.
        max_duration: D (default T).
        style: ``"activitynet"`` or ``"thumos"`` boundary anchors (see the module docstring).

    Returns:
        ``(start (T,), end (T,), iou_map (D, T))`` float64; all zeros when ``K = 0``.

    Raises:
        ValueError: bad shapes, non-finite values, a non-positive normaliser, unknown style.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2) if np.size(segments) else np.zeros((0, 2))
    if not np.isfinite(seg).all():
        raise ValueError("segments contain NaN or infinite values")
    corrected = feature_frame / duration_frame * duration_second
    if not corrected > 0:
        raise ValueError(f"the normalising duration must be positive, got {corrected}")
    t = temporal_scale
    d_max = t if max_duration is None else max_duration
    gap = 1.0 / t
    raw = seg / corrected
    norm = np.clip(raw, 0.0, 1.0)

    xmin = gap * np.arange(t)[None, :].repeat(d_max, 0)
    xmax = xmin + gap * np.arange(1, d_max + 1)[:, None]
    iou_map = np.zeros((d_max, t))
    for lo, hi in norm:
        iou_map = np.maximum(iou_map, iou_with_anchors(xmin, xmax, lo, hi))

    if style == "activitynet":
        a_min = gap * (np.arange(t) - 0.5)
        a_max = gap * (np.arange(1, t + 1) + 0.5)
        bounds = norm
    else:
        a_min = gap * np.arange(t)
        a_max = gap * np.arange(1, t + 1)
        bounds = raw
    half = 3 * gap / 2
    start, end = np.zeros(t), np.zeros(t)
    for lo, hi in bounds:
        start = np.maximum(start, ioa_with_anchors(a_min, a_max, lo - half, lo + half))
        end = np.maximum(end, ioa_with_anchors(a_min, a_max, hi - half, hi + half))
    return start, end, iou_map
