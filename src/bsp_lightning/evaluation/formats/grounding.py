"""Grounding predictions: a JSON list with one record per query, ``{"video": str, "duration": seconds,
"query": str, "gt": [start_s, end_s], "predictions": [[start_s, end_s], ...] ranked best first}`` (other keys are
kept), one query per line.

:data:`GROUNDING` is the format object of the ``"grounding"`` task (merge, atomic write, read, metric names).
Readers raise :class:`~bsp_lightning.evaluation.EvaluationInputError` on unusable input and accept ``[]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, read_json, require_keys
from bsp_lightning.evaluation.formats._common import jsonable, pair, write_text, writing

__all__ = ["GROUNDING", "GROUNDING_KEYS", "GroundingFormat", "read_grounding", "read_grounding_predictions",
           "write_grounding"]

GROUNDING_KEYS = ("video", "duration", "query", "gt", "predictions")


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
    with writing(path):
        lines = [_grounding_line(i, record) for i, record in enumerate(records)]
    return write_text(path, "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n")


def _grounding_line(i: int, record: Any) -> str:
    """One record as a JSON line (numbers checked, arrays turned into lists)."""
    where = f"record {i}"
    if not isinstance(record, Mapping):
        raise EvaluationInputError(f"{where}: expected a mapping, got {type(record).__name__}")
    require_keys(dict(record), GROUNDING_KEYS, where, None)
    out = {k: jsonable(v, f"{where} {k}") for k, v in record.items()}
    out["video"], out["query"] = str(record["video"]), str(record["query"])
    out["duration"] = as_number(out["duration"], where, None, "duration")
    out["gt"] = list(pair(record["gt"], f"{where} gt"))
    try:
        ranked = np.asarray(jsonable(record["predictions"], where), dtype=np.float64)
    except EvaluationInputError:
        raise
    except (TypeError, ValueError):
        raise EvaluationInputError(f"{where}: predictions must be a list of [start, end] pairs") from None
    if ranked.size == 0:
        ranked = ranked.reshape(0, 2)
    if ranked.ndim != 2 or ranked.shape[1] != 2:
        raise EvaluationInputError(f"{where}: predictions must have shape (K, 2), got {ranked.shape}")
    out["predictions"] = [list(pair(p, f"{where} prediction {j}"))
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
        record["gt"] = list(pair(entry["gt"], f"{where} gt", path=path))
        ranked = entry["predictions"]
        if not isinstance(ranked, list):
            raise EvaluationInputError(f"{where}: 'predictions' must be a list of [start, end]", path)
        record["predictions"] = [list(pair(p, f"{where} prediction {j}", path=path))
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




class GroundingFormat:
    """The ``"grounding"`` task's format: :meth:`merge`, :meth:`write` (atomic), :meth:`read`, :meth:`metric_names`."""

    name = "grounding"

    def merge(self, items: Sequence[Mapping[str, Any]], metadata: Mapping[str, Any] | None = None
              ) -> list[dict[str, Any]]:
        """Items ``{"video", "duration", "query", "gt", "predictions", ["index"]}`` of every rank -> the list,
        sorted by ``"index"`` when every item has one (the dataset order, whatever the ranks' order), which is then
        dropped. A grounding file has no place for ``metadata``."""
        items = list(items)
        if items and all("index" in item for item in items):
            items = sorted(items, key=lambda item: item["index"])
        return [{k: v for k, v in item.items() if k != "index"} for item in items]

    def write(self, path: str | os.PathLike, predictions: Iterable[Mapping[str, Any]]) -> Path:
        """:func:`write_grounding`."""
        return write_grounding(path, predictions)

    def read(self, path: str | os.PathLike) -> list[dict[str, Any]]:
        """:func:`read_grounding`."""
        return read_grounding(path)

    def metric_names(self, recall_at: Sequence[int] = (1, 5),
                     iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7)) -> tuple[str, ...]:
        """``R@n,IoU=m`` and ``mIoU`` (:func:`bsp_lightning.evaluation.grounding.metric_names`)."""
        from bsp_lightning.evaluation.grounding import metric_names

        return tuple(metric_names(tuple(recall_at), tuple(iou_thresholds)))


#: The grounding format object.
GROUNDING = GroundingFormat()
