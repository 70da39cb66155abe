"""Charades-STA sentence grounding: ``charades_sta_{train,test}.txt`` + ``Charades_v1_{train,test}.csv``.

A query line is ``AO8RW 0.0 6.9##a person is putting a book on a shelf.``; the video durations are the
``length`` column of the Charades CSV (columns ``id,subject,scene,quality,relevance,verified,script,
objects,descriptions,actions,length``, with quoted free-text fields that contain commas and newlines, so
it is read with the ``csv`` module).

The kept queries are exactly those of 2D-TAN's loader (``end = min(end, duration)``, keep if
``start < end``), with every reason for a change counted:

* start > end: dropped (``start_after_end``); start == end: dropped (``zero_length``);
* end after the duration: clipped to the duration (``end_clipped``); a query that starts at or after
  the duration is then empty and dropped (``start_beyond_duration``);
* a video absent from the CSV: ``missing_duration``; dropped unless ``keep_missing_duration=True``
  (then kept with ``duration=None`` and no clipping). 2D-TAN would crash here.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import NamedTuple

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_text, to_float

SEPARATOR = "##"


class CharadesSTAQuery(NamedTuple):
    """One sentence query (the record type of this format).

    Attributes:
        video_id: Charades id, e.g. ``"AO8RW"``.
        start: start time in seconds.
        end: end time in seconds, clipped to ``duration``.
        sentence: the text after ``##`` with surrounding whitespace removed (final period kept).
        duration: the video's ``length`` in seconds (``None`` only with ``keep_missing_duration``).
        line: 1-based line number in the query file.
    """

    video_id: str
    start: float
    end: float
    sentence: str
    duration: float | None
    line: int


@dataclass(frozen=True)
class CharadesSTAAnnotations:
    """What :func:`load_charades_sta` returns: the kept queries, the durations read, and the report."""

    queries: list[CharadesSTAQuery]
    durations: dict[str, float]
    report: LoadReport

    @property
    def videos(self) -> list[str]:
        """Sorted ids of the videos with at least one kept query."""
        return sorted({q.video_id for q in self.queries})


def read_charades_durations(path: str | os.PathLike) -> dict[str, float]:
    """Video id -> ``length`` (seconds) from ``Charades_v1_{train,test}.csv``.

    Raises:
        AnnotationError: missing/empty file, no ``id``/``length`` column, a non-numeric length (with the
            line number), a row without an id.
    """
    path = str(path)
    text = read_text(path, "Charades CSV", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = reader.fieldnames or []
    missing = [c for c in ("id", "length") if c not in fields]
    if missing:
        raise AnnotationError(path, f"no column {', '.join(map(repr, missing))} (header: {','.join(fields)})", 1)
    out: dict[str, float] = {}
    for row in reader:
        line = reader.line_num  # the physical line where the row ends (quoted fields span lines)
        video_id = (row.get("id") or "").strip()
        if not video_id:
            raise AnnotationError(path, "row without an id", line)
        out[video_id] = to_float((row.get("length") or "").strip(), path, f"length of {video_id}", line)
    if not out:
        raise AnnotationError(path, "no rows after the header")
    return out


def load_charades_sta(
    sta_path: str | os.PathLike,
    csv_path: str | os.PathLike | None = None,
    keep_missing_duration: bool = False,
) -> CharadesSTAAnnotations:
    """Load Charades-STA queries with their video durations.

    Args:
        sta_path: ``charades_sta_{train,test}.txt``.
        csv_path: ``Charades_v1_{train,test}.csv``. ``None`` looks for ``Charades_v1_<split>.csv`` next to
            ``sta_path`` (split from its name); without a CSV every query counts as ``missing_duration``.
        keep_missing_duration: keep queries whose video has no duration (with ``duration=None``).

    Returns:
        :class:`CharadesSTAAnnotations` (anomalies: see the module docstring; also ``blank_line``).

    Raises:
        AnnotationError: missing/empty files, a line without ``##`` or without ``video start end``,
            non-numeric times, the CSV errors of :func:`read_charades_durations`.
    """
    sta_path = str(sta_path)
    text = read_text(sta_path, "Charades-STA file")
    if csv_path is None:
        csv_path = _default_csv(sta_path)
    durations = read_charades_durations(csv_path) if csv_path is not None else {}
    report = LoadReport("charades-sta", sources=[sta_path] + ([str(csv_path)] if csv_path is not None else []))

    queries: list[CharadesSTAQuery] = []
    lines = text.splitlines()
    for lineno, line in enumerate(lines, start=1):
        where = f"{os.path.basename(sta_path)}:{lineno}"
        if not line.strip():
            if lineno < len(lines):
                report.add("blank_line", where)
            continue
        if SEPARATOR not in line:
            raise AnnotationError(sta_path, f"no '##' between times and sentence: {line.strip()!r}", lineno)
        head, sentence = line.split(SEPARATOR, 1)
        fields = head.split()
        if len(fields) != 3:
            raise AnnotationError(sta_path, f"expected 'video start end' before '##', got {head.strip()!r}", lineno)
        video_id = fields[0]
        start = to_float(fields[1], sta_path, "start", lineno)
        end = to_float(fields[2], sta_path, "end", lineno)
        if start > end:
            report.add("start_after_end", where)
            continue
        if start == end:
            report.add("zero_length", where)
            continue
        if start < 0:
            report.add("negative_start", where)
        duration = durations.get(video_id)
        if duration is None:
            report.add("missing_duration", where)
            if not keep_missing_duration:
                continue
        else:
            if end > duration:
                report.add("end_clipped", where)
                end = duration
            if start >= end:
                report.add("start_beyond_duration", where)
                continue
        queries.append(CharadesSTAQuery(video_id, start, end, sentence.strip(), duration, lineno))
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return CharadesSTAAnnotations(queries, durations, report)


def _default_csv(sta_path: str) -> str | None:
    name = os.path.basename(sta_path)
    for split in ("train", "test"):
        if f"_{split}" in name:
            candidate = os.path.join(os.path.dirname(sta_path), f"Charades_v1_{split}.csv")
            if os.path.exists(candidate):
                return candidate
    return None
