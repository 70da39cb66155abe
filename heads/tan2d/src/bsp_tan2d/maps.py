"""2D-TAN's 2D temporal map: which cells exist, their IoU targets, and the max-pool cell features.

Cell ``(a, b)`` with ``0 <= a <= b < N`` is the moment made of clips ``a..b`` (row = start clip, column = end
clip, inclusive). The map is built by a chain of 1-D operations along the diagonals (official
``lib/models/prop_modules/sparse.py``, ``SparsePropMaxPool`` / ``SparsePropConv``): for every entry ``n`` of
``NUM_SCALE_LAYERS`` one scale of ``n`` steps, the first step of scale 0 a kernel-1 op, the first step of every
later scale a kernel-3 stride-2 op, every other step a kernel-2 stride-1 op. Step ``i`` of a scale whose
accumulated stride is ``s`` writes its ``j``-th output to the cell ``(j s, j s + acc + i s)``, ``acc`` being the
cells covered by the earlier scales (``recover_to_original_map``). With ``[16]`` on 16 clips the map is the
whole upper triangle (136 cells); with ``[16, 8, 8]`` on 64 clips it has 1,104 cells and with
``[16, 8, 8, 8]`` on 128 clips 2,548 (``docs/heads/tan2d-lgi.md`` §1.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["MapStep", "map_steps", "map_mask", "iou_target_map", "max_pool_map", "cell_times"]


@dataclass(frozen=True)
class MapStep:
    """One 1-D step of the sparse map chain.

    Attributes:
        kernel, stride: of the 1-D max-pool / conv applied to the previous step's output.
        starts, ends: int64 ``(count,)``: the cells written by the step's first ``count`` outputs (the step
            produces exactly ``count`` outputs for every configuration :func:`map_steps` accepts).
    """

    kernel: int
    stride: int
    starts: np.ndarray
    ends: np.ndarray

    @property
    def count(self) -> int:
        return len(self.starts)


def _scales(num_scale_layers: Sequence[int] | int) -> tuple[int, ...]:
    scales = (int(num_scale_layers),) if isinstance(num_scale_layers, int) else tuple(int(n) for n in num_scale_layers)
    if not scales or any(n < 1 for n in scales):
        raise ValueError(f"num_scale_layers must be a non-empty list of positive ints, got {num_scale_layers!r}")
    return scales


def map_steps(num_clips: int, num_scale_layers: Sequence[int] | int = (16,)) -> tuple[MapStep, ...]:
    """The steps of the sparse map chain on ``num_clips`` clips, with the cells each one fills.

    Raises:
        ValueError: a configuration on which the official code fails (an op longer than its input, or a
            scale whose number of outputs differs from the number of cells it is mapped to; e.g. 16 clips with
            ``[16, 8]``).
    """
    scales = _scales(num_scale_layers)
    if num_clips < 1:
        raise ValueError(f"num_clips must be >= 1, got {num_clips}")
    return _map_steps(int(num_clips), scales)


@lru_cache(maxsize=64)
def _map_steps(num_clips: int, scales: tuple[int, ...]) -> tuple[MapStep, ...]:
    steps: list[MapStep] = []
    length = num_clips  # length of the 1-D sequence the next op reads
    acc, stride = 0, 1
    for scale_idx, num_layers in enumerate(scales):
        first = (1, 1) if scale_idx == 0 else (3, 2)
        scale_clips = length // first[1]  # the official scale map side
        for i in range(num_layers):
            kernel, op_stride = first if i == 0 else (2, 1)
            if length < kernel:
                raise ValueError(
                    f"num_scale_layers {list(scales)} too deep for {num_clips} clips: scale {scale_idx} step {i} "
                    f"reads {length} positions with a kernel of {kernel}"
                )
            length = (length - kernel) // op_stride + 1
            stride *= op_stride
            starts = np.arange(0, num_clips - acc - i * stride, stride, dtype=np.int64)
            if not (length == scale_clips - i == len(starts)):
                raise ValueError(
                    f"num_scale_layers {list(scales)} do not tile a map of {num_clips} clips: scale {scale_idx} "
                    f"step {i} yields {length} outputs for {len(starts)} cells"
                )
            steps.append(MapStep(kernel, op_stride, starts, starts + acc + i * stride))
        acc += stride * (num_layers + 1)
    return tuple(steps)


def map_mask(num_clips: int, num_scale_layers: Sequence[int] | int = (16,)) -> np.ndarray:
    """``(N, N)`` bool: the cells the sparse map fills (upper triangle only).

    Equivalent closed form for ``[16, 8, 8, ...]`` (``docs/heads/tan2d-lgi.md`` §1.4): with ``l = b - a + 1``,
    every cell with ``l <= 16``; else ``k = ceil(log2(l / 16))`` and ``a`` and ``l`` divisible by ``2**k``.
    """
    mask = np.zeros((num_clips, num_clips), dtype=bool)
    for step in map_steps(num_clips, num_scale_layers):
        mask[step.starts, step.ends] = True
    return mask


def cell_times(num_clips: int, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of the cells of the IoU target, as the official loaders compute them.

    ``torch.arange(0, N).float() * duration / N`` and ``torch.arange(1, N + 1).float() * duration / N``: float32
    arithmetic (``lib/datasets/charades.py``, ``activitynet.py``, ``tacos.py`` ``__getitem__``), returned as
    float64 ``(N,)`` arrays holding those float32 values.
    """
    starts = torch.arange(0, num_clips).float() * duration / num_clips
    ends = torch.arange(1, num_clips + 1).float() * duration / num_clips
    return starts.double().numpy(), ends.double().numpy()


