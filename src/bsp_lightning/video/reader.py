"""Decoding pictures by frame number under the frame contract, with verified seeks.

:class:`FrameReader` opens one video, decodes from the start or from a keyframe, and tells which frame
number every decoded picture is:

- with trustworthy presentation timestamps (see :mod:`bsp_lightning.video.index`) a picture is frame
  ``k`` when its timestamp is ``index.pts[k]``; a picture whose timestamp is not in the index gets the
  number after the previous one;
- without them (AVI, raw streams) the ``k``-th picture the decoder returns from the first packet is
  frame ``k``: decoders return pictures in presentation order whatever the container says about time.
  Where packets still carry unique timestamps (AVI), these name pictures without ordering them: the
  frame number of every keyframe met while decoding in order is remembered (per process), and later
  reads seek to such a keyframe and check that the picture carrying its timestamp comes out. MPEG program
  streams (``.mpg``/``.vob``) are read in order from the start every time, as raw streams are: their
  timestamps do not survive a seek (:data:`~bsp_lightning.video.index.IN_ORDER_FORMATS`).

A seek goes to the last keyframe at or before the first wanted frame and is verified: the first picture
that comes out must be a keyframe of the index at or before the wanted frame (pictures the decoder returns
before it are open-GOP leading pictures whose references lie before the seek point, and are dropped).
When a seek lands elsewhere, on a timestamp the index does not know, or decodes nothing, the keyframe is
marked bad for this file (in this process) and the previous keyframe is tried, down to reading in order
from the start; a failed seek is never reported as a damaged file.

Threads: ``threads=1`` means one thread: the codec context gets ``thread_count=1`` and the colour
conversion runs on one :class:`av.video.reformatter.VideoReformatter` per reader with ``threads=1``
(PyAV's ``VideoFrame.reformat`` would build a new scaling context with automatic threads per frame).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from bsp_lightning.video.errors import VideoDecodeError, open_container, reason, video_stream
from bsp_lightning.video.geometry import orient, scaled_stored_size
from bsp_lightning.video.index import FrameIndex, frame_index

__all__ = ["FrameReader", "SEEK_MIN_FRAMES"]

# Seeking costs a decoder flush; below this many frames into the video, decoding from the start is as fast.
SEEK_MIN_FRAMES = 16
# Seek attempts (keyframes tried, latest first) before reading from the start.
_SEEK_TRIES = 3
# Leading pictures tolerated after a seek before the keyframe must have come out.
_MAX_LEADING = 64
# Per process and file version: keyframes whose seek did not verify, and (files without presentation
# timestamps) keyframe pts -> frame number, learned while decoding in order.
_bad_keyframes: dict[tuple[str, int, int], set[int]] = {}
_learned_keyframes: dict[tuple[str, int, int], dict[int, int]] = {}


class _SeekFailed(Exception):
    pass


class FrameReader:
    """One open video; :meth:`frames` yields ``(frame_number, av.VideoFrame)`` in increasing order.

    Args:
        path: the video file.
        threads: decoder and scaler threads; 0 lets FFmpeg choose, 1 decodes and converts in the
            calling thread only.
        short_side: the display size's shorter side after :meth:`to_rgb` (``None``: display size).
        index: the file's :class:`FrameIndex` (default: the cached one).
    """

    def __init__(self, path: str, threads: int = 0, short_side: int | None = None,
                 index: FrameIndex | None = None) -> None:
        if threads < 0:
            raise ValueError(f"threads must be >= 0, got {threads}")
        self.path = path
        self._container: av.container.InputContainer | None = None
        # A reader that builds the index itself keeps the container that the demux pass opened (its
        # decoder has one thread, as threads=1 wants) and rewinds it with a verified seek.
        self._fresh = False
        if index is None:
            index = frame_index(path, build=threads != 1)
        if index is None:
            self._container = open_container(path)
            try:
                index = frame_index(path, container=self._container)
            except BaseException:
                self.close()
                raise
            self._fresh = True
        self.index = index
        self.threads = threads
        self.geometry = self.index.geometry
        self.height, self.width = scaled_stored_size(self.geometry, short_side)
        self.decoded_until = -1  # the last frame number that came out of the decoder
        self.error: str | None = None  # why decoding stopped early, if it did
        self._reformatter = VideoReformatter()
        self._rank = self.index.pts.frame_of if self.index.pts is not None else None
        self._learned: dict[int, int] | None = None
        self._key_pts: set[int] = set()

    # -- container -----------------------------------------------------------------------------------

    def _open(self) -> av.video.stream.VideoStream:
        if self._fresh:  # the indexing pass's container, positioned by the verified seek that follows
            self._fresh = False
            return self._container.streams.video[0]
        self.close()
        self._container = open_container(self.path)
        stream = video_stream(self._container, self.path)
        context = stream.codec_context
        if self.threads == 1:
            stream.thread_type = "SLICE"  # with thread_count 1 FFmpeg starts no thread at all
        else:
            # Frame+slice threading roughly halves decode time at Kinetics sizes (340x256).
            stream.thread_type = "AUTO"
        context.thread_count = self.threads
        return stream

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _decoded(self, stream) -> Iterator[av.VideoFrame]:
        try:
            yield from self._container.decode(stream)
        except av.FFmpegError as err:
            self.error = reason(err)  # a damaged tail ends the stream here

    # -- conversion ----------------------------------------------------------------------------------

    def to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """``uint8 (H, W, 3)`` RGB as displayed: scaled to square pixels and ``short_side``, turned and
        mirrored by the display matrix; a picture whose size changed mid-stream is scaled to the size of
        the first picture's display."""
        rgb = self._reformatter.reformat(
            frame, width=self.width, height=self.height, format="rgb24", threads=self.threads
        ).to_ndarray()
        return orient(rgb, self.geometry)

    # -- frame numbers -------------------------------------------------------------------------------

    def _number(self, frame: av.VideoFrame, previous: int) -> int:
        if self._rank is not None and frame.pts is not None:
            number = self._rank(frame.pts)
            if number is not None:
                return number
        return previous + 1

    def frames(self, start: int = 0) -> Iterator[tuple[int, av.VideoFrame]]:
        """Yield ``(k, picture)`` for every decoded frame ``k >= start``, increasing.

        Frame numbers missing from the sequence did not decode; after the last yielded frame,
        :attr:`error` says why decoding stopped early (``None`` at a clean end of stream).
        """
        key = (os.path.abspath(self.path), self.index.file_size, self.index.mtime_ns)
        bad = _bad_keyframes.get(key, frozenset())  # an entry only for files with a failed seek
        self._learned = _learned_keyframes.setdefault(key, {}) if self.index.learns_keyframes else None
        self._key_pts = set(self.index.key_packets[:, 0].tolist()) if self._learned is not None else set()
        candidates = self._candidates(start, bad) if start >= SEEK_MIN_FRAMES else []
        if self._fresh and not candidates:
            if self.index.seekable and self.index.keyframes[0] <= start:
                first = int(self.index.keyframes[0])  # rewind the indexing pass's container
                candidates = [(first, self.index.pts[first], self.index.pts[first])]
            else:
                self._fresh = False  # no timestamps to verify a rewind by: open again
        for number, seek_to, pts in candidates:
            stream = self._open()
            try:
                first, decoded = self._seek(stream, seek_to, pts, number, start)
            except _SeekFailed:
                bad = _bad_keyframes.setdefault(key, set())
                bad.add(number)
                continue
            yield from self._follow(first, decoded, start)
            return
        stream = self._open()
        yield from self._follow(None, self._decoded(stream), start)

    def _candidates(self, start: int, bad: frozenset[int] | set[int]) -> list[tuple[int, int, int]]:
        """``(frame number, seek timestamp, keyframe pts)`` to try, latest first."""
        if self.index.seekable:
            keyframes = self.index.keyframes
            usable = keyframes[(keyframes <= start) & (keyframes >= SEEK_MIN_FRAMES)][::-1]
            chosen = [int(k) for k in usable if int(k) not in bad][:_SEEK_TRIES]
            return [(k, self.index.pts[k], self.index.pts[k]) for k in chosen]
        if not self._learned:
            return []
        dts = dict(self.index.key_packets.tolist())
        known = sorted(((n, p) for p, n in self._learned.items() if SEEK_MIN_FRAMES <= n <= start and n not in bad),
                       reverse=True)
        return [(n, dts[p], p) for n, p in known[:_SEEK_TRIES]]

    def _seek(self, stream, seek_to: int, pts: int, number: int,
              start: int) -> tuple[tuple[int, av.VideoFrame], Iterator]:
        """Seek to the keyframe at ``seek_to`` and return the first verified ``(number, picture)`` and the
        decoder: a keyframe of the index (or, without presentation timestamps, a keyframe whose number
        was seen in order) at or before ``start``."""
        try:
            self._container.seek(int(seek_to), stream=stream, backward=True, any_frame=False)
        except av.FFmpegError:
            raise _SeekFailed from None
        decoded = self._decoded(stream)
        keyframes = self.index.keyframes
        for count, frame in enumerate(decoded):
            if count >= _MAX_LEADING or frame.pts is None:
                break
            if self._rank is None:
                found = number if frame.pts == pts else self._learned.get(frame.pts)
                if found is not None and found <= start:
                    return (found, frame), decoded
                continue  # a leading picture of an open GOP, or a keyframe not yet seen in order
            found = self._rank(frame.pts)
            if found is None or found > start:
                break
            position = np.searchsorted(keyframes, found)
            if position < len(keyframes) and keyframes[position] == found:
                return (found, frame), decoded
        raise _SeekFailed

    def _follow(self, first, decoded: Iterator[av.VideoFrame], start: int):
        previous = -1
        learned = self._learned
        if first is not None:
            previous, frame = first
            self.decoded_until = previous
            if previous >= start:
                yield previous, frame
        for frame in decoded:
            number = self._number(frame, previous)
            if number <= previous:
                continue  # a picture already passed (leading picture after a seek, repeated timestamp)
            previous = number
            self.decoded_until = number
            if learned is not None and frame.pts in self._key_pts:
                learned[frame.pts] = number  # counted in order from a known point: seekable from now on
            if number >= start:
                yield number, frame


def missing_frame_error(path: str, wanted: int, reader: FrameReader) -> VideoDecodeError:
    """The one-line error for a wanted frame that did not come out of the decoder."""
    total = reader.index.num_frames
    if wanted >= total:
        return VideoDecodeError(path, f"frame {wanted} requested but the video has {total} frames")
    if reader.decoded_until < 0:
        detail = "no frame at or after it decodes"
    elif reader.decoded_until < wanted:
        detail = f"frames only decode up to {reader.decoded_until} of {total}"
    else:
        detail = f"it did not decode (frames decode up to {reader.decoded_until} of {total})"
    why = f"; {reader.error}" if reader.error else ""
    return VideoDecodeError(path, f"frame {wanted} requested but {detail} (partial: truncated or damaged{why})")
