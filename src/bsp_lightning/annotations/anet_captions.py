"""ActivityNet Captions (``train.json``, ``val_1.json``, ``val_2.json``), used for grounding on ActivityNet.

The file is ``{"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], ...], "sentences":
[" A young woman ...", ...]}}``: ids keep the ``v_`` prefix, sentences often start with a space.

Two policies (:mod:`bsp_lightning.annotations.query`), every change counted in the report:

``"2dtan"``: the kept queries are those of 2D-TAN's loader (keep if ``start < end``, then clip to
``[0, duration]``):

* ``length_mismatch`` (per video): ``timestamps`` and ``sentences`` differ in length; like ``zip`` in
  the official loaders, the extra entries are ignored (and counted as ``unpaired_entry``);
* ``start_after_end`` / ``zero_length``: dropped;
* ``negative_start`` / ``end_clipped``: clipped to 0 / the duration;
* ``start_beyond_duration``: empty after clipping, dropped (2D-TAN would keep such a reversed moment).

``"lgi"``: ids as written, pairs read with ``zip`` (``unpaired_entry`` counted), every query kept as written;
counted: ``start_after_end``, ``zero_length``, ``end_past_video``, ``negative_start``; a video without a duration or
with a non-positive one is skipped (``missing_duration``, ``non_positive_duration``). Several files are read in
order (LGI's test set is ``val_1.json`` + ``val_2.json``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bsp_lightning.annotations.activitynet import normalize_video_id
from bsp_lightning import legacy
from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_json, to_float
from bsp_lightning.annotations.query import GroundingAnnotations, GroundingQuery, check_policy, clip_2dtan
from bsp_lightning.annotations.query import count_lgi_anomalies, lgi_keeps_duration

__all__ = ["load_anet_captions"]


def load_anet_captions(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    policy: str = "2dtan",
    strip_v_prefix: bool = False,
    add_v_prefix: bool = False,
) -> GroundingAnnotations:
    """Load ActivityNet Captions file(s) as grounding queries.

    Args:
        paths: ``train.json``, ``val_1.json`` or ``val_2.json``, or a list of them (read in order).
        policy: ``"2dtan"`` or ``"lgi"`` (module docstring).
        strip_v_prefix: ``"2dtan"``: remove the ``v_`` prefix (to match ActivityNet-1.3 ids).
        add_v_prefix: ``"2dtan"``: add a ``v_`` prefix (for files written without it).

    Returns:
        :class:`~bsp_lightning.annotations.query.GroundingAnnotations` (sources ``"<file name>:<video>#<i>"``).

    Raises:
        AnnotationError: missing/empty/malformed file, a video without ``duration``/``timestamps``/
            ``sentences``, a timestamp that is not ``[start, end]``, non-numeric times or duration.
        ValueError: an unknown policy.
    """
    check_policy(policy)
    files = [str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths]
    normalize_video_id("", strip_v_prefix, add_v_prefix)
    name = "anet-captions" if policy == "2dtan" else "anet-captions (LGI: no filtering, no clipping)"
    report = LoadReport(name, sources=files)
    queries: list[GroundingQuery] = []
    durations: dict[str, float] = {}
    for path in files:
        read = _read_2dtan if policy == "2dtan" else _read_lgi
        read(path, report, queries, durations, strip_v_prefix, add_v_prefix)
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return GroundingAnnotations(queries, durations, report)


def _read_2dtan(path: str, report: LoadReport, queries: list[GroundingQuery], durations: dict[str, float],
                strip_v_prefix: bool, add_v_prefix: bool) -> None:
    data = read_json(path)
    if not isinstance(data, dict) or not data:
        raise AnnotationError(path, "expected a non-empty object {video_id: {duration, timestamps, sentences}}")
    name = os.path.basename(path)
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
            moment = clip_2dtan(to_float(stamp[0], path, f"{what}: start"), to_float(stamp[1], path, f"{what}: end"),
                                duration, where, report)
            if moment is None:
                continue
            start, end = moment
            if not isinstance(sentence, str):
                raise AnnotationError(path, f"video {raw_id!r} sentence {i} is not a string")
            queries.append(GroundingQuery(video_id, start, end, sentence.strip(), duration, f"{name}:{raw_id}#{i}",
                                          sentence.strip()))


def _read_lgi(path: str, report: LoadReport, queries: list[GroundingQuery], durations: dict[str, float],
              strip_v_prefix: bool, add_v_prefix: bool) -> None:
    data = read_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, f"expected a JSON object of videos, got {type(data).__name__}")
    name = os.path.basename(path)
    for vid, entry in data.items():
        if not isinstance(entry, dict) or not all(k in entry for k in ("duration", "timestamps", "sentences")):
            raise AnnotationError(path, f"video {vid!r}: needs 'duration', 'timestamps' and 'sentences'")
        duration = to_float(entry["duration"], path, f"duration of {vid}")
        if not lgi_keeps_duration(duration, f"{name}:{vid}", report):
            continue
        durations[vid] = duration
        stamps, sentences = entry["timestamps"], entry["sentences"]
        if len(stamps) != len(sentences):
            report.add("unpaired_entry", f"{name}:{vid}", abs(len(stamps) - len(sentences)))
        for i, (ts, sentence) in enumerate(zip(stamps, sentences)):
            if not isinstance(ts, (list, tuple)) or len(ts) != 2:
                raise AnnotationError(path, f"video {vid!r} timestamp {i}: expected [start, end], got {ts!r}")
            start = to_float(ts[0], path, f"start of {vid}#{i}")
            end = to_float(ts[1], path, f"end of {vid}#{i}")
            text = str(sentence).strip()
            q = GroundingQuery(vid, start, end, text, duration, f"{name}:{vid}#{i}", text)
            count_lgi_anomalies(q, report)
            queries.append(q)


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


__getattr__ = legacy.module_getattr(__name__)
