"""Per-video durations, frame rates and feature-covered spans from the side files that come with feature releases.

An imported feature row gets a time only from facts about its video. These files carry them, each in its own
layout (``--video-info FILE``, several allowed):

* ActivityNet-style JSON with a ``database`` object (ActivityNet-1.3 ``activity_net.v1-3.min.json``,
  ActionFormer/OpenTAD annotation files): ``duration`` seconds, ``fps`` when present (ActionFormer THUMOS), or
  ``frame`` frames (OpenTAD; fps = frame / duration);
* G-TAD/BSN ``anet_anno_action.json`` ``{v_id: {duration_second, duration_frame, feature_frame, ...}}``: the
  features cover ``feature_frame / duration_frame * duration_second`` seconds (G-TAD ``gtad_lib/dataset.py``,
  branch ``anet``: the ``corrected_second`` of its training targets);
* G-TAD/BSN ``video_info_new.csv`` (``video,numFrame,seconds,fps,rfps,subset,featureFrame``): the same covered
  span from ``featureFrame / numFrame * seconds``, fps = numFrame / seconds (the official rate);
* 2D-TAN's TACoS JSON ``{video: {num_frames, fps, ...}}``: duration = num_frames / fps;
* any JSON or CSV that :func:`bsp_lightning.annotations.read_durations` reads: Charades ``Charades_v1_*.csv``
  (``id``, ``length``), ActivityNet Captions ``{video: {duration, ...}}``, ``video,duration`` pairs.

Video ids are matched with the ``v_`` prefix added or removed, as the heads match annotations to features.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bsp_lightning.annotations.activitynet import resolve_video_id
from bsp_lightning.annotations.errors import AnnotationError, read_text, to_float
from bsp_lightning.annotations.thumos import read_durations

__all__ = ["VideoInfo", "VideoInfoTable", "read_video_info"]


@dataclass(frozen=True)
class VideoInfo:
    """What a side file says about one video.

    Attributes:
        duration: seconds, ``None`` when unknown.
        fps: frames per second, ``None`` when unknown.
        covered: seconds covered by the released features when the file says (G-TAD/BSN ``feature_frame``),
            else ``None``.
    """

    duration: float | None = None
    fps: float | None = None
    covered: float | None = None

    @property
    def span(self) -> float | None:
        """Seconds spanned by the feature rows: :attr:`covered`, else :attr:`duration`."""
        return self.covered if self.covered is not None else self.duration

    def merged(self, other: VideoInfo) -> VideoInfo:
        """Fields of ``self``, completed by ``other`` where ``self`` has none."""
        return VideoInfo(*(a if a is not None else b for a, b in zip(
            (self.duration, self.fps, self.covered), (other.duration, other.fps, other.covered))))


class VideoInfoTable(Mapping[str, VideoInfo]):
    """Video id -> :class:`VideoInfo` read from one or more files; :meth:`find` matches ``v_`` both ways."""

    def __init__(self, table: Mapping[str, VideoInfo], sources: Iterable[str]) -> None:
        self._table = dict(table)
        self.sources = list(sources)

    def __getitem__(self, video_id: str) -> VideoInfo:
        return self._table[video_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def find(self, video_id: str) -> VideoInfo | None:
        """The entry of ``video_id`` (or of it with ``v_`` added or removed); ``None`` when absent."""
        key = resolve_video_id(video_id, self._table)
        return None if key is None else self._table[key]


def read_video_info(paths: Iterable[str | os.PathLike]) -> VideoInfoTable:
    """Read every file of ``paths`` (see the module docstring) into one table; later files complete earlier ones.

    Raises:
        AnnotationError: a missing, empty or malformed file, or one in none of the layouts (one line naming it).
    """
    table: dict[str, VideoInfo] = {}
    sources = []
    for path in paths:
        path = str(path)
        sources.append(path)
        for video_id, info in _read_one(path).items():
            table[video_id] = table[video_id].merged(info) if video_id in table else info
    return VideoInfoTable(table, sources)


def _read_one(path: str) -> dict[str, VideoInfo]:
    text = read_text(path, "video info file", errors="replace")
    if path.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnnotationError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from None
        table = _from_json(data, path)
    else:
        table = _from_csv(text, path)
    if table is None:  # a plain durations file
        table = {vid: VideoInfo(duration=seconds) for vid, seconds in read_durations(path).items()}
    if not table:
        raise AnnotationError(path, "no video in file")
    return table


def _number(entry: Mapping[str, Any], key: str, path: str, video: str) -> float | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    out = to_float(value, path, f"{key} of video {video!r}")
    if out <= 0:
        raise AnnotationError(path, f"{key} of video {video!r} must be positive, got {out:g}")
    return out


def _info(entry: Mapping[str, Any], path: str, video: str, duration_key: str, frames_key: str | None,
          feature_frames_key: str | None, fps_key: str | None) -> VideoInfo:
    duration = _number(entry, duration_key, path, video)
    frames = _number(entry, frames_key, path, video) if frames_key else None
    feature_frames = _number(entry, feature_frames_key, path, video) if feature_frames_key else None
    fps = _number(entry, fps_key, path, video) if fps_key else None
    if fps is None and frames is not None and duration is not None:
        fps = frames / duration
    covered = None
    if feature_frames is not None and frames is not None and duration is not None:
        covered = feature_frames / frames * duration  # G-TAD's corrected_second
    return VideoInfo(duration, fps, covered)


def _from_json(data: Any, path: str) -> dict[str, VideoInfo] | None:
    if not isinstance(data, dict):
        raise AnnotationError(path, "expected a JSON object")
    if isinstance(data.get("database"), dict):
        out = {}
        for vid, entry in data["database"].items():
            if not isinstance(entry, dict):
                raise AnnotationError(path, f"video {vid!r}: entry is not an object")
            out[str(vid)] = _info(entry, path, vid, "duration", "frame", None, "fps")
        return out
    entries = [e for e in data.values() if isinstance(e, dict)]
    if entries and all("duration_second" in e for e in entries):  # G-TAD/BSN anet_anno_action.json
        return {str(v): _info(e, path, v, "duration_second", "duration_frame", "feature_frame", None)
                for v, e in data.items()}
    if entries and all("num_frames" in e and "fps" in e for e in entries):  # 2D-TAN TACoS
        out = {}
        for vid, entry in data.items():
            frames, fps = _number(entry, "num_frames", path, vid), _number(entry, "fps", path, vid)
            out[str(vid)] = VideoInfo(duration=frames / fps, fps=fps)
        return out
    return None


def _from_csv(text: str, path: str) -> dict[str, VideoInfo] | None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    names = {name.strip(): name for name in reader.fieldnames or []}
    if "video" in names and "featureFrame" in names and "numFrame" in names and "seconds" in names:
        out = {}  # G-TAD/BSN video_info_new.csv
        for row in reader:
            entry = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            out[entry["video"]] = _info(entry, path, entry["video"], "seconds", "numFrame", "featureFrame", "fps")
        return out
    return None

