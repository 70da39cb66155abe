"""Actionness predictions: ``{video_id: [score of each 0.2 s segment, ...]}``; the reserved top-level key
``"_protocol"`` may hold how the scores were made (segment length, overlap rule, ...) and is ignored by the reader.

:data:`ACTIONNESS` is the format object of the ``"actionness"`` task: it merges a head's items into an
:class:`ActionnessScores` object, which carries the protocol to the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_number, read_json
from bsp_lightning.evaluation.formats._common import jsonable, write_text, writing

__all__ = ["ACTIONNESS", "ActionnessFormat", "ActionnessScores", "PROTOCOL_KEY", "read_actionness",
           "write_actionness"]

#: Reserved top-level key of an actionness file; never a video id.
PROTOCOL_KEY = "_protocol"


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
    with writing(path):
        lines = [_actionness_line(str(video), values) for video, values in scores.items()]
        if protocol is not None:
            lines.append(f"{json.dumps(PROTOCOL_KEY)}: {json.dumps(jsonable(dict(protocol), PROTOCOL_KEY))}")
    return write_text(path, "{\n" + ",\n".join(lines) + "\n}\n" if lines else "{}\n")


def _actionness_line(video: str, values: Any) -> str:
    """``"video": [scores]`` (1-D, finite)."""
    if video == PROTOCOL_KEY:
        raise EvaluationInputError(f"{PROTOCOL_KEY!r} is reserved for the protocol and cannot be a video id")
    try:
        array = np.asarray(jsonable(values, f"video {video!r}"), dtype=np.float64)
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




@dataclass
class ActionnessScores:
    """Merged actionness predictions: ``scores`` video id -> one score per segment, and the ``protocol`` written
    under ``"_protocol"`` (``None``: none)."""

    scores: dict[str, list[float]]
    protocol: dict[str, Any] | None = field(default=None)


class ActionnessFormat:
    """The ``"actionness"`` task's format: :meth:`merge`, :meth:`write` (atomic), :meth:`read`, :meth:`metric_names`."""

    name = "actionness"

    def merge(self, items: Sequence[Any], metadata: Mapping[str, Any] | None = None) -> ActionnessScores:
        """Items ``(video_id, scores)`` of every rank -> :class:`ActionnessScores`; ``metadata`` is the protocol."""
        return ActionnessScores({str(video_id): [float(s) for s in scores] for video_id, scores in items},
                                None if metadata is None else dict(metadata))

    def write(self, path: str | os.PathLike, predictions: ActionnessScores | Mapping[str, Sequence[float]]) -> Path:
        """:func:`write_actionness` (``predictions`` may also be a plain ``{video: scores}``)."""
        if isinstance(predictions, ActionnessScores):
            return write_actionness(path, predictions.scores, protocol=predictions.protocol)
        return write_actionness(path, predictions)

    def read(self, path: str | os.PathLike) -> dict[str, np.ndarray]:
        """:func:`read_actionness`."""
        return read_actionness(path)

    def metric_names(self) -> tuple[str, ...]:
        """``AP`` (pooled over every segment, the paper's number) and ``AP_per_video_mean``."""
        return ("AP", "AP_per_video_mean")


#: The actionness format object.
ACTIONNESS = ActionnessFormat()
