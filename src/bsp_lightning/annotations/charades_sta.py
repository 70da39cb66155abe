"""Charades-STA sentence grounding: ``charades_sta_{train,test}.txt`` + ``Charades_v1_{train,test}.csv``.

A query line is ``AO8RW 0.0 6.9##a person is putting a book on a shelf.``; the video durations are the
``length`` column of the Charades CSV (columns ``id,subject,scene,quality,relevance,verified,script,
objects,descriptions,actions,length``, with quoted free-text fields that contain commas and newlines, so
it is read with the ``csv`` module).

Two policies (:mod:`bsp_lightning.annotations.query`), every reason for a change counted:

``"2dtan"``: the kept queries are exactly those of 2D-TAN's loader (``end = min(end, duration)``, keep if
``start < end``); ``model_sentence`` is the sentence as :func:`charades_sentence` reads the raw line (2D-TAN's
quirk):

* start > end: dropped (``start_after_end``); start == end: dropped (``zero_length``);
* end after the duration: clipped to the duration (``end_clipped``); a query that starts at or after
  the duration is then empty and dropped (``start_beyond_duration``);
* a video absent from the CSV: ``missing_duration``; dropped unless ``keep_missing_duration=True``
  (then kept with ``duration=None`` and no clipping). 2D-TAN would crash here.

``"lgi"``: every line is kept as written (the sentence stripped), LGI's loader neither filters nor clips: the 4
Charades-STA train lines with start >= end stay, and ends past the video stay; counted: ``start_after_end``,
``zero_length``, ``end_past_video``, ``negative_start``. Skipped (the official code would crash): ``blank_line``,
``missing_duration``, ``non_positive_duration``.
"""

from __future__ import annotations

import csv
import io
import os

from bsp_lightning import legacy
from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_text, to_float
from bsp_lightning.annotations.query import GroundingAnnotations, GroundingQuery, check_policy, clip_2dtan
from bsp_lightning.annotations.query import count_lgi_anomalies, lgi_keeps_duration

__all__ = ["SEPARATOR", "charades_sentence", "load_charades_sta", "read_charades_durations"]

SEPARATOR = "##"


def charades_sentence(raw_line: str) -> str:
    """The sentence 2D-TAN reads from a raw ``charades_sta`` line: ``line.split("##")[1].split(".\\n")[0]``
    (``lib/datasets/charades.py``).

    Quirk reproduced: the final period is dropped only when the newline follows it directly; a last line
    without a newline, or a space before the newline, keeps it (then ``"shelf."`` is looked up in GloVe as is).
    """
    return raw_line.split(SEPARATOR, 1)[1].split(".\n")[0]


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
    policy: str = "2dtan",
    keep_missing_duration: bool = False,
) -> GroundingAnnotations:
    """Load Charades-STA queries with their video durations.

    Args:
        sta_path: ``charades_sta_{train,test}.txt``.
        csv_path: ``Charades_v1_{train,test}.csv``. ``None`` looks for ``Charades_v1_<split>.csv`` next to
            ``sta_path`` (split from its name); without a CSV every query counts as ``missing_duration``.
        policy: ``"2dtan"`` or ``"lgi"`` (module docstring).
        keep_missing_duration: ``"2dtan"``: keep queries whose video has no duration (with ``duration=None``).

    Returns:
        :class:`~bsp_lightning.annotations.query.GroundingAnnotations` (sources ``"<file name>:<line>"``; anomalies:
        the module docstring, and ``blank_line``).

    Raises:
        AnnotationError: missing/empty files, a line without ``##`` or without ``video start end``,
            non-numeric times, the CSV errors of :func:`read_charades_durations`. ValueError: an unknown policy.
    """
    check_policy(policy)
    sta_path = str(sta_path)
    text = read_text(sta_path, "Charades-STA file")
    if csv_path is None:
        csv_path = _default_csv(sta_path)
    durations = read_charades_durations(csv_path) if csv_path is not None else {}
    name = "charades-sta" if policy == "2dtan" else "charades-sta (LGI: no filtering, no clipping)"
    report = LoadReport(name, sources=[sta_path] + ([str(csv_path)] if csv_path is not None else []))
    queries: list[GroundingQuery] = []
    lines = text.splitlines(keepends=True)  # 2D-TAN's sentence rule looks at the newline
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        where = f"{os.path.basename(sta_path)}:{lineno}"
        if not line.strip():
            if policy == "lgi" or lineno < len(lines):
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
        duration = durations.get(video_id)
        if policy == "lgi":
            if lgi_keeps_duration(duration, where, report):
                q = GroundingQuery(video_id, start, end, sentence.strip(), float(duration), where, sentence.strip())
                count_lgi_anomalies(q, report)
                queries.append(q)
            continue
        moment = clip_2dtan(start, end, duration, where, report, clip_start=False)  # 2D-TAN clips only the end
        if moment is None:
            continue
        start, end = moment
        if duration is None:
            report.add("missing_duration", where)
            if not keep_missing_duration:
                continue
        # text mode reads "\r\n" as "\n", as the official open() does
        read = charades_sentence(line + "\n" if raw != line else line)
        queries.append(GroundingQuery(video_id, start, end, sentence.strip(), duration, where, read))
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return GroundingAnnotations(queries, durations, report)


def _default_csv(sta_path: str) -> str | None:
    name = os.path.basename(sta_path)
    for split in ("train", "test"):
        if f"_{split}" in name:
            candidate = os.path.join(os.path.dirname(sta_path), f"Charades_v1_{split}.csv")
            if os.path.exists(candidate):
                return candidate
    return None


__getattr__ = legacy.module_getattr(__name__)
