"""The exact frame index of a video: one demux pass, no decoding beyond the first picture.

The frame contract (``docs/design.md`` §4.7): frame ``k`` is the ``k``-th picture in presentation order and the
frame count is the number of pictures in the stream. Container metadata (durations that include an audio
track or a start offset, frame counts, timestamps that AVI and raw streams derive from decode order)
never decides either. This is the approach of torchcodec's exact mode and decord: read every packet of
the video stream once without decoding it, and keep

- ``num_frames``: the number of non-empty, non-discarded packets (one picture each);
- ``pts``: their presentation timestamps sorted, so ``pts[k]`` is the timestamp of frame ``k``, when the
  container stores real presentation timestamps (MP4/MOV, Matroska/WebM, MPEG-TS, FLV, Ogg, NUT) and they
  are unique; ``None`` otherwise (AVI, raw elementary streams), where frame ``k`` is only known as the
  ``k``-th picture the decoder returns from the start;
- ``keyframes``: the frame numbers of the keyframe packets, the points a decoder can start from after a
  seek (timestamps trusted only);
- the display :class:`~bsp_lightning.video.geometry.Geometry`, read from the first picture, which is
  decoded during the same pass (it also proves that the stream decodes at all).

Indexes are cached per process (each DataLoader worker pays once per video) keyed by path, size and
modification time, and optionally on disk: set ``BSP_LIGHTNING_INDEX_CACHE`` to a folder (for example
next to the dataset) and every index is stored there as a small ``.npz``.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from bsp_lightning.video.errors import VideoDecodeError, open_container, reason, video_stream
from bsp_lightning.video.geometry import Geometry, frame_geometry

__all__ = ["FrameIndex", "Timestamps", "build_index", "clear_index_cache", "frame_index", "INDEX_CACHE_ENV",
           "IN_ORDER_FORMATS"]

INDEX_CACHE_ENV = "BSP_LIGHTNING_INDEX_CACHE"
# Containers whose packets carry presentation timestamps written by the muxer (not guessed from decode
# order, as the AVI and raw-stream demuxers do).
TRUSTED_PTS_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "mpegts", "flv", "ogg", "nut"})
# Containers read in order from the start, never by seeking to a keyframe learned while decoding in order.
# MPEG program streams (.mpg/.vob, "mpeg"): at low bitrates one PES packet holds several pictures and only the
# first picture starting in it has a timestamp; after a seek the demuxer resynchronises on a pack and gives
# that timestamp to the tail of the picture before it, so a seek verified by the keyframe's timestamp lands one
# picture early (or loses one) -- on a VCD-like 48 px file, 24 of 60 single-frame reads were picture k - 1.
IN_ORDER_FORMATS = frozenset({"mpeg"})
# Indexes of evenly spaced videos take a few hundred bytes: a worker keeps a whole Kinetics split.
_CACHE_SIZE = int(os.environ.get("BSP_LIGHTNING_INDEX_CACHE_SIZE", 300_000))
_cache: OrderedDict[tuple[str, int, int], FrameIndex] = OrderedDict()


class Timestamps:
    """Sorted presentation timestamps, frame ``k`` at ``self[k]``; kept as ``start + k * step`` when they
    are evenly spaced (constant frame rate), else as a table. ``np.asarray(ts)`` gives the ``int64`` array.
    """

    __slots__ = ("start", "step", "count", "table", "_lookup")

    def __init__(self, sorted_pts: np.ndarray) -> None:
        sorted_pts = np.asarray(sorted_pts, dtype=np.int64)
        self.count = len(sorted_pts)
        self.start = int(sorted_pts[0]) if self.count else 0
        self.step = int(sorted_pts[1] - sorted_pts[0]) if self.count > 1 else 1
        even = self.count < 2 or bool(np.all(np.diff(sorted_pts) == self.step))
        self.table = None if even else sorted_pts
        self._lookup: dict[int, int] | None = None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, k: int) -> int:
        if self.table is not None:
            return int(self.table[k])
        if not -self.count <= k < self.count:
            raise IndexError(k)
        return self.start + (k % self.count) * self.step

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.table if self.table is not None else self.start + self.step * np.arange(self.count)
        return out.astype(dtype or np.int64, copy=False)

    def frame_of(self, pts: int) -> int | None:
        """The frame number whose timestamp is ``pts``, or ``None``."""
        if self.table is None:
            k, rest = divmod(pts - self.start, self.step)
            return k if rest == 0 and 0 <= k < self.count else None
        if self._lookup is None:
            self._lookup = dict(zip(self.table.tolist(), range(self.count)))
        return self._lookup.get(pts)


@dataclass(frozen=True)
class FrameIndex:
    """Exact frame index of the first video stream of a file (see the module docstring).

    Attributes:
        path: the file; ``file_size`` and ``mtime_ns`` identify its version.
        num_frames: pictures in the stream (packets present in the file).
        declared_frames: the container's own frame count when it states one (MP4 sample tables), else 0.
        declared_duration: the container's own duration in seconds (all streams), else 0.0; with
            ``declared_frames`` it tells how much of a truncated file is missing.
        truncated: the file ends before the container says it does (half-downloaded MP4 or Matroska).
        pts: presentation timestamps in ``time_base`` units, sorted (frame ``k`` has ``pts[k]``;
            :class:`Timestamps`), or ``None`` when the container has no trustworthy presentation timestamps.
        keyframes: ``int64`` frame numbers of keyframes (empty when ``pts`` is ``None``).
        key_packets: ``int64 (K, 2)`` ``(pts, dts)`` of the keyframe packets when ``pts`` is ``None`` but
            the packets carry unique timestamps (AVI): they name pictures though they do not order them, so
            a keyframe whose frame number was seen while decoding in order can be sought later.
        time_base: the stream's time base (seconds per timestamp unit).
        fps: average frame rate (frames per second).
        duration: seconds of video: the span of the timestamps plus one frame, else ``num_frames / fps``.
        variable_frame_rate: frame intervals differ by more than 10 % (or two timestamp units).
        geometry: display geometry of the first picture.
        format_name: the demuxer's name (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"avi"``, ...).
    """

    path: str
    file_size: int
    mtime_ns: int
    num_frames: int
    declared_frames: int
    truncated: bool
    pts: Timestamps | None
    keyframes: np.ndarray
    key_packets: np.ndarray
    time_base: Fraction
    fps: float
    duration: float
    variable_frame_rate: bool
    geometry: Geometry
    format_name: str
    declared_duration: float = 0.0

    @property
    def seekable(self) -> bool:
        return self.pts is not None and len(self.keyframes) > 0

    @property
    def learns_keyframes(self) -> bool:
        """Without presentation timestamps, keyframes seen while decoding in order may be sought later
        (``key_packets``); never in :data:`IN_ORDER_FORMATS`, which are read in order like raw streams."""
        return len(self.key_packets) > 0 and not set(self.format_name.split(",")) & IN_ORDER_FORMATS


def _matroska_truncated(path: str, file_size: int) -> bool:
    """The EBML Segment element claims more bytes than the file holds (an interrupted download)."""
    with open(path, "rb") as handle:
        head = handle.read(4096)

    def vint(pos: int, keep_marker: bool) -> tuple[int, int, bool]:
        first = head[pos]
        length = 9 - first.bit_length() if first else 9
        value = int.from_bytes(head[pos:pos + length], "big")
        if not keep_marker:
            value &= (1 << (7 * length)) - 1
        unknown = not keep_marker and value == (1 << (7 * length)) - 1
        return value, pos + length, unknown

    try:
        pos = 0
        while pos < len(head):
            element, pos, _ = vint(pos, keep_marker=True)
            size, pos, unknown = vint(pos, keep_marker=False)
            if element == 0x18538067:  # Segment
                return not unknown and pos + size > file_size
            if unknown:
                return False
            pos += size
    except (IndexError, ValueError):
        return False
    return False


def _rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return None


def build_index(path: str | os.PathLike, container: av.container.InputContainer | None = None) -> FrameIndex:
    """Index ``path`` with one demux pass (decoding only its first picture).

    ``container``: an open container of ``path`` to index instead of opening one; it is left open, at
    the end of its packets, its video decoder opened with one thread.

    Raises:
        VideoDecodeError: missing, empty or unreadable file, no video stream, no packets, or a stream
            whose first picture does not decode.
    """
    path = os.fspath(path)
    own = container is None
    if own:
        container = open_container(path)
    stat = os.stat(path)
    try:
        stream = video_stream(container, path)
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1  # one picture: threads would only cost start-up
        pts: list[int | None] = []
        keys: list[bool] = []
        key_dts: list[int | None] = []
        first = None
        demux_error = None
        try:
            for packet in container.demux(stream):
                if first is None:
                    # Feed the decoder until the first picture comes out; flush packets (size 0) included.
                    try:
                        frames = packet.decode()
                    except av.FFmpegError:
                        frames = []
                    if frames:
                        first = frames[0]
                if not packet.size or packet.is_discard:
                    continue
                pts.append(packet.pts)
                keys.append(bool(packet.is_keyframe))
                if packet.is_keyframe:
                    key_dts.append(packet.dts)
        except (av.FFmpegError, OSError) as err:
            demux_error = reason(err)
        if not pts:
            raise VideoDecodeError(path, "video stream has no packets (zero frames)"
                                   + (f"; {demux_error}" if demux_error else ""))
        if first is None:
            raise VideoDecodeError(path, "no picture of the video stream decodes")
        geometry = frame_geometry(first, stream)
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1)
        rate = _rate(stream)
        declared = int(stream.frames or 0)
        declared_duration = container.duration / av.time_base if container.duration and container.duration > 0 else 0.0
        format_name = container.format.name
    finally:
        if own:
            container.close()
    num_frames = len(pts)
    formats = set(format_name.split(","))
    identifiable = None not in pts and len(set(pts)) == num_frames
    trusted = bool(formats & TRUSTED_PTS_FORMATS) and identifiable
    key_packets = np.zeros((0, 2), dtype=np.int64)
    if not trusted and identifiable and None not in key_dts:
        key_pts = [p for p, key in zip(pts, keys) if key]
        key_packets = np.asarray(list(zip(key_pts, key_dts)), dtype=np.int64).reshape(-1, 2)
    truncated = declared > num_frames or demux_error is not None
    if "matroska" in formats:
        truncated = truncated or _matroska_truncated(path, stat.st_size)
    sorted_pts = keyframes = None
    vfr = False
    if trusted:
        order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
        sorted_pts = np.asarray(pts, dtype=np.int64)[order]
        rank = np.empty(num_frames, dtype=np.int64)
        rank[order] = np.arange(num_frames)
        keyframes = np.sort(rank[np.asarray(keys, dtype=bool)])
        if num_frames > 2:
            steps = np.diff(sorted_pts)
            median = float(np.median(steps))
            vfr = float(steps.max() - steps.min()) > max(2.0, 0.1 * median)
        if rate is None and num_frames > 1:
            rate = Fraction(num_frames - 1) / (int(sorted_pts[-1] - sorted_pts[0]) * time_base)
    if rate is None:
        raise VideoDecodeError(path, "video stream has no frame rate")
    fps = float(rate)
    if sorted_pts is not None:
        duration = float(int(sorted_pts[-1] - sorted_pts[0]) * time_base) + 1 / fps
    else:
        duration = num_frames / fps
    return FrameIndex(
        path=path, file_size=stat.st_size, mtime_ns=stat.st_mtime_ns, num_frames=num_frames,
        declared_frames=declared, truncated=truncated, pts=Timestamps(sorted_pts) if trusted else None,
        keyframes=keyframes if keyframes is not None else np.zeros(0, dtype=np.int64), key_packets=key_packets,
        time_base=time_base, fps=fps, duration=duration, variable_frame_rate=vfr, geometry=geometry,
        format_name=format_name, declared_duration=float(declared_duration),
    )


# -- caches ------------------------------------------------------------------------------------------


def _disk_path(folder: str, key: tuple[str, int, int]) -> str:
    digest = hashlib.sha1(json.dumps(key).encode()).hexdigest()[:20]
    return os.path.join(folder, f"{os.path.basename(key[0])}.{digest}.index.npz")


def _save(index: FrameIndex, target: str) -> None:
    meta = {
        "path": index.path, "file_size": index.file_size, "mtime_ns": index.mtime_ns,
        "num_frames": index.num_frames, "declared_frames": index.declared_frames,
        "truncated": index.truncated, "time_base": str(index.time_base), "fps": index.fps,
        "duration": index.duration, "variable_frame_rate": index.variable_frame_rate,
        "geometry": [index.geometry.stored_width, index.geometry.stored_height,
                     str(index.geometry.sample_aspect_ratio), index.geometry.rotation, index.geometry.hflip],
        "format_name": index.format_name, "has_pts": index.pts is not None,
        "declared_duration": index.declared_duration,
    }
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp.npz"
    np.savez(tmp, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
             pts=np.asarray(index.pts) if index.pts is not None else np.zeros(0, np.int64), keyframes=index.keyframes,
             key_packets=index.key_packets)
    os.replace(tmp, target)


def _load(source: str) -> FrameIndex:
    with np.load(source) as data:
        meta = json.loads(data["meta"].tobytes().decode())
        pts, keyframes, key_packets = data["pts"], data["keyframes"], data["key_packets"]
    width, height, sar, rotation, hflip = meta.pop("geometry")
    has_pts = meta.pop("has_pts")
    return FrameIndex(
        **{**meta, "time_base": Fraction(meta["time_base"])},
        pts=Timestamps(pts) if has_pts else None, keyframes=keyframes, key_packets=key_packets,
        geometry=Geometry(width, height, Fraction(sar), rotation, hflip),
    )


def frame_index(path: str | os.PathLike, container: av.container.InputContainer | None = None,
                build: bool = True) -> FrameIndex | None:
    """The cached :class:`FrameIndex` of ``path`` (built on first use; rebuilt when the file changes).

    ``container``: an open container of ``path`` to build with (see :func:`build_index`), saving the
    reader that has one a second open. ``build=False``: return ``None`` instead of building.

    Raises:
        VideoDecodeError: as :func:`build_index`.
    """
    path = os.fspath(path)
    try:
        stat = os.stat(path)
    except OSError:
        return build_index(path) if build else None  # raises the one-line "does not exist" error
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    index = _cache.get(key)
    if index is not None:
        _cache.move_to_end(key)
        return index
    folder = os.environ.get(INDEX_CACHE_ENV)
    stored = _disk_path(folder, key) if folder else None
    if stored and os.path.exists(stored):
        try:
            index = _load(stored)
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            index = None  # a damaged cache file is rebuilt
    if index is None:
        if not build:
            return None
        index = build_index(path, container)
        if stored:
            try:
                _save(index, stored)
            except OSError:
                pass  # a read-only cache folder only costs the rebuild next time
    _cache[key] = index
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return index


def clear_index_cache() -> None:
    """Forget the indexes cached in this process (the disk cache is kept)."""
    _cache.clear()
