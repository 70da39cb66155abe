"""THUMOS-14 temporal annotations: the official per-class text files.

One folder per split (``TH14_Temporal_annotations_validation/annotation/`` and the test one) holds
``<Class>_val.txt`` (or ``_test.txt``) for each of the 20 classes plus ``Ambiguous_val.txt``; each line is
``video_validation_0000266  72.8 76.4`` (the official files put two spaces after the name; any whitespace
is accepted here).

Facts the official evaluation relies on and this loader keeps:

* ``Ambiguous_*`` segments are neither positive nor negative; they are returned apart in
  :attr:`ThumosAnnotations.ambiguous`.
* Every CliffDiving instance is also listed under Diving; both are kept (the official evaluation scores
  them as two classes) and the repetitions are counted as ``cliffdiving_also_diving``.
* The files carry no video durations: pass a durations file (:func:`read_durations`: JSON or CSV, columns
  found by header name) or derive them from feature files (:func:`durations_from_features`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_text, require_dir, to_float

#: The 20 detection classes with their official (UCF101) indices, in the official order.
THUMOS14_CLASS_IDS: dict[str, int] = {
    "BaseballPitch": 7, "BasketballDunk": 9, "Billiards": 12, "CleanAndJerk": 21, "CliffDiving": 22,
    "CricketBowling": 23, "CricketShot": 24, "Diving": 26, "FrisbeeCatch": 31, "GolfSwing": 33,
    "HammerThrow": 36, "HighJump": 40, "JavelinThrow": 45, "LongJump": 51, "PoleVault": 68,
    "Shotput": 79, "SoccerPenalty": 85, "TennisSwing": 92, "ThrowDiscus": 93, "VolleyballSpiking": 97,
}  # fmt: skip
#: Class names; ``label_index`` of a record is the position in this tuple (0..19).
THUMOS14_CLASSES: tuple[str, ...] = tuple(THUMOS14_CLASS_IDS)
AMBIGUOUS = "Ambiguous"
_FILE_RE = re.compile(r"^(?P<label>.+)_(?P<split>val|test)\.txt$")


class ThumosSegment(NamedTuple):
    """One annotated instance (the record type of this format).

    Attributes:
        video_id: e.g. ``"video_validation_0000266"``.
        start: start time in seconds, as in the file.
        end: end time in seconds.
        label: class name (``"Ambiguous"`` for ambiguous segments).
        label_index: position in :data:`THUMOS14_CLASSES` (-1 for ambiguous segments).
        class_id: the official UCF101 index, e.g. 7 for BaseballPitch (-1 for ambiguous segments).
        duration: the video's duration in seconds, ``None`` when no duration was given for it.
    """

    video_id: str
    start: float
    end: float
    label: str
    label_index: int
    class_id: int
    duration: float | None


@dataclass(frozen=True)
class ThumosAnnotations:
    """What :func:`load_thumos14` returns.

    Attributes:
        split: ``"val"`` or ``"test"``.
        segments: the instances of the 20 classes, sorted by class then file order.
        ambiguous: the ``Ambiguous_*`` segments (label ``"Ambiguous"``).
        videos: sorted ids of the videos with at least one instance of the 20 classes.
        durations: video id -> duration for the annotated videos whose duration is known.
        report: counts and anomalies.
    """

    split: str
    segments: list[ThumosSegment]
    ambiguous: list[ThumosSegment]
    videos: list[str]
    durations: dict[str, float]
    report: LoadReport

    @property
    def classes(self) -> tuple[str, ...]:
        return THUMOS14_CLASSES


#: Column names (and nested-JSON keys) that hold a duration in seconds, in order of preference; compared
#: case-insensitively with ``-`` and spaces read as ``_``. ``video_duration``: G-TAD's
#: ``thumos14_test_groundtruth.csv``; ``duration``: mmtad/OpenTAD's ``TH14_video_info.json``.
DURATION_COLUMNS = ("duration", "video_duration", "duration_second", "duration_seconds", "seconds", "length")
#: Column names that hold the video id, in order of preference (same comparison).
VIDEO_COLUMNS = ("video", "video_name", "video_id", "videoid", "vid", "name", "id")


def read_durations(path: str | os.PathLike) -> dict[str, float]:
    """Read video durations (seconds) from a JSON or CSV side file.

    Accepted layouts:

    * JSON ``{video: seconds}``, or nested ``{video: {"duration": seconds, "fps": ...}}`` (mmtad/OpenTAD's
      ``TH14_video_info.json``; any key of :data:`DURATION_COLUMNS` is taken, the first in that order);
    * CSV with a header row: the video and duration columns are found **by name** (:data:`VIDEO_COLUMNS`,
      :data:`DURATION_COLUMNS`), e.g. G-TAD's ``thumos14_test_groundtruth.csv``
      (``video-name,t-init,t-end,f-init,f-end,video-duration,...``, one row per instance, so a video repeats);
    * a two-column CSV ``video,duration``, with or without a header row of any names.

    A video listed more than once must have the same duration every time.

    Raises:
        AnnotationError: missing/empty/malformed file; a CSV of more than two columns whose header names no
            video or no duration column (the message lists the columns found); a nested JSON entry without a
            duration key (the message lists its keys); conflicting durations for one video (both lines);
            a non-numeric, non-finite or non-positive duration.
    """
    path = str(path)
    text = read_text(path, "durations file")
    if path.lower().endswith(".json") or text.lstrip().startswith("{"):
        durations = _durations_from_json(text, path)
    else:
        durations = _durations_from_csv(text, path)
    if not durations:
        raise AnnotationError(path, "no durations in file")
    return durations


def _column_key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def _pick(names: list[str], wanted: tuple[str, ...]) -> int | None:
    keys = [_column_key(n) for n in names]
    return next((keys.index(w) for w in wanted if w in keys), None)


def _set_duration(out: dict[str, float], where: dict[str, str], video: str, value: object, path: str,
                  loc: str, line: int | None = None) -> None:
    seconds = to_float(value, path, "duration" if line is not None else f"duration of {video!r}", line)
    if seconds <= 0:
        raise AnnotationError(path, f"duration of {video!r} must be positive, got {seconds:g}", line)
    if video in out and out[video] != seconds:
        raise AnnotationError(
            path, f"conflicting durations for video {video!r}: {out[video]:g} ({where[video]}) and {seconds:g} ({loc})"
        )
    out.setdefault(video, seconds)
    where.setdefault(video, loc)


def _durations_from_json(text: str, path: str) -> dict[str, float]:
    def no_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
        obj: dict[str, object] = {}
        for key, value in pairs:
            if key in obj and obj[key] != value:
                raise AnnotationError(path, f"key {key!r} appears twice with different values")
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=no_repeats)
    except json.JSONDecodeError as exc:
        raise AnnotationError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise AnnotationError(path, "expected a JSON object {video: duration} or {video: {\"duration\": ...}}")
    out: dict[str, float] = {}
    where: dict[str, str] = {}
    for video, value in data.items():
        if isinstance(value, dict):
            key = _pick(list(value), DURATION_COLUMNS)
            if key is None:
                raise AnnotationError(
                    path, f"entry {video!r} has no duration key (found: {', '.join(map(str, value)) or 'none'}; "
                    f"expected one of {', '.join(DURATION_COLUMNS)})"
                )
            value = value[list(value)[key]]
        _set_duration(out, where, str(video), value, path, f"key {video!r}")
    return out


def _durations_from_csv(text: str, path: str) -> dict[str, float]:
    rows = [(reader.line_num, row) for reader in [csv.reader(io.StringIO(text))] for row in reader]
    rows = [(line, row) for line, row in rows if row and "".join(row).strip()]
    first_line, first = rows[0]
    header = len(first) >= 2 and not _is_number(first[1])
    video_col, duration_col = (_pick(first, VIDEO_COLUMNS), _pick(first, DURATION_COLUMNS)) if header else (None, None)
    if video_col is None or duration_col is None:
        if max(len(row) for _, row in rows) > 2:
            found = ", ".join(repr(c.strip()) for c in first) if header else "no header row"
            raise AnnotationError(
                path, f"cannot tell the video and duration columns (columns: {found}); expected a header naming one "
                f"of {', '.join(VIDEO_COLUMNS)} and one of {', '.join(DURATION_COLUMNS)}"
            )
        video_col, duration_col = 0, 1  # two columns: video,duration whatever the header says
    out: dict[str, float] = {}
    where: dict[str, str] = {}
    for line, row in rows[1:] if header else rows:
        if len(row) <= max(video_col, duration_col):
            raise AnnotationError(path, f"expected at least {max(video_col, duration_col) + 1} columns, "
                                  f"got {','.join(row)!r}", line)
        _set_duration(out, where, row[video_col].strip(), row[duration_col].strip(), path, f"line {line}", line)
    return out


def durations_from_features(
    feature_dir: str | os.PathLike,
    stride: int,
    fps: float | Mapping[str, float] | Callable[[str], float],
) -> dict[str, float]:
    """Durations ``num_snippets * stride / fps`` from per-video ``<video_id>.npy`` feature files.

    Only the ``.npy`` headers are read (memory-mapped), so this is fast on large folders.

    Args:
        feature_dir: folder of ``(num_snippets, D)`` arrays.
        stride: frames between consecutive snippets.
        fps: one frame rate for all videos, a mapping video id -> fps, or a function of the video id.
    """
    folder = require_dir(feature_dir, "feature folder")
    out: dict[str, float] = {}
    for file in sorted(folder.glob("*.npy")):
        try:
            num_snippets = np.load(file, mmap_mode="r").shape[0]
        except (OSError, ValueError) as exc:
            raise AnnotationError(file, f"cannot read feature file: {exc}") from exc
        if isinstance(fps, Mapping) and file.stem not in fps:
            raise AnnotationError(file, f"no frame rate given for video {file.stem!r}")
        video_fps = fps(file.stem) if callable(fps) else fps[file.stem] if isinstance(fps, Mapping) else fps
        video_fps = to_float(video_fps, file, "frame rate")
        if video_fps <= 0:
            raise AnnotationError(file, f"frame rate must be positive, got {video_fps}")
        out[file.stem] = num_snippets * stride / video_fps
    if not out:
        raise AnnotationError(folder, "no .npy feature files")
    return out


def load_thumos14(
    annotation_dir: str | os.PathLike,
    split: str | None = None,
    durations: Mapping[str, float] | str | os.PathLike | None = None,
) -> ThumosAnnotations:
    """Load one split of the THUMOS-14 temporal annotations.

    Args:
        annotation_dir: the folder of ``<Class>_{val,test}.txt`` files.
        split: ``"val"`` or ``"test"``; ``None`` infers it from the file names (error when both occur).
        durations: video id -> seconds, or a file for :func:`read_durations`.

    Returns:
        :class:`ThumosAnnotations`. Anomalies counted in its report: ``cliffdiving_also_diving``,
        ``duplicate_instance`` (a line repeated within one class file), ``start_after_end``,
        ``zero_length``, ``end_beyond_duration``, ``missing_duration`` (per annotated video, only when
        durations were given), ``missing_class_file``, ``missing_ambiguous_file``, ``unknown_class_file``
        (skipped), ``blank_line``.

    Raises:
        AnnotationError: missing folder, no annotation files, a line without three fields, non-numeric
            times, an empty class file, an unreadable durations file.
    """
    folder = require_dir(annotation_dir, "THUMOS-14 annotation folder")
    files: dict[tuple[str, str], Path] = {}
    for file in folder.iterdir():
        match = _FILE_RE.match(file.name)
        if match and file.is_file():
            files[(match["label"], match["split"])] = file
    splits = sorted({s for _, s in files})
    if not files:
        raise AnnotationError(folder, "no <Class>_val.txt or <Class>_test.txt annotation files")
    if split is None:
        if len(splits) > 1:
            raise AnnotationError(folder, "both _val and _test files present: pass split='val' or 'test'")
        split = splits[0]
    elif split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    if split not in splits:
        raise AnnotationError(folder, f"no *_{split}.txt files")
    report = LoadReport("thumos14", sources=[str(folder)])
    duration_of = _resolve_durations(durations)

    segments: list[ThumosSegment] = []
    for label_index, label in enumerate(THUMOS14_CLASSES):
        file = files.get((label, split))
        if file is None:
            report.add("missing_class_file", f"{label}_{split}.txt")
            continue
        seen: set[tuple[str, float, float]] = set()
        for video_id, start, end, where in _read_lines(file, report):
            if (video_id, start, end) in seen:
                report.add("duplicate_instance", where)
            seen.add((video_id, start, end))
            segments.append(
                ThumosSegment(video_id, start, end, label, label_index, THUMOS14_CLASS_IDS[label], None)
            )
    for (label, file_split), file in sorted(files.items()):
        if file_split == split and label not in THUMOS14_CLASS_IDS and label != AMBIGUOUS:
            report.add("unknown_class_file", file.name)

    ambiguous: list[ThumosSegment] = []
    amb_file = files.get((AMBIGUOUS, split))
    if amb_file is None:
        report.add("missing_ambiguous_file", f"{AMBIGUOUS}_{split}.txt")
    else:
        ambiguous = [
            ThumosSegment(video_id, start, end, AMBIGUOUS, -1, -1, None)
            for video_id, start, end, _ in _read_lines(amb_file, report)
        ]

    cliff = {(s.video_id, s.start, s.end) for s in segments if s.label == "CliffDiving"}
    n_cliff_in_diving = sum(1 for s in segments if s.label == "Diving" and (s.video_id, s.start, s.end) in cliff)
    if n_cliff_in_diving:
        report.add("cliffdiving_also_diving", n=n_cliff_in_diving)

    videos = sorted({s.video_id for s in segments})
    known: dict[str, float] = {}
    if duration_of is not None:
        for vid in sorted({s.video_id for s in segments + ambiguous}):
            if vid in duration_of:
                known[vid] = duration_of[vid]
            else:
                report.add("missing_duration", vid)
    segments = [s._replace(duration=known.get(s.video_id)) for s in segments]
    ambiguous = [s._replace(duration=known.get(s.video_id)) for s in ambiguous]
    for s in segments + ambiguous:
        where = f"{s.label}: {s.video_id} {s.start} {s.end}"
        if s.start > s.end:
            report.add("start_after_end", where)
        elif s.start == s.end:
            report.add("zero_length", where)
        if s.duration is not None and s.end > s.duration:
            report.add("end_beyond_duration", where)
    report.counts.update(
        records=len(segments), ambiguous=len(ambiguous), videos=len(videos),
        classes=len({s.label for s in segments}),
    )  # fmt: skip
    return ThumosAnnotations(split, segments, ambiguous, videos, known, report)


def _read_lines(file: Path, report: LoadReport) -> list[tuple[str, float, float, str]]:
    out = []
    lines = read_text(file, "THUMOS-14 class file").splitlines()
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            if lineno < len(lines):
                report.add("blank_line", f"{file.name}:{lineno}")
            continue
        if len(fields) != 3:
            raise AnnotationError(file, f"expected 'video start end', got {line.strip()!r}", lineno)
        start = to_float(fields[1], file, "start", lineno)
        end = to_float(fields[2], file, "end", lineno)
        out.append((fields[0], start, end, f"{file.name}:{lineno}"))
    return out


def _resolve_durations(durations: Mapping[str, float] | str | os.PathLike | None) -> dict[str, float] | None:
    if durations is None:
        return None
    if isinstance(durations, Mapping):
        return {str(k): to_float(v, "<durations mapping>", f"duration of {k!r}") for k, v in durations.items()}
    return read_durations(durations)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
