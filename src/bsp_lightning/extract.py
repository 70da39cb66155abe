"""Snippet feature extraction for untrimmed videos (stage 2 of the pipeline), on ``Trainer.predict``.

The data path, top to bottom::

    videos (a folder or a list file)
      -> SnippetBatches: an IterableDataset sharded by (rank, DataLoader worker); each worker decodes whole
         videos once, in order (bsp_lightning.video.iter_snippets), and emits batches of snippets of ONE
         video tagged with the video id, the snippet indices and an end-of-video flag
      -> SnippetFeatureExtractor.predict_step: frozen backbone(s) in eval mode, features before the FC
         layer; with two checkpoints (two-stream) the features are concatenated along channels
      -> FeatureWriter (a BasePredictionWriter, write_on_batch_end): gathers a video's snippet features and
         writes <video_id>.npy atomically once the video is complete, then its manifest entry

Memory stays bounded whatever a video's length: no whole-video tensor ever exists (a worker holds one
batch of snippets; the writer holds the ``(num_snippets, D)`` features of the videos in flight), and
decoding runs in the DataLoader workers, overlapping the backbone.

Last-partial-snippet rule (from :mod:`bsp_lightning.video.snippets`): snippet ``k`` starts at frame
``k * stride``; the snippet that reaches the end of the video is padded by repeating the last frame, so
every frame is covered (for ``stride <= snippet_length``) and the count is
``ceil((num_frames - snippet_length) / stride) + 1`` (at least 1).

Frames are resized so the shorter side is ``short_side`` and centre-cropped to ``crop x crop`` (TSM's
single-crop test protocol: 256 then 224).

Resuming: a video is skipped when its ``.npy`` exists and its manifest entry was written with the same
configuration hash (checkpoint contents, snippet length, stride, resize and crop; not paths, batch size or
devices). Failed videos are recorded with their reason and retried by the next run.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import BasePredictionWriter
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from tqdm import tqdm

from bsp_lightning.features.store import (
    FORMAT_VERSION,
    FeatureMismatchError,
    FeatureStore,
    FeatureStoreError,
    combine,
    config_hash,
)
from bsp_lightning.models.normalize import IMAGENET_MEAN, IMAGENET_STD, normalize_clip, register_imagenet_stats
from bsp_lightning.video import VideoDecodeError, iter_snippets, probe, resized_shape
from bsp_lightning.utils.cli import HelpFormatter

logger = logging.getLogger(__name__)

__all__ = [
    "VIDEO_EXTENSIONS",
    "SnippetSpec",
    "VideoItem",
    "SnippetBatches",
    "SnippetDataModule",
    "SnippetFeatureExtractor",
    "FeatureWriter",
    "ExtractionSummary",
    "list_videos",
    "load_feature_stream",
    "extraction_config",
    "extract",
    "main",
    "combine_main",
]

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg")
LAST_SNIPPET_RULE = "pad-with-last-frame"
# Test hook: the writer ends the process abruptly (os._exit) after writing this many videos, to prove that an
# interrupted run resumes to byte-identical files. Not a user option.
_EXIT_AFTER_ENV = "BSP_LIGHTNING_TEST_EXIT_AFTER_VIDEOS"


class ExtractionError(ValueError):
    """Bad extraction input (videos, checkpoint, options); the message names the file and the problem."""


# ----------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class SnippetSpec:
    """How videos are cut into snippets and how frames are sized.

    Attributes:
        snippet_length: consecutive frames per snippet (8 in the paper).
        stride: frames between snippet starts.
        short_side: resize the shorter side to this many pixels (None: keep).
        crop_size: centre crop ``crop_size x crop_size`` after resizing (None: no crop).
    """

    snippet_length: int = 8
    stride: int = 8
    short_side: int | None = 256
    crop_size: int | None = 224

    def __post_init__(self) -> None:
        if self.snippet_length < 1 or self.stride < 1:
            raise ExtractionError(f"snippet length and stride must be >= 1, got {self.snippet_length}, {self.stride}")
        for name in ("short_side", "crop_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ExtractionError(f"{name} must be >= 1, got {value}")


@dataclass(frozen=True)
class VideoItem:
    """One video to extract: its id (file stem, the name of the ``.npy``) and path."""

    video_id: str
    path: str


def list_videos(source: str | os.PathLike) -> list[VideoItem]:
    """The videos of a folder (recursively, by extension, sorted), of a list file (one path per line), or one file.

    In a list file, blank lines and lines starting with ``#`` are skipped and relative paths are relative
    to the list file's folder; a listed file that does not exist is kept (it is recorded as failed).

    Raises:
        ExtractionError: ``source`` does not exist, lists no video, or two videos share an id.
    """
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
        if not paths:
            raise ExtractionError(f"{source}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
    elif source.is_file() and source.suffix.lower() in VIDEO_EXTENSIONS:
        paths = [source]
    elif source.is_file():
        try:
            lines = [line.strip() for line in source.read_text().splitlines()]
        except (OSError, UnicodeDecodeError) as err:
            raise ExtractionError(f"{source}: cannot read as a text list of video paths ({err})") from None
        paths = [Path(x) if Path(x).is_absolute() else source.parent / x for x in lines if x and not x.startswith("#")]
        if not paths:
            raise ExtractionError(f"{source}: the list names no video")
    else:
        raise ExtractionError(f"{source}: no such folder or list file")
    items: dict[str, VideoItem] = {}
    for path in paths:
        vid = path.stem
        if vid in items:
            raise ExtractionError(f"{path}: video id {vid!r} also used by {items[vid].path} (ids are file stems)")
        items[vid] = VideoItem(vid, str(path))
    return list(items.values())


# ------------------------------------------------------------------------------------------------- data
def _centre_crop(frames: np.ndarray, size: int | None) -> np.ndarray:
    if size is None:
        return frames
    h, w = frames.shape[-3:-1]
    top, left = (h - size) // 2, (w - size) // 2
    return frames[..., top : top + size, left : left + size, :]


def shard_of(index: int, num_shards: int) -> int:
    """The shard (``rank * num_workers + worker``) that handles the ``index``-th video."""
    return index % num_shards


class SnippetBatches(IterableDataset):
    """Batches of snippets of whole videos, each video handled by exactly one (rank, worker).

    Each item is a dict describing up to ``batch_size`` consecutive snippets of one video::

        clip          uint8 (B, snippet_length, 3, H, W)
        video_id      str
        snippet_index int64 (B,)   position of each snippet in the video
        start_frame   int64 (B,)
        is_last       bool         the video's last batch
        fps, num_frames            from the container
        error         str | None   decoding failed (then clip is empty and is_last is True)

    Video ``i`` of the list goes to shard ``i % (world_size * num_workers)``; shard ``rank * num_workers +
    worker``. So across ranks and workers every video is decoded once and none is missed.

    Args:
        videos: the videos, in order.
        spec: snippet and frame-size settings.
        batch_size: snippets per batch.
        rank, world_size: this process's place in a distributed run (set by :class:`SnippetDataModule`).
    """

    def __init__(
        self,
        videos: Sequence[VideoItem],
        spec: SnippetSpec,
        batch_size: int = 16,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ExtractionError(f"batch size must be >= 1, got {batch_size}")
        self.videos = list(videos)
        self.spec = spec
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size

    def videos_of_rank(self, num_workers: int) -> list[VideoItem]:
        """The videos this rank handles with ``num_workers`` DataLoader workers (0 counts as 1)."""
        per_rank = max(1, num_workers)
        num_shards = self.world_size * per_rank
        return [v for i, v in enumerate(self.videos) if shard_of(i, num_shards) // per_rank == self.rank]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        num_shards = self.world_size * num_workers
        mine = self.rank * num_workers + worker
        for i, video in enumerate(self.videos):
            if shard_of(i, num_shards) == mine:
                yield from self.video_batches(video)

    def _batch(self, video: VideoItem, snippets: list, fps: float, num_frames: int, is_last: bool, first: int):
        frames = np.stack([_centre_crop(s.frames, self.spec.crop_size) for s in snippets])  # (B, L, H, W, 3)
        clip = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous()
        return {
            "clip": clip,
            "video_id": video.video_id,
            "snippet_index": torch.arange(first, first + len(snippets), dtype=torch.int64),
            "start_frame": torch.tensor([s.start_frame for s in snippets], dtype=torch.int64),
            "is_last": is_last,
            "fps": fps,
            "num_frames": num_frames,
            "error": None,
        }

    def _failure(self, video: VideoItem, reason: str) -> dict[str, Any]:
        size = self.spec.crop_size or 1
        return {
            "clip": torch.empty((0, self.spec.snippet_length, 3, size, size), dtype=torch.uint8),
            "video_id": video.video_id,
            "snippet_index": torch.empty(0, dtype=torch.int64),
            "start_frame": torch.empty(0, dtype=torch.int64),
            "is_last": True,
            "fps": 0.0,
            "num_frames": 0,
            "error": reason,
        }

    def video_batches(self, video: VideoItem) -> Iterator[dict[str, Any]]:
        """All batches of one video, in order; a decoding failure ends them with an error item."""
        spec = self.spec
        try:
            info = probe(video.path)
            height, width = resized_shape(info.height, info.width, spec.short_side)
            if spec.crop_size is not None and min(height, width) < spec.crop_size:
                raise VideoDecodeError(
                    video.path, f"frames are {height}x{width} after resizing, smaller than the crop {spec.crop_size}"
                )
            snippets = iter(iter_snippets(video.path, spec.snippet_length, spec.stride, spec.short_side))
            pending: list = []
            first = 0
            upcoming = next(snippets, None)
            if upcoming is None:
                raise VideoDecodeError(video.path, "no frame decodes")
            # One snippet of look-ahead tells whether a batch is the video's last.
            while upcoming is not None:
                pending.append(upcoming)
                upcoming = next(snippets, None)
                if len(pending) == self.batch_size or upcoming is None:
                    yield self._batch(video, pending, info.fps, info.num_frames, upcoming is None, first)
                    first += len(pending)
                    pending = []
        except VideoDecodeError as err:
            yield self._failure(video, err.reason)
        except (OSError, ValueError, RuntimeError) as err:  # anything else a damaged file raises while decoding
            yield self._failure(video, f"{type(err).__name__}: {err}")


class SnippetDataModule(pl.LightningDataModule):
    """Wraps :class:`SnippetBatches` in a DataLoader, telling it this process's rank once the Trainer knows it."""

    def __init__(self, dataset: SnippetBatches, num_workers: int = 2) -> None:
        super().__init__()
        self.dataset = dataset
        self.num_workers = num_workers

    def predict_dataloader(self) -> DataLoader:
        # An IterableDataset has no sampler indices; the writer does not need them.
        warnings.filterwarnings("ignore", message="Couldn't infer the batch indices", module="pytorch_lightning")
        self.dataset.rank = self.trainer.global_rank
        self.dataset.world_size = self.trainer.world_size
        return DataLoader(
            self.dataset,
            batch_size=None,  # the dataset batches itself: a batch never mixes videos
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=False,
            prefetch_factor=2 if self.num_workers > 0 else None,
        )


