"""BSPDataModule: synthesized boundary clips (or plain action clips) from trimmed Kinetics-format videos.

The data path of one sample, top to bottom (:class:`BoundaryClipDataset`):

1. a generator seeded by ``(seed, split, epoch, sample)``: the same samples whatever ``num_workers`` is;
2. draw the boundary type among ``boundary_types`` (``mode="bsp"``), then the source video(s) under the
   class constraints: two classes for diff-class, one class with two different videos for same-class;
3. pick the frames each source needs (:mod:`bsp_lightning.data.sampling`: a random window read every
   ``frame_stride`` frames, the same base rate for every type) and decode only those, resized to
   ``short_side`` while decoding (:func:`bsp_lightning.video.read_frames`);
4. crop/resize/flip every frame of every source with one box (:mod:`bsp_lightning.data.transforms`);
5. synthesize the clip (:mod:`bsp_lightning.data.synthesis`) and its change-point heatmap.

A corrupt, unreadable or too-short video is skipped with a logged reason (a warning the first time a
worker meets the file, debug messages after) and other sources are drawn for the same sample, at most
``max_retries`` times; each sample carries the number of videos it skipped
(``num_skipped``), so the count is exact whatever the number of workers. The module sums it over the
batches it sees and :class:`SkippedVideosCallback` (attached by :meth:`BSPDataModule.setup`) logs the
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
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bsp_lightning.data.index import VideoIndex, VideoRecord
from bsp_lightning.data.sampling import (
    ClipTooShortError,
    choose_gamma,
    diff_speed_indices,
    diff_speed_offsets,
    uniform_indices,
)
from bsp_lightning.data.synthesis import (
    BOUNDARY_TYPES,
    DIFF_CLASS,
    DIFF_SPEED,
    SAME_CLASS,
    change_point_heatmap,
    diff_class,
    same_class,
)
from bsp_lightning.data.transforms import CropBox, apply_crop, center_crop_box, random_resized_crop_box
from bsp_lightning.video import VideoDecodeError, VideoInfo, probe, read_frames

__all__ = ["BSPDataModule", "BoundaryClipDataset", "EpochSampler", "NoUsableVideoError", "SkippedVideosCallback"]

logger = logging.getLogger(__name__)

_SPLIT_SEED = {"train": 0, "val": 1}


class NoUsableVideoError(RuntimeError):
    """Every draw of a sample hit a broken or too-short video."""


class _SkipVideo(Exception):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class EpochSampler(Sampler[int]):
    """Yields ``epoch * num_samples + k`` for ``k < num_samples``: the dataset sees the epoch in the key.

    Lightning calls :meth:`set_epoch` before every epoch (also through its distributed wrapper), and the
    key travels with the index to whichever worker loads it, so no worker state is involved.
    """

    def __init__(self, num_samples: int) -> None:
        self.num_samples = num_samples
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.num_samples
        return iter(range(start, start + self.num_samples))

    def __len__(self) -> int:
        return self.num_samples


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
        seed: base seed.
        split_seed: separates the random streams of the splits.
        max_retries: broken videos skipped per sample before giving up.
        label_of: class name -> action label (defaults to the index's own classes).
    """

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
        seed: int = 0,
        split_seed: int = 0,
        max_retries: int = 20,
        label_of: dict[str, int] | None = None,
    ) -> None:
        self.index = index
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
        self.seed = seed
        self.split_seed = split_seed
        self.max_retries = max_retries
        self.label_of = label_of if label_of is not None else {c: i for i, c in enumerate(index.classes)}
        self._classes = sorted(index.by_class)
        # same-class clips need two different videos of one class
        self._paired = [p for c in self._classes if len(index.by_class[c]) >= 2 for p in index.by_class[c]]
        self._infos: dict[str, VideoInfo | str] = {}  # per-worker probe cache; a str is a failure reason
        self._warned: set[str] = set()  # per-worker: broken files already reported

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, key: int) -> dict[str, Any]:
        epoch, k = divmod(int(key), self.num_samples)
        rng = np.random.default_rng([self.seed, self.split_seed, epoch, k])
        slot = int(rng.integers(len(self.types))) if self.mode == "bsp" else -1
        reasons: list[str] = []
        for _ in range(self.max_retries + 1):
            try:
                sample = self._draw(slot, rng)
            except _SkipVideo as skip:
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
        return self.index[positions[int(rng.integers(len(positions)))]]

    def _info(self, record: VideoRecord) -> VideoInfo:
        info = self._infos.get(record.path)
        if info is None:
            try:
                info = probe(record.path)
            except VideoDecodeError as err:
                info = err.reason
            self._infos[record.path] = info
        if isinstance(info, str):
            raise _SkipVideo(record.path, info)
        return info

    def _decode(self, record: VideoRecord, indices: np.ndarray) -> np.ndarray:
        try:
            return read_frames(record.path, indices, short_side=self.short_side, info=self._info(record))
        except VideoDecodeError as err:
            raise _SkipVideo(record.path, err.reason) from None

    def _window(self, record: VideoRecord, num: int, rng: np.random.Generator) -> np.ndarray:
        try:
            return uniform_indices(self._info(record).num_frames, num, self.frame_stride, rng)
        except ClipTooShortError as err:
            raise _SkipVideo(record.path, f"too short: {err}") from None

    def _box(self, frames: np.ndarray, rng: np.random.Generator) -> CropBox:
        height, width = frames.shape[1:3]
        if self.train:
            return random_resized_crop_box(height, width, rng, scale=self.crop_scale)
        return center_crop_box(height, width, self.resolution)

    # -- synthesis -----------------------------------------------------------------------------------

    def _draw(self, slot: int, rng: np.random.Generator) -> dict[str, Any]:
        if self.mode == "action":
            first = self._pick(range(len(self.index)), rng)
            frames = self._decode(first, self._window(first, self.num_frames, rng))
            clip = apply_crop(frames, self._box(frames, rng), self.resolution)
            label = self.label_of[first.label]
            return self._sample(clip, label, -1, 0.0, first, None)
        kind = self.types[slot]
        gamma = 1.0
        if kind == DIFF_CLASS:
            first = self._pick(range(len(self.index)), rng)
            others = [c for c in self._classes if c != first.label_index]
            second = self._pick(self.index.by_class[others[int(rng.integers(len(others)))]], rng)
            clip = diff_class(*self._two_sources(first, second, self.tau + self.eps, rng), self.tau, self.eps)
            change_point = float(self.tau)
        elif kind == SAME_CLASS:
            first = self._pick(self._paired, rng)
            mates = [p for p in self.index.by_class[first.label_index] if self.index[p].path != first.path]
            second = self._pick(mates, rng)
            clip = same_class(*self._two_sources(first, second, self.tau, rng), self.tau)
            change_point = float(self.tau)
        elif kind == DIFF_SPEED:
            first, second = self._pick(range(len(self.index)), rng), None
            t = int(rng.integers(self.change_point_range[0], self.change_point_range[1] + 1))
            num_video_frames = self._info(first).num_frames
            try:
                gamma = choose_gamma(self.gammas, num_video_frames, self.tau, t, self.frame_stride, rng)
                indices = diff_speed_indices(num_video_frames, self.tau, t, gamma, self.frame_stride, rng)
            except ClipTooShortError as err:
                raise _SkipVideo(first.path, f"too short: {err}") from None
            # Equation (3) at the base stride; read_frames decodes each repeated frame once.
            frames = self._decode(first, indices)
            clip = apply_crop(frames, self._box(frames, rng), self.resolution)
            change_point = float(t)
        else:
            first, second = self._pick(range(len(self.index)), rng), None
            frames = self._decode(first, self._window(first, 2 * self.tau, rng))
            clip = apply_crop(frames, self._box(frames, rng), self.resolution)
            change_point = 0.0
        return self._sample(clip, slot, kind, change_point, first, second, gamma)

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

    def _sample(
        self,
        clip: torch.Tensor,
        label: int,
        kind: int,
        change_point: float,
        first: VideoRecord,
        second: VideoRecord | None,
        gamma: float = 1.0,
    ) -> dict[str, Any]:
        if change_point > 0:
            heatmap = torch.from_numpy(change_point_heatmap(change_point, clip.shape[0], self.tau))
        else:
            heatmap = torch.zeros(clip.shape[0], dtype=torch.float32)
        return {
            "clip": clip,
            "label": torch.tensor(label, dtype=torch.int64),
            "boundary_type": torch.tensor(kind, dtype=torch.int64),
            "change_point": torch.tensor(change_point, dtype=torch.float32),
            "heatmap": heatmap,
            "gamma": torch.tensor(gamma, dtype=torch.float32),
            "action_label": torch.tensor(self.label_of[first.label], dtype=torch.int64),
            "video_id": first.video_id,
            "video_id_2": second.video_id if second is not None else "",
        }


