"""Where the frames of a :class:`~bsp_lightning.data.index.VideoRecord` come from: a video file or a frame folder.

Both sources answer the two questions a pre-training sample asks of a source video, with the same errors:
how many frames it has (:meth:`FrameSource.num_frames`) and the frames at some indices, resized to a short
side (:meth:`FrameSource.read`). A failure is a :class:`~bsp_lightning.video.VideoDecodeError` naming the
file and the reason; the dataset skips and counts it. Answers and failures of ``num_frames`` are cached per
process (a DataLoader worker meets the same videos again and again).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol

import numpy as np

from bsp_lightning.data.frames import folder_info, read_images
from bsp_lightning.data.index import VideoRecord
from bsp_lightning.data.jpeg import preload_decoders
from bsp_lightning.video import VideoDecodeError, probe, read_frames

__all__ = ["FrameFolderSource", "FrameSource", "SOURCES", "VideoSource", "make_source"]

SOURCES = ("videos", "frames")


class FrameSource(Protocol):
    """The frames of source videos, by record."""

    def num_frames(self, record: VideoRecord) -> int:
        """Number of frames of ``record`` (raises :class:`~bsp_lightning.video.VideoDecodeError`)."""

    def read(self, record: VideoRecord, indices: np.ndarray, short_side: int | None, threads: int) -> np.ndarray:
        """``uint8 (len(indices), H, W, 3)`` RGB (raises :class:`~bsp_lightning.video.VideoDecodeError`)."""


class _Cached:
    """Caches ``describe(path)`` per path, failures included (as their reason)."""

    def __init__(self, describe: Callable[[str], object]) -> None:
        self._describe = describe
        self._infos: dict[str, object] = {}  # path -> info, or the failure's reason (str)

    def _info(self, record: VideoRecord):
        info = self._infos.get(record.path)
        if info is None:
            try:
                info = self._describe(record.path)
            except VideoDecodeError as err:
                info = err.reason
            self._infos[record.path] = info
        if isinstance(info, str):
            raise VideoDecodeError(record.path, info)
        return info


class VideoSource(_Cached):
    """Video files decoded with PyAV (:func:`bsp_lightning.video.read_frames`, the exact frame index)."""

    kind = "videos"

    def __init__(self) -> None:
        super().__init__(probe)

    def num_frames(self, record: VideoRecord) -> int:
        return self._info(record).num_frames

    def read(self, record: VideoRecord, indices: np.ndarray, short_side: int | None, threads: int) -> np.ndarray:
        return read_frames(record.path, indices, short_side=short_side, info=self._info(record), threads=threads)


class FrameFolderSource(_Cached):
    """Frame folders (:mod:`bsp_lightning.data.frames`).

    Args:
        template: file-name template of the images (None: detected per folder).
        start_index: file number of frame 0 (None: 0 when such a file exists, else 1).
        decoder: image decoder (:func:`bsp_lightning.data.jpeg.decode_image`).
    """

    kind = "frames"

    def __init__(self, template: str | None = None, start_index: int | None = None, decoder: str = "auto") -> None:
        super().__init__(partial(folder_info, template=template, start_index=start_index))
        preload_decoders()
        self.template = template
        self.start_index = start_index
        self.decoder = decoder

    def num_frames(self, record: VideoRecord) -> int:
        return self._info(record).num_frames

    def read(self, record: VideoRecord, indices: np.ndarray, short_side: int | None, threads: int) -> np.ndarray:
        del threads  # one image at a time, on the calling thread
        return read_images(self._info(record), indices, short_side, self.decoder)


def make_source(kind: str, frame_template: str | None = None) -> FrameSource:
    """The :class:`FrameSource` of ``kind`` (``"videos"`` or ``"frames"``)."""
    if kind == "videos":
        return VideoSource()
    if kind == "frames":
        return FrameFolderSource(frame_template)
    raise ValueError(f"source must be one of {SOURCES}, got {kind!r}")
