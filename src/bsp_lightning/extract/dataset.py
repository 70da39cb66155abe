"""The snippet dataset of an extraction: whole videos decoded once, sharded by (rank, DataLoader worker).

Each worker decodes whole videos once, in order (:func:`bsp_lightning.video.iter_snippets`), and emits batches
of snippets of ONE video tagged with the video id, the snippet indices and an end-of-video flag. No
whole-video tensor ever exists: a worker holds one batch of snippets.

Last-partial-snippet rule (from :mod:`bsp_lightning.video.snippets`): snippet ``k`` starts at frame
``k * stride``; the snippet that reaches the end of the video is padded by repeating the last frame, so
every frame is covered (for ``stride <= snippet_length``) and the count is
``ceil((num_frames - snippet_length) / stride) + 1`` (at least 1).

Frames are resized so the shorter side is ``short_side`` and centre-cropped to ``crop x crop``.

Partial files (``docs/decisions.md#partial-files``): the last batch of a video carries how many frames decoded, to be
compared with the exact count of :func:`bsp_lightning.video.probe` (``num_frames``); a half-downloaded file decodes
fewer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from bsp_lightning.data.frames import folder_info, folder_video_info, iter_folder_snippets
from bsp_lightning.extract.inputs import ExtractionError, SnippetSpec, VideoItem, source_stat
from bsp_lightning.video import Snippet, VideoDecodeError, iter_snippets, probe, resized_shape
from bsp_lightning.video.decode import partial_reason
from bsp_lightning.video.index import frame_index

__all__ = ["SnippetBatches", "SnippetDataModule", "decoded_frames", "shard_of"]


def decoded_frames(last: Snippet, stride: int, expected: int) -> int:
    """Frames that decoded, from a video's last snippet (``expected``: the probed count).

    With ``stride <= snippet_length`` the last snippet always holds the last decoded frame, so the count is
    exact: ``start + num_real``. With a larger stride, frames after a full last snippet are decoded but
    belong to no snippet: the count is then known to lie in ``[start + length, start + stride]``, and
    ``expected`` is taken when it lies there.
    """
    end = last.start_frame + last.num_real
    length = len(last.frames)
    if stride <= length or last.num_real < length:
        return end
    return expected if end <= expected <= last.start_frame + stride else end


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
        fps           float        frames per second
        num_frames    int          the exact frame count (bsp_lightning.video.probe)
        truncated     bool         the file ends before its container says (a partial download)
        decoded_frames int         frames that decoded (:func:`decoded_frames`; on the last batch, else -1)
        partial_reason str | None  on the last batch of a partial video, why (``video.partial_reason``: the
                                   count the container declares for a truncated file)
        source        dict | None  ``{"size", "mtime_ns"}`` of the file when it was opened
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

    def _batch(self, video: VideoItem, snippets: list, info: Any, is_last: bool, first: int, stat: Any):
        frames = np.stack([_centre_crop(s.frames, self.spec.crop_size) for s in snippets])  # (B, L, H, W, 3)
        clip = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous()
        decoded = decoded_frames(snippets[-1], self.spec.stride, info.num_frames) if is_last else -1
        return {
            "clip": clip,
            "video_id": video.video_id,
            "snippet_index": torch.arange(first, first + len(snippets), dtype=torch.int64),
            "start_frame": torch.tensor([s.start_frame for s in snippets], dtype=torch.int64),
            "is_last": is_last,
            "fps": info.fps,
            "num_frames": info.num_frames,
            "decoded_frames": decoded,
            "source": stat,
            "truncated": bool(getattr(info, "truncated", False)),
            # a frame folder has no container to disagree with: its images are the frames
            "partial_reason": partial_reason(frame_index(video.path), decoded, expected=info.num_frames)
            if is_last and not Path(video.path).is_dir() else None,
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
            "decoded_frames": 0,
            "source": None,
            "truncated": False,
            "partial_reason": None,
            "error": reason,
        }

    def video_batches(self, video: VideoItem) -> Iterator[dict[str, Any]]:
        """All batches of one video (or frame folder), in order; a decoding failure ends them with an error item."""
        spec = self.spec
        try:
            stat = source_stat(video.path)
            if video.fps is not None:  # a frame folder
                info = folder_video_info(video.path, video.fps, video.frame_template)
                snippets = iter(iter_folder_snippets(folder_info(video.path, video.frame_template),
                                                     spec.snippet_length, spec.stride, spec.short_side))
            else:
                info = probe(video.path)
                snippets = iter(iter_snippets(video.path, spec.snippet_length, spec.stride, spec.short_side))
            height, width = resized_shape(info.height, info.width, spec.short_side)
            if spec.crop_size is not None and min(height, width) < spec.crop_size:
                raise VideoDecodeError(
                    video.path, f"frames are {height}x{width} after resizing, smaller than the crop {spec.crop_size}"
                )
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
                    yield self._batch(video, pending, info, upcoming is None, first, stat)
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
