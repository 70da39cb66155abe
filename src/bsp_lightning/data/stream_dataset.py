"""Pre-training samples streamed from frame shards, the same for any number of processes and workers.

Who reads what (``W`` processes, ``w`` DataLoader workers each, 0 workers counting as 1, ``K`` streams,
``B`` clips per batch and process):

- the epoch's clips form ``K`` streams (:mod:`bsp_lightning.data.stream_plan`); each (process, worker) owns
  ``S = K / (W w)`` of them and reads their chunks in order, nothing else;
- global step ``s`` (the batches of every process at that step together) is made by the workers numbered
  ``s mod w``; its samples are the next ``c = B / S`` samples of each stream of those workers, streams in
  increasing order, the processes' batches being consecutive runs of streams.

So with ``K`` fixed (``streams``), the global batch of every step is the same whatever ``W`` (1 process with
``W B`` clips per batch, or ``W`` processes with ``B``), as long as the workers per process are the same;
every clip of the epoch is the first source of exactly one sample, on one process. The default ``K = W w``
gives each reader one stream. An epoch has ``T w`` steps with ``T = min over streams of (its samples) // c``;
the leftover (fewer than ``c`` samples per stream plus the clips of the longer streams, a different random
set each epoch, like ``drop_last``) waits for the next epoch.

Resuming at step ``n`` of an epoch: worker ``j`` of the restarted loader makes steps ``n + j, n + j + w, ...``
(those of the workers numbered ``(n + j) mod w``), starting at turn ``(n + j) // w`` of their streams, so the
resumed epoch continues the same stream. Chunks holding frames still needed are read again (at most the pair
buffer's span).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from bsp_lightning.data.dataset import sample_dict
from bsp_lightning.data.shards import ShardError, ShardStore
from bsp_lightning.data.stream_plan import (
    PlanConfig,
    SampleSpec,
    StreamPlan,
    min_clip_frames,
    plan_stream,
    stream_chunks,
    stream_clips,
)
from bsp_lightning.data.synthesis import DIFF_CLASS, SAME_CLASS, diff_class, same_class
from bsp_lightning.data.transforms import CropBox, crop_frames
from bsp_lightning.video.geometry import resized_shape

__all__ = ["ShardStreamDataset", "StreamLayout", "shard_datasets"]

logger = logging.getLogger("bsp_lightning.data.datamodule")


class StreamLayout(NamedTuple):
    """How an epoch is split: ``streams`` in all, ``per_worker`` per (process, worker), ``per_turn`` samples of
    each stream per batch, ``turns`` batches per worker, ``workers`` per process."""

    streams: int
    per_worker: int
    per_turn: int
    turns: int
    workers: int


class ShardStreamDataset(IterableDataset):
    """BSP samples (the batch format of :mod:`bsp_lightning.data.dataset`) streamed from one split of shards.

    The loader sets, before each pass, :attr:`epoch` and :attr:`skip_batches` (batches of this process already
    trained in this epoch): both live in shared memory, so persistent DataLoader workers see them. :attr:`rank`,
    :attr:`world_size` and :attr:`num_workers` (the DataLoader's) are set before the first pass.

    Args:
        store: the split.
        cfg: sampling settings (shared with the video dataset) and the pair buffer size.
        batch_size: samples per batch of one process.
        streams: ``K`` (None: processes x workers).
        max_samples: cap on the samples of an epoch over all processes (None: every clip once).
        label_map: class of this split -> action label (default: the split's own classes).
        short_side: frames are resized so their shorter side has this many pixels when they were packed at
            another size (None: the stored size).
        decoder: JPEG decoder (:func:`bsp_lightning.data.jpeg.decode_image`).
    """

    def __init__(self, store: ShardStore, cfg: PlanConfig, batch_size: int, streams: int | None = None,
                 num_workers: int = 0, max_samples: int | None = None, label_map: np.ndarray | None = None,
                 short_side: int | None = None, decoder: str = "auto") -> None:
        super().__init__()
        self.store = store
        sizes = [resized_shape(int(h), int(w), short_side) for h, w in zip(store.heights, store.widths)]
        self.heights = np.array([h for h, _ in sizes], dtype=np.int64)
        self.widths = np.array([w for _, w in sizes], dtype=np.int64)
        self.cfg = cfg
        self.batch_size = batch_size
        self.streams = streams
        self.num_workers = num_workers
        self.max_samples = max_samples
        self.label_map = label_map if label_map is not None else np.arange(len(store.classes))
        self.decoder = decoder
        self._pass = multiprocessing.RawArray("q", 2)  # epoch, batches to skip: shared with forked workers
        self.rank = 0
        self.world_size = 1
        self._usable = store.num_frames >= min_clip_frames(cfg)
        if not self._usable.any():
            raise ValueError(f"{store.url}: no clip has the {min_clip_frames(cfg)} stored frames a sample needs")

    @property
    def epoch(self) -> int:
        return int(self._pass[0])

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._pass[0] = int(value)

    @property
    def skip_batches(self) -> int:
        return int(self._pass[1])

    @skip_batches.setter
    def skip_batches(self, value: int) -> None:
        self._pass[1] = int(value)

    def place(self, trainer: Any, num_workers: int, epoch: int | None = None, skip_batches: int = 0) -> None:
        """Set the pass to make: this process's rank from ``trainer`` (None: one process), the loader's workers,
        the epoch (None: keep it) and the batches of this process already trained in it."""
        self.rank, self.world_size = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        self.num_workers = num_workers
        if epoch is not None:
            self.epoch = epoch
        self.skip_batches = skip_batches

    def layout(self) -> StreamLayout:
        """The split of the current epoch (see the module docstring).

        Raises:
            ValueError: ``streams`` not a multiple of processes x workers, a batch not divisible by the streams
                of a worker, or too few clips for one batch.
        """
        workers = max(1, self.num_workers)
        readers = self.world_size * workers
        streams = self.streams or readers
        if streams % readers:
            raise ValueError(f"streams={streams} must be a multiple of processes x workers = "
                             f"{self.world_size} x {workers}")
        per_worker = streams // readers
        if self.batch_size % per_worker:
            raise ValueError(f"batch_size={self.batch_size} must be a multiple of the {per_worker} streams each "
                             f"worker reads (streams={streams}, {self.world_size} x {workers} readers)")
        per_turn = self.batch_size // per_worker
        usable = np.bincount(self.store.chunks[self._usable], minlength=len(self.store.chunk_clips))
        lengths = [int(usable[chunks].sum()) for chunks in self._chunks(streams)]
        turns = min(lengths) // per_turn
        if self.max_samples is not None:
            turns = min(turns, self.max_samples // (per_turn * streams))
        if turns == 0:
            raise ValueError(f"{self.store.url}: {sum(lengths)} usable clips in {streams} streams cannot fill one "
                             f"batch of {self.batch_size} per process ({per_turn} per stream); use fewer streams, "
                             "workers or a smaller batch")
        return StreamLayout(streams, per_worker, per_turn, turns, workers)

    def _chunks(self, streams: int) -> list[list[int]]:
        return stream_chunks(self.store.chunk_clips, streams, (self.cfg.seed, self.cfg.split_seed), self.epoch)

    def __len__(self) -> int:
        """Samples this process yields in a whole epoch."""
        layout = self.layout()
        return layout.turns * layout.workers * self.batch_size

    def plan(self, stream: int) -> StreamPlan:
        """The samples of ``stream`` in the current epoch (those past the epoch's end included)."""
        store, seed = self.store, (self.cfg.seed, self.cfg.split_seed)
        clips = stream_clips(self._chunks(self.layout().streams)[stream], store.chunk_first, store.chunk_clips, seed,
                             self.epoch)
        planned = plan_stream(clips, store.labels, store.num_frames, self.heights, self.widths, self.cfg, self.epoch)
        if planned.converted:
            logger.info("epoch %d, stream %d: %d pair samples found no partner class in their stream and took "
                        "another boundary type", self.epoch, stream, planned.converted)
        return planned

    def _schedule(self) -> tuple[list[tuple[int, int]], dict[int, StreamPlan]]:
        """This worker's samples in yield order as ``(stream, position)``, and the plans of its streams."""
        layout = self.layout()
        info = get_worker_info()
        worker = info.id if info is not None else 0
        first_step = self.skip_batches + worker
        logical = first_step % layout.workers
        own = [(logical * self.world_size + self.rank) * layout.per_worker + j for j in range(layout.per_worker)]
        plans = {k: self.plan(k) for k in own}
        order = [(k, turn * layout.per_turn + q) for turn in range(first_step // layout.workers, layout.turns)
                 for k in own for q in range(layout.per_turn)]
        return order, plans

    def __iter__(self) -> Iterator[dict[str, Any]]:
        order, plans = self._schedule()
        specs = [plans[k].samples[position] for k, position in order]
        # the clips a stream left out as too short are counted on its first sample
        skipped = [plans[k].too_short if position == 0 else 0 for k, position in order]
        needed: dict[int, dict[int, set[int]]] = {}  # chunk -> clip -> frames
        last_use: dict[int, int] = {}
        feed: list[int] = []
        for number, spec in enumerate(specs):
            for clip, frames in _sources(spec):
                chunk = int(self.store.chunks[clip])
                if chunk not in needed:
                    needed[chunk] = {}
                    feed.append(chunk)
                needed[chunk].setdefault(clip, set()).update(int(f) for f in frames)
                last_use[clip] = number
        stored: dict[int, dict[int, Any]] = {}  # clip -> frame -> payload
        loaded = 0
        for number, spec in enumerate(specs):
            for clip, _ in _sources(spec):
                while clip not in stored:  # read chunks in order until the clip's chunk is in
                    chunk = feed[loaded]
                    payloads = self.store.read_chunk(chunk, needed.pop(chunk), feed[loaded:] if loaded == 0 else None,
                                                     last=loaded == len(feed) - 1)
                    for (c, frame), payload in payloads.items():
                        stored.setdefault(c, {})[frame] = payload
                    loaded += 1
            yield self._sample(spec, stored, skipped[number])
            for clip, _ in _sources(spec):
                if last_use.get(clip) == number:
                    stored.pop(clip, None)

    def _frames(self, clip: int, indices: np.ndarray, stored: dict[int, dict[int, Any]], box: CropBox) -> torch.Tensor:
        """Frames ``indices`` of ``clip`` cropped by ``box`` and resized: each distinct frame decoded once, only
        its crop copied (:func:`~bsp_lightning.data.transforms.crop_frames`)."""
        size = (int(self.heights[clip]), int(self.widths[clip]))
        unique = sorted({int(f) for f in indices})
        decoded = dict(zip(unique, self.store.decode_frames(clip, [stored[clip][f] for f in unique], size,
                                                            self.decoder)))
        return crop_frames([decoded[int(f)] for f in indices], box, self.cfg.resolution)

    def _sample(self, spec: SampleSpec, stored: dict[int, dict[int, Any]], skipped: int) -> dict[str, Any]:
        cfg, store = self.cfg, self.store
        frames = self._frames(spec.clip, spec.indices, stored, spec.box)
        mate_id = ""
        if spec.kind in (DIFF_CLASS, SAME_CLASS):
            count = cfg.tau + cfg.eps if spec.kind == DIFF_CLASS else cfg.tau
            second = self._frames(spec.mate, spec.mate_indices[:count], stored, spec.box)
            frames = (diff_class(frames, second, cfg.tau, cfg.eps) if spec.kind == DIFF_CLASS
                      else same_class(frames, second, cfg.tau))
            mate_id = store.ids[spec.mate]
        action = int(self.label_map[store.labels[spec.clip]])
        label = action if cfg.mode == "action" else spec.label
        sample = sample_dict(frames, label, spec.kind, spec.change_point, spec.gamma, cfg.tau, action,
                             store.ids[spec.clip], mate_id)
        sample["num_skipped"] = torch.tensor(skipped, dtype=torch.int64)
        return sample


def _sources(spec: SampleSpec) -> list[tuple[int, np.ndarray]]:
    """The clips a sample reads and their frames."""
    out = [(spec.clip, spec.indices)]
    if spec.mate >= 0:
        out.append((spec.mate, spec.mate_indices))
    return out


def shard_datasets(datamodule: Any, stage: str | None) -> tuple[ShardStreamDataset, ShardStreamDataset | None]:
    """The training and validation datasets of a :class:`~bsp_lightning.data.BSPDataModule` with
    ``source="shards"`` (split folders ``<root>/<train_split>/`` and ``<root>/<val_split>/``).

    Raises:
        ShardError: a split folder without a clip table.
        ValueError: validation classes missing from the training classes, or too few classes or clips for
            the boundary types in use.
    """
    from bsp_lightning.data.synthesis import BOUNDARY_TYPES

    dm, hp = datamodule, datamodule.hparams
    types = tuple(BOUNDARY_TYPES.index(name) for name in dm.boundary_types)

    def config(train: bool, split_seed: int) -> PlanConfig:
        return PlanConfig(types, dm.mode, dm.tau, dm.eps, dm.gammas, dm.change_point_range, dm.num_frames,
                          hp.frame_stride, hp.resolution, train, tuple(hp.crop_scale), hp.pair_buffer, hp.seed,
                          split_seed)

    def check(store: ShardStore) -> None:
        classes = set(store.labels.tolist())
        if dm.mode == "bsp" and "diff_class" in dm.boundary_types and len(classes) < 2:
            raise ValueError(f"diff_class clips need clips of two classes; {store!r} has {len(classes)}")

    train_store = dm._store(hp.train_split)
    check(train_store)
    train = ShardStreamDataset(train_store, config(True, 0), dm.batch_size, hp.streams, dm.num_workers,
                               hp.samples_per_epoch, short_side=hp.short_side)
    val = None
    if hp.val_split is not None and stage in (None, "fit", "validate", "test", "predict"):
        try:
            val_store = dm._store(hp.val_split)
        except ShardError as err:
            raise ShardError(f"no validation shards ({err}); set val_split=None to train without validation") from None
        check(val_store)
        index = {name: i for i, name in enumerate(train_store.classes)}
        unknown = sorted(set(val_store.classes[i] for i in set(val_store.labels.tolist())) - set(index))
        if unknown:
            raise ValueError(f"validation classes missing from the training classes: {unknown[:5]}")
        label_map = np.array([index.get(name, -1) for name in val_store.classes], dtype=np.int64)
        val = ShardStreamDataset(val_store, config(False, 1), dm.batch_size, None, dm.num_workers, hp.val_samples,
                                 label_map, short_side=hp.short_side)
    return train, val