# ---------------------------------------------------------------------------------------------- models
class _OfficialStream(nn.Module):
    """An official TSM model as a ``uint8 clip -> (N, D)`` feature function (ImageNet normalisation)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.num_features = int(model.num_features)
        register_imagenet_stats(self)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.model.features(normalize_clip(clip, self.mean, self.std))


class _BSPStream(nn.Module):
    """A BSPModule (any variant) as a ``uint8 clip -> (N, D)`` feature function."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.num_features = int(module.backbone.num_features)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.module.extract_features(clip)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_lightning_checkpoint(path: Path) -> bool:
    """True for a Lightning ``.ckpt`` (a BSPModule), False for anything else (an official TSM file)."""
    obj = None
    for mmap in (True, False):  # mmap reads only the header of zip files; legacy (pre-1.6) files need False
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
            break
        except Exception:  # noqa: BLE001 - e.g. hyper-parameters holding objects weights_only refuses
            continue
    if obj is None:
        return path.suffix == ".ckpt"
    return isinstance(obj, dict) and ("pytorch-lightning_version" in obj or "hyper_parameters" in obj)


def load_feature_stream(checkpoint: str | os.PathLike, snippet_length: int = 8) -> tuple[nn.Module, str]:
    """Load a checkpoint as a frozen ``uint8 (N, T, 3, H, W) -> (N, D)`` feature module in eval mode.

    A Lightning checkpoint of a :class:`~bsp_lightning.module.BSPModule` (any variant) gives its
    ``extract_features``; any other file is read as an official TSM checkpoint
    (:func:`~bsp_lightning.models.load_official_tsm`) and gives ``features`` (before ``new_fc``).

    Returns:
        ``(module, kind)`` with ``kind`` "bsp" or "official_tsm"; ``module.num_features`` is ``D``.

    Raises:
        ExtractionError: the file does not exist or is neither kind.
    """
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise ExtractionError(f"{path}: checkpoint not found (nothing is downloaded; give a local path)")
    if _is_lightning_checkpoint(path):
        from bsp_lightning.module import BSPModule

        try:
            module = BSPModule.load_from_checkpoint(path, map_location="cpu")
        except Exception as err:  # noqa: BLE001 - report any loading failure as a bad checkpoint
            raise ExtractionError(f"{path}: cannot load as a BSPModule checkpoint ({type(err).__name__}: {err})")
        backbone = module.backbone
        stream, kind = _BSPStream(module), "bsp"
    else:
        from bsp_lightning.models import load_official_tsm

        try:
            model = load_official_tsm(path, num_segments=snippet_length)
        except Exception as err:  # noqa: BLE001
            raise ExtractionError(
                f"{path}: neither a BSPModule (.ckpt) nor an official TSM checkpoint ({type(err).__name__}: {err})"
            )
        backbone = model
        stream, kind = _OfficialStream(model), "official_tsm"
    if getattr(backbone, "num_segments", snippet_length) != snippet_length:
        # The temporal shift needs the clip length; the official test script also rebuilds with the test length.
        logger.warning("%s: trained with %d frames per clip, extracting with %d", path, backbone.num_segments,
                       snippet_length)
        backbone.set_num_segments(snippet_length)
    stream.eval()
    stream.requires_grad_(False)
    return stream, kind


