"""G-TAD inference post-processing (numpy): boundary flags, candidates, Soft-NMS, seconds, class fusion.

ActivityNet rules from ``gtad_inference.py`` / ``gtad_postprocess.py`` (branch ``anet`` @ 3f145d5), THUMOS rules
from ``master`` @ 6deb5b1; see ``docs/heads/gtad-actionness.md`` §1.7:

* boundary flags (BMN rule): index 0 is a start, index ``T-1`` an end; inner positions are flagged when the
  score is a strict local maximum or above half the curve's maximum;
* ActivityNet candidates: ``e = s + d + 1`` with ``e < T`` *strictly* (a proposal ending at the last position
  is never produced), ``start_flag[s] and end_flag[e]``, score ``clr * reg`` (boundary probabilities are not
  multiplied in); THUMOS: every cell with ``s + d + 1 < T``, no flags;
* Soft-NMS (BSN style): repeatedly take the highest score, multiply every other proposal overlapping it
  (IoU > 0) by ``exp(-IoU^2 / denominator)`` (the denominator used raw, not ``2 sigma^2``), keep ``top_k``;
  the loop stops when one proposal is left -- **that last one is dropped**, as in the official ``while
  len > 1`` -- or when the best score is 0. ActivityNet's video and THUMOS's video-level merge call it only
  on more than one candidate (``if len(df) > 1``), so a lone candidate is kept with its raw score (THUMOS's
  per-window calls are unconditional). THUMOS first zeroes the scores of proposals at least 300 frames
  long (``max_length``, here in seconds: 10 s = 300 frames at 30 fps);
* ActivityNet seconds: ``[max(0, xmin) * duration, min(1, xmax) * duration]`` with the annotation's duration
  (training normalised by the feature-covered span instead: a quirk of the original, kept);
* labels: each proposal is emitted once per top class with ``score * class_score`` (top-2: all proposals
  with the best class, then all with the second).

Ties: the official code sorts with pandas (not stable); here sorting is stable (input order among equals) and
the maximum is the first one, as ``list.index(max(...))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["boundary_flags", "candidates", "window_candidates", "soft_nms", "video_proposals", "classify",
           "merge_window_proposals"]


def boundary_flags(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(start_flags, end_flags)``: bool ``(T,)`` each (see the module docstring)."""
    flags = []
    for curve, edge in ((np.asarray(start, dtype=np.float64), 0), (np.asarray(end, dtype=np.float64), -1)):
        out = np.zeros(curve.shape[0], dtype=bool)
        out[edge] = True
        inner = curve[1:-1]
        peak = (inner > curve[2:]) & (inner > curve[:-2])
        out[1:-1] |= peak | (inner > 0.5 * curve.max())
        flags.append(out)
    return flags[0], flags[1]


def candidates(start: np.ndarray, end: np.ndarray, clr_map: np.ndarray, reg_map: np.ndarray) -> np.ndarray:
    """ActivityNet candidates ``(N, 4)`` ``[xmin, xmax, clr, reg]`` (normalised times), duration-major order.

    ``clr_map``/``reg_map`` are ``(D, T)`` indexed ``[duration, start]``.
    """
    clr_map, reg_map = np.asarray(clr_map, dtype=np.float64), np.asarray(reg_map, dtype=np.float64)
    d_max, t = clr_map.shape
    s_flags, e_flags = boundary_flags(start, end)
    d, s = np.meshgrid(np.arange(d_max), np.arange(t), indexing="ij")
    e = s + d + 1
    keep = e < t
    keep[keep] &= s_flags[s[keep]] & e_flags[e[keep]]
    d, s, e = d[keep], s[keep], e[keep]
    return np.stack((s / t, e / t, clr_map[d, s], reg_map[d, s]), axis=1).reshape(-1, 4)


def window_candidates(clr_map: np.ndarray, reg_map: np.ndarray, origin: float, step: float) -> np.ndarray:
    """THUMOS window candidates ``(N, 3)`` ``[start_s, end_s, clr * reg]``: every cell with ``s + d + 1 < T``.

    Index ``i`` maps to ``origin + i * step`` seconds (``origin`` = the window's first snippet position; the
    official ``5 s + first_frame`` in frames).
    """
    clr_map, reg_map = np.asarray(clr_map, dtype=np.float64), np.asarray(reg_map, dtype=np.float64)
    d_max, t = clr_map.shape
    d, s = np.meshgrid(np.arange(d_max), np.arange(t), indexing="ij")
    keep = s + d + 1 < t
    d, s = d[keep], s[keep]
    return np.stack((origin + s * step, origin + (s + d + 1) * step, clr_map[d, s] * reg_map[d, s]), axis=1)


