"""ActivityNet-1.3 official ground truth (``activity_net.v1-3.min.json``).

The file is ``{"version", "taxonomy", "database": {video_id: {"subset", "duration", "resolution", "url",
"annotations": [{"segment": [start, end], "label"}]}}}``; video ids carry no ``v_`` prefix (the feature
files of BSN/G-TAD do: see ``strip_v_prefix``/``add_v_prefix``), the ``testing`` subset has no annotations.

Like the official ``Evaluation/eval_detection.py``, the loader neither clips nor drops segments: a segment
with start > end, of zero length, with a negative start, or ending after the video's duration is kept
and counted in the report (``clip=True``/``drop_invalid=True`` change that for training targets).
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_json, to_float

SUBSETS = ("training", "validation", "testing")
V_PREFIX = "v_"


class ActivityNetSegment(NamedTuple):
    """One ground-truth action instance (the record type of this format).

    Attributes:
        video_id: id after prefix normalisation.
        start: start time in seconds, as in the file (not clipped unless ``clip=True``).
        end: end time in seconds.
        label: class name, e.g. ``"Playing piano"``.
        subset: ``"training"``, ``"validation"`` or ``"testing"``.
        duration: the video's duration in seconds, ``None`` when the file has none.
    """

    video_id: str
    start: float
    end: float
    label: str
    subset: str
    duration: float | None


class ActivityNetVideo(NamedTuple):
    """Per-video metadata (also for videos without annotations, e.g. the testing subset)."""

    video_id: str
    subset: str
    duration: float | None
    url: str | None
    resolution: str | None


@dataclass(frozen=True)
class ActivityNetAnnotations:
    """What :func:`load_activitynet` returns.

    Attributes:
        version: the file's ``version`` string (``""`` when absent).
        segments: the ground-truth segments of the selected subset, in file order.
        videos: video id -> metadata for every video of the selected subset (with or without segments).
        classes: sorted class names: every label of the file (all subsets, so indices do not change with
            the subset) plus the leaf nodes of ``taxonomy`` when present.
        report: counts and anomalies.
    """

    version: str
    segments: list[ActivityNetSegment]
    videos: dict[str, ActivityNetVideo]
    classes: list[str]
    report: LoadReport

    @property
    def class_index(self) -> dict[str, int]:
        """Class name -> index into :attr:`classes`."""
        return {name: i for i, name in enumerate(self.classes)}

    def segments_by_video(self) -> dict[str, list[ActivityNetSegment]]:
        """Video id -> its segments, for every video of :attr:`videos` (empty lists included)."""
        out: dict[str, list[ActivityNetSegment]] = {vid: [] for vid in self.videos}
        for seg in self.segments:
            out[seg.video_id].append(seg)
        return out


def with_v_prefix(video_id: str) -> str:
    """The id as BSN/G-TAD feature files name it (``v_`` + the official id)."""
    return V_PREFIX + video_id


def without_v_prefix(video_id: str) -> str:
    """The official id: a leading ``v_`` removed (ids without one are returned unchanged)."""
    return video_id[len(V_PREFIX):] if video_id.startswith(V_PREFIX) else video_id


def resolve_video_id(video_id: str, known: Container[str]) -> str | None:
    """The id under which ``known`` holds ``video_id``: itself, else with ``v_`` added, else with it removed
    (ActivityNet ground truth has no ``v_``; BSN/G-TAD feature and class-score files have it). ``None`` when absent."""
    for candidate in (video_id, with_v_prefix(video_id), without_v_prefix(video_id)):
        if candidate in known:
            return candidate
    return None


def normalize_video_id(video_id: str, strip_v_prefix: bool = False, add_v_prefix: bool = False) -> str:
    """Apply the prefix option of the loaders (at most one of the two flags may be set)."""
    if strip_v_prefix and add_v_prefix:
        raise ValueError("strip_v_prefix and add_v_prefix are mutually exclusive")
    if strip_v_prefix:
        return without_v_prefix(video_id)
    if add_v_prefix:
        return with_v_prefix(video_id)
    return video_id


def taxonomy_leaves(taxonomy: Iterable[dict[str, Any]], path: str | os.PathLike) -> list[str]:
    """Names of the taxonomy nodes that are no other node's parent (the 200 classes of v1.3)."""
    nodes = list(taxonomy)
    parents: set[Any] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "nodeId" not in node or "nodeName" not in node:
            raise AnnotationError(path, f"taxonomy entry {i} lacks 'nodeId'/'nodeName'")
        parents.add(node.get("parentId"))
    return sorted({node["nodeName"] for node in nodes if node["nodeId"] not in parents})


