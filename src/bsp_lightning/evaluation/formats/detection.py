"""Detection predictions: the ActivityNet results JSON [ActivityNet ``Evaluation/eval_detection.py``
``_import_prediction``], ``{"version": str, "results": {video_id: [{"label": str, "score": float,
"segment": [start_s, end_s]}, ...]}, "external_data": {...}}``, one video per line.

:data:`DETECTION` is the format object of the ``"detection"`` task: it merges the items of a head's test loop into a
:class:`Detections` object, writes it (with its class-agnostic proposals, when it carries them, in the proposal
format beside it: ``test.json`` and ``test_proposals.json``), reads a file back and names the metrics. Readers raise
:class:`~bsp_lightning.evaluation.EvaluationInputError` (``PATH: problem``) on unusable input and accept a file
without predictions (``"results": {}``): scoring it is the caller's decision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, read_json, require_keys
from bsp_lightning.evaluation.formats._common import jsonable, pair, write_text, writing
from bsp_lightning.evaluation.formats.proposals import PROPOSALS

__all__ = ["ActivityNetPredictions", "DETECTION", "DetectionFormat", "Detections", "read_detections",
           "write_detections"]

#: The tIoU thresholds of ActivityNet's detection mAP (0.5:0.05:0.95).
ACTIVITYNET_TIOU = tuple(np.linspace(0.5, 0.95, 10).tolist())


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
    with writing(path):
        text = _detections_text(results, external_data, version)
    return write_text(path, text)


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
            entry = {k: jsonable(v, f"{where} {k}") for k, v in det.items()}
            entry["label"] = str(det["label"])
            entry["score"] = as_number(jsonable(det["score"], where), where, None)
            entry["segment"] = list(pair(det["segment"], where))
            entries.append(entry)
        lines.append(f"{json.dumps(str(video))}: {json.dumps(entries)}")
    head = {"version": str(version)}
    tail = json.dumps(jsonable(dict(external_data or {}), "external_data"))
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
            start, end = pair(entry["segment"], where, path=path)
            anomalies["start_after_end"] += start > end
            videos.append(str(video))
            labels.append(str(entry["label"]))
            segments.append((start, end))
            scores.append(as_number(entry["score"], where, path))
    return ActivityNetPredictions(
        videos, labels, np.asarray(segments, dtype=np.float64).reshape(-1, 2),
        np.asarray(scores, dtype=np.float64), anomalies,
    )




@dataclass
class Detections:
    """Merged detection predictions: the official results object, and a head's class-agnostic proposals.

    Attributes:
        results: video id -> ``[{"label", "score", "segment": [start_s, end_s]}, ...]``.
        external_data: the results file's ``external_data`` (where the labels came from).
        version: the results file's ``version``.
        proposals: video id -> float ``(n, 3)`` ``[start_s, end_s, score]`` before labelling (G-TAD), or ``None``;
            written beside the results as ``<stem>_proposals.json``.
    """

    results: dict[str, list[dict[str, Any]]]
    external_data: dict[str, Any] = field(default_factory=dict)
    version: str = "VERSION 1.3"
    proposals: dict[str, np.ndarray] | None = None

    def to_json(self) -> dict[str, Any]:
        """The official object ``{"version", "results", "external_data"}``."""
        return {"version": self.version, "results": self.results, "external_data": self.external_data}


class DetectionFormat:
    """The ``"detection"`` task's format: :meth:`merge`, :meth:`write` (atomic), :meth:`read`, :meth:`metric_names`."""

    name = "detection"

    def merge(self, items: Sequence[Any], metadata: Mapping[str, Any] | None = None) -> Detections:
        """Items ``(video_id, [{"label", "score", "segment"}, ...])`` of every rank -> :class:`Detections` (several
        items of one video are concatenated in item order); ``metadata`` is its ``external_data``."""
        results: dict[str, list[dict[str, Any]]] = {}
        for video_id, detections in items:
            results.setdefault(str(video_id), []).extend(detections)
        return Detections(results, dict(metadata or {}))

    def write(self, path: str | os.PathLike, predictions: Detections | Mapping[str, Any]) -> Path:
        """Write the results file atomically (and ``<stem>_proposals.json`` beside it when ``predictions`` carries
        proposals); returns ``Path(path)``. ``predictions`` may also be the official dict."""
        if not isinstance(predictions, Detections):
            return write_detections(path, predictions["results"], predictions.get("external_data"),
                                    predictions.get("version", "VERSION 1.3"))
        out = write_detections(path, predictions.results, predictions.external_data, predictions.version)
        if predictions.proposals is not None:
            PROPOSALS.write(out.with_name(f"{out.stem}_proposals.json"), predictions.proposals)
        return out

    def read(self, path: str | os.PathLike) -> ActivityNetPredictions:
        """:func:`read_detections`."""
        return read_detections(path)

    def metric_names(self, tiou_thresholds: Sequence[float] = ACTIVITYNET_TIOU) -> tuple[str, ...]:
        """``mAP@<t>`` per tIoU threshold (two decimals) and ``average_mAP``."""
        return tuple(f"mAP@{t:.2f}" for t in tiou_thresholds) + ("average_mAP",)


#: The detection format object.
DETECTION = DetectionFormat()
