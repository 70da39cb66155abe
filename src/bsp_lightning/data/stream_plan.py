"""The sample plan of streamed frame shards: which clips, frames, boundary types and partners, before any read.

Everything a sample needs is drawn from the clip table of the shards (labels, frame counts, frame sizes)
without reading a frame, so a plan is cheap, deterministic, and the same on every machine:

1. **Streams.** An epoch deals the chunks (a few clips each, :mod:`bsp_lightning.data.pack`) in a seeded
   order, shuffled per epoch, to ``streams`` streams, each chunk to the stream holding the fewest clips so
   far; inside a chunk the clips are shuffled per epoch. A stream is read by one DataLoader worker of one
   process, chunk after chunk (:mod:`bsp_lightning.data.stream_dataset`).
2. **One sample per clip.** Every usable clip of a stream is the first source of exactly one sample. Its
   generator is seeded by ``(seed, split_seed, epoch, clip)``: boundary type, frames (the windows and
   speed changes of :mod:`bsp_lightning.data.sampling`, as for videos), crop box and flip.
3. **Partners from a buffer.** A ``diff_class`` or ``same_class`` sample takes its second clip from the
   pair buffer: the ``pair_buffer`` clips of the stream read last (plus, when a class would drop out of it,
   its last clip: every class met stays in the buffer while the buffer is larger than the number of
   classes). Its frames are the partner's own window drawn when it entered the buffer, so a sample never
   needs a chunk that was not streamed already. When the buffer holds no fitting partner (the first clips of
   a stream, or a class not met yet), the sample waits for the next clip of the stream that fits and is
   emitted after it.

Effect of the buffer on class balance: the first clips of samples are the data, each clip once, so their
classes follow the data exactly. Boundary types are drawn uniformly for every clip and waiting keeps each
draw, so the four types stay balanced whatever the buffer size. The only exception is a sample still waiting
when its stream ends: its class has no other clip in the stream, or (a buffer smaller than the number of
classes) its class's earlier clips left the buffer; it takes another type, at most one per class and stream
(counted in :attr:`StreamPlan.converted`, 3 of 1,197 samples with 20 classes and a buffer of 2 in the tests).
The partner of a ``diff_class`` sample is uniform over the buffer, so its class
follows the classes of the last ``pair_buffer`` clips of the stream: with chunks of mixed classes (pack
shuffles the clips before writing them) and a buffer several times the number of classes, that is close to
the data's class frequencies; a small buffer makes partners come from nearby chunks, and ``same_class``
samples wait longer (Kinetics-400 with the default 512: about 1.3 clips per class in the buffer).

Clips shorter than the longest window a boundary type needs are left out of the plan and counted
(:attr:`StreamPlan.too_short`), as short videos are skipped.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bsp_lightning.data.sampling import choose_gamma, diff_speed_indices, diff_speed_span, uniform_indices, uniform_span
from bsp_lightning.data.synthesis import DIFF_CLASS, DIFF_SPEED, SAME_CLASS, SAME_SPEED
from bsp_lightning.data.transforms import CropBox, center_crop_box, random_resized_crop_box

__all__ = ["PlanConfig", "SampleSpec", "StreamPlan", "min_clip_frames", "plan_stream", "stream_chunks", "stream_clips"]

_PAIRED = (DIFF_CLASS, SAME_CLASS)
# A sample still waiting when its stream ends takes the first of these types that is in use and possible.
_FALLBACK = (DIFF_SPEED, SAME_SPEED, DIFF_CLASS, SAME_CLASS)


class PlanConfig(NamedTuple):
    """The sampling settings of :class:`~bsp_lightning.data.dataset.BoundaryClipDataset`, plus the buffer size."""

    types: tuple[int, ...]  # boundary types in label order (the paper's numbers)
    mode: str = "bsp"
    tau: int = 4
    eps: int = 1
    gammas: tuple[float, ...] = (0.25, 0.5, 2.0, 4.0)
    change_point_range: tuple[int, int] = (2, 6)
    num_frames: int = 8
    frame_stride: int = 2
    resolution: int = 112
    train: bool = True
    crop_scale: tuple[float, float] = (0.25, 1.0)
    pair_buffer: int = 512
    seed: int = 0
    split_seed: int = 0


class SampleSpec(NamedTuple):
    """One planned sample. Frame numbers are 0-based stored frames of the clip."""

    clip: int
    indices: np.ndarray
    label: int  # position of the boundary type in PlanConfig.types, or the class in mode "action"
    kind: int  # boundary type (the paper's number); -1 in mode "action"
    change_point: float
    gamma: float
    box: CropBox
    mate: int = -1
    mate_indices: np.ndarray | None = None


class StreamPlan(NamedTuple):
    """The samples of one stream in emission order, and what was left out."""

    samples: list[SampleSpec]
    too_short: int
    converted: int


def min_clip_frames(cfg: PlanConfig) -> int:
    """Frames a clip needs so that every boundary type in use (and a partner window) fits."""
    stride = cfg.frame_stride
    if cfg.mode == "action":
        return uniform_span(cfg.num_frames, stride)
    need = [uniform_span(cfg.tau + cfg.eps, stride)]  # the partner window
    if SAME_SPEED in cfg.types:
        need.append(uniform_span(2 * cfg.tau, stride))
    if DIFF_SPEED in cfg.types:
        low, high = cfg.change_point_range
        need.append(max(min(diff_speed_span(cfg.tau, t, g, stride) for g in cfg.gammas) for t in range(low, high + 1)))
    return max(need)


def stream_chunks(chunk_clips: Sequence[int], streams: int, seed: Sequence[int], epoch: int) -> list[list[int]]:
    """Deal chunks to ``streams`` streams: a seeded order per epoch, each chunk to the stream with the fewest clips.

    Args:
        chunk_clips: clips in each chunk.
        streams: number of streams.
        seed: the seed words (``(seed, split_seed)``).

    Returns:
        The chunk numbers of each stream, in reading order.
    """
    order = np.random.default_rng([*seed, epoch, 0]).permutation(len(chunk_clips))
    heap = [(0, k) for k in range(streams)]
    out: list[list[int]] = [[] for _ in range(streams)]
    for chunk in order.tolist():
        clips, k = heapq.heappop(heap)
        out[k].append(chunk)
        heapq.heappush(heap, (clips + int(chunk_clips[chunk]), k))
    return out


def stream_clips(chunks: Sequence[int], chunk_first: Sequence[int], chunk_clips: Sequence[int], seed: Sequence[int],
                 epoch: int) -> list[int]:
    """The clips of a stream in reading order: its chunks in order, the clips of each shuffled per epoch."""
    clips: list[int] = []
    for chunk in chunks:
        first, count = int(chunk_first[chunk]), int(chunk_clips[chunk])
        clips.extend((first + np.random.default_rng([*seed, epoch, 1, chunk]).permutation(count)).tolist())
    return clips


class _Buffer:
    """Recently streamed clips, oldest first; a class about to drop out is kept (moved to the back)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.clips: deque[tuple[int, int]] = deque()  # (clip, class)
        self.count: Counter[int] = Counter()

    def add(self, clip: int, label: int) -> None:
        self.clips.append((clip, label))
        self.count[label] += 1
        if len(self.clips) <= self.size:
            return
        for _ in range(len(self.clips)):
            old, old_label = self.clips.popleft()
            if self.count[old_label] > 1:
                self.count[old_label] -= 1
                return
            self.clips.append((old, old_label))  # the last of its class stays
        old, old_label = self.clips.popleft()  # more classes than places: the oldest goes anyway
        self.count[old_label] -= 1

    def candidates(self, label: int, same: bool) -> list[int]:
        if (self.count[label] if same else len(self.clips) - self.count[label]) == 0:
            return []
        return [clip for clip, other in self.clips if (other == label) == same]


