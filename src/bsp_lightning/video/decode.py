"""Video metadata and frame decoding with PyAV, under the frame contract.

Frame ``k`` is the ``k``-th picture in presentation order, as displayed (display matrix and pixel aspect
applied, see :mod:`bsp_lightning.video.geometry`); the frame count is the number of pictures in the
stream, from the exact index of :mod:`bsp_lightning.video.index` (one demux pass per video, cached).
Container durations, frame counts and timestamps never decide either. A variable-frame-rate file is
read picture by picture like any other (``fps`` is its average rate).

Decoding is sequential and stops after the last needed frame; far into a video it starts at the last
keyframe before the first needed frame, with the verified seek of :mod:`bsp_lightning.video.reader`.
Frames that are not needed are decoded but never converted to RGB, and a wanted frame is resized while
it is converted, so a full-resolution RGB image is never built when a smaller one is wanted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from bsp_lightning.video.errors import VideoDecodeError
from bsp_lightning.video.geometry import resized_shape
from bsp_lightning.video.index import FrameIndex, frame_index
from bsp_lightning.video.reader import SEEK_MIN_FRAMES, FrameReader, missing_frame_error

__all__ = ["SEEK_MIN_FRAMES", "VideoDecodeError", "VideoInfo", "partial_reason", "probe", "read_frames",
           "iter_frames", "resized_shape"]


class VideoInfo(NamedTuple):
    """Metadata of the first video stream of a file.

    Attributes:
        path: the file.
        fps: average frame rate (frames per second).
        num_frames: exact number of frames (pictures in the stream, see the module docstring).
        duration: seconds of video (the video stream's own span, not the container's).
        width: displayed frame width in pixels (after pixel aspect and rotation).
        height: displayed frame height in pixels.
        rotation: counter-clockwise degrees the stored pictures are turned for display (0/90/180/270).
        hflip: the display matrix also mirrors left-right (after the rotation).
        stored_width: width of the stored pictures (before pixel aspect and rotation).
        stored_height: height of the stored pictures.
        sample_aspect_ratio: width over height of one stored pixel (1.0: square pixels).
        variable_frame_rate: frame intervals differ by more than 10 %.
        truncated: the file ends before its container says it does (a partial download); fewer frames
            may decode than ``num_frames``.
    """

    path: str
    fps: float
    num_frames: int
    duration: float
    width: int
    height: int
    rotation: int = 0
    hflip: bool = False
    stored_width: int = 0
    stored_height: int = 0
    sample_aspect_ratio: float = 1.0
    variable_frame_rate: bool = False
    truncated: bool = False


def partial_reason(index: FrameIndex, decoded: int, error: str | None = None,
                   expected: int | None = None) -> str | None:
    """Why a video of which ``decoded`` frames decoded is partial, or ``None`` when it is complete.

    A truncated file (a partial download) is measured against what its container declares: the frame
    count of an MP4 header (``"24 of 48 frames decoded (the file ends before its container says)"``), else
    the container's duration times ``fps`` (``"of about 48"``: Matroska states no count), else no total.
    Every packet present may decode in such a file, so the index's count (the packets present) is not the
    total. An untruncated file that decodes another count than ``expected`` (default: the index's
    ``num_frames``) is ``damaged``. ``error``: the decoder's message, appended.
    """
    expected = index.num_frames if expected is None else expected
    if not index.truncated and decoded == expected:
        return None
    detail = f": {error}" if error else ""
    if not index.truncated:
        return f"{decoded} of {expected} frames decoded (damaged{detail})"
    declared = index.declared_frames or round(index.declared_duration * index.fps)
    about = "" if index.declared_frames else "about "
    count = f"{decoded} of {about}{declared} frames decoded" if declared > decoded else f"{decoded} frames decoded"
    return f"{count} (the file ends before its container says{detail})"


def info_of(index: FrameIndex) -> VideoInfo:
    geometry = index.geometry
    height, width = geometry.display_size
    return VideoInfo(
        path=index.path, fps=index.fps, num_frames=index.num_frames, duration=index.duration,
        width=width, height=height, rotation=geometry.rotation, hflip=geometry.hflip,
        stored_width=geometry.stored_width, stored_height=geometry.stored_height,
        sample_aspect_ratio=float(geometry.sample_aspect_ratio),
        variable_frame_rate=index.variable_frame_rate, truncated=index.truncated,
    )


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read the metadata of ``path``: one demux pass and the first picture (cached per process).

    Raises:
        VideoDecodeError: missing, empty, unreadable or non-video file, a video with zero frames, or one
            whose first picture does not decode.
    """
    path = os.fspath(path)
    index = frame_index(path)
    return info_of(index)._replace(path=path)


