"""Grounding annotations as the official LGI loaders see them: **no filtering and no clipping**.

Unlike :mod:`bsp_lightning.annotations.charades_sta` (which follows 2D-TAN: drops ``start >= end`` and clips the
end to the duration), LGI (``src/dataset/charades.py`` / ``anet.py`` @ ``199e7ab``) keeps every line: the 4
Charades-STA train lines with ``start >= end`` stay, and ends past the video stay, so normalised targets may exceed 1.

* Charades-STA: ``<vid> <start> <end>##<sentence>`` lines; durations from the ``length`` column of the Charades CSV.
* ActivityNet Captions: ``{vid: {"duration", "timestamps", "sentences"}}``; pairs read with ``zip`` (extra
  entries ignored, as officially); a list of files is read in order (the official test set is ``val_1.json`` +
  ``val_2.json``).

What the official code would crash on is counted and skipped (blank lines, a video without a duration, a
non-positive duration); what no code can read (no ``##``, a non-numeric time) raises
:class:`~bsp_lightning.annotations.errors.AnnotationError` naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from bsp_lightning.annotations.charades_sta import read_charades_durations
from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_json, read_text, to_float

__all__ = ["GroundingQuery", "read_charades_sta_lgi", "read_anet_captions_lgi", "FORMATS"]

FORMATS = ("charades", "anet_captions")


class GroundingQuery(NamedTuple):
    """One query as LGI keeps it.

    Attributes:
        video_id: the annotation's video id. start, end: seconds, as written. sentence: the raw sentence.
        duration: seconds. source: ``"file:line"`` (Charades) or ``"file:video#i"`` (ActivityNet Captions).
    """

    video_id: str
    start: float
    end: float
    sentence: str
    duration: float
    source: str


def _check_times(q: GroundingQuery, report: LoadReport) -> None:
    # counted only: LGI trains on these as they are
    if q.start > q.end:
        report.add("start_after_end", q.source)
    elif q.start == q.end:
        report.add("zero_length", q.source)
    if q.end > q.duration:
        report.add("end_past_video", q.source)
    if q.start < 0:
        report.add("negative_start", q.source)


def _keep_duration(duration: float | None, video_id: str, where: str, report: LoadReport) -> bool:
    if duration is None:
        report.add("missing_duration", where)  # the official loader raises KeyError here
        return False
    if duration <= 0:
        report.add("non_positive_duration", where)  # the official targets would divide by zero
        return False
    return True


def read_charades_sta_lgi(sta_path: str | os.PathLike, csv_path: str | os.PathLike
                          ) -> tuple[list[GroundingQuery], LoadReport]:
    """Read ``charades_sta_<split>.txt`` with the durations of ``Charades_v1_<split>.csv``, LGI-style.

    Returns:
        ``(queries in file order, report)``; anomalies: ``start_after_end``, ``zero_length``, ``end_past_video``,
        ``negative_start`` (kept), ``blank_line``, ``missing_duration``, ``non_positive_duration`` (skipped).

    Raises:
        AnnotationError: missing/empty files, a line without ``##`` or ``video start end``, a non-numeric time,
            the CSV errors of :func:`~bsp_lightning.annotations.charades_sta.read_charades_durations`.
    """
    sta_path = str(sta_path)
    text = read_text(sta_path, "Charades-STA file")
    durations = read_charades_durations(csv_path)
    report = LoadReport("charades-sta (LGI: no filtering, no clipping)", sources=[sta_path, str(csv_path)])
    name = os.path.basename(sta_path)
    queries: list[GroundingQuery] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"{name}:{lineno}"
        if not line.strip():
            report.add("blank_line", where)
            continue
        if "##" not in line:
            raise AnnotationError(sta_path, f"no '##' between times and sentence: {line.strip()!r}", lineno)
        head, sentence = line.split("##", 1)
        fields = head.split()
        if len(fields) != 3:
            raise AnnotationError(sta_path, f"expected 'video start end' before '##', got {head.strip()!r}", lineno)
        start = to_float(fields[1], sta_path, "start", lineno)
        end = to_float(fields[2], sta_path, "end", lineno)
        duration = durations.get(fields[0])
        if not _keep_duration(duration, fields[0], where, report):
            continue
        q = GroundingQuery(fields[0], start, end, sentence.strip(), float(duration), where)
        _check_times(q, report)
        queries.append(q)
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return queries, report


def read_anet_captions_lgi(paths: str | os.PathLike | Sequence[str | os.PathLike]
                           ) -> tuple[list[GroundingQuery], LoadReport]:
    """Read ActivityNet Captions JSON file(s) LGI-style (ids as written, ``v_`` kept; pairs by ``zip``).

    Returns:
        ``(queries, report)``; anomalies as :func:`read_charades_sta_lgi`, plus ``unpaired_entry`` (ignored).

    Raises:
        AnnotationError: missing/malformed JSON, a video without ``duration``/``timestamps``/``sentences``,
            a timestamp that is not a pair of numbers.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    report = LoadReport("anet-captions (LGI: no filtering, no clipping)", sources=[str(p) for p in paths])
    queries: list[GroundingQuery] = []
    for path in paths:
        data = read_json(path)
        if not isinstance(data, dict):
            raise AnnotationError(path, f"expected a JSON object of videos, got {type(data).__name__}")
        name = os.path.basename(str(path))
        for vid, entry in data.items():
            if not isinstance(entry, dict) or not all(k in entry for k in ("duration", "timestamps", "sentences")):
                raise AnnotationError(path, f"video {vid!r}: needs 'duration', 'timestamps' and 'sentences'")
            duration = to_float(entry["duration"], path, f"duration of {vid}")
            if not _keep_duration(duration, vid, f"{name}:{vid}", report):
                continue
            stamps, sentences = entry["timestamps"], entry["sentences"]
            if len(stamps) != len(sentences):
                report.add("unpaired_entry", f"{name}:{vid}", abs(len(stamps) - len(sentences)))
            for i, (ts, sentence) in enumerate(zip(stamps, sentences)):
                if not isinstance(ts, (list, tuple)) or len(ts) != 2:
                    raise AnnotationError(path, f"video {vid!r} timestamp {i}: expected [start, end], got {ts!r}")
                q = GroundingQuery(vid, to_float(ts[0], path, f"start of {vid}#{i}"),
                                   to_float(ts[1], path, f"end of {vid}#{i}"), str(sentence).strip(), duration,
                                   f"{name}:{vid}#{i}")
                _check_times(q, report)
                queries.append(q)
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return queries, report
