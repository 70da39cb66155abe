"""The three prediction formats of ``docs/design.md`` §4.5: one reader and one atomic writer each.

* detection, the ActivityNet results JSON [ActivityNet ``Evaluation/eval_detection.py``
  ``_import_prediction``]: ``{"version": str, "results": {video_id: [{"label": str, "score": float,
  "segment": [start_s, end_s]}, ...]}, "external_data": {...}}``;
* grounding, a JSON list with one record per query: ``{"video": str, "duration": seconds, "query": str,
  "gt": [start_s, end_s], "predictions": [[start_s, end_s], ...] ranked best first}`` (other keys are kept);
* actionness, ``{video_id: [score of each 0.2 s segment, ...]}``; the reserved top-level key ``"_protocol"``
  may hold how the scores were made (segment length, overlap rule, ...) and is ignored by the reader.

Writers validate what they write (finite numbers, ``[start, end]`` pairs), turn numpy/torch numbers into
JSON numbers, write one video or query per line (grep- and diff-friendly, a few % larger than minified) and
replace the file atomically, so a reader never sees half a file. Readers raise
:class:`~bsp_lightning.evaluation.EvaluationInputError` (``PATH: problem``) on unusable input and accept
files *without predictions* (``"results": {}``, ``[]``, ``{}``): scoring those is the caller's decision
(``bsp-lightning evaluate`` scores them 0 and warns, as the official ActivityNet code does).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, as_segment, read_json, require_keys
from bsp_lightning.utils.io import atomic_write_text

#: Reserved top-level key of an actionness file; never a video id.
PROTOCOL_KEY = "_protocol"
GROUNDING_KEYS = ("video", "duration", "query", "gt", "predictions")


# --- detection (ActivityNet results JSON) ---------------------------------------------------------------


class ActivityNetPredictions(NamedTuple):
    """A detection file flattened in reading order (the order that ranks tied scores in the official code).

    ``videos``/``labels`` are lists of ``N`` strings, ``segments`` float64 ``(N, 2)`` seconds, ``scores``
    float64 ``(N,)``. ``anomalies`` counts what the official code accepts silently: ``start_after_end``
    (kept: not clipped, not swapped), ``missing_version_or_external_data`` (the official code rejects such a
    file; we read it).
    """

    videos: list[str]
    labels: list[str]
    segments: np.ndarray
    scores: np.ndarray
    anomalies: dict[str, int]


def write_detections(
    path: str | os.PathLike,
    results: Mapping[str, Sequence[Mapping[str, Any]]],
    external_data: Mapping[str, Any] | None = None,
    version: str = "VERSION 1.3",
) -> Path:
    """Write ``{"version", "results", "external_data"}`` atomically; returns ``Path(path)``.

    Args:
        results: video id -> detections ``{"label", "score", "segment": [start, end]}`` (seconds); other keys
            of a detection are written too. A video with no detection may map to ``[]``.
        external_data: the ActivityNet challenge's ``{"used": bool, "details": str}``; default ``{}``.

    Raises:
        EvaluationInputError: a detection without ``label``/``score``/``segment``, a non-finite score or bound,
            a segment that is not a pair, a ``results`` that is not a mapping.
    """
    with _writing(path):
        text = _detections_text(results, external_data, version)
    return _write(path, text)


def _detections_text(results: Any, external_data: Any, version: str) -> str:
    """The results JSON text, one video per line."""
    if not isinstance(results, Mapping):
        raise EvaluationInputError(f"results must map video id -> list of detections, got {type(results).__name__}")
    lines = []
    for video, detections in results.items():
        entries = []
        for i, det in enumerate(detections):
            where = f"results[{video!r}][{i}]"
            require_keys(dict(det) if isinstance(det, Mapping) else det, ("label", "score", "segment"), where, None)
            entry = {k: _jsonable(v, f"{where} {k}") for k, v in det.items()}
            entry["label"] = str(det["label"])
            entry["score"] = as_number(_jsonable(det["score"], where), where, None)
            entry["segment"] = list(_pair(det["segment"], where))
            entries.append(entry)
        lines.append(f"{json.dumps(str(video))}: {json.dumps(entries)}")
    head = {"version": str(version)}
    tail = json.dumps(_jsonable(dict(external_data or {}), "external_data"))
    body = ",\n".join(lines)
    return f'{json.dumps(head)[:-1]}, "results": {{\n{body}\n}}, "external_data": {tail}}}\n'


def read_detections(path: str | os.PathLike) -> ActivityNetPredictions:
    """Read an ActivityNet results file (see the module docstring); ``"results": {}`` gives zero predictions.

    Raises:
        EvaluationInputError: missing/empty/malformed file, no ``results`` or not an object, a detection
            without ``label``, ``score`` or ``segment``, a non-numeric, NaN or infinite score or bound.
    """
    data = read_json(path)
    require_keys(data, ("results",), "top level", path)
    anomalies = {"start_after_end": 0, "missing_version_or_external_data": 0}
    if "version" not in data or "external_data" not in data:
        anomalies["missing_version_or_external_data"] = 1
    results = data["results"]
    if not isinstance(results, dict):
        raise EvaluationInputError(f"'results' must be an object video id -> list, got {type(results).__name__}", path)
    videos: list[str] = []
    labels: list[str] = []
    segments: list[tuple[float, float]] = []
    scores: list[float] = []
    for video, entries in results.items():
        if not isinstance(entries, list):
            raise EvaluationInputError(f"results[{video!r}] must be a list, got {type(entries).__name__}", path)
        for i, entry in enumerate(entries):
            where = f"results[{video!r}][{i}]"
            require_keys(entry, ("label", "score", "segment"), where, path)
            start, end = _pair(entry["segment"], where, path=path)
            anomalies["start_after_end"] += start > end
            videos.append(str(video))
            labels.append(str(entry["label"]))
            segments.append((start, end))
            scores.append(as_number(entry["score"], where, path))
    return ActivityNetPredictions(
        videos, labels, np.asarray(segments, dtype=np.float64).reshape(-1, 2),
        np.asarray(scores, dtype=np.float64), anomalies,
    )


# --- grounding (list of queries) ------------------------------------------------------------------------


def write_grounding(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write the grounding list atomically, one query per line; returns ``Path(path)``.

    Each record needs ``video``, ``duration`` (s), ``query``, ``gt`` ``[start, end]`` and ``predictions``
    (``(K, 2)`` moments in seconds, best first; ``K`` may be 0); arrays and tensors are accepted, other keys
    are written as they are. A moment with start > end is written as it is: the official LGI code neither clips
    nor reorders its regressed boundaries (such a prediction scores IoU 0), and its loader keeps ground truth
    with start > end.

    Raises:
        EvaluationInputError: a missing key, a non-finite number, a moment that is not a pair.
    """
    with _writing(path):
        lines = [_grounding_line(i, record) for i, record in enumerate(records)]
    return _write(path, "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n")