class SnippetFeatureExtractor(pl.LightningModule):
    """Frozen feature streams run on snippet batches; several streams are concatenated along channels.

    Args:
        streams: modules mapping ``uint8 (N, T, 3, H, W)`` to ``(N, D_i)`` (see :func:`load_feature_stream`).
    """

    def __init__(self, streams: Sequence[nn.Module]) -> None:
        super().__init__()
        if not streams:
            raise ExtractionError("at least one checkpoint is needed")
        self.streams = nn.ModuleList(streams)
        self.num_features = sum(int(s.num_features) for s in streams)

    def on_predict_start(self) -> None:
        self.streams.eval()

    @torch.no_grad()
    def predict_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        clip = batch["clip"]
        if clip.shape[0] == 0:
            feats = torch.empty((0, self.num_features))
        else:
            feats = torch.cat([s(clip) for s in self.streams], dim=1).float().cpu()
        return {
            "features": feats,
            "video_id": batch["video_id"],
            "snippet_index": batch["snippet_index"].cpu(),
            "start_frame": batch["start_frame"].cpu(),
            "is_last": batch["is_last"],
            "fps": batch["fps"],
            "num_frames": batch["num_frames"],
            "error": batch["error"],
        }


# ---------------------------------------------------------------------------------------------- writer
@dataclass
class _Pending:
    features: list[np.ndarray] = field(default_factory=list)
    start_frames: list[np.ndarray] = field(default_factory=list)
    next_index: int = 0


