"""Video metadata and frame decoding with PyAV.

Frame indices are presentation-time indices: frame ``i`` is the frame on screen at time
``start_time + i / fps``, where ``fps`` is the stream's average frame rate. A decoded frame with
presentation timestamp ``pts`` gets the index ``round((pts * time_base - start_time) * fps)``. For
constant-frame-rate files this is simply the ``i``-th frame in presentation order; for variable-frame-rate
files it is the frame a player would show at that time: when no frame falls on index ``i`` (a gap), the
previous frame is repeated, and when two frames fall on the same index the later one wins. This is the
same time-based view of a video that seeking by timestamp gives, so seeking and sequential decoding agree.

Decoding is sequential and stops after the last needed frame. When the first needed frame is far enough
into the video the container seeks to the keyframe before it first. Frames that are not needed are decoded
but never converted to RGB, and a wanted frame is resized while it is converted
(``VideoFrame.reformat``), so a full-resolution RGB image is never built when a smaller one is wanted.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import NamedTuple

import av
import numpy as np

__all__ = ["VideoDecodeError", "VideoInfo", "probe", "read_frames", "iter_frames", "resized_shape"]

# Seeking costs a decoder flush; below this many frames into the video, decoding from the start is as fast.
SEEK_MIN_FRAMES = 16


class VideoDecodeError(RuntimeError):
    """A video file cannot be opened or decoded; ``str()`` names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep it picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


class VideoInfo(NamedTuple):
    """Metadata of the first video stream of a file.

    Attributes:
        path: the file.
        fps: average frame rate (frames per second); frame ``i`` is shown at ``i / fps`` seconds.
        num_frames: number of frames (the container's frame count when it has one, else
            ``round(duration * fps)``, else the number of video packets).
        duration: stream duration in seconds (container duration when the stream has none).
        width: frame width in pixels.
        height: frame height in pixels.
    """

    path: str
    fps: float
    num_frames: int
    duration: float
    width: int
    height: int


class _SeekOvershoot(Exception):
    """The first frame after a seek lies after the wanted frame (broken index): decode from the start."""


