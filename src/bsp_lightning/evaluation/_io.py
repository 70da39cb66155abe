"""Reading and checking the JSON files the evaluation commands take.

Every problem becomes an :class:`EvaluationInputError` (an
:class:`~bsp_lightning.utils.errors.InputFileError`, like the annotation loaders' ``AnnotationError``) whose
message names the file and the problem, so the CLI can print one line instead of a traceback from deep
inside ``json`` or numpy.
"""

from __future__ import annotations

import math
import os
from typing import Any

from bsp_lightning.utils.errors import InputFileError
from bsp_lightning.utils.errors import read_json as _read_json


class EvaluationInputError(InputFileError):
    """A prediction or ground-truth input is unusable; ``str()`` names the file (when known) and the problem.

    ``EvaluationInputError(problem, path=None, line=None)``: the problem comes first because most of these
    errors are raised on in-memory inputs of the API functions, where there is no file; this positional order
    is the one the evaluation modules have always used (pass ``path=`` by keyword to be order-proof). The
    attributes and the message are those of :class:`~bsp_lightning.utils.errors.InputFileError`.
    """

    def __init__(self, problem: str, path: str | os.PathLike | None = None, line: int | None = None) -> None:
        super().__init__(path, problem, line)


def read_json(path: str | os.PathLike) -> Any:
    """Load a JSON file; missing, empty or malformed files raise :class:`EvaluationInputError`.

    The one reader of :func:`bsp_lightning.utils.errors.read_json` (messages ``JSON file not found``,
    ``empty JSON file``, ``PATH:LINE: malformed JSON: ...``).
    """
    return _read_json(path, error=EvaluationInputError)


def as_segment(value: Any, where: str, path: str | os.PathLike | None,
               allow_reversed: bool = False) -> tuple[float, float]:
    """Check ``value`` is a finite ``[start, end]`` pair with ``start <= end`` (any order when ``allow_reversed``)
    and return it as floats."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise EvaluationInputError(f"{where}: segment must be a [start, end] pair, got {value!r}", path)
    start, end = (as_number(v, where, path, "segment bound") for v in value)
    if start > end and not allow_reversed:
        raise EvaluationInputError(f"{where}: segment start {start} > end {end}", path)
    return start, end


def as_number(value: Any, where: str, path: str | os.PathLike | None, what: str = "score") -> float:
    """Check ``value`` is a finite real number (JSON booleans excluded) and return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvaluationInputError(f"{where}: {what} must be a number, got {value!r}", path)
    number = float(value)
    if not math.isfinite(number):
        raise EvaluationInputError(f"{where}: {what} is {value!r} (NaN or infinite)", path)
    return number


def require_keys(obj: Any, keys: tuple[str, ...], where: str, path: str | os.PathLike | None) -> None:
    """Check ``obj`` is a JSON object holding every key of ``keys``."""
    if not isinstance(obj, dict):
        raise EvaluationInputError(f"{where}: expected a JSON object, got {type(obj).__name__}", path)
    missing = [k for k in keys if k not in obj]
    if missing:
        raise EvaluationInputError(f"{where}: missing key(s) {', '.join(map(repr, missing))}", path)
