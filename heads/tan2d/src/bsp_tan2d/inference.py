"""From a score map to ranked moments: 2D-TAN's ``get_proposal_results`` (``moment_localization/train.py``,
``test.py``) followed by its NMS (``lib/core/eval.py`` ``nms``, here
:func:`bsp_lightning.evaluation.grounding.nms_2dtan`)."""

from __future__ import annotations

import numpy as np
import torch

from bsp_lightning.evaluation.grounding import nms_2dtan

__all__ = ["ranked_moments", "predict_moments"]


def ranked_moments(scores: np.ndarray | torch.Tensor, duration: float) -> np.ndarray:
    """Every cell ``(a, b)`` with ``a <= b`` as a moment in seconds, best score first: float64 ``(N (N + 1) / 2, 2)``.

    The order is ``numpy.argsort(scores.ravel())[::-1]`` (so ties come out as numpy's reversed argsort),
    cells with ``a > b`` dropped; cells outside the sparse mask score 0 and so fall to the end, as in the
    official code. Times are ``[a, b + 1] / N * duration`` computed in float32 (``sorted_indexs.float() /
    target_size * duration``) and returned as the floats those float32 values are.

    Args:
        scores: ``(N, N)`` (``sigmoid(logits) * mask``, float32 as the model gives them).
        duration: the video's duration in seconds.
    """
    s = scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"scores must be (N, N), got shape {s.shape}")
    num_clips = s.shape[0]
    order = np.argsort(s.ravel())[::-1]
    rows, cols = np.unravel_index(order, s.shape)
    keep = rows <= cols
    index = np.stack([rows[keep], cols[keep] + 1], axis=1).astype(float)
    times = torch.from_numpy(index).float() / num_clips * duration
    return np.asarray(times.tolist(), dtype=np.float64).reshape(-1, 2)


def predict_moments(scores: np.ndarray | torch.Tensor, duration: float, nms_threshold: float = 0.5,
                    top_k: int = 5) -> np.ndarray:
    """The moments 2D-TAN evaluates: :func:`ranked_moments` reduced by greedy NMS to at most ``top_k``.

    A later moment is dropped when its overlap with a kept one is ``> nms_threshold`` (0.5 conv, 0.45 pool
    on Charades-STA, 0.4 TACoS pool); ``top_k`` is ``max(TEST.RECALL)`` = 5. Returns float64 ``(k, 2)``.
    """
    moments = ranked_moments(scores, duration)
    return moments[nms_2dtan(moments, nms_threshold, top_k=top_k)]