def resized_shape(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """Return ``(height, width)`` after scaling the shorter side to ``short_side`` (aspect ratio kept)."""
    if short_side is None:
        return height, width
    if short_side <= 0:
        raise ValueError(f"short_side must be positive, got {short_side}")
    if height <= width:
        return short_side, max(1, round(width * short_side / height))
    return max(1, round(height * short_side / width)), short_side


def _reason(err: Exception) -> str:
    """FFmpeg's message without the file name and errno that the exception text repeats."""
    return getattr(err, "strerror", None) or str(err)


def _open(path: str) -> av.container.InputContainer:
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file does not exist")
    if os.path.isdir(path):
        raise VideoDecodeError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    try:
        return av.open(path, mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise VideoDecodeError(path, f"cannot open as a video container ({_reason(err)})") from None


def _video_stream(container: av.container.InputContainer, path: str) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise VideoDecodeError(path, "no video stream (zero frames or not a video file)")
    stream = container.streams.video[0]
    if not stream.codec_context.width or not stream.codec_context.height:
        raise VideoDecodeError(path, "video stream has no frame size (no decodable frames)")
    return stream


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return None


def _start_seconds(stream: av.video.stream.VideoStream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read the metadata of ``path`` without decoding frames.

    ``num_frames`` comes from the container's frame count when it stores one (mp4 always does); otherwise
    it is estimated as ``round(duration * fps)``; when the duration is unknown too, the video packets are
    counted (demuxing only, no decoding).

    Raises:
        VideoDecodeError: missing, empty, unreadable or non-video file, or a video with zero frames.
    """
    path = os.fspath(path)
    container = _open(path)
    try:
        stream = _video_stream(container, path)
        rate = _frame_rate(stream)
        if rate is None:
            raise VideoDecodeError(path, "video stream has no frame rate")
        fps = float(rate)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = math.nan
        if stream.frames:
            num_frames = int(stream.frames)
        elif math.isfinite(duration) and duration > 0:
            num_frames = round(duration * fps)
        else:
            try:
                num_frames = sum(1 for packet in container.demux(stream) if packet.size)
            except av.FFmpegError as err:
                raise VideoDecodeError(path, f"cannot read packets ({_reason(err)})") from None
        if not math.isfinite(duration):
            duration = num_frames / fps
        if num_frames <= 0:
            raise VideoDecodeError(path, "video has zero frames")
        width, height = stream.codec_context.width, stream.codec_context.height
    finally:
        container.close()
    return VideoInfo(path=path, fps=fps, num_frames=num_frames, duration=duration, width=width, height=height)


def _indexed_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    fps: float,
    start: int,
    path: str,
    seek: bool = True,
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield ``(index, frame)`` for every index from ``start`` on, in order, following presentation time.

    A frame is only yielded once a later frame (or the end of the stream) shows that no other frame
    falls on its index; gaps repeat the previous frame; the first frame also stands for the indices
    before it (a stream starting late); past the last frame only the indices it covers (its duration)
    are yielded, so a truncated file simply ends early.
    """
    seek = seek and start >= SEEK_MIN_FRAMES
    if seek:
        # Half a frame early so that rounding of the keyframe's timestamp cannot skip the target.
        target = _start_seconds(stream) + (start - 0.5) / fps
        try:
            container.seek(max(0, int(target / stream.time_base)), stream=stream, backward=True, any_frame=False)
        except av.FFmpegError as err:
            raise VideoDecodeError(path, f"cannot seek to frame {start} ({_reason(err)})") from None
    start_s = _start_seconds(stream)
    tb = float(stream.time_base) if stream.time_base is not None else 0.0
    held: av.VideoFrame | None = None
    held_end = 0.0  # end of the held frame's display time, in frame units
    index = start
    last_index = -1
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                k = last_index + 1
            else:
                k = math.floor((frame.pts * tb - start_s) * fps + 0.5)
            k = max(k, last_index)  # never let a bad timestamp run backwards
            last_index = k
            if k > index:
                if held is None:
                    if seek:
                        raise _SeekOvershoot
                    held = frame
                while index < k:
                    yield index, held
                    index += 1
            held = frame
            duration = frame.duration * tb * fps if frame.duration else 1.0
            held_end = k + max(duration, 1.0)
    except av.FFmpegError as err:
        if held is None:
            raise VideoDecodeError(path, f"decoding failed before frame {start} ({_reason(err)})") from None
        # A damaged tail ends the stream here; indices beyond what decoded raise in the caller.
    if held is not None:
        while index < math.floor(held_end + 0.5):
            yield index, held
            index += 1


def _decode_from(path: str, fps: float | None, start: int, threads: int = 0) -> Iterator[tuple[int, av.VideoFrame]]:
    """Open ``path`` and yield indexed frames from ``start`` (with a seek when it is far in).

    ``threads``: decoder threads, 0 lets FFmpeg choose (one per core), 1 decodes in the calling thread.
    """
    for seek in (True, False):
        container = _open(path)
        try:
            stream = _video_stream(container, path)
            rate = fps if fps is not None else _frame_rate(stream)
            if rate is None:
                raise VideoDecodeError(path, "video stream has no frame rate")
            if threads != 1:
                # Frame+slice threading roughly halves decode time at Kinetics sizes (340x256).
                stream.thread_type = "AUTO"
                stream.codec_context.thread_count = threads
            try:
                yield from _indexed_frames(container, stream, float(rate), start, path, seek)
            except _SeekOvershoot:
                continue  # nothing was yielded yet: decode again from the first frame
            return
        finally:
            container.close()


def _to_rgb(frame: av.VideoFrame, short_side: int | None) -> np.ndarray:
    height, width = resized_shape(frame.height, frame.width, short_side)
    return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()


def read_frames(
    path: str | os.PathLike,
    indices: Sequence[int],
    short_side: int | None = None,
    info: VideoInfo | None = None,
    *,
    threads: int = 0,
) -> np.ndarray:
    """Decode the frames ``indices`` (0-based presentation-time indices) of ``path``.

    Args:
        path: video file.
        indices: frame indices in any order; duplicates are allowed and decoded once.
        short_side: when given, frames are resized during colour conversion so the shorter side has
            this many pixels (aspect ratio kept).
        info: the result of :func:`probe` for this file, when the caller has it (its ``fps`` defines
            the index grid; saves nothing else).
        threads: decoder threads; 0 lets FFmpeg choose, 1 is best inside many DataLoader workers.

    Returns:
        ``uint8`` array ``(len(indices), H, W, 3)`` RGB, in the order of ``indices``.

    Raises:
        VideoDecodeError: the file cannot be decoded, or an index lies beyond the frames that actually
            decode (e.g. a truncated file).
        ValueError: a negative index.
    """
    path = os.fspath(path)
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size and wanted.min() < 0:
        raise ValueError(f"{path}: negative frame index {int(wanted.min())}")
    if wanted.size == 0:
        if info is None:
            info = probe(path)
        height, width = resized_shape(info.height, info.width, short_side)
        return np.empty((0, height, width, 3), dtype=np.uint8)
    unique, counts = np.unique(wanted, return_counts=True)
    # positions in the output of each unique index (duplicates share one decode)
    groups = np.split(np.argsort(wanted, kind="stable"), np.cumsum(counts)[:-1])
    positions = dict(zip(unique.tolist(), groups))
    out: np.ndarray | None = None
    todo = iter(unique.tolist())
    next_needed = next(todo)
    last_needed = int(unique[-1])
    converted: tuple[av.VideoFrame, np.ndarray] | None = None
    decoded_until = -1
    fps = info.fps if info is not None else None
    with contextlib.closing(_decode_from(path, fps, int(unique[0]), threads)) as frames:
        for index, frame in frames:
            decoded_until = index
            if index != next_needed:
                continue
            if converted is None or converted[0] is not frame:
                converted = (frame, _to_rgb(frame, short_side))
            rgb = converted[1]
            if out is None:
                out = np.empty((wanted.size, *rgb.shape), dtype=np.uint8)
            out[positions[index]] = rgb
            if index == last_needed:
                return out
            next_needed = next(todo)
    if decoded_until < 0:
        reason = f"frame {next_needed} requested but no frame at or after it decodes"
    else:
        reason = f"frame {next_needed} requested but frames only decode up to {decoded_until}"
    raise VideoDecodeError(path, f"{reason} (video shorter than that, truncated or damaged)")


def iter_frames(
    path: str | os.PathLike, short_side: int | None = None, start: int = 0, *, threads: int = 0
) -> Iterator[np.ndarray]:
    """Yield the frames of ``path`` from index ``start`` on, one ``(H, W, 3)`` uint8 RGB array at a time.

    Sequential decoding with bounded memory (one decoded frame held); one frame per presentation-time
    index (see the module docstring), so a variable-frame-rate file yields ``fps`` frames per second.
    ``threads``: decoder threads (0: FFmpeg's choice).

    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    path = os.fspath(path)
    if start < 0:
        raise ValueError(f"{path}: negative start frame {start}")
    previous: av.VideoFrame | None = None
    rgb: np.ndarray | None = None
    with contextlib.closing(_decode_from(path, None, start, threads)) as frames:
        for _, frame in frames:
            if frame is previous and rgb is not None:
                yield rgb.copy()  # a repeated frame (timestamp gap); the caller may own the last one
                continue
            previous, rgb = frame, _to_rgb(frame, short_side)
            yield rgb
