"""What can go wrong while loading annotations: fatal errors and counted anomalies.

Two kinds of bad input exist in the benchmarks' annotation files:

* input no official code can read (malformed JSON, a missing key, a non-numeric time, an empty or
  missing file): :class:`AnnotationError`, a ``ValueError`` whose one-line message names the file, the
  line where there is one, and the problem;
* input the official codes read and go on with (a segment ending after the video, a Charades-STA line
  with start > end, CliffDiving instances repeated under Diving): an *anomaly*, counted by kind in the
  :class:`LoadReport` each loader returns, so ``bsp-lightning data inspect`` can list them.

The small file helpers here turn ``OSError``/``json`` failures into :class:`AnnotationError`, a subclass of
:class:`bsp_lightning.utils.errors.InputFileError` (shared with the evaluation readers).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bsp_lightning.utils.errors import InputFileError
from bsp_lightning.utils.errors import read_json as _read_json
from bsp_lightning.utils.errors import read_text as _read_text
from bsp_lightning.utils.errors import to_number as _to_number

#: How many example locations a report keeps per anomaly kind (enough to find them in the file).
MAX_EXAMPLES = 3


class AnnotationError(InputFileError):
    """An annotation file that cannot be read: ``AnnotationError(path, problem, line=None)``.

    Attributes (from :class:`~bsp_lightning.utils.errors.InputFileError`):
        path: the file (or folder) at fault.
        problem: what is wrong, in a few words.
        line: 1-based line number where the problem is, when the format has lines.
    """


@dataclass
class LoadReport:
    """Counts of what a loader kept and of every anomaly it met.

    Attributes:
        format: the annotation format (``"activitynet"``, ``"thumos14"``, ...).
        sources: the files read.
        counts: what was kept, e.g. ``{"records": 4926, "videos": 4926, "classes": 200}``.
        anomalies: anomaly kind -> number of occurrences.
        examples: anomaly kind -> up to :data:`MAX_EXAMPLES` locations (``"file:line"`` or a video id).
    """

    format: str
    sources: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    anomalies: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, where: str | None = None, n: int = 1) -> None:
        """Count ``n`` anomalies of ``kind``; remember ``where`` as an example."""
        self.anomalies[kind] += n
        if where is not None:
            examples = self.examples.setdefault(kind, [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(where)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (anomalies sorted by kind)."""
        return {
            "format": self.format,
            "sources": list(self.sources),
            "counts": dict(self.counts),
            "anomalies": {k: int(self.anomalies[k]) for k in sorted(self.anomalies)},
            "examples": {k: list(self.examples[k]) for k in sorted(self.examples)},
        }

    def format_text(self) -> str:
        """A readable multi-line summary: counts, then every anomaly kind with its count."""
        lines = [f"{self.format}: {', '.join(self.sources)}"]
        width = max([len(k) for k in self.counts] + [len(k) for k in self.anomalies] + [8])
        lines += [f"  {k:<{width}}  {v}" for k, v in self.counts.items()]
        if not self.anomalies:
            lines.append("anomalies: none")
        else:
            lines.append("anomalies:")
            for kind in sorted(self.anomalies):
                examples = self.examples.get(kind)
                tail = f"  (e.g. {', '.join(examples)})" if examples else ""
                lines.append(f"  {kind:<{width}}  {self.anomalies[kind]}{tail}")
        return "\n".join(lines)


def read_text(path: str | os.PathLike, what: str = "file", errors: str = "strict") -> str:
    """Read a UTF-8 text file; missing, unreadable and empty files raise :class:`AnnotationError`.

    See :func:`bsp_lightning.utils.errors.read_text` (BOM dropped; ``errors="replace"`` for files whose only
    non-UTF-8 bytes are in free text that is never used, such as the Charades CSV descriptions).
    """
    return _read_text(path, what, errors, error=AnnotationError)


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file; malformed JSON raises :class:`AnnotationError` with the line number."""
    return _read_json(path, error=AnnotationError)


def to_float(value: Any, path: str | os.PathLike, what: str, line: int | None = None) -> float:
    """``float(value)`` for a finite number (JSON number or numeric string), else :class:`AnnotationError`
    (:func:`bsp_lightning.utils.errors.to_number`)."""
    return _to_number(value, path, what, line, error=AnnotationError)


def require_dir(path: str | os.PathLike, what: str) -> Path:
    """``Path(path)`` if it is a folder, else :class:`AnnotationError`."""
    path = Path(path)
    if not path.exists():
        raise AnnotationError(path, f"{what} not found")
    if not path.is_dir():
        raise AnnotationError(path, f"{what} must be a folder")
    return path