@dataclass
class ExtractionSummary:
    """Counts of one extraction run: of the whole run on global rank 0, of this process on the others."""

    written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0
    is_global_zero: bool = True


class FeatureWriter(BasePredictionWriter):
    """Assembles each video's snippet features and writes them when the video is complete.

    Batches of several videos may interleave (one per DataLoader worker), so features are buffered per
    video id; a video's ``.npy`` and manifest entry are written (atomically) when its last batch arrives.
    A progress bar counts videos.

    Args:
        store: the output feature folder.
        config_hash_: hash of the run configuration, recorded in every entry.
        total: videos this process will handle (for the progress bar).
    """

    def __init__(self, store: FeatureStore, config_hash_: str, total: int | None = None) -> None:
        super().__init__(write_interval="batch")
        self.store = store
        self.config_hash = config_hash_
        self.total = total
        self.summary = ExtractionSummary()
        self._pending: dict[str, _Pending] = {}
        self._bar: tqdm | None = None
        exit_after = os.environ.get(_EXIT_AFTER_ENV)
        self._exit_after = int(exit_after) if exit_after else None

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        desc = "extract" if trainer.world_size == 1 else f"extract (rank 0 of {trainer.world_size})"
        self._bar = tqdm(total=self.total, desc=desc, unit="video", disable=not trainer.is_global_zero,
                         dynamic_ncols=True)

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._bar is not None:
            self._bar.close()
        for vid in sorted(self._pending):  # cannot happen with SnippetBatches; keep the count honest if it does
            self._fail(vid, "incomplete: the data loader stopped before the last snippet")

    def _fail(self, video_id: str, reason: str) -> None:
        self._pending.pop(video_id, None)
        self.store.write_failure(video_id, reason, self.config_hash)
        self.summary.failed[video_id] = reason
        logger.warning("skipped %s: %s", video_id, reason)
        self._done()

    def _done(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
        if self._exit_after is not None and self.summary.written + len(self.summary.failed) >= self._exit_after:
            os._exit(17)

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: dict[str, Any],
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        vid = prediction["video_id"]
        if prediction["error"] is not None:
            self._fail(vid, prediction["error"])
            return
        pending = self._pending.setdefault(vid, _Pending())
        indices = prediction["snippet_index"].numpy()
        if indices.size and indices[0] != pending.next_index:
            self._fail(vid, f"snippets out of order (got {indices[0]}, expected {pending.next_index})")
            return
        pending.features.append(prediction["features"].numpy())
        pending.start_frames.append(prediction["start_frame"].numpy())
        pending.next_index += len(indices)
        if not prediction["is_last"]:
            return
        del self._pending[vid]
        fps = float(prediction["fps"])
        starts = np.concatenate(pending.start_frames) / fps
        self.store.write_video(
            vid, np.concatenate(pending.features), starts.tolist(), fps, prediction["num_frames"], self.config_hash
        )
        self.summary.written += 1
        self._done()


# ------------------------------------------------------------------------------------------------- run
def extraction_config(
    checkpoints: Sequence[tuple[str, str, str]], spec: SnippetSpec, feature_dim: int
) -> tuple[dict[str, Any], str]:
    """The manifest's run configuration and its hash.

    Args:
        checkpoints: ``(path, sha256, kind)`` per stream, in concatenation order.
        spec: snippet settings.
        feature_dim: ``D`` of the written features.

    Returns:
        ``(config, hash)``; the hash covers what changes the features (checkpoint contents, snippet and
        frame settings), not checkpoint paths.
    """
    config = {
        "format": FORMAT_VERSION,
        "checkpoints": [{"path": p, "sha256": h, "kind": k} for p, h, k in checkpoints],
        "snippet_length": spec.snippet_length,
        "stride": spec.stride,
        "short_side": spec.short_side,
        "crop_size": spec.crop_size,
        "last_snippet": LAST_SNIPPET_RULE,
        "normalisation": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "feature_dim": feature_dim,
    }
    hashed = dict(config, checkpoints=[{"sha256": h, "kind": k} for _, h, k in checkpoints])
    return config, config_hash(hashed)


def extract(
    checkpoints: Sequence[str | os.PathLike],
    videos: str | os.PathLike | Sequence[VideoItem],
    out_dir: str | os.PathLike,
    spec: SnippetSpec = SnippetSpec(),
    batch_size: int = 16,
    num_workers: int = 2,
    accelerator: str = "auto",
    devices: int | str = 1,
    precision: str = "32-true",
    trainer_kwargs: dict[str, Any] | None = None,
) -> ExtractionSummary:
    """Extract snippet features of ``videos`` with one checkpoint (or two: two-stream) into ``out_dir``.

    See the module docstring for the snippet rule, resuming and the output layout.

    Returns:
        The summary (written, failed, skipped videos) of the whole run on global rank 0.
    """
    started = time.perf_counter()
    items = list_videos(videos) if isinstance(videos, (str, os.PathLike)) else list(videos)
    streams, described = [], []
    for checkpoint in checkpoints:
        stream, kind = load_feature_stream(checkpoint, spec.snippet_length)
        streams.append(stream)
        described.append((str(Path(checkpoint).expanduser().resolve()), _sha256(Path(checkpoint).expanduser()), kind))
    model = SnippetFeatureExtractor(streams)
    config, hash_ = extraction_config(described, spec, model.num_features)

    store = FeatureStore(out_dir)
    todo = [v for v in items if not store.is_complete(v.video_id, hash_)]
    summary_skipped = len(items) - len(todo)
    if summary_skipped:
        logger.info("skipping %d video(s) already extracted with this configuration", summary_skipped)

    dataset = SnippetBatches(todo, spec, batch_size)
    writer = FeatureWriter(store, hash_)
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=devices,
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,  # the writer's bar counts videos, not batches
        enable_model_summary=False,
        use_distributed_sampler=False,  # SnippetBatches shards by itself
        callbacks=[writer],
        **(trainer_kwargs or {}),
    )
    # The rank is known now; the DataModule passes it to the dataset, here it sizes the progress bar.
    dataset.rank, dataset.world_size = trainer.global_rank, trainer.world_size
    writer.total = len(dataset.videos_of_rank(num_workers))
    if todo:
        trainer.predict(model, datamodule=SnippetDataModule(dataset, num_workers), return_predictions=False)
    trainer.strategy.barrier()
    summary = writer.summary
    summary.skipped = summary_skipped
    summary.is_global_zero = trainer.is_global_zero
    if trainer.is_global_zero:
        # All ranks have written their entries: rank 0 assembles the manifest and reports on the whole run.
        videos = store.write_manifest(config, hash_)["videos"]
        entries = [videos.get(v.video_id, {}) for v in items]
        summary.failed = {v.video_id: e.get("reason", "") for v, e in zip(items, entries) if e.get("status") == "failed"}
        summary.written = sum(e.get("status") == "ok" for e in entries) - summary_skipped
    summary.seconds = time.perf_counter() - started
    return summary


