"""One error type for unusable input files, and the two readers every loader uses.

Annotation loaders (:class:`bsp_lightning.annotations.AnnotationError`), the evaluation readers
(:class:`bsp_lightning.evaluation.EvaluationInputError`) and the GloVe loader
(:class:`bsp_lightning.text.GloveError`) raise subclasses of :class:`InputFileError`, so a command line can
catch one class and print one line, ``PATH: problem`` (or ``PATH:LINE: problem``), instead of a traceback
from deep inside ``json`` or numpy.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


class InvalidArgumentError(ValueError):
    """A constructor argument (a ``--model.*``/``--data.*`` option) has a value the class cannot use.

    The command line prints its message on one line and exits with code 2: it is the type, not the message text,
    that tells an argument problem from a bug.
    """


class InputFileError(ValueError):
    """An input file that cannot be used; ``str()`` is one line naming the file, the line and the problem.

    Subclasses keep the keyword names ``path``, ``problem`` and ``line`` (the readers below pass them by
    keyword, so a subclass may order its positional arguments differently).

    Attributes:
        path: the file (or folder) at fault, ``None`` when the input did not come from a file (an in-memory
            object handed to an API function).
        problem: what is wrong, in a few words.
        line: 1-based line number where the problem is, when the format has lines.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        self.line = line
        if self.path is None:
            message = problem if line is None else f"line {line}: {problem}"
        else:
            where = self.path if line is None else f"{self.path}:{line}"
            message = f"{where}: {problem}"
        super().__init__(message)


def read_text(
    path: str | os.PathLike,
    what: str = "file",
    errors: str = "strict",
    error: type[InputFileError] = InputFileError,
) -> str:
    """Read a UTF-8 text file; missing, unreadable and empty files raise ``error`` (an :class:`InputFileError`).

    A leading byte-order mark is dropped (``utf-8-sig``). ``errors="replace"`` suits files whose only
    non-UTF-8 bytes can be in free text that is never used (the Charades CSV descriptions).

    Raises:
        error: ``"<what> not found"``, ``"expected a <what>, found a folder"``, ``"cannot read <what>: ..."``,
            ``"empty <what>"`` (nothing but whitespace).
    """
    path = Path(path)
    if not path.exists():
        raise error(path=path, problem=f"{what} not found")
    if path.is_dir():
        raise error(path=path, problem=f"expected a {what}, found a folder")
    try:
        text = path.read_text(encoding="utf-8-sig", errors=errors)
    except (OSError, UnicodeDecodeError) as exc:
        raise error(path=path, problem=f"cannot read {what}: {exc}") from exc
    if not text.strip():
        raise error(path=path, problem=f"empty {what}")
    return text


def read_json(
    path: str | os.PathLike, what: str = "JSON file", error: type[InputFileError] = InputFileError
) -> Any:
    """Parse a JSON file (see :func:`read_text` for missing and empty files).

    Raises:
        error: as :func:`read_text`, or ``"malformed JSON: <reason> (column C)"`` with ``line`` set to the
            line ``json`` stopped at.
    """
    text = read_text(path, what, error=error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(path=path, problem=f"malformed JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None


def to_number(value: Any, path: str | os.PathLike | None, what: str, line: int | None = None,
              error: type[InputFileError] = InputFileError) -> float:
    """``float(value)`` for a finite real number (a JSON number or a numeric string; booleans excluded).

    Raises:
        error: ``"<what> is not a number: <value>"`` or ``"<what> is not finite: <value>"``, naming ``path``.
    """
    if isinstance(value, bool):
        raise error(path=path, problem=f"{what} is not a number: {value!r}", line=line)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise error(path=path, problem=f"{what} is not a number: {value!r}", line=line) from None
    if not math.isfinite(out):
        raise error(path=path, problem=f"{what} is not finite: {value!r}", line=line)
    return out