def _grounding_line(i: int, record: Any) -> str:
    """One record as a JSON line (numbers checked, arrays turned into lists)."""
    where = f"record {i}"
    if not isinstance(record, Mapping):
        raise EvaluationInputError(f"{where}: expected a mapping, got {type(record).__name__}")
    require_keys(dict(record), GROUNDING_KEYS, where, None)
    out = {k: _jsonable(v, f"{where} {k}") for k, v in record.items()}
    out["video"], out["query"] = str(record["video"]), str(record["query"])
    out["duration"] = as_number(out["duration"], where, None, "duration")
    out["gt"] = list(_pair(record["gt"], f"{where} gt"))
    try:
        ranked = np.asarray(_jsonable(record["predictions"], where), dtype=np.float64)
    except EvaluationInputError:
        raise
    except (TypeError, ValueError):
        raise EvaluationInputError(f"{where}: predictions must be a list of [start, end] pairs") from None
    if ranked.size == 0:
        ranked = ranked.reshape(0, 2)
    if ranked.ndim != 2 or ranked.shape[1] != 2:
        raise EvaluationInputError(f"{where}: predictions must have shape (K, 2), got {ranked.shape}")
    out["predictions"] = [list(_pair(p, f"{where} prediction {j}"))
                          for j, p in enumerate(ranked.tolist())]
    return json.dumps(out)


