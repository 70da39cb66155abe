"""The pre-training samples: synthesized boundary clips (or plain action clips) drawn from a VideoIndex.

The data path of one sample, top to bottom (:class:`BoundaryClipDataset`):

1. a generator seeded by ``(seed, split, epoch, sample)``: the same samples whatever ``num_workers`` is;
2. draw the boundary type among ``boundary_types`` (``mode="bsp"``), then the source video(s) under the
   class constraints: two classes for diff-class, one class with two different videos for same-class;
3. pick the frames each source needs (:mod:`bsp_lightning.data.sampling`: a random window read every
   ``frame_stride`` frames, the same base rate for every type) and decode only those, resized to
   ``short_side`` while decoding (:mod:`bsp_lightning.data.sources`: a video file through
   :func:`bsp_lightning.video.read_frames`, or a frame folder);
4. crop/resize/flip every frame of every source with one box (:mod:`bsp_lightning.data.transforms`);
5. synthesize the clip (:mod:`bsp_lightning.data.synthesis`) and its change-point heatmap.

A corrupt, unreadable or too-short video is skipped with a logged reason (a warning the first time a
worker meets the file, debug messages after) and other sources are drawn for the same sample, at most
``max_retries`` times; each sample carries the number of videos it skipped
(``num_skipped``), so the count is exact whatever the number of workers. The module sums it over the
batches it sees and :class:`~bsp_lightning.data.datamodule.SkippedVideosCallback` logs the
count at the end of every epoch. When no retry succeeds, :class:`NoUsableVideoError` stops the run.

Batch (``B`` samples, ``T = num_frames``)::

    clip          uint8   (B, T, C, H, W)
    label         int64   (B,)   position of the boundary type in ``boundary_types`` (action class in
                                 mode "action")
    boundary_type int64   (B,)   the paper's label 0 diff-class, 1 same-class, 2 diff-speed, 3 same-speed
                                 (-1 in mode "action")
    change_point  float32 (B,)   1-based frame after which the boundary lies (0 when there is none)
    heatmap       float32 (B, T) exp(-(t - mu)^2 / (2 tau)), all zeros when there is no boundary
    gamma         float32 (B,)   speed factor of diff-speed clips (1 for the other types)
    action_label  int64   (B,)   class of the first source video
    video_id      list[str]      first source;  video_id_2  list[str]: second source ("" if none)
    num_skipped   int64   (B,)   broken videos skipped while drawing each sample
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler, get_worker_info

from bsp_lightning.data.index import VideoIndex, VideoRecord
from bsp_lightning.data.sampling import ClipTooShortError, choose_gamma, diff_speed_indices, uniform_indices
from bsp_lightning.data.sources import FrameSource, VideoSource
from bsp_lightning.data.synthesis import (
    BOUNDARY_TYPES,
    DIFF_CLASS,
    DIFF_SPEED,
    SAME_CLASS,
    SAME_SPEED,
    change_point_heatmap,
    diff_class,
    same_class,
)
from bsp_lightning.data.transforms import CropBox, apply_crop, center_crop_box, random_resized_crop_box
from bsp_lightning.video import VideoDecodeError

__all__ = ["BoundaryClipDataset", "EpochSampler", "NoUsableVideoError", "Synthesized", "sample_dict"]

# The DataModule's logger: one name to configure for everything the pre-training data says (skipped videos).
logger = logging.getLogger("bsp_lightning.data.datamodule")


class NoUsableVideoError(RuntimeError):
    """Every draw of a sample hit a broken or too-short video."""


class _SkipVideo(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EpochSampler(Sampler[int]):
    """Yields ``epoch * num_samples + k`` for ``skip <= k < num_samples``: the dataset sees the epoch in the key.

    The key travels with the index to whichever worker loads it, so no worker state is involved. The
    training loader (:class:`~bsp_lightning.data.resume.EpochLoader`) sets the epoch from the Trainer before
    each pass, and :attr:`skip` (samples of every process already trained) when resuming mid-epoch;
    Lightning's own :meth:`set_epoch` calls (also through its distributed wrapper) give the same epoch.
    """

    def __init__(self, num_samples: int) -> None:
        self.num_samples = num_samples
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.num_samples
        return iter(range(start + min(self.skip, self.num_samples), start + self.num_samples))

    def __len__(self) -> int:
        return self.num_samples


class Synthesized(NamedTuple):
    """One composed clip and where it came from (what every boundary-type method returns)."""

    clip: torch.Tensor  # uint8 (T, C, H, W)
    change_point: float  # 1-based frame after which the boundary lies; 0: none
    first: VideoRecord
    second: VideoRecord | None = None
    gamma: float = 1.0


class BoundaryClipDataset(Dataset):
    """Random synthesized clips drawn from a :class:`VideoIndex`; item ``key`` is sample ``key % len`` of
    epoch ``key // len`` (see :class:`EpochSampler`).

    Args:
        index: the source videos.
        num_samples: samples per epoch.
        mode: ``"bsp"`` (synthesized boundaries) or ``"action"`` (one clip and its class).
        boundary_types: names from :data:`BOUNDARY_TYPES`; ``label`` is the position in this list.
        tau: half the clip length (equations 1-3).
        eps: transition half-width of diff-class clips.
        gammas: speed factors of diff-speed clips.
        change_point_range: inclusive range of the diff-speed change point ``t``.
        num_frames: clip length ``T``.
        frame_stride: video frames between consecutive clip frames.
        short_side: decode with the shorter side resized to this many pixels (None: original size).
        resolution: side of the square output frames.
        train: random resized crop and flip (else centre crop).
        crop_scale: area range of the random resized crop.
        flip_prob: probability of the horizontal flip in training (0 where a mirror image is another class,
            as the toy world's moving left/right and spinning clockwise/anticlockwise).
        seed: base seed.
        split_seed: separates the random streams of the splits.
        max_retries: broken videos skipped per sample before giving up.
        label_of: class name -> action label (defaults to the index's own classes).
        source: where the frames come from (default: the records are video files).
    """

    # boundary type -> the method that composes its clip
    BUILDERS = {DIFF_CLASS: "diff_class_clip", SAME_CLASS: "same_class_clip", DIFF_SPEED: "diff_speed_clip",
                SAME_SPEED: "same_speed_clip"}

    def __init__(
        self,
        index: VideoIndex,
        num_samples: int,
        *,
        mode: str = "bsp",
        boundary_types: Sequence[str] = BOUNDARY_TYPES,
        tau: int = 4,
        eps: int = 1,
        gammas: Sequence[float] = (0.25, 0.5, 2.0, 4.0),
        change_point_range: tuple[int, int] = (2, 6),
        num_frames: int = 8,
        frame_stride: int = 2,
        short_side: int | None = 128,
        resolution: int = 112,
        train: bool = True,
        crop_scale: tuple[float, float] = (0.25, 1.0),
        flip_prob: float = 0.5,
        seed: int = 0,
        split_seed: int = 0,
        max_retries: int = 20,
        label_of: dict[str, int] | None = None,
        source: FrameSource | None = None,
    ) -> None:
        self.index = index
        self.source = source if source is not None else VideoSource()  # caches per worker
        self.num_samples = num_samples
        self.mode = mode
        self.types = [BOUNDARY_TYPES.index(name) for name in boundary_types]
        self.tau, self.eps = tau, eps
        self.gammas = tuple(float(g) for g in gammas)
        self.change_point_range = change_point_range
        self.num_frames = num_frames
        self.frame_stride = frame_stride
        self.short_side = short_side
        self.resolution = resolution
        self.train = train
        self.crop_scale = crop_scale
        self.flip_prob = float(flip_prob)
        self.seed = seed
        self.split_seed = split_seed
        self.max_retries = max_retries
        self.label_of = label_of if label_of is not None else {c: i for i, c in enumerate(index.classes)}
        self._classes = sorted(index.by_class)
        # same-class clips need two different videos of one class
        self._paired = [p for c in self._classes if len(index.by_class[c]) >= 2 for p in index.by_class[c]]
        self._warned: set[str] = set()  # per-worker: broken files already reported

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, key: int) -> dict[str, Any]:
        epoch, k = divmod(int(key), self.num_samples)
        rng = np.random.default_rng([self.seed, self.split_seed, epoch, k])
        slot = int(rng.integers(len(self.types))) if self.mode == "bsp" else -1
        reasons: list[str] = []
        for _ in range(self.max_retries + 1):
            self._drawn: list[str] = []  # the files of this draw, to name them when something fails
            try:
                sample = self._draw(slot, rng)
            except Exception as err:
                # any failure building a sample is a counted skip, not the epoch's end (docs/decisions.md#counted-skips)
                skip = err if isinstance(err, _SkipVideo) else _SkipVideo(
                    ", ".join(self._drawn) or str(self.index.root), f"{type(err).__name__}: {err}")
                reasons.append(str(skip))
                # A broken file is drawn again and again in a long run: say why once, then quietly count.
                log = logger.debug if skip.path in self._warned else logger.warning
                self._warned.add(skip.path)
                log("skipping video %s; drawing another one", skip)
                continue
            sample["num_skipped"] = torch.tensor(len(reasons), dtype=torch.int64)
            return sample
        raise NoUsableVideoError(
            f"no usable video after {len(reasons)} attempts for sample {k} of epoch {epoch} "
            f"(split {self.index.split!r}, root {self.index.root!r}); are the videos readable and at least "
            f"{self._min_span()} frames long? Reasons: " + "; ".join(reasons[-3:])
        )

    def _min_span(self) -> int:
        return (self.num_frames - 1) * self.frame_stride + 1

    # -- drawing sources ---------------------------------------------------------------------------------

    def _pick(self, positions: Sequence[int], rng: np.random.Generator) -> VideoRecord:
        record = self.index[positions[int(rng.integers(len(positions)))]]
        self._drawn.append(record.path)
        return record

    def _num_frames(self, record: VideoRecord) -> int:
        try:
            return self.source.num_frames(record)
        except VideoDecodeError as err:
            raise _SkipVideo(record.path, err.reason) from None

    def _decode(self, record: VideoRecord, indices: np.ndarray) -> np.ndarray:
        try:
            # DataLoader workers already fill the cores: a worker decodes on one thread
            # (docs/decisions.md#one-decode-thread)
            threads = 1 if get_worker_info() is not None else 0
            return self.source.read(record, indices, self.short_side, threads)
        except VideoDecodeError as err:
            raise _SkipVideo(record.path, err.reason) from None

    def _window(self, record: VideoRecord, num: int, rng: np.random.Generator) -> np.ndarray:
        try:
            return uniform_indices(self._num_frames(record), num, self.frame_stride, rng)
        except ClipTooShortError as err:
            raise _SkipVideo(record.path, f"too short: {err}") from None

    def _box(self, frames: np.ndarray, rng: np.random.Generator) -> CropBox:
        height, width = frames.shape[1:3]
        if self.train:
            return random_resized_crop_box(height, width, rng, scale=self.crop_scale, flip_prob=self.flip_prob)
        return center_crop_box(height, width, self.resolution)

    # -- synthesis -----------------------------------------------------------------------------------

    def _draw(self, slot: int, rng: np.random.Generator) -> dict[str, Any]:
        if self.mode == "action":
            out = self.action_clip(rng)
            return self._sample(out, self.label_of[out.first.label], -1)
        kind = self.types[slot]
        out = getattr(self, self.BUILDERS[kind])(rng)
        return self._sample(out, slot, kind)

    # -- the four boundary types: sibling methods of one shape -------------------------------------------
    # Each picks its source video(s) and the frames to read (source indices), decodes only those, crops
    # every frame of every source with one box, then composes the clip with its equation. Broken or too
    # short sources raise _SkipVideo, and the sample is drawn again.

    def diff_class_clip(self, rng: np.random.Generator) -> Synthesized:
        """Equation (1): two videos of different classes, blended over ``2 eps`` frames around ``tau``."""
        first = self._pick(range(len(self.index)), rng)
        others = [c for c in self._classes if c != first.label_index]
        second = self._pick(self.index.by_class[others[int(rng.integers(len(others)))]], rng)
        clip1, clip2 = self._two_sources(first, second, self.tau + self.eps, rng)
        return Synthesized(diff_class(clip1, clip2, self.tau, self.eps), float(self.tau), first, second)

    def same_class_clip(self, rng: np.random.Generator) -> Synthesized:
        """Equation (2): two different videos of one class, cut at ``tau``."""
        first = self._pick(self._paired, rng)
        mates = [p for p in self.index.by_class[first.label_index] if self.index[p].path != first.path]
        second = self._pick(mates, rng)
        clip1, clip2 = self._two_sources(first, second, self.tau, rng)
        return Synthesized(same_class(clip1, clip2, self.tau), float(self.tau), first, second)

    def diff_speed_clip(self, rng: np.random.Generator) -> Synthesized:
        """Equation (3) on the video's own frames: the base rate up to ``t``, ``gamma`` times it after."""
        first = self._pick(range(len(self.index)), rng)
        t = int(rng.integers(self.change_point_range[0], self.change_point_range[1] + 1))
        num_video_frames = self._num_frames(first)
        try:
            gamma = choose_gamma(self.gammas, num_video_frames, self.tau, t, self.frame_stride, rng)
            indices = diff_speed_indices(num_video_frames, self.tau, t, gamma, self.frame_stride, rng)
        except ClipTooShortError as err:
            raise _SkipVideo(first.path, f"too short: {err}") from None
        # the speed change is in the indices; read_frames decodes each repeated frame once
        return Synthesized(self._one_source(first, indices, rng), float(t), first, None, gamma)

    def same_speed_clip(self, rng: np.random.Generator) -> Synthesized:
        """``2 tau`` frames of one video at the base rate: no boundary (change point 0)."""
        first = self._pick(range(len(self.index)), rng)
        return Synthesized(self._one_source(first, self._window(first, 2 * self.tau, rng), rng), 0.0, first)

    def action_clip(self, rng: np.random.Generator) -> Synthesized:
        """Mode "action": ``num_frames`` frames of one video at the base rate, labelled by its class."""
        first = self._pick(range(len(self.index)), rng)
        return Synthesized(self._one_source(first, self._window(first, self.num_frames, rng), rng), 0.0, first)

    def _one_source(self, record: VideoRecord, indices: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        frames = self._decode(record, indices)
        return apply_crop(frames, self._box(frames, rng), self.resolution)

    def _two_sources(
        self, first: VideoRecord, second: VideoRecord, num: int, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``num`` frames of each source, both cropped with one box, each ``(num, C, H, W)``."""
        indices1 = self._window(first, num, rng)
        indices2 = self._window(second, num, rng)
        frames1 = self._decode(first, indices1)
        frames2 = self._decode(second, indices2)
        box = self._box(frames1, rng)
        return apply_crop(frames1, box, self.resolution), apply_crop(frames2, box, self.resolution)

    def _sample(self, out: Synthesized, label: int, kind: int) -> dict[str, Any]:
        return sample_dict(out.clip, label, kind, out.change_point, out.gamma, self.tau,
                           self.label_of[out.first.label], out.first.video_id,
                           out.second.video_id if out.second is not None else "")


def sample_dict(
    clip: torch.Tensor, label: int, kind: int, change_point: float, gamma: float, tau: int, action_label: int,
    video_id: str, video_id_2: str = "",
) -> dict[str, Any]:
    """One sample in the batch format of the module docstring (without ``num_skipped``)."""
    length = clip.shape[0]
    if change_point > 0:
        heatmap = torch.from_numpy(change_point_heatmap(change_point, length, tau))
    else:
        heatmap = torch.zeros(length, dtype=torch.float32)
    return {
        "clip": clip,
        "label": torch.tensor(label, dtype=torch.int64),
        "boundary_type": torch.tensor(kind, dtype=torch.int64),
        "change_point": torch.tensor(change_point, dtype=torch.float32),
        "heatmap": heatmap,
        "gamma": torch.tensor(gamma, dtype=torch.float32),
        "action_label": torch.tensor(action_label, dtype=torch.int64),
        "video_id": video_id,
        "video_id_2": video_id_2,
    }