def _iou_one(lo: float, hi: float, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The official ``IOU``: 0 when disjoint, else intersection over the hull (= union when overlapping)."""
    inter = np.minimum(ends, hi) - np.maximum(starts, lo)
    hull = np.maximum(ends, hi) - np.minimum(starts, lo)
    disjoint = (starts > hi) | (lo > ends)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(hull > 0, inter / np.where(hull > 0, hull, 1.0), 0.0)
    return np.where(disjoint, 0.0, iou)


def soft_nms(proposals: np.ndarray, denominator: float = 0.8, top_k: int = 100,
             max_length: float | None = None) -> np.ndarray:
    """Gaussian Soft-NMS of ``(N, 3)`` ``[xmin, xmax, score]``; returns ``(M, 3)`` in selection order.

    ``max_length``: proposals at least this long get score 0 first (THUMOS's 300-frame rule).
    """
    p = np.asarray(proposals, dtype=np.float64).reshape(-1, 3)
    order = np.argsort(-p[:, 2], kind="stable")
    starts, ends, scores = p[order, 0].copy(), p[order, 1].copy(), p[order, 2].copy()
    if max_length is not None:
        scores[ends - starts >= max_length] = 0.0
    alive = np.ones(len(scores), dtype=bool)
    kept: list[tuple[float, float, float]] = []
    while alive.sum() > 1 and len(kept) < top_k:
        masked = np.where(alive, scores, -np.inf)
        best = int(np.argmax(masked))
        if not scores[best] > 0:
            break
        iou = _iou_one(starts[best], ends[best], starts, ends)
        decay = alive & (iou > 0)
        decay[best] = False
        scores[decay] *= np.exp(-np.square(iou[decay]) / denominator)
        kept.append((starts[best], ends[best], scores[best]))
        alive[best] = False
    return np.asarray(kept, dtype=np.float64).reshape(-1, 3)


def video_proposals(start: np.ndarray, end: np.ndarray, clr_map: np.ndarray, reg_map: np.ndarray,
                    duration_second: float, *, denominator: float = 0.8, top_k: int = 100) -> np.ndarray:
    """ActivityNet proposals of one video ``(K, 3)`` ``[start_s, end_s, score]``, best first.

    Soft-NMS runs only on more than one candidate, as the official ``gtad_postprocess.py`` (branch ``anet`` @
    3f145d5) does with ``if len(df) > 1``: a lone candidate is kept with its ``clr * reg`` score (Soft-NMS's
    ``while len > 1`` loop would drop it).
    """
    cand = candidates(start, end, clr_map, reg_map)
    kept = np.stack((cand[:, 0], cand[:, 1], cand[:, 2] * cand[:, 3]), axis=1)
    if len(kept) > 1:
        kept = soft_nms(kept, denominator, top_k)
    kept = kept[np.argsort(-kept[:, 2], kind="stable")][:top_k]
    return np.stack((np.maximum(0.0, kept[:, 0]) * duration_second, np.minimum(1.0, kept[:, 1]) * duration_second,
                     kept[:, 2]), axis=1).reshape(-1, 3)


def merge_window_proposals(windows: Sequence[np.ndarray], duration: float, *, denominator: float = 0.46,
                           top_k: int = 200, max_length: float | None = 10.0) -> np.ndarray:
    """THUMOS: per-window Soft-NMS results (seconds) -> one video's ``(K, 3)`` proposals, best first.

    The windows' kept proposals are concatenated and Soft-NMS'd again over the video (when more than one),
    then clipped to ``[0, duration]``.
    """
    merged = np.concatenate([np.asarray(w, dtype=np.float64).reshape(-1, 3) for w in windows] or [np.zeros((0, 3))])
    if len(merged) > 1:
        merged = soft_nms(merged, denominator, top_k, max_length)
    merged = merged[np.argsort(-merged[:, 2], kind="stable")][:top_k]
    return np.stack((np.maximum(0.0, merged[:, 0]), np.minimum(duration, merged[:, 1]), merged[:, 2]),
                    axis=1).reshape(-1, 3)


def classify(proposals: np.ndarray, class_scores: np.ndarray, class_names: Sequence[str],
             top_classes: int = 2, decimals: tuple[int, int] | None = None) -> list[dict]:
    """Fuse proposals ``(K, 3)`` ``[start, end, score]`` with video-level class scores ``(C,)``.

    Returns ``{"label", "score", "segment"}`` dicts: all proposals with the best class (score times its class
    score), then all with the second, ... ``decimals = (segment, score)`` rounds as THUMOS does ``(1, 6)``.
    """
    p = np.asarray(proposals, dtype=np.float64).reshape(-1, 3)
    scores = np.asarray(class_scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(class_names):
        raise ValueError(f"{len(scores)} class scores for {len(class_names)} class names")
    ranked = np.argsort(-scores, kind="stable")[:top_classes]
    out = []
    for c in ranked:
        for lo, hi, score in p:
            fused, seg = float(score * scores[c]), [float(lo), float(hi)]
            if decimals is not None:
                seg = [round(v, decimals[0]) for v in seg]
                fused = round(fused, decimals[1])
            out.append({"label": str(class_names[c]), "score": fused, "segment": seg})
    return out
