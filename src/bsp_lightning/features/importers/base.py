"""What every release format shares: the source videos, the time of each feature row, and the array checks.

A format module (:mod:`.h5`, :mod:`.thumos_tsn`, :mod:`.npy`, :mod:`.bsn_csv`) lists :class:`SourceVideo` items,
each with a ``read()`` that returns the video's raw array; :func:`bsp_lightning.features.importers.run.import_features`
turns them into a feature folder. This module holds the rules that are the same for all of them:

* **orientation** (:func:`time_major`): an array is ``(T, D)`` ("TD", rows are time steps) or ``(D, T)`` ("DT").
  It is taken from ``--layout`` or the known format; with ``--feature-dim D`` alone, the axis of length ``D`` is
  the channel axis. Nothing is guessed: without either, the import stops before reading a file.
* **time** (:class:`Timing`): ``grid`` rows start every ``stride`` frames at ``fps`` (``start_i = (first_frame +
  i * stride) / fps``, each ``snippet_length`` frames long), or ``span`` rows that spread evenly over the seconds
  the features cover (``start_i = i * span / T``; the feature releases rescaled to a fixed length, such as BSN's
  100 rows per ActivityNet video). In ``span`` mode a manifest "frame" is one feature row: ``fps`` is rows per
  second and ``snippet_length = stride = 1``, so ``snippet_length / fps`` is still the seconds of one row.
* **values**: float32, finite, the same width for every video.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.features.importers.video_info import VideoInfo
from bsp_lightning.utils.errors import InputFileError

__all__ = ["LAYOUTS", "FeatureImportError", "SourceVideo", "Timing", "check_values", "source_files", "time_major"]

LAYOUTS = ("TD", "DT")


class FeatureImportError(InputFileError):
    """A source that cannot be imported; ``str()`` is one line: ``PATH: video ID: problem``."""

    def __init__(self, path: str | Path | None, problem: str, video_id: str | None = None) -> None:
        self.video_id = video_id
        super().__init__(path, problem if video_id is None else f"video {video_id}: {problem}")


def source_files(sources: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """The files of ``sources``: a folder gives its files ending in ``suffixes`` (sorted), a file itself.

    Raises:
        FeatureImportError: a source that does not exist, or a folder without such files.
    """
    files: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if p.suffix.lower() in suffixes and p.is_file())
            if not found:
                raise FeatureImportError(src, f"no {'/'.join(suffixes)} file in this folder")
            files += found
        elif src.is_file():
            files.append(src)
        else:
            raise FeatureImportError(src, "not found")
    return files


@dataclass(frozen=True)
class SourceVideo:
    """One video of a release, before conversion.

    Attributes:
        video_id: the id as the release names it (before ``--v-prefix``).
        paths: the file(s) holding it; their sizes and modification times decide whether a re-run redoes it.
        key: the dataset or array inside the file, ``None`` for a whole file.
        read: returns the raw array (any dtype and rank; :func:`time_major` checks it).
        num_frames: the video's frame count when the format knows it (THUMOS TSN: one row per frame).
        linkable: the file itself is a per-video ``.npy`` that ``--link`` may point to.
    """

    video_id: str
    paths: tuple[Path, ...]
    key: str | None
    read: Callable[[], np.ndarray] = field(repr=False, compare=False)
    num_frames: int | None = None
    linkable: bool = False

    @property
    def where(self) -> str:
        """The file (and dataset) named in messages."""
        text = ", ".join(str(p) for p in self.paths)
        return f"{text}[{self.key}]" if self.key else text

    def stat(self) -> dict[str, int]:
        """``{"size", "mtime_ns"}`` of the source file(s) (sum of sizes, latest time)."""
        stats = [p.stat() for p in self.paths]
        return {"size": sum(s.st_size for s in stats), "mtime_ns": max(s.st_mtime_ns for s in stats)}


@dataclass(frozen=True)
class Timing:
    """Where feature row ``i`` of a video sits in time (see the module docstring).

    Attributes:
        span: rows spread over the covered seconds (``--span``) instead of a frame grid.
        fps: grid frame rate; ``None`` takes each video's fps from ``--video-info``.
        snippet_length: frames per row (grid).
        stride: frames between row starts (grid).
        first_frame: frame where row 0 starts (grid; may be negative for rows centred on frame ``i * stride``).
    """

    span: bool = False
    fps: float | None = None
    snippet_length: float | None = None
    stride: float | None = None
    first_frame: float = 0.0

    def check(self) -> None:
        """Raises :class:`FeatureImportError` for an incomplete or non-positive grid."""
        if self.span:
            return
        missing = [f"--{n.replace('_', '-')}" for n in ("snippet_length", "stride")
                   if getattr(self, n) is None]
        if missing:
            raise FeatureImportError(None, "the time of each feature row is unknown: give " + " and ".join(missing)
                                     + " (frames; with --fps or per-video fps from --video-info), or --span with "
                                     "--video-info (rows spread over each video)")
        for name in ("fps", "snippet_length", "stride"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise FeatureImportError(None, f"--{name.replace('_', '-')} must be positive, got {value}")

    def config(self) -> dict[str, Any]:
        """The manifest's timing keys (``snippet_length``, ``stride`` in frames; ``time_base``)."""
        if self.span:
            return {"time_base": "rows", "fps": None, "snippet_length": 1, "stride": 1, "first_frame": 0}
        return {"time_base": "frames", "fps": self.fps, "snippet_length": _plain(self.snippet_length),
                "stride": _plain(self.stride), "first_frame": _plain(self.first_frame)}

    def place(self, num_rows: int, info: VideoInfo | None, num_frames: int | None,
              source: SourceVideo) -> tuple[list[float], float, int]:
        """``(snippet start times in seconds, fps, num_frames)`` of a video with ``num_rows`` rows.

        Raises:
            FeatureImportError: the video needs ``--video-info`` facts the files do not give.
        """
        if self.span:
            span = info.span if info is not None else None
            if span is None:
                raise FeatureImportError(source.where, "no duration in --video-info (needed by --span)",
                                         source.video_id)
            return [i * span / num_rows for i in range(num_rows)], num_rows / span, num_rows
        fps = self.fps if self.fps is not None else (info.fps if info is not None else None)
        if fps is None:
            raise FeatureImportError(source.where, "no fps: give --fps or a --video-info file with the video's fps",
                                     source.video_id)
        starts = [(self.first_frame + i * self.stride) / fps for i in range(num_rows)]
        if info is not None and info.duration is not None:
            frames = int(round(info.duration * fps))
        elif num_frames is not None:
            frames = int(num_frames)
        else:  # the frames the rows cover
            frames = int(math.ceil(max(self.first_frame, 0) + (num_rows - 1) * self.stride + self.snippet_length))
        return starts, float(fps), frames


