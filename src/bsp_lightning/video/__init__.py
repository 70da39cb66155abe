"""Video decoding with PyAV: metadata, frame reading by index, and snippets of long videos."""

from __future__ import annotations

from bsp_lightning.video.decode import VideoDecodeError, VideoInfo, iter_frames, probe, read_frames, resized_shape
from bsp_lightning.video.index import FrameIndex, clear_index_cache, frame_index
from bsp_lightning.video.snippets import Snippet, iter_snippets, num_snippets

__all__ = [
    "FrameIndex",
    "clear_index_cache",
    "frame_index",
    "Snippet",
    "VideoDecodeError",
    "VideoInfo",
    "iter_frames",
    "iter_snippets",
    "num_snippets",
    "probe",
    "read_frames",
    "resized_shape",
]
