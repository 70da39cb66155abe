"""What the prediction formats share: atomic writing, the validation of what is written, ``[start, end]`` pairs.

Writers validate what they write (finite numbers, ``[start, end]`` pairs), turn numpy/torch numbers into JSON numbers
(:func:`jsonable`) and replace the file atomically (:func:`write_text`), so a reader never sees half a file; a
validation error names the file that was not written (:func:`writing`).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.evaluation._io import EvaluationInputError, as_segment
from bsp_lightning.utils.io import atomic_write_text

__all__ = ["jsonable", "pair", "write_text", "writing"]


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Name the file being written in the writers' validation errors."""
    try:
        yield
    except EvaluationInputError as err:
        raise EvaluationInputError(f"not written: {err.problem}", path) from None


def write_text(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    atomic_write_text(path, text)
    return path


def pair(value: Any, where: str, path: Any = None) -> tuple[float, float]:
    """A finite ``[start, end]`` pair as floats (numpy/torch values accepted); start > end is kept, not an error."""
    return as_segment(jsonable(value, where), where, path, allow_reversed=True)


def jsonable(value: Any, where: str) -> Any:
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
        return {str(k): jsonable(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, where) for v in value]
    raise EvaluationInputError(f"{where}: cannot write a {type(value).__name__} as JSON")