class _Draw(NamedTuple):
    spec: SampleSpec
    pick: float  # uniform draw that chooses the partner among the candidates


def _draw(clip: int, cfg: PlanConfig, num_frames: int, height: int, width: int, label: int, epoch: int,
          kind_slot: int | None = None) -> tuple[_Draw, np.ndarray]:
    """The clip's own sample (type drawn unless given) and its window as a partner."""
    rng = np.random.default_rng([cfg.seed, cfg.split_seed, epoch, clip] + ([] if kind_slot is None else [1]))
    stride, tau = cfg.frame_stride, cfg.tau
    partner = uniform_indices(num_frames, tau + cfg.eps, stride, rng)
    gamma, change_point = 1.0, 0.0
    if cfg.mode == "action":
        slot, kind = label, -1
        indices = uniform_indices(num_frames, cfg.num_frames, stride, rng)
    else:
        slot = int(rng.integers(len(cfg.types))) if kind_slot is None else kind_slot
        kind = cfg.types[slot]
        if kind == DIFF_CLASS:
            indices, change_point = uniform_indices(num_frames, tau + cfg.eps, stride, rng), float(tau)
        elif kind == SAME_CLASS:
            indices, change_point = uniform_indices(num_frames, tau, stride, rng), float(tau)
        elif kind == DIFF_SPEED:
            t = int(rng.integers(cfg.change_point_range[0], cfg.change_point_range[1] + 1))
            gamma = choose_gamma(cfg.gammas, num_frames, tau, t, stride, rng)
            indices, change_point = diff_speed_indices(num_frames, tau, t, gamma, stride, rng), float(t)
        else:
            indices = uniform_indices(num_frames, 2 * tau, stride, rng)
    if cfg.train:
        box = random_resized_crop_box(height, width, rng, scale=cfg.crop_scale)
    else:
        box = center_crop_box(height, width, cfg.resolution)
    spec = SampleSpec(clip, indices, slot, kind, change_point, gamma, box)
    return _Draw(spec, float(rng.random())), partner


