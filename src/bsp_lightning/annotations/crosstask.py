"""CrossTask: task list, video list, step annotations, and 0.2 s actionness labels.

Files of ``crosstask_release/``:

* ``tasks_primary.txt``: blocks of five lines (task id, title, wikiHow url, number of steps,
  comma-separated steps) each followed by a blank line;
* ``videos.csv`` (and ``videos_val.csv``): ``task,video_id,url`` rows, no header;
* ``annotations/<task>_<video>.csv``: ``step,start,end`` rows (1-based step, seconds). Task ids are
  numeric and YouTube video ids may contain ``_`` and ``-``, so the task is the text before the *first*
  ``_`` and the video id is the rest.

Actionness labels (BSP section 4.1): a video is cut into segments of 0.2 s, segment ``i`` covering
``[0.2 i, 0.2 (i + 1))``; it is positive iff it overlaps a step, with the open-interval overlap
``step.start < segment_end and step.end > segment_start`` (a step that only touches a segment's edge does
not make it positive).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_text, require_dir, to_float

logger = logging.getLogger(__name__)

SEGMENT_LENGTH = 0.2
#: Segment edges are rounded to this many decimals so that ``3 * 0.2`` equals the parsed ``0.6``.
_EDGE_DECIMALS = 9
_FILE_RE = re.compile(r"^(?P<task>\d+)_(?P<video>.+)\.csv$")


class CrossTaskStep(NamedTuple):
    """One annotated step occurrence (the record type of this format): 1-based step, seconds."""

    step: int
    start: float
    end: float


class CrossTaskTask(NamedTuple):
    """One block of ``tasks_primary.txt``."""

    task_id: str
    title: str
    url: str
    n_steps: int
    steps: tuple[str, ...]


class CrossTaskVideo(NamedTuple):
    """One row of ``videos.csv``."""

    task_id: str
    video_id: str
    url: str


@dataclass(frozen=True)
class CrossTaskAnnotations:
    """What :func:`load_crosstask` returns.

    Attributes:
        steps: video id -> its steps in file order (empty list for an empty annotation file).
        video_task: video id -> task id (from the annotation file name).
        tasks: task id -> task (empty when no ``tasks_primary.txt`` was read).
        videos: rows of ``videos.csv`` (empty when none was read).
        report: counts and anomalies.
    """

    steps: dict[str, list[CrossTaskStep]]
    video_task: dict[str, str]
    tasks: dict[str, CrossTaskTask]
    videos: list[CrossTaskVideo]
    report: LoadReport


def read_tasks(path: str | os.PathLike) -> dict[str, CrossTaskTask]:
    """Parse ``tasks_primary.txt`` (or ``tasks_related.txt``).

    Raises:
        AnnotationError: missing/empty file, a block without five lines, a non-integer step count, a task
            id that occurs twice. A step count that differs from the number of listed steps is accepted
            (``n_steps`` keeps the declared number); :func:`load_crosstask` counts it.
    """
    path = str(path)
    lines = read_text(path, "CrossTask tasks file").splitlines()
    tasks: dict[str, CrossTaskTask] = {}
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block = lines[i : i + 5]
        if len(block) < 5 or any(not line.strip() for line in block[:4]):
            raise AnnotationError(path, "incomplete task block: expected id, title, url, step count, steps", i + 1)
        task_id, title, url, n_steps_text, steps_text = (line.strip() for line in block)
        try:
            n_steps = int(n_steps_text)
        except ValueError:
            raise AnnotationError(path, f"step count is not an integer: {n_steps_text!r}", i + 4) from None
        if task_id in tasks:
            raise AnnotationError(path, f"task {task_id} defined twice", i + 1)
        tasks[task_id] = CrossTaskTask(task_id, title, url, n_steps, tuple(s.strip() for s in steps_text.split(",")))
        i += 5
    return tasks


def read_videos(path: str | os.PathLike) -> list[CrossTaskVideo]:
    """Parse ``videos.csv``: ``task,video_id,url`` rows without a header."""
    path = str(path)
    reader = csv.reader(io.StringIO(read_text(path, "CrossTask videos csv"), newline=""))
    out = []
    for row in reader:
        if not row or not "".join(row).strip():
            continue
        if len(row) != 3:
            raise AnnotationError(path, f"expected 'task,video_id,url', got {','.join(row)!r}", reader.line_num)
        out.append(CrossTaskVideo(*(field.strip() for field in row)))
    return out


def read_step_file(path: str | os.PathLike, report: LoadReport | None = None) -> list[CrossTaskStep]:
    """Parse one ``<task>_<video>.csv`` file; an empty file is a video without steps.

    Steps with start > end are dropped (the official ``read_assignment`` marks nothing for them) and
    counted as ``start_after_end``; zero-length steps are kept and counted as ``zero_length``; steps that
    start before 0 s are kept (their part before 0 s lies outside every segment) and counted as
    ``negative_start``. The official ``read_assignment`` (``data.py``) slices ``Y[floor(start):ceil(end)]``,
    where a negative start counts from the array's end and the slice is usually empty (the step marks
    nothing); the actionness protocol has no official code, and its overlap rule marks the part from 0 s.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "annotation file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(path, f"cannot read annotation file: {exc}") from exc
    report = report if report is not None else LoadReport("crosstask")
    if not text.strip():
        report.add("empty_annotation_file", path.name)
        return []
    steps = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != 3:
            raise AnnotationError(path, f"expected 'step,start,end', got {line.strip()!r}", lineno)
        try:
            step = int(fields[0])
        except ValueError:
            raise AnnotationError(path, f"step is not an integer: {fields[0]!r}", lineno) from None
        if step < 1:
            raise AnnotationError(path, f"step numbers are 1-based, got {step}", lineno)
        start = to_float(fields[1], path, "start", lineno)
        end = to_float(fields[2], path, "end", lineno)
        if start > end:
            report.add("start_after_end", f"{path.name}:{lineno}")
            continue
        if start == end:
            report.add("zero_length", f"{path.name}:{lineno}")
        if start < 0:
            report.add("negative_start", f"{path.name}:{lineno}")
        steps.append(CrossTaskStep(step, start, end))
    return steps