def load_activitynet(
    path: str | os.PathLike,
    subset: str | None = None,
    strip_v_prefix: bool = False,
    add_v_prefix: bool = False,
    clip: bool = False,
    drop_invalid: bool = False,
) -> ActivityNetAnnotations:
    """Load the ActivityNet-1.3 ground truth.

    Args:
        path: the official JSON file.
        subset: ``"training"``, ``"validation"``, ``"testing"`` or ``None`` (all videos). A subset with no
            video in the file is an error (it is most likely misspelt).
        strip_v_prefix: remove a leading ``v_`` from every video id (for files written with the prefix).
        add_v_prefix: prepend ``v_`` to every id, to match BSN/G-TAD feature file names.
        clip: clip segments to ``[0, duration]`` (the official evaluation does not; off by default).
        drop_invalid: drop segments with start >= end (the official evaluation keeps them).

    Returns:
        :class:`ActivityNetAnnotations`. Anomalies counted in its report: ``start_after_end``,
        ``zero_length``, ``negative_start``, ``end_beyond_duration`` (per segment), ``missing_duration``
        (per video), ``label_not_in_taxonomy``; with ``clip``/``drop_invalid``: ``clipped``, ``dropped``.

    Raises:
        AnnotationError: missing/empty/malformed file, missing ``database``/``subset``/``segment``/``label``,
            non-numeric times or duration, a segment that is not ``[start, end]``, an unknown subset.
    """
    path = str(path)
    normalize_video_id("", strip_v_prefix, add_v_prefix)  # validate the flags before reading
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise AnnotationError(path, "no 'database' object: not an ActivityNet ground-truth file")
    database: dict[str, Any] = data["database"]
    if not database:
        raise AnnotationError(path, "'database' is empty")
    report = LoadReport("activitynet", sources=[path])

    labels_all: set[str] = set()
    subsets_present: set[str] = set()
    videos: dict[str, ActivityNetVideo] = {}
    segments: list[ActivityNetSegment] = []
    for raw_id, entry in database.items():
        if not isinstance(entry, dict):
            raise AnnotationError(path, f"video {raw_id!r}: entry is not an object")
        if "subset" not in entry:
            raise AnnotationError(path, f"video {raw_id!r}: missing key 'subset'")
        video_subset = str(entry["subset"])
        subsets_present.add(video_subset)
        annotations = entry.get("annotations")
        if annotations is None:
            if video_subset != "testing":
                raise AnnotationError(path, f"video {raw_id!r}: missing key 'annotations'")
            annotations = []
        if not isinstance(annotations, list):
            raise AnnotationError(path, f"video {raw_id!r}: 'annotations' is not a list")
        parsed = [_parse_annotation(ann, raw_id, i, path) for i, ann in enumerate(annotations)]
        labels_all.update(label for _, _, label in parsed)
        if subset is not None and video_subset != subset:
            continue

        video_id = normalize_video_id(raw_id, strip_v_prefix, add_v_prefix)
        if video_id in videos:
            raise AnnotationError(path, f"video {raw_id!r}: id {video_id!r} occurs twice after prefix normalisation")
        duration = None
        if entry.get("duration") is None:
            report.add("missing_duration", raw_id)
        else:
            duration = to_float(entry["duration"], path, f"video {raw_id!r}: 'duration'")
        videos[video_id] = ActivityNetVideo(video_id, video_subset, duration, entry.get("url"), entry.get("resolution"))
        for i, (start, end, label) in enumerate(parsed):
            where = f"{raw_id}[{i}]"
            if start > end:
                report.add("start_after_end", where)
            elif start == end:
                report.add("zero_length", where)
            if start < 0:
                report.add("negative_start", where)
            if duration is not None and end > duration:
                report.add("end_beyond_duration", where)
            if clip:
                clipped = (max(start, 0.0), end if duration is None else min(end, duration))
                if clipped != (start, end):
                    report.add("clipped", where)
                start, end = clipped
            if drop_invalid and start >= end:
                report.add("dropped", where)
                continue
            segments.append(ActivityNetSegment(video_id, start, end, label, video_subset, duration))

    if subset is not None and subset not in subsets_present:
        raise AnnotationError(
            path, f"subset {subset!r} not in file (subsets present: {', '.join(sorted(subsets_present))})"
        )
    classes = set(labels_all)
    taxonomy = data.get("taxonomy")
    if taxonomy:
        if not isinstance(taxonomy, list):
            raise AnnotationError(path, "'taxonomy' is not a list")
        leaves = set(taxonomy_leaves(taxonomy, path))
        for seg in segments:
            if seg.label not in leaves:
                report.add("label_not_in_taxonomy", f"{seg.video_id}: {seg.label}")
        classes |= leaves
    report.counts.update(records=len(segments), videos=len(videos), classes=len(classes))
    return ActivityNetAnnotations(str(data.get("version", "")), segments, videos, sorted(classes), report)


def _parse_annotation(ann: Any, video_id: str, index: int, path: str) -> tuple[float, float, str]:
    where = f"video {video_id!r} annotation {index}"
    if not isinstance(ann, dict):
        raise AnnotationError(path, f"{where}: not an object")
    for key in ("segment", "label"):
        if key not in ann:
            raise AnnotationError(path, f"{where}: missing key {key!r}")
    segment = ann["segment"]
    if not isinstance(segment, (list, tuple)) or len(segment) != 2:
        raise AnnotationError(path, f"{where}: 'segment' must be [start, end], got {segment!r}")
    start = to_float(segment[0], path, f"{where}: start")
    end = to_float(segment[1], path, f"{where}: end")
    return start, end, str(ann["label"])