def iou_target_map(start: float, end: float, duration: float, num_clips: int = 16) -> np.ndarray:
    """``(N, N)`` float64 IoU of every cell's span with the ground truth ``[start, end]`` (seconds).

    Cell ``(a, b)`` spans ``[a duration / N, (b + 1) duration / N]`` in float32 (:func:`cell_times`); the
    ground-truth times are rounded to float32 too (``torch.tensor([s, e]).tolist()`` in the official loaders);
    the IoU itself is float64 numpy with the union floored at 0 (``lib/core/eval.py`` ``iou``). Cells below
    the diagonal are 0 (the official loader fills them with the IoU of a reversed span, which is 0 as well
    unless the ground truth is empty). A 0/0 cell is 0.
    """
    starts, ends = cell_times(num_clips, duration)
    gt_start, gt_end = torch.tensor([float(start), float(end)]).tolist()
    s = starts[:, None]
    e = ends[None, :]
    inter = np.maximum(0.0, np.minimum(e, gt_end) - np.maximum(s, gt_start))
    union = np.maximum(0.0, np.maximum(e, gt_end) - np.minimum(s, gt_start))
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.triu(iou)


def max_pool_map(x: torch.Tensor | np.ndarray, num_scale_layers: Sequence[int] | int = (16,)):
    """The pool variant's map of ``x`` ``(C, N)`` (or ``(B, C, N)``): ``(C, N, N)`` (or ``(B, C, N, N)``).

    A valid cell ``(a, b)`` holds ``max(x[:, a..b])``, every other cell 0. Computed by the official chain of
    1-D max-pools (``SparsePropMaxPool``); returns the same kind (tensor / array) as given.
    """
    as_numpy = not isinstance(x, torch.Tensor)
    t = torch.as_tensor(np.asarray(x)) if as_numpy else x
    squeeze = t.ndim == 2
    if squeeze:
        t = t[None]
    if t.ndim != 3:
        raise ValueError(f"x must be (C, N) or (B, C, N), got shape {tuple(t.shape)}")
    batch, channels, num_clips = t.shape
    out = t.new_zeros(batch, channels, num_clips * num_clips)
    h = t
    for step in map_steps(num_clips, num_scale_layers):
        h = F.max_pool1d(h, step.kernel, step.stride)
        out[:, :, torch.as_tensor(step.starts * num_clips + step.ends)] = h[:, :, : step.count]
    out = out.view(batch, channels, num_clips, num_clips)
    if squeeze:
        out = out[0]
    return out.numpy() if as_numpy else out
