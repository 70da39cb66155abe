"""All videos' snippet features in one array, built once per run, so an epoch costs the model only.

The official LGI keeps every video's ``.npy`` in memory (``in_memory: True``) and subsamples it to 128 segments per
item. Here the rows of every video are stacked into **one** ``(total_snippets + 1, D)`` array (the last row is
zeros, the padding row) with per-video offsets; a query's ``(128, D)`` input is then one fancy-index of that array
(:meth:`FeatureBank.sample`). The raw rows, not a pre-sampled ``(videos, 128, D)`` tensor, are kept because LGI's
training jitter (a random start offset, ``docs/heads/tan2d-lgi.md`` §2.4) picks different rows every epoch for
videos longer than 128 snippets; the size is the same order (``sum of L`` rows instead of ``128 x videos``).

Storage: float32 in RAM up to ``memmap_above_gb`` (default 4 GiB: Charades-STA with 1024-d features, about
6,672 videos x ~128 rows x 4 KiB = 3.5 GB, stays in RAM), above it **float16 in a memory-mapped .npy** under the
run folder (half the size, paged in by the OS; two-stream 4096-d Charades-STA is ~7 GB on disk). float16 rounds
features to ~3 significant digits (relative error <= 2^-11), far below what the model resolves.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bsp_lightning.features.resample import strided_subsample

logger = logging.getLogger(__name__)

__all__ = ["FeatureBank", "DEFAULT_MEMMAP_ABOVE_GB"]

DEFAULT_MEMMAP_ABOVE_GB = 4.0


class FeatureBank:
    """Snippet features of many videos in one array.

    Args:
        video_ids: the videos, in the order their rows are stored.
        load: ``video_id -> float32 (num_snippets, D)`` (e.g. :meth:`bsp_lightning.heads.FeatureSet.load`).
        feature_dim: ``D``.
        lengths: ``num_snippets`` of each video (from the manifests), so the array is allocated before loading;
            when ``None``, every video is loaded first (peak memory: twice the features).
        memmap_above_gb: above this float32 size, store float16 in a memory-mapped file.
        cache_dir: where the memory-mapped file goes (``<run>/feature_cache``).

    Raises:
        ValueError: a loaded array's shape disagrees with ``lengths`` or ``feature_dim`` (names the video).
    """

    def __init__(self, video_ids: Sequence[str], load: Callable[[str], np.ndarray], feature_dim: int,
                 lengths: Sequence[int] | None = None, memmap_above_gb: float = DEFAULT_MEMMAP_ABOVE_GB,
                 cache_dir: str | os.PathLike = "feature_cache") -> None:
        self.video_ids = list(video_ids)
        self.index = {vid: i for i, vid in enumerate(self.video_ids)}
        self.feature_dim = int(feature_dim)
        preloaded = None
        if lengths is None:
            preloaded = [np.asarray(load(v)) for v in self.video_ids]
            lengths = [a.shape[0] for a in preloaded]
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        total = int(self.offsets[-1])
        self.float32_bytes = (total + 1) * self.feature_dim * 4
        self.memmapped = self.float32_bytes > memmap_above_gb * 2**30
        shape = (total + 1, self.feature_dim)
        if self.memmapped:
            path = Path(cache_dir) / f"lgi_features_{os.getpid()}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = path
            self.rows = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=shape)
            # removed when the bank is collected or the interpreter exits, not only on close()
            self._finalizer = weakref.finalize(self, _unlink, path)
            logger.info("LGI features: %.2f GB as float32 > %.2f GB, stored as float16 in %s",
                        self.float32_bytes / 1e9, memmap_above_gb * 2**30 / 1e9, path)
        else:
            self.path = None
            self.rows = np.empty(shape, dtype=np.float32)
        for i, vid in enumerate(self.video_ids):
            array = preloaded[i] if preloaded is not None else np.asarray(load(vid))
            if array.ndim != 2 or array.shape != (self.lengths[i], self.feature_dim):
                raise ValueError(f"features of video {vid!r}: shape {array.shape}, expected "
                                 f"({self.lengths[i]}, {self.feature_dim})")
            self.rows[self.offsets[i]:self.offsets[i + 1]] = array
        self.rows[total] = 0
        if self.memmapped:
            self.rows.flush()

    def __len__(self) -> int:
        return len(self.video_ids)

    @property
    def nbytes(self) -> int:
        """Bytes held by the row array (float16 when memory-mapped)."""
        return int(self.rows.nbytes)

    def num_snippets(self, video_id: str) -> int:
        """``L`` of a video. Raises KeyError for an unknown video."""
        return int(self.lengths[self.index[video_id]])

    def video(self, video_id: str) -> np.ndarray:
        """The ``(L, D)`` rows of a video (a view; float16 when memory-mapped)."""
        i = self.index[video_id]
        return self.rows[self.offsets[i]:self.offsets[i + 1]]

    def sample(self, video_id: str, num_segments: int = 128, rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, int]:
        """LGI's fixed-length input: :func:`bsp_lightning.features.resample.strided_subsample` of the video
        (random start offset with ``rng`` = training, offset 0 without = evaluation), zero-padded.

        Returns:
            ``(float32 (num_segments, D), num_valid = min(L, num_segments))``.
        """
        return strided_subsample(self.video(video_id), num_segments, rng)

    def close(self) -> None:
        """Drop the memory map and delete its file (a no-op in RAM)."""
        if self.path is not None:
            del self.rows
            self._finalizer()
            self.path = None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