def plan_stream(clips: Sequence[int], labels: np.ndarray, num_frames: np.ndarray, heights: np.ndarray,
                widths: np.ndarray, cfg: PlanConfig, epoch: int) -> StreamPlan:
    """Plan the samples of one stream (see the module docstring).

    Args:
        clips: the stream's clips in reading order (:func:`stream_clips`).
        labels, num_frames, heights, widths: per clip of the whole table: class, stored frames, frame size.
        cfg: the sampling settings.
        epoch: the epoch (seeds every draw).

    Returns:
        The samples in emission order (one per usable clip), with the counts of left-out and converted clips.

    Raises:
        ValueError: a stream whose clips cannot pair at all (every clip of one class and only paired types).
    """
    need = min_clip_frames(cfg)
    buffer = _Buffer(cfg.pair_buffer)
    partners: dict[int, np.ndarray] = {}
    waiting_same: dict[int, list[_Draw]] = {}
    waiting_diff: list[_Draw] = []
    out: list[SampleSpec] = []
    too_short = 0

    def paired(draw: _Draw, mate: int) -> SampleSpec:
        return draw.spec._replace(mate=mate, mate_indices=partners[mate])

    for clip in clips:
        n = int(num_frames[clip])
        if n < need:
            too_short += 1
            continue
        label = int(labels[clip])
        draw, partners[clip] = _draw(clip, cfg, n, int(heights[clip]), int(widths[clip]), label, epoch)
        # samples waiting for a partner of this clip's kind take it first
        out.extend(paired(w, clip) for w in waiting_same.pop(label, []))
        keep = []
        for w in waiting_diff:
            if int(labels[w.spec.clip]) != label:
                out.append(paired(w, clip))
            else:
                keep.append(w)
        waiting_diff = keep
        if draw.spec.kind in _PAIRED:
            same = draw.spec.kind == SAME_CLASS
            candidates = buffer.candidates(label, same)
            if candidates:
                out.append(paired(draw, candidates[int(draw.pick * len(candidates))]))
            elif same:
                waiting_same.setdefault(label, []).append(draw)
            else:
                waiting_diff.append(draw)
        else:
            out.append(draw.spec)
        buffer.add(clip, label)
    converted = 0
    for draw in [w for ws in waiting_same.values() for w in ws] + waiting_diff:
        out.append(_convert(draw.spec, buffer, partners, labels, num_frames, heights, widths, cfg, epoch))
        converted += 1
    return StreamPlan(out, too_short, converted)


def _convert(spec: SampleSpec, buffer: _Buffer, partners: dict[int, np.ndarray], labels: np.ndarray,
             num_frames: np.ndarray, heights: np.ndarray, widths: np.ndarray, cfg: PlanConfig,
             epoch: int) -> SampleSpec:
    clip, label = spec.clip, int(labels[spec.clip])
    for kind in _FALLBACK:
        if kind == spec.kind or kind not in cfg.types:
            continue
        candidates = [c for c in buffer.candidates(label, kind == SAME_CLASS) if c != clip] if kind in _PAIRED else []
        if kind in _PAIRED and not candidates:
            continue
        draw, _ = _draw(clip, cfg, int(num_frames[clip]), int(heights[clip]), int(widths[clip]), label, epoch,
                        kind_slot=cfg.types.index(kind))
        if kind in _PAIRED:
            mate = candidates[int(draw.pick * len(candidates))]
            return draw.spec._replace(mate=mate, mate_indices=partners[mate])
        return draw.spec
    raise ValueError(f"clip {clip} (class {label}) has no partner for a {('diff_class', 'same_class')[spec.kind]} "
                     "sample in its stream and no other boundary type is in use: too few classes or clips")
