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
* The files carry no video durations: pass a durations file (:func:`read_durations`) or derive them
  from feature files (:func:`durations_from_features`).
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


def read_durations(path: str | os.PathLike) -> dict[str, float]:
    """Read video durations from a JSON ``{video: seconds}`` or a CSV ``video,duration`` file.

    The CSV may have a header row (a first row whose duration is not a number is taken as one).
    """
    path = str(path)
    text = read_text(path, "durations file")
    if path.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise AnnotationError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from exc
        if not isinstance(data, dict):
            raise AnnotationError(path, "expected a JSON object {video: duration}")
        return {str(k): to_float(v, path, f"duration of {k!r}") for k, v in data.items()}
    out: dict[str, float] = {}
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise AnnotationError(path, f"expected 'video,duration', got {','.join(row)!r}", line)
        if line == 1 and not _is_number(row[1]):
            continue  # header
        out[row[0].strip()] = to_float(row[1].strip(), path, "duration", line)
    if not out:
        raise AnnotationError(path, "no durations in file")
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
