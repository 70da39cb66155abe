"""ActivityNet Captions (``train.json``, ``val_1.json``, ``val_2.json``), used for grounding on ActivityNet.

The file is ``{"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], ...], "sentences":
[" A young woman ...", ...]}}``: ids keep the ``v_`` prefix, sentences often start with a space.

The kept queries are those of 2D-TAN's loader (keep if ``start < end``, then clip to ``[0, duration]``),
with every change counted in the report:

* ``length_mismatch`` (per video): ``timestamps`` and ``sentences`` differ in length; like ``zip`` in
  the official loaders, the extra entries are ignored (and counted as ``unpaired_entry``);
* ``start_after_end`` / ``zero_length``: dropped;
* ``negative_start`` / ``end_clipped``: clipped to 0 / the duration;
* ``start_beyond_duration``: empty after clipping, dropped (2D-TAN would keep such a reversed moment).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, NamedTuple

from bsp_lightning.annotations.activitynet import normalize_video_id
from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_json, to_float


class CaptionQuery(NamedTuple):
    """One sentence with its moment (the record type of this format).

    Attributes:
        video_id: id after prefix normalisation (the file's ids carry ``v_``).
        start: start time in seconds, clipped to ``[0, duration]``.
        end: end time in seconds, clipped to ``[0, duration]``.
        sentence: the sentence with surrounding whitespace removed.
        duration: the video's duration in seconds.
        index: position of the sentence within its video's lists.
    """

    video_id: str
    start: float
    end: float
    sentence: str
    duration: float
    index: int


@dataclass(frozen=True)
class CaptionAnnotations:
    """What :func:`load_anet_captions` returns: kept queries, every video's duration, the report."""

    queries: list[CaptionQuery]
    durations: dict[str, float]
    report: LoadReport

    @property
    def videos(self) -> list[str]:
        """Sorted ids of the videos with at least one kept query."""
        return sorted({q.video_id for q in self.queries})


def load_anet_captions(
    path: str | os.PathLike,
    strip_v_prefix: bool = False,
    add_v_prefix: bool = False,
) -> CaptionAnnotations:
    """Load an ActivityNet Captions file as grounding queries.

    Args:
        path: ``train.json``, ``val_1.json`` or ``val_2.json``.
        strip_v_prefix: remove the ``v_`` prefix (to match ActivityNet-1.3 ids).
        add_v_prefix: add a ``v_`` prefix (for files written without it).

    Returns:
        :class:`CaptionAnnotations` (anomalies: see the module docstring).

    Raises:
        AnnotationError: missing/empty/malformed file, a video without ``duration``/``timestamps``/
            ``sentences``, a timestamp that is not ``[start, end]``, non-numeric times or duration.
    """
    path = str(path)
    normalize_video_id("", strip_v_prefix, add_v_prefix)
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise AnnotationError(path, "expected a non-empty object {video_id: {duration, timestamps, sentences}}")
    report = LoadReport("anet-captions", sources=[path])
    queries: list[CaptionQuery] = []
    durations: dict[str, float] = {}
    for raw_id, entry in data.items():
        duration, timestamps, sentences = _parse_video(entry, raw_id, path)
        video_id = normalize_video_id(raw_id, strip_v_prefix, add_v_prefix)
        durations[video_id] = duration
        if len(timestamps) != len(sentences):
            report.add("length_mismatch", raw_id)
            report.add("unpaired_entry", n=abs(len(timestamps) - len(sentences)))
        for i, (stamp, sentence) in enumerate(zip(timestamps, sentences)):
            where = f"{raw_id}[{i}]"
            what = f"video {raw_id!r} timestamp {i}"
            if not isinstance(stamp, (list, tuple)) or len(stamp) != 2:
                raise AnnotationError(path, f"{what}: expected [start, end], got {stamp!r}")
            start = to_float(stamp[0], path, f"{what}: start")
            end = to_float(stamp[1], path, f"{what}: end")
            if start > end:
                report.add("start_after_end", where)
                continue
            if start == end:
                report.add("zero_length", where)
                continue
            if start < 0:
                report.add("negative_start", where)
                start = 0.0
            if end > duration:
                report.add("end_clipped", where)
                end = duration
            if start >= end:
                report.add("start_beyond_duration", where)
                continue
            if not isinstance(sentence, str):
                raise AnnotationError(path, f"video {raw_id!r} sentence {i} is not a string")
            queries.append(CaptionQuery(video_id, start, end, sentence.strip(), duration, i))
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return CaptionAnnotations(queries, durations, report)


def _parse_video(entry: Any, video_id: str, path: str) -> tuple[float, list[Any], list[Any]]:
    if not isinstance(entry, dict):
        raise AnnotationError(path, f"video {video_id!r}: entry is not an object")
    for key in ("duration", "timestamps", "sentences"):
        if key not in entry:
            raise AnnotationError(path, f"video {video_id!r}: missing key {key!r}")
    for key in ("timestamps", "sentences"):
        if not isinstance(entry[key], list):
            raise AnnotationError(path, f"video {video_id!r}: {key!r} is not a list")
    duration = to_float(entry["duration"], path, f"video {video_id!r}: duration")
    return duration, entry["timestamps"], entry["sentences"]