def _plain(value: float | None) -> float | int | None:
    return int(value) if value is not None and float(value).is_integer() else value


def time_major(raw: Any, layout: str | None, feature_dim: int | None, source: SourceVideo) -> np.ndarray:
    """``raw`` as float32 ``(T, D)``: singleton axes dropped, transposed for ``layout="DT"``.

    Args:
        layout: ``"TD"``, ``"DT"``, or ``None`` to find the channel axis by ``feature_dim``.
        feature_dim: the expected ``D`` (``None``: any).

    Raises:
        FeatureImportError: not a numeric 2-D array, an orientation that ``feature_dim`` cannot settle, or a
            width other than ``feature_dim``.
    """
    array = np.asarray(raw)
    if array.dtype.kind not in "fiu":
        raise FeatureImportError(source.where, f"not a numeric array (dtype {array.dtype})", source.video_id)
    shape = array.shape
    if array.ndim > 2:
        array = array.reshape([n for n in shape if n != 1] or [1])
    if array.ndim != 2 or 0 in array.shape:
        raise FeatureImportError(source.where, f"expected a 2-D (time, channels) array, got shape {shape}",
                                 source.video_id)
    if layout is None:
        if feature_dim is None:
            raise FeatureImportError(source.where, "orientation unknown: give --layout TD or DT, or --feature-dim",
                                     source.video_id)
        matches = [axis for axis in (1, 0) if array.shape[axis] == feature_dim]
        if len(matches) == 2:
            raise FeatureImportError(source.where, f"shape {shape}: both axes have {feature_dim} entries; give "
                                     "--layout TD or DT", source.video_id)
        layout = "DT" if matches == [0] else "TD"
    elif layout not in LAYOUTS:
        raise FeatureImportError(None, f"layout must be TD or DT, got {layout!r}")
    if layout == "DT":
        array = array.T
    if feature_dim is not None and array.shape[1] != feature_dim:
        raise FeatureImportError(source.where, f"width {array.shape[1]} (shape {shape}), expected {feature_dim}",
                                 source.video_id)
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, which check_values reports
        return np.ascontiguousarray(array, dtype=np.float32)


def check_values(array: np.ndarray, source: SourceVideo) -> None:
    """Raises :class:`FeatureImportError` naming the first non-finite value (after the cast to float32)."""
    finite = np.isfinite(array)
    if not finite.all():
        row, col = (int(i[0]) for i in np.nonzero(~finite))
        raise FeatureImportError(source.where, f"{int((~finite).sum())} non-finite value(s), first at row {row}, "
                                 f"column {col} ({array[row, col]})", source.video_id)