def read_grounding(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read the grounding list; ``[]`` gives no records.

    Returns:
        one dict per query with the file's keys; ``duration`` a float, ``gt`` ``[start, end]`` floats,
        ``predictions`` a list of ``[start, end]`` floats (possibly empty), ranked as in the file.

    Raises:
        EvaluationInputError: not a list, a record without one of the five keys, a non-finite number, a ``gt``
            or a prediction that is not a ``[start, end]`` pair (start > end is kept: see :func:`write_grounding`).
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise EvaluationInputError(f"expected a JSON list of queries, got {type(data).__name__}", path)
    records = []
    for i, entry in enumerate(data):
        require_keys(entry, GROUNDING_KEYS, f"entry {i}", path)
        where = f"entry {i} (video {entry['video']!r})"
        record = dict(entry)
        record["duration"] = as_number(entry["duration"], where, path, "duration")
        record["gt"] = list(_pair(entry["gt"], f"{where} gt", path=path))
        ranked = entry["predictions"]
        if not isinstance(ranked, list):
            raise EvaluationInputError(f"{where}: 'predictions' must be a list of [start, end]", path)
        record["predictions"] = [list(_pair(p, f"{where} prediction {j}", path=path))
                                 for j, p in enumerate(ranked)]
        records.append(record)
    return records


def read_grounding_predictions(path: str | os.PathLike) -> tuple[list[np.ndarray], list[tuple[float, float]], int]:
    """``(predictions, gts, number of queries without predictions)`` of a grounding file (the older reader).

    ``predictions[i]`` is float64 ``(K_i, 2)``, ``gts[i]`` a ``(start, end)`` pair; see :func:`read_grounding`.
    """
    records = read_grounding(path)
    predictions = [np.asarray(r["predictions"], dtype=np.float64).reshape(-1, 2) for r in records]
    gts = [(r["gt"][0], r["gt"][1]) for r in records]
    return predictions, gts, sum(1 for r in records if not r["predictions"])


# --- actionness ({video: scores}) -----------------------------------------------------------------------


def write_actionness(
    path: str | os.PathLike, scores: Mapping[str, Sequence[float]], protocol: Mapping[str, Any] | None = None
) -> Path:
    """Write ``{video_id: [score per 0.2 s segment]}`` atomically, one video per line; returns ``Path(path)``.

    Args:
        scores: video id -> 1-D scores (lists, arrays or tensors).
        protocol: stored under ``"_protocol"`` (e.g. ``{"segment_seconds": 0.2, "label": "overlap"}``) for
            whoever reads the file later; :func:`read_actionness` ignores it.

    Raises:
        EvaluationInputError: a video id equal to ``"_protocol"``, scores that are not 1-D, non-finite scores.
    """
    with _writing(path):
        lines = [_actionness_line(str(video), values) for video, values in scores.items()]
        if protocol is not None:
            lines.append(f"{json.dumps(PROTOCOL_KEY)}: {json.dumps(_jsonable(dict(protocol), PROTOCOL_KEY))}")
    return _write(path, "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n")


def _actionness_line(video: str, values: Any) -> str:
    """``"video": [scores]`` (1-D, finite)."""
    if video == PROTOCOL_KEY:
        raise EvaluationInputError(f"{PROTOCOL_KEY!r} is reserved for the protocol and cannot be a video id")
    try:
        array = np.asarray(_jsonable(values, f"video {video!r}"), dtype=np.float64)
    except EvaluationInputError:
        raise
    except (TypeError, ValueError):
        raise EvaluationInputError(f"video {video!r}: scores must be numbers") from None
    if array.ndim != 1:
        raise EvaluationInputError(f"video {video!r}: scores must be 1-D, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise EvaluationInputError(f"video {video!r}: {int((~np.isfinite(array)).sum())} NaN or infinite score(s)")
    return f"{json.dumps(video)}: {json.dumps(array.tolist())}"


def read_actionness(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read ``{video_id: [scores]}`` as float64 ``(num_segments,)`` arrays (``"_protocol"`` left out).

    A video with an empty list maps to an empty array and ``{}`` gives no video: what to do with them is
    the caller's decision.

    Raises:
        EvaluationInputError: not an object, a value that is not a list, a non-numeric, NaN or infinite score.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        problem = f"expected a JSON object video id -> list of scores, got {type(data).__name__}"
        raise EvaluationInputError(problem, path)
    out = {}
    for video, values in data.items():
        if video == PROTOCOL_KEY:
            continue
        if not isinstance(values, list):
            raise EvaluationInputError(f"video {video!r}: expected a list of scores, got {type(values).__name__}", path)
        out[video] = np.array(
            [as_number(s, f"video {video!r} segment {i}", path) for i, s in enumerate(values)], dtype=np.float64
        )
    return out


# --- helpers --------------------------------------------------------------------------------------------


@contextmanager
def _writing(path: str | os.PathLike) -> Iterator[None]:
    """Name the file being written in the writers' validation errors."""
    try:
        yield
    except EvaluationInputError as err:
        raise EvaluationInputError(f"not written: {err.problem}", path) from None


def _write(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    atomic_write_text(path, text)
    return path


def _pair(value: Any, where: str, path: Any = None) -> tuple[float, float]:
    """A finite ``[start, end]`` pair as floats (numpy/torch values accepted); start > end is kept, not an error."""
    return as_segment(_jsonable(value, where), where, path, allow_reversed=True)


def _jsonable(value: Any, where: str) -> Any:
    """``value`` with numpy/torch arrays and scalars turned into lists and Python numbers (recursively)."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise EvaluationInputError(f"{where}: NaN or infinite value(s)")
        return value.tolist()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise EvaluationInputError(f"{where}: {value!r} is NaN or infinite")
        return number
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    raise EvaluationInputError(f"{where}: cannot write a {type(value).__name__} as JSON")