def read_crosstask_annotations(
    annotations_dir: str | os.PathLike, report: LoadReport | None = None
) -> dict[str, list[CrossTaskStep]]:
    """Video id -> steps for every ``<task>_<video>.csv`` of ``annotations_dir``.

    A video annotated under several tasks gets the steps of all of them (counted as
    ``video_in_several_tasks``); files whose name is not ``<numeric task>_<video>.csv`` are skipped and
    counted as ``unrecognised_file``. ``crosstask_release/`` itself (a folder holding ``annotations/``)
    is accepted too.

    Raises:
        AnnotationError: missing folder, no annotation file, a malformed line (see :func:`read_step_file`).
    """
    folder = require_dir(annotations_dir, "CrossTask annotations folder")
    if (folder / "annotations").is_dir():
        folder = folder / "annotations"
    steps, _ = _read_annotation_dir(folder, report if report is not None else LoadReport("crosstask"))
    return steps


def load_crosstask(
    path: str | os.PathLike,
    tasks_path: str | os.PathLike | None = None,
    videos_path: str | os.PathLike | None = None,
) -> CrossTaskAnnotations:
    """Load CrossTask annotations, with the task list and video list when available.

    Args:
        path: ``crosstask_release/`` (holding ``annotations/``, and possibly ``tasks_primary.txt`` and
            ``videos.csv``, which are then read too) or the ``annotations/`` folder itself.
        tasks_path: ``tasks_primary.txt`` when not in ``path``.
        videos_path: ``videos.csv`` when not in ``path``.

    Returns:
        :class:`CrossTaskAnnotations`. Anomalies, besides those of :func:`read_step_file` and
        :func:`read_crosstask_annotations`: ``step_count_mismatch`` (tasks file), ``task_not_in_tasks_file``,
        ``step_out_of_range`` (step > the task's step count), ``video_not_in_videos_csv``.
    """
    root = require_dir(path, "CrossTask folder")
    annotations_dir = root / "annotations" if (root / "annotations").is_dir() else root
    if tasks_path is None and (root / "tasks_primary.txt").is_file():
        tasks_path = root / "tasks_primary.txt"
    if videos_path is None and (root / "videos.csv").is_file():
        videos_path = root / "videos.csv"
    report = LoadReport("crosstask", sources=[str(annotations_dir)])
    tasks: dict[str, CrossTaskTask] = {}
    if tasks_path is not None:
        report.sources.append(str(tasks_path))
        tasks = read_tasks(tasks_path)
        for task in tasks.values():
            if task.n_steps != len(task.steps):
                report.add("step_count_mismatch", f"task {task.task_id}")
    videos: list[CrossTaskVideo] = []
    if videos_path is not None:
        report.sources.append(str(videos_path))
        videos = read_videos(videos_path)
    steps, video_task = _read_annotation_dir(annotations_dir, report)

    if tasks:
        for video_id, task_id in video_task.items():
            task = tasks.get(task_id)
            if task is None:
                report.add("task_not_in_tasks_file", f"{task_id}_{video_id}")
                continue
            for s in steps[video_id]:
                if s.step > task.n_steps:
                    report.add("step_out_of_range", f"{task_id}_{video_id}: step {s.step} > {task.n_steps}")
    if videos:
        listed = {(v.task_id, v.video_id) for v in videos}
        for video_id, task_id in video_task.items():
            if (task_id, video_id) not in listed:
                report.add("video_not_in_videos_csv", f"{task_id}_{video_id}")
    report.counts.update(
        records=sum(len(v) for v in steps.values()), videos=len(steps), tasks=len(set(video_task.values()))
    )
    if tasks:
        report.counts["tasks_in_tasks_file"] = len(tasks)
    if videos:
        report.counts["videos_in_videos_csv"] = len(videos)
    return CrossTaskAnnotations(steps, video_task, tasks, videos, report)


