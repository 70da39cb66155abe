"""Temporal resampling of snippet features to the fixed lengths the localisation heads expect.

Each function reproduces the official code of one head, quirks included, on a ``(num_snippets, D)`` array:

- :func:`interpolate_to_length` -- G-TAD (ActivityNet-1.3: 100 snippets): linear interpolation with
  ``torch.nn.functional.interpolate(mode="linear", align_corners=False)``.
- :func:`average_to_fixed_length` -- 2D-TAN: mean over index ranges ``[round(i N / M), round((i+1) N / M))``,
  boundaries clipped to ``N - 1`` (so the last snippet only enters a clip when that clip is a single index).
- :func:`strided_indices` / :func:`strided_subsample` -- LGI (``num_segment=128``): at most ``max_length``
  snippets picked with a fractional stride ``N / max_length``, rounded; shorter videos are zero-padded.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "interpolate_to_length",
    "average_to_fixed_length",
    "strided_indices",
    "strided_subsample",
]


def _as_2d(features: np.ndarray | torch.Tensor, name: str = "features") -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features)
    if tensor.ndim != 2 or tensor.shape[0] == 0:
        raise ValueError(f"{name} must have shape (num_snippets >= 1, D), got {tuple(tensor.shape)}")
    return tensor


def interpolate_to_length(features: np.ndarray | torch.Tensor, length: int = 100) -> np.ndarray:
    """Resize ``(N, D)`` snippet features to ``(length, D)`` by linear interpolation, as G-TAD does.

    Output position ``j`` samples the input at ``(j + 0.5) N / length - 0.5`` (``align_corners=False``),
    clamped to ``[0, N - 1]``; a single snippet is repeated.

    Args:
        features: ``(N, D)`` snippet features.
        length: number of output positions (G-TAD uses 100 on ActivityNet-1.3).

    Returns:
        float32 ``(length, D)``.
    """
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    x = _as_2d(features).to(torch.float64)
    out = F.interpolate(x.T.unsqueeze(0), size=length, mode="linear", align_corners=False)[0].T
    return out.numpy().astype(np.float32)


def average_to_fixed_length(features: np.ndarray | torch.Tensor, num_clips: int) -> np.ndarray:
    """Average-pool ``(N, D)`` snippet features into ``num_clips`` clips, exactly as 2D-TAN does.

    Boundaries are ``b_i = min(round(i N / M), N - 1)`` for ``i = 0..M`` (round half to even, as
    ``torch.round``); clip ``i`` is the mean over ``[b_i, b_{i+1})``, or snippet ``b_i`` alone when the
    range is empty.

    Args:
        features: ``(N, D)`` snippet features.
        num_clips: ``M``, the number of output clips.

    Returns:
        float32 ``(num_clips, D)``.
    """
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    x = _as_2d(features).to(torch.float64)
    num_snippets = x.shape[0]
    bounds = torch.arange(0, num_clips + 1, dtype=torch.float64) / num_clips * num_snippets
    bounds = torch.clamp(torch.round(bounds).long(), max=num_snippets - 1).tolist()
    clips = [
        x[s:e].mean(dim=0) if s < e else x[s]
        for s, e in zip(bounds[:-1], bounds[1:])
    ]
    return torch.stack(clips).numpy().astype(np.float32)


def strided_indices(num_snippets: int, max_length: int = 128, offset: int = 0) -> np.ndarray:
    """Indices of the snippets LGI keeps: ``round(offset + k * stride)`` with ``stride = max(1, N / max_length)``.

    At most ``max_length`` indices are returned (LGI drops a trailing extra one). Rounding is half to even,
    as ``numpy.round``.

    Args:
        num_snippets: ``N``.
        max_length: LGI's ``num_segment`` (128).
        offset: start position; LGI uses 0 at test time and a random integer in training
            (see :func:`strided_subsample`).
    """
    if num_snippets < 1 or max_length < 1:
        raise ValueError(f"num_snippets and max_length must be >= 1, got {num_snippets}, {max_length}")
    stride = 1.0 if num_snippets <= max_length else num_snippets / max_length
    indices = np.round(np.arange(offset, num_snippets - 0.5, stride)).astype(np.int64)
    return indices[:max_length]


def strided_subsample(
    features: np.ndarray | torch.Tensor,
    max_length: int = 128,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, int]:
    """Subsample ``(N, D)`` features to at most ``max_length`` snippets and zero-pad to ``max_length``, as LGI.

    With ``rng`` (training), the start offset is drawn uniformly from ``0..floor(e)`` where
    ``e = stride - 0.5``, less one when ``e`` is an integer -- LGI's jitter, which keeps the last index
    inside the video; without ``rng`` (evaluation) the offset is 0.

    Returns:
        ``(out, num_valid)``: float32 ``(max_length, D)`` whose first ``num_valid = min(N, max_length)``
        rows are the picked snippets and the rest zeros.
    """
    x = _as_2d(features).numpy()
    num_snippets = x.shape[0]
    offset = 0
    if rng is not None and num_snippets > max_length:
        jitter_end = num_snippets / max_length - 0.5
        if jitter_end == math.floor(jitter_end):
            jitter_end -= 1.0
        offset = int(rng.integers(0, math.floor(jitter_end) + 1))
    indices = strided_indices(num_snippets, max_length, offset)
    out = np.zeros((max_length, x.shape[1]), dtype=np.float32)
    out[: len(indices)] = x[indices]
    return out, len(indices)
