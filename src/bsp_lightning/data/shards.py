"""A split of frame shards on disk or object storage: litdata chunks of frames plus the clip table.

Layout of one split (``bsp-lightning data pack`` writes it; ``<store>/<split>/`` locally or on object storage,
``s3://bucket/kinetics400-r50/train/``, ``gs://...``)::

    index.json            litdata's index of the chunks
    chunk-<c>-0.bin       one chunk per group of clips: one litdata item per frame, {"frame": JPEG bytes}
                          (or {"frame": uint8 (H, W, 3)} with --raw), the frames of each clip in order
    bsp_clips.json        the clip table (this module), one entry per clip in chunk order

The clip table holds, per clip: id, class, source (path), stored frame rate, stored frame count and frame
size, and chunk; and once: the classes, the encoding, the JPEG quality, the short side, the frame rate
asked for, and the sources that were skipped as broken. It is what the sample plan reads
(:mod:`bsp_lightning.data.stream_plan`); frames are read only for the samples being made, through
``litdata.StreamingDataset`` (which downloads whole chunks into its cache, ahead of use, from remote stores).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.data.jpeg import ImageDecodeError, decode_image, decode_images, preload_decoders, resize_rgb

__all__ = ["CLIP_TABLE", "SHARD_FORMAT", "ShardError", "ShardStore", "is_remote"]

CLIP_TABLE = "bsp_clips.json"
SHARD_FORMAT = "bsp-lightning frame shards"
_COLUMNS = ("id", "label", "source", "fps", "num_frames", "height", "width", "chunk")


class ShardError(ValueError):
    """A shard folder that cannot be used; the message names it and the problem."""


def is_remote(url: str | os.PathLike) -> bool:
    """True for object-storage URLs (``s3://``, ``gs://``, ...), False for local paths."""
    return "://" in str(url) and not str(url).startswith("file://")


def _load_table(url: str, cache_dir: str | None) -> dict[str, Any]:
    if not is_remote(url):
        path = Path(url.removeprefix("file://")) / CLIP_TABLE
        if not path.is_file():
            raise ShardError(f"{url}: not a frame-shard folder ({CLIP_TABLE} missing; write one with "
                             f"`bsp-lightning data pack`)")
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    from litdata.streaming.downloader import get_downloader
    from litdata.utilities.dataset_utilities import generate_md5_hash

    local_dir = Path(cache_dir or tempfile.gettempdir()) / "bsp-lightning-shards" / generate_md5_hash(url)
    local_dir.mkdir(parents=True, exist_ok=True)
    local = local_dir / CLIP_TABLE
    try:
        get_downloader(url, str(local_dir), []).download_file(f"{url.rstrip('/')}/{CLIP_TABLE}", str(local))
        with open(local, encoding="utf-8") as f:
            return json.load(f)
    except Exception as err:  # any client or network error is one line naming the URL
        raise ShardError(f"{url}/{CLIP_TABLE}: cannot download the clip table ({type(err).__name__}: {err})") from None


class ShardStore:
    """One split of frame shards (see the module docstring).

    Args:
        url: local folder or object-storage URL of the split.
        cache_dir: where remote chunks and the clip table are cached (default: litdata's cache folder for the
            chunks, the temporary folder for the table).

    Attributes:
        classes: class names; ``labels`` index them.
        ids, sources: clip ids and source paths, in table order.
        labels, num_frames, heights, widths, fps, chunks: per-clip arrays (int64; fps float64).
        chunk_first, chunk_clips: first clip and number of clips of each chunk.
        first_item: litdata item of each clip's frame 0.
        encoding: ``"jpeg"`` or ``"raw"``.
        meta: the table's other fields (quality, short side, frame rate asked for, skipped sources).

    Raises:
        ShardError: no clip table, a table of another format, or an inconsistent one.
    """

    def __init__(self, url: str | os.PathLike, cache_dir: str | None = None) -> None:
        self.url = str(url)
        self.cache_dir = cache_dir
        table = _load_table(self.url, cache_dir)
        if table.get("format") != SHARD_FORMAT or table.get("version") != 1:
            raise ShardError(f"{self.url}/{CLIP_TABLE}: not a version-1 {SHARD_FORMAT!r} table")
        clips = table["clips"]
        missing = [c for c in _COLUMNS if c not in clips]
        if missing:
            raise ShardError(f"{self.url}/{CLIP_TABLE}: clip table lacks columns {missing}")
        self.classes: list[str] = list(table["classes"])
        self.ids: list[str] = list(clips["id"])
        self.sources: list[str] = list(clips["source"])
        self.labels = np.asarray(clips["label"], dtype=np.int64)
        self.num_frames = np.asarray(clips["num_frames"], dtype=np.int64)
        self.heights = np.asarray(clips["height"], dtype=np.int64)
        self.widths = np.asarray(clips["width"], dtype=np.int64)
        self.fps = np.asarray(clips["fps"], dtype=np.float64)
        self.chunks = np.asarray(clips["chunk"], dtype=np.int64)
        if len(self.ids) == 0 or np.any(np.diff(self.chunks) < 0) or self.chunks[0] != 0:
            raise ShardError(f"{self.url}/{CLIP_TABLE}: no clips, or clips not in chunk order from chunk 0")
        num_chunks = int(self.chunks[-1]) + 1
        self.chunk_clips = np.bincount(self.chunks, minlength=num_chunks)
        self.chunk_first = np.concatenate([[0], np.cumsum(self.chunk_clips)[:-1]])
        self.first_item = np.concatenate([[0], np.cumsum(self.num_frames)[:-1]])
        self.encoding: str = table["encoding"]
        self.meta = {k: v for k, v in table.items() if k not in ("clips", "classes")}
        self._dataset = None
        self._pid = None
        # imported here, once: DataLoader workers are forked at every epoch and would import them each time
        import litdata  # noqa: F401

        preload_decoders()

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers open their own reader
        return {**self.__dict__, "_dataset": None, "_pid": None}

    def __repr__(self) -> str:
        return (f"ShardStore({self.url!r}, clips={len(self)}, chunks={len(self.chunk_clips)}, "
                f"classes={len(self.classes)}, encoding={self.encoding!r})")

    def _reader(self):
        if self._dataset is None or self._pid != os.getpid():
            from litdata import StreamingDataset

            # batch_decode=0: one item (frame) at a time; litdata would deserialize 256 neighbouring frames per read
            dataset = StreamingDataset(self.url, cache_dir=self.cache_dir, drop_last=None, batch_decode=0)
            if is_remote(self.url):
                dataset[0]  # creates the cache reader, then whole chunks are downloaded ahead of use
                dataset.on_demand_bytes = False
            self._dataset, self._pid = dataset, os.getpid()
            total = int(self.num_frames.sum())
            stored = sum(end - start for start, end in dataset.region_of_interest)  # len() is per process
            if stored != total:
                raise ShardError(f"{self.url}: index.json holds {stored} frames, {CLIP_TABLE} {total}: "
                                 "the folder was modified after packing")
        return self._dataset

    def read_chunk(self, chunk: int, wanted: Mapping[int, Sequence[int]], upcoming: Sequence[int] | None = None,
                   last: bool = False) -> dict[tuple[int, int], Any]:
        """The stored frames ``wanted`` (clip -> frame numbers) of one chunk, as JPEG bytes or uint8 arrays.

        Args:
            chunk: the chunk.
            wanted: frames to read per clip of the chunk.
            upcoming: the chunks this process will read, in order, starting with this one (given on the first
                read: litdata downloads them ahead of use).
            last: this is the process's last read (litdata then releases its reader).
        """
        from litdata.streaming.sampler import ChunkedIndex

        dataset = self._reader()
        out: dict[tuple[int, int], Any] = {}
        requests = [(clip, frame) for clip in sorted(wanted) for frame in sorted(set(wanted[clip]))]
        for number, (clip, frame) in enumerate(requests):
            item = int(self.first_item[clip]) + int(frame)
            index = ChunkedIndex(index=item, chunk_index=int(chunk),
                                 chunk_indexes=list(upcoming) if upcoming is not None and number == 0 else None,
                                 is_last_index=last and number == len(requests) - 1)
            payload = dataset[index]["frame"]
            # the payload is a view of the chunk, which litdata unmaps when it moves on: keep a copy
            out[(clip, frame)] = bytes(payload) if self.encoding == "jpeg" else np.array(payload, copy=True)
        return out

    def decode(self, clip: int, payload: Any, size: tuple[int, int] | None = None, decoder: str = "auto") -> np.ndarray:
        """One stored frame as ``uint8 (H, W, 3)`` RGB, resized to ``size`` (``(height, width)``) when it differs.

        Raises:
            ShardError: a stored JPEG that does not decode (a damaged shard).
        """
        stored = (int(self.heights[clip]), int(self.widths[clip]))
        if self.encoding != "jpeg":
            return payload if size is None or size == stored else resize_rgb(payload, size)
        try:
            return decode_image(payload, None if size == stored else size, stored, decoder)
        except ImageDecodeError as err:
            raise ShardError(f"{self.url}: a frame of clip {self.ids[clip]!r} does not decode ({err}); "
                             "re-pack this split") from None

    def decode_frames(self, clip: int, payloads: Sequence[Any], size: tuple[int, int] | None = None,
                      decoder: str = "auto") -> list[np.ndarray]:
        """:meth:`decode` of several stored frames of one clip, in order (JPEG: one decoder call for all,
        :func:`bsp_lightning.data.jpeg.decode_images`).

        Raises:
            ShardError: a stored JPEG that does not decode (a damaged shard).
        """
        stored = (int(self.heights[clip]), int(self.widths[clip]))
        if self.encoding != "jpeg":
            return [self.decode(clip, payload, size, decoder) for payload in payloads]
        try:
            return decode_images(payloads, None if size == stored else size, stored, decoder)
        except ImageDecodeError as err:
            raise ShardError(f"{self.url}: a frame of clip {self.ids[clip]!r} does not decode ({err}); "
                             "re-pack this split") from None