def num_segments(duration: float, segment_length: float = SEGMENT_LENGTH) -> int:
    """Number of segments ``ceil(duration / segment_length)`` covering a video of ``duration`` seconds.

    The ratio is rounded to 6 decimals first so that, e.g., ``2.2 / 0.2 = 11.000000000000002`` gives 11.
    """
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration must be a finite non-negative number, got {duration!r}")
    return int(math.ceil(round(duration / segment_length, 6)))


def segment_edges(count: int, segment_length: float = SEGMENT_LENGTH) -> np.ndarray:
    """``count + 1`` edges ``i * segment_length``, rounded so that they equal the decimal values."""
    return np.round(np.arange(count + 1, dtype=np.float64) * segment_length, _EDGE_DECIMALS)


def segment_labels(
    steps: Iterable[CrossTaskStep | Sequence[float]], num_segments: int, segment_length: float = SEGMENT_LENGTH
) -> np.ndarray:
    """Binary actionness labels of the ``num_segments`` segments of a video.

    Segment ``i`` covers ``[i * segment_length, (i + 1) * segment_length)`` and is positive iff some step
    overlaps it: ``step.start < segment_end and step.end > segment_start`` (strict on both sides, so a
    step ending exactly at a segment's start, or starting exactly at its end, does not mark it). Edges are
    computed as ``i * segment_length`` rounded to 1e-9, so ``3 * 0.2`` compares equal to an annotated
    ``0.6``. Steps (or parts of them) after the last segment are ignored.

    Args:
        steps: :class:`CrossTaskStep` records, or ``(start, end)`` pairs.
        num_segments: number of segments (see :func:`num_segments`).
        segment_length: seconds per segment (0.2 in the CrossTask actionness protocol).

    Returns:
        ``np.ndarray`` of ``bool``, shape ``(num_segments,)``.
    """
    if num_segments < 0:
        raise ValueError(f"num_segments must be >= 0, got {num_segments}")
    starts, ends = _step_bounds(steps)
    edges = segment_edges(num_segments, segment_length)
    seg_start, seg_end = edges[:-1], edges[1:]
    # segments i with seg_end[i] > start are i >= first; those with seg_start[i] < end are i < stop
    first = np.searchsorted(seg_end, starts, side="right")
    stop = np.searchsorted(seg_start, ends, side="left")
    keep = first < stop
    change = np.zeros(num_segments + 1, dtype=np.int64)
    np.add.at(change, first[keep], 1)
    np.add.at(change, stop[keep], -1)
    return np.cumsum(change[:-1]) > 0


def _step_bounds(steps: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    bounds = []
    for s in steps:
        if hasattr(s, "start") and hasattr(s, "end"):
            bounds.append((float(s.start), float(s.end)))
        elif len(s) == 2:
            bounds.append((float(s[0]), float(s[1])))
        else:
            raise ValueError(f"a step must be a CrossTaskStep or a (start, end) pair, got {s!r}")
    arr = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(arr).all():
        raise ValueError("step times must be finite")
    return arr[:, 0], arr[:, 1]


def _read_annotation_dir(
    annotations_dir: str | os.PathLike, report: LoadReport
) -> tuple[dict[str, list[CrossTaskStep]], dict[str, str]]:
    folder = require_dir(annotations_dir, "CrossTask annotations folder")
    steps: dict[str, list[CrossTaskStep]] = {}
    video_task: dict[str, str] = {}
    found = 0
    for file in sorted(folder.iterdir()):
        match = _FILE_RE.match(file.name)
        if not match or not file.is_file():
            report.add("unrecognised_file", file.name)
            continue
        found += 1
        task_id, video_id = match["task"], match["video"]
        file_steps = read_step_file(file, report)
        if video_id in steps:
            report.add("video_in_several_tasks", f"{video_id} ({video_task[video_id]}, {task_id})")
            steps[video_id].extend(file_steps)
            continue
        steps[video_id] = file_steps
        video_task[video_id] = task_id
    if not found:
        raise AnnotationError(folder, "no <task>_<video>.csv annotation files")
    if report.anomalies.get("unrecognised_file"):
        skipped = report.anomalies["unrecognised_file"]
        logger.warning("%s: skipped %d files not named <task>_<video>.csv", folder, skipped)
    return steps, video_task