class SkippedVideosCallback(pl.Callback):
    """Logs, at the end of each training and validation epoch, how many broken videos were skipped."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._report(trainer, pl_module, "train")

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._report(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._report(trainer, pl_module, "val")

    @staticmethod
    def _report(trainer: pl.Trainer, pl_module: pl.LightningModule, split: str) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if not isinstance(datamodule, BSPDataModule):
            return
        count = datamodule.pop_skipped(split)
        message = "epoch %d (%s): skipped %d unreadable or too-short videos"
        (logger.warning if count else logger.info)(message, trainer.current_epoch, split, count)
        # Each rank counts its own samples; the logged value is the sum over ranks.
        pl_module.log(f"data/skipped_videos_{split}", float(count), on_epoch=True, reduce_fx="sum", sync_dist=True)


class BSPDataModule(pl.LightningDataModule):
    """Boundary-sensitive pre-training clips (paper sec. 3.2) from trimmed videos in the Kinetics layout.

    ``root=None`` selects the embedded toy dataset, generated by :meth:`prepare_data` under
    :func:`bsp_lightning.data.toy.default_toy_root` when absent (its 64 px frames suit ``resolution=64``).
    The other defaults are a small TSM setting (8 frames, 112 px). For Kinetics-400 with TSM use e.g.
    ``root=/data/kinetics400, train_csv=.../train.csv, val_csv=.../validate.csv, short_side=256,
    resolution=224``.

    Args:
        root: Kinetics-format video folder (``root/<split>/<label>/*.mp4`` or ``root/<label>/*.mp4``);
            None selects the toy dataset.
        train_csv: official Kinetics CSV of the training split; None uses ``root/<split>.csv`` when it
            exists, else scans the label folders.
        val_csv: the same for the validation split.
        train_split: split name of the training videos.
        val_split: split name of the validation videos; None disables validation.
        mode: ``"bsp"``: synthesized boundary clips labelled by boundary type; ``"action"``: plain clips
            labelled by action class (vanilla pre-training).
        boundary_types: boundary types in use, names from ``BOUNDARY_TYPES`` (``diff_class``,
            ``same_class``, ``diff_speed``, ``same_speed``); ``label`` is the position in this list, so
            ``[diff_speed, same_speed]`` is the binary ablation of the paper's Table 4.
        num_frames: clip length ``T``; in mode "bsp" it is ``2 tau``.
        tau: half the clip length of equations (1)-(3); None means ``num_frames // 2``.
        eps: half-width of the diff-class transition, ``0 <= eps <= tau`` (0 is a hard cut). With the
            default 8 frames, 1 blends one frame half and half and starts the second video right after.
        gammas: speed factors of diff-speed clips, each != 1: slow-downs (< 1) and speed-ups (> 1) by
            2x and 4x, a factor per clip drawn among those that fit in the source video.
        change_point_range: inclusive range of the diff-speed change point ``t`` (frames at the original
            rate); None means ``[max(1, tau // 2), 2 tau - max(2, tau // 2)]`` (``[2, 6]`` for ``tau = 4``),
            which leaves at least two frames after the change, enough for a 2x slow-down to show.
        frame_stride: video frames between consecutive clip frames, the same for every type (2: about
            15 fps clips from 30 fps videos).
        short_side: frames are decoded with the shorter side resized to this (None: original size, e.g.
            the 256 px short side of the usual Kinetics copies; set 128 for 112 px training from those).
        resolution: output frames are ``resolution x resolution``.
        crop_scale: area fraction range of the training random resized crop.
        batch_size: samples per batch.
        num_workers: DataLoader worker processes.
        samples_per_epoch: training samples per epoch; None: the number of training videos.
        val_samples: validation samples (always the same ones); None: the number of validation videos.
        seed: seed of all sampling; the same seed gives the same samples whatever ``num_workers``.
        max_retries: broken videos skipped per sample before the run stops with an error.
        pin_memory: pin batches in page-locked memory (for GPU training).
    """

    def __init__(
        self,
        root: str | None = None,
        train_csv: str | None = None,
        val_csv: str | None = None,
        train_split: str = "train",
        val_split: str | None = "val",
        mode: Literal["bsp", "action"] = "bsp",
        boundary_types: Sequence[str] = BOUNDARY_TYPES,
        num_frames: int = 8,
        tau: int | None = None,
        eps: int = 1,
        gammas: Sequence[float] = (0.25, 0.5, 2.0, 4.0),
        change_point_range: tuple[int, int] | None = None,
        frame_stride: int = 2,
        short_side: int | None = None,
        resolution: int = 112,
        crop_scale: tuple[float, float] = (0.25, 1.0),
        batch_size: int = 16,
        num_workers: int = 2,
        samples_per_epoch: int | None = None,
        val_samples: int | None = None,
        seed: int = 0,
        max_retries: int = 20,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if mode not in ("bsp", "action"):
            raise ValueError(f"mode must be 'bsp' or 'action', got {mode!r}")
        unknown = [name for name in boundary_types if name not in BOUNDARY_TYPES]
        if unknown or not boundary_types or len(set(boundary_types)) != len(boundary_types):
            raise ValueError(f"boundary_types must be distinct names from {BOUNDARY_TYPES}, got {list(boundary_types)}")
        tau = num_frames // 2 if tau is None else tau
        if mode == "bsp" and num_frames != 2 * tau:
            raise ValueError(f"num_frames must be 2 * tau in mode 'bsp', got num_frames={num_frames}, tau={tau}")
        if num_frames < 2 or tau < 1:
            raise ValueError(f"num_frames must be >= 2, got {num_frames}")
        if not 0 <= eps <= tau:
            raise ValueError(f"eps must be in [0, tau={tau}], got {eps}")
        if change_point_range is None:
            change_point_range = (max(1, tau // 2), max(1, 2 * tau - max(2, tau // 2)))
        low, high = change_point_range
        if not 1 <= low <= high <= 2 * tau - 1:
            raise ValueError(f"change_point_range must satisfy 1 <= low <= high <= 2 tau - 1 = {2 * tau - 1}, "
                             f"got {tuple(change_point_range)}")
        if not gammas or any(g <= 0 or g == 1 for g in gammas):
            raise ValueError(f"gammas must be positive and != 1, got {list(gammas)}")
        if mode == "bsp" and "diff_speed" in boundary_types:
            self._check_speed_changes_visible(tau, (low, high), gammas, frame_stride)
        if frame_stride < 1 or resolution < 1 or batch_size < 1:
            raise ValueError("frame_stride, resolution and batch_size must be positive")
        self.root = root
        self.mode = mode
        self.boundary_types = list(boundary_types)
        self.num_frames = num_frames
        self.tau = tau
        self.eps = eps
        self.gammas = tuple(float(g) for g in gammas)
        self.change_point_range = (int(low), int(high))
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.train_index: VideoIndex | None = None
        self.val_index: VideoIndex | None = None
        self.train_dataset: BoundaryClipDataset | None = None
        self.val_dataset: BoundaryClipDataset | None = None
        self._skipped = {"train": 0, "val": 0}

    @staticmethod
    def _check_speed_changes_visible(
        tau: int, change_point_range: tuple[int, int], gammas: Sequence[float], stride: int
    ) -> None:
        """Refuse settings where a diff-speed clip can equal a same-speed clip (a wrong label)."""
        same = stride * np.arange(2 * tau)
        for t in range(change_point_range[0], change_point_range[1] + 1):
            for gamma in gammas:
                if np.array_equal(diff_speed_offsets(tau, t, gamma, stride), same):
                    raise ValueError(
                        f"gamma={gamma} with change point {t} reads the same frames as a same-speed clip "
                        f"(tau={tau}, frame_stride={stride}); narrow change_point_range or change gammas"
                    )

    # -- the label spaces -------------------------------------------------------------------------------

    @property
    def num_classes(self) -> int:
        """Number of values ``label`` takes: boundary types in use, or action classes in mode "action"."""
        return len(self.boundary_types) if self.mode == "bsp" else self.num_action_classes

    @property
    def num_action_classes(self) -> int:
        """Number of action classes of the training videos (reads the index on first use)."""
        return len(self._load_train_index().classes)

    # -- Lightning hooks ------------------------------------------------------------------------------

    def _root(self) -> Path:
        if self.root is not None:
            return Path(self.root)
        from bsp_lightning.data.toy import default_toy_root

        return Path(default_toy_root()) / "toy-kinetics"

    def prepare_data(self) -> None:
        """Generate the toy dataset when the default root (``root=None``) names it and it is absent."""
        if self.root is None:
            from bsp_lightning.data.toy import default_toy_root, ensure_toy_data

            ensure_toy_data(default_toy_root())

    def _index(self, split: str, csv_path: str | None) -> VideoIndex:
        root = self._root()
        if csv_path is None and (root / f"{split}.csv").is_file():
            csv_path = str(root / f"{split}.csv")
        return VideoIndex.from_kinetics(root, csv_path, split=split)

    def _load_train_index(self) -> VideoIndex:
        if self.train_index is None:
            if self.root is None and not self._root().is_dir():
                self.prepare_data()
            self.train_index = self._index(self.hparams.train_split, self.hparams.train_csv)
        return self.train_index

    def _dataset(
        self, index: VideoIndex, num_samples: int, split: str, label_of: dict[str, int]
    ) -> BoundaryClipDataset:
        hp = self.hparams
        return BoundaryClipDataset(
            index,
            num_samples,
            mode=self.mode,
            boundary_types=self.boundary_types,
            tau=self.tau,
            eps=self.eps,
            gammas=self.gammas,
            change_point_range=self.change_point_range,
            num_frames=self.num_frames,
            frame_stride=hp.frame_stride,
            short_side=hp.short_side,
            resolution=hp.resolution,
            train=split == "train",
            crop_scale=tuple(hp.crop_scale),
            seed=hp.seed,
            split_seed=_SPLIT_SEED[split],
            max_retries=hp.max_retries,
            label_of=label_of,
        )

    def _check_sources(self, index: VideoIndex) -> None:
        if self.mode != "bsp":
            return
        if "diff_class" in self.boundary_types and len(index.by_class) < 2:
            raise ValueError(f"diff_class clips need videos of two classes; {index!r} has {len(index.by_class)}")
        if "same_class" in self.boundary_types and not any(len(v) >= 2 for v in index.by_class.values()):
            raise ValueError(f"same_class clips need a class with two videos; {index!r} has none")

    def setup(self, stage: str | None = None) -> None:
        """Index the videos and build the datasets; attach :class:`SkippedVideosCallback` to the trainer."""
        hp = self.hparams
        train_index = self._load_train_index()
        label_of = {name: i for i, name in enumerate(train_index.classes)}
        if self.train_dataset is None:
            self._check_sources(train_index)
            num = hp.samples_per_epoch if hp.samples_per_epoch is not None else len(train_index)
            self.train_dataset = self._dataset(train_index, num, "train", label_of)
        held_out = stage in (None, "fit", "validate", "test", "predict")
        if hp.val_split is not None and self.val_dataset is None and held_out:
            try:
                self.val_index = self._index(hp.val_split, hp.val_csv)
            except (FileNotFoundError, ValueError) as err:
                raise ValueError(
                    f"no validation videos ({err}); set val_split=None to train without validation"
                ) from err
            unknown = sorted({r.label for r in self.val_index} - set(label_of))
            if unknown:
                raise ValueError(f"validation classes missing from the training classes: {unknown[:5]}")
            self._check_sources(self.val_index)
            num = hp.val_samples if hp.val_samples is not None else len(self.val_index)
            self.val_dataset = self._dataset(self.val_index, num, "val", label_of)
        trainer = self.trainer
        if trainer is not None and not any(isinstance(c, SkippedVideosCallback) for c in trainer.callbacks):
            trainer.callbacks.append(SkippedVideosCallback())

    def _loader(self, dataset: Dataset, sampler: Sampler[int] | None) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            pin_memory=self.hparams.pin_memory,
            persistent_workers=self.num_workers > 0,
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            self.setup("fit")
        return self._loader(self.train_dataset, EpochSampler(len(self.train_dataset)))

    def val_dataloader(self) -> DataLoader | list:
        if self.hparams.val_split is None:
            return []
        if self.val_dataset is None:
            self.setup("validate")
        return self._loader(self.val_dataset, None)

    def test_dataloader(self) -> DataLoader:
        """The validation split's fixed samples: Kinetics' test labels are not public, so ``bsp-lightning test``
        scores the held-out split, as mmaction2 and TSM do."""
        return self._held_out_loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The validation split's fixed samples; ``predict_step`` returns their features and labels."""
        return self._held_out_loader("predict")

    def _held_out_loader(self, stage: str) -> DataLoader:
        if self.hparams.val_split is None:
            raise ValueError(f"the {stage} loop uses the validation split, but val_split is None")
        if self.val_dataset is None:
            self.setup(stage)
        return self._loader(self.val_dataset, None)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if isinstance(batch, dict) and "num_skipped" in batch:
            trainer = self.trainer
            split = "train" if trainer is None or trainer.training else "val"
            if trainer is None or not trainer.sanity_checking:
                self._skipped[split] += int(batch["num_skipped"].sum())
        return batch

    def pop_skipped(self, split: str) -> int:
        """Videos skipped in ``split`` ("train" or "val") since the last call, and reset the count."""
        count, self._skipped[split] = self._skipped[split], 0
        return count

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": dict(self._skipped)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._skipped.update(state_dict.get("skipped", {}))