# ------------------------------------------------------------------------------------------------- CLI
def _optional_size(text: str) -> int | None:
    if text.lower() in ("none", "0", "off"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size or 'none', got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning extract",
        description=(
            "Extract snippet features of untrimmed videos with a frozen BSP or official TSM checkpoint: "
            "every video is decoded once and cut into snippets of --snippet-length consecutive frames "
            "(the last one padded with the last frame); writes FEATDIR/<video_id>.npy, float32 "
            "(num_snippets, D), and FEATDIR/manifest.json. Re-running skips videos already extracted "
            "with the same configuration."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--checkpoint", action="append", required=True, metavar="CKPT",
                        help="BSPModule .ckpt or official TSM checkpoint; give it twice for two-stream features "
                             "(concatenated along channels in the order given)")
    parser.add_argument("--videos", required=True, metavar="DIR|LIST.txt",
                        help="folder of videos (searched recursively), a text file with one video path per line, "
                             "or a single video file")
    parser.add_argument("--out", required=True, metavar="FEATDIR", help="output feature folder")
    parser.add_argument("--snippet-length", type=_positive_int, default=8, help="consecutive frames per snippet")
    parser.add_argument("--stride", type=_positive_int, default=8, help="frames between snippet starts")
    parser.add_argument("--short-side", type=_optional_size, default=256,
                        help="resize the shorter frame side to this ('none' keeps the size)")
    parser.add_argument("--crop", type=_optional_size, default=224,
                        help="centre crop size after resizing ('none' for no crop)")
    parser.add_argument("--batch-size", type=_positive_int, default=16, help="snippets per forward pass")
    parser.add_argument("--num-workers", type=int, default=2, help="decoding processes per device")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator (auto, cpu, gpu, ...)")
    parser.add_argument("--devices", default="1", help="devices per node (a number, or 'auto' for all)")
    parser.add_argument("--num-nodes", type=_positive_int, default=1, help="nodes for multi-node DDP")
    parser.add_argument("--precision", default="32-true", help="Lightning precision (e.g. 16-mixed on GPUs)")
    return parser


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("pytorch_lightning", "lightning", "lightning_fabric"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning extract``. Exit code 0: all videos ok; 1: some failed (see the manifest); 2: bad input."""
    args = build_parser().parse_args(argv)
    _configure_logging()
    if len(args.checkpoint) > 2:
        print("bsp-lightning extract: at most two --checkpoint (two-stream)", file=sys.stderr)
        return 2
    devices: int | str = int(args.devices) if args.devices.isdigit() else args.devices
    try:
        spec = SnippetSpec(args.snippet_length, args.stride, args.short_side, args.crop)
        summary = extract(
            args.checkpoint, args.videos, args.out, spec,
            batch_size=args.batch_size, num_workers=args.num_workers, accelerator=args.accelerator,
            devices=devices, precision=args.precision, trainer_kwargs={"num_nodes": args.num_nodes},
        )
    except (ExtractionError, FeatureStoreError) as err:
        print(f"bsp-lightning extract: {err}", file=sys.stderr)
        return 2
    if not summary.is_global_zero:
        return 0  # rank 0 reports for the whole run
    failed = len(summary.failed)
    print(
        f"extract: {summary.written} video(s) written, {summary.skipped} already done, {failed} failed"
        + (f" ({', '.join(sorted(summary.failed))}; reasons in {Path(args.out) / 'manifest.json'})" if failed else "")
        + f" -> {args.out} in {summary.seconds:.1f} s"
    )
    return 1 if failed else 0


def combine_main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning combine A B --out C``: two-stream features by channel concatenation."""
    parser = argparse.ArgumentParser(
        prog="bsp-lightning combine",
        description=(
            "Concatenate two feature folders along the channel axis (two-stream: e.g. vanilla + BSP, giving "
            "2D channels). Snippet counts and start times must agree for every video; the disagreeing videos "
            "are listed and nothing is written."
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("first", metavar="A", help="first feature folder (its channels come first)")
    parser.add_argument("second", metavar="B", help="second feature folder")
    parser.add_argument("--out", required=True, metavar="C", help="output feature folder")
    parser.add_argument("--allow-missing", action="store_true",
                        help="combine the videos present in both folders and list the others, instead of failing")
    args = parser.parse_args(argv)
    try:
        result = combine(args.first, args.second, args.out, allow_missing=args.allow_missing)
    except FeatureMismatchError as err:
        print(f"bsp-lightning combine: {len(err.problems)} video(s) disagree between {args.first} and "
              f"{args.second}:", file=sys.stderr)
        for vid, why in err.problems.items():
            print(f"  {vid}: {why}", file=sys.stderr)
        return 2
    except FeatureStoreError as err:
        print(f"bsp-lightning combine: {err}", file=sys.stderr)
        return 2
    print(f"combine: {len(result.written)} video(s), D={result.feature_dim} -> {args.out}"
          + (f"; skipped {len(result.skipped)} present in one folder only" if result.skipped else ""))
    return 0

