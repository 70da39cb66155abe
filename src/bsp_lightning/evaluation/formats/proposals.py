"""Proposal predictions: ``{"results": {video_id: [{"segment": [start_s, end_s], "score": float}, ...]}}``, the
class-agnostic input of ActivityNet's ``Evaluation/eval_proposal.py`` (a detection file reads as one: its labels
are ignored, so each top-k duplicate counts as a proposal, as in the official script).

:data:`PROPOSALS` is its format object; a detection head's proposals travel in its
:class:`~bsp_lightning.evaluation.formats.detection.Detections` and are written with it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, read_json, require_keys
from bsp_lightning.evaluation.formats._common import write_text, writing

__all__ = ["PROPOSALS", "ProposalsFormat", "read_proposals", "write_proposals"]

#: The AN values reported in tables (AR@1, @5, @10, @50, @100).
REPORTED_AN = (1, 5, 10, 50, 100)


def write_proposals(path: str | os.PathLike, proposals: Mapping[str, Any]) -> Path:
    """Write video id -> ``(n, 3)`` ``[start_s, end_s, score]`` atomically, one video per line; returns ``Path(path)``.

    Raises:
        EvaluationInputError: an array that is not ``(n, 3)``, a NaN or infinite value (the file is not written).
    """
    lines = []
    with writing(path):
        for video, rows in proposals.items():
            array = np.asarray(rows, dtype=np.float64)
            array = array.reshape(0, 3) if array.size == 0 else array
            if array.ndim != 2 or array.shape[1] != 3:
                raise EvaluationInputError(f"video {video!r}: proposals must be (n, 3), got shape {array.shape}")
            if not np.isfinite(array).all():
                raise EvaluationInputError(f"video {video!r}: NaN or infinite proposal value(s)")
            entries = [{"segment": [float(a), float(b)], "score": float(s)} for a, b, s in array]
            lines.append(f"{json.dumps(str(video))}: {json.dumps(entries)}")
    body = ",\n".join(lines)
    return write_text(path, f'{{"results": {{\n{body}\n}}}}\n' if lines else '{"results": {}}\n')


def read_proposals(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read ``{"results": {video: [{"segment": [s, e], "score", ...}]}}`` -> video -> float64 ``(n, 3)``.

    Raises:
        EvaluationInputError: missing/malformed file, an entry without ``segment``/``score``, a bad number.
    """
    data = read_json(path)
    require_keys(data, ("results",), "top level", path)
    results = data["results"]
    if not isinstance(results, dict):
        raise EvaluationInputError("'results' must be an object video id -> list", path)
    out = {}
    for video, entries in results.items():
        if not isinstance(entries, list):
            raise EvaluationInputError(f"results[{video!r}] must be a list", path)
        rows = []
        for i, entry in enumerate(entries):
            where = f"results[{video!r}][{i}]"
            require_keys(entry, ("segment", "score"), where, path)
            seg = entry["segment"]
            if not isinstance(seg, (list, tuple)) or len(seg) != 2:
                raise EvaluationInputError(f"{where}: segment must be a [start, end] pair, got {seg!r}", path)
            rows.append([as_number(seg[0], where, path, "segment bound"), as_number(seg[1], where, path, "segment bound"),
                         as_number(entry["score"], where, path)])
        out[str(video)] = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return out


class ProposalsFormat:
    """The proposal format: :meth:`merge`, :meth:`write` (atomic), :meth:`read`, :meth:`metric_names`."""

    name = "proposals"

    def merge(self, items: Sequence[Any], metadata: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Items ``(video_id, (n, 3) proposals)`` of every rank -> video -> their rows stacked in item order."""
        merged: dict[str, list[np.ndarray]] = {}
        for video_id, rows in items:
            merged.setdefault(str(video_id), []).append(np.asarray(rows, dtype=np.float64).reshape(-1, 3))
        return {video: np.concatenate(parts) for video, parts in merged.items()}

    def write(self, path: str | os.PathLike, predictions: Mapping[str, Any]) -> Path:
        """:func:`write_proposals`."""
        return write_proposals(path, predictions)

    def read(self, path: str | os.PathLike) -> dict[str, np.ndarray]:
        """:func:`read_proposals`."""
        return read_proposals(path)

    def metric_names(self) -> tuple[str, ...]:
        """``AR@1``, ``AR@5``, ``AR@10``, ``AR@50``, ``AR@100`` and ``AUC``."""
        return tuple(f"AR@{an}" for an in REPORTED_AN) + ("AUC",)


#: The proposal format object.
PROPOSALS = ProposalsFormat()