def read_frames(
    path: str | os.PathLike,
    indices: Sequence[int],
    short_side: int | None = None,
    info: VideoInfo | None = None,
    *,
    threads: int = 0,
) -> np.ndarray:
    """Decode the frames ``indices`` (0-based, presentation order) of ``path``.

    Args:
        path: video file.
        indices: frame indices in any order; duplicates are allowed and decoded once.
        short_side: when given, frames are resized during colour conversion so the shorter side of the
            displayed frame has this many pixels (aspect ratio kept).
        info: the result of :func:`probe` for this file, when the caller has it (kept for compatibility;
            the exact index comes from the per-process cache either way).
        threads: decoder and scaler threads; 0 lets FFmpeg choose, 1 (best inside many DataLoader
            workers) uses the calling thread only.

    Returns:
        ``uint8`` array ``(len(indices), H, W, 3)`` RGB as displayed, in the order of ``indices``.

    Raises:
        VideoDecodeError: the file cannot be decoded, or an index is not a frame that decodes (beyond
            the exact frame count, or in the missing part of a truncated or damaged file).
        ValueError: a negative index.
    """
    del info  # the exact index replaces the container metadata probe() used to give
    path = os.fspath(path)
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size and wanted.min() < 0:
        raise ValueError(f"{path}: negative frame index {int(wanted.min())}")
    if wanted.size == 0:
        height, width = resized_shape(*frame_index(path).geometry.display_size, short_side)
        return np.empty((0, height, width, 3), dtype=np.uint8)
    unique, counts = np.unique(wanted, return_counts=True)
    # positions in the output of each unique index (duplicates share one decode)
    groups = np.split(np.argsort(wanted, kind="stable"), np.cumsum(counts)[:-1])
    positions = dict(zip(unique.tolist(), groups))
    out: np.ndarray | None = None
    todo = iter(unique.tolist())
    next_needed = next(todo)
    last_needed = int(unique[-1])
    with FrameReader(path, threads, short_side) as reader:  # builds the index when it is not cached
        if last_needed >= reader.index.num_frames:
            raise VideoDecodeError(path, f"frame {last_needed} requested but the video has "
                                         f"{reader.index.num_frames} frames")
        for number, frame in reader.frames(next_needed):
            if number < next_needed:
                continue
            if number > next_needed:
                break  # the wanted picture did not decode
            rgb = reader.to_rgb(frame)
            if out is None:
                out = np.empty((wanted.size, *rgb.shape), dtype=np.uint8)
            out[positions[number]] = rgb
            if number == last_needed:
                return out
            next_needed = next(todo)
        raise missing_frame_error(path, next_needed, reader)


def iter_frames(
    path: str | os.PathLike, short_side: int | None = None, start: int = 0, *, threads: int = 0
) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` from index ``start`` on, one ``(H, W, 3)`` uint8 RGB array at a time.

    Sequential decoding with bounded memory (one decoded frame held), one array per picture that
    decodes. ``threads``: decoder and scaler threads (0: FFmpeg's choice, 1: the calling thread only).

    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    path = os.fspath(path)
    if start < 0:
        raise ValueError(f"{path}: negative start frame {start}")
    with FrameReader(path, threads, short_side) as reader:
        for _, frame in reader.frames(start):
            yield reader.to_rgb(frame)
