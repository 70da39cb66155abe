"""What a head's data left out, or kept with a change, counted per split and reason: :class:`SkipReport`.

Every :class:`~bsp_lightning.heads.FeatureDataModule` holds one (``.skips``). The base class counts the annotated
videos without features (``missing_features``); a head adds its own reasons while it builds a split (a zero-length
segment, a query without a word, an annotation anomaly its official code keeps). After a split is built the base
class logs **one** warning for it, and the counts stay readable (:meth:`SkipReport.as_dict`) so that a result table
can print, next to a score, how much of the benchmark it covers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["SkipReport", "MISSING_FEATURES"]

#: The reason under which the base class counts annotated videos that have no feature file (unit: videos).
MISSING_FEATURES = "missing_features"


class SkipReport:
    """Counters per split and reason, with one example and an optional total per reason (for "n of N").

    Reasons are short names chosen by the head (``"missing_features"``, ``"empty_query"``...); the unit is the
    head's (videos, queries, segments, windows) and is named in its data module's docstring.
    """

    def __init__(self) -> None:
        self._counts: dict[str, Counter] = {}
        self._examples: dict[tuple[str, str], Any] = {}
        self._totals: dict[tuple[str, str], int] = {}

    def add(self, split: str, reason: str, n: int = 1, example: Any = None, of: int | None = None) -> None:
        """Count ``n`` items of ``split`` under ``reason``; keep the first ``example``; ``of`` adds to the total
        they were counted among (printed as "n of total")."""
        if n <= 0:
            return
        self._counts.setdefault(split, Counter())[reason] += n
        if example is not None:
            self._examples.setdefault((split, reason), example)
        if of is not None:
            self._totals[(split, reason)] = self._totals.get((split, reason), 0) + of

    def update(self, split: str, counts: dict[str, int]) -> None:
        """Add several reasons at once (e.g. the anomaly counts of an annotation loader's report)."""
        for reason, n in counts.items():
            self.add(split, reason, int(n))

    def counts(self, split: str) -> dict[str, int]:
        """``{reason: count}`` of ``split`` (empty when nothing was left out)."""
        return dict(self._counts.get(split, {}))

    def as_dict(self) -> dict[str, dict[str, int]]:
        """``{split: {reason: count}}`` for every split with a count (JSON-ready, for a result table)."""
        return {split: dict(sorted(c.items())) for split, c in sorted(self._counts.items()) if c}

    def total(self, split: str | None = None) -> int:
        """The sum of the counts of ``split`` (of every split when ``None``)."""
        splits = [split] if split is not None else list(self._counts)
        return sum(sum(self._counts.get(s, {}).values()) for s in splits)

    def summary(self, split: str) -> str:
        """``"reason: n of N (e.g. 'x'), other: m"`` for ``split``, reasons sorted; ``""`` when none."""
        parts = []
        for reason, n in sorted(self._counts.get(split, {}).items()):
            total = self._totals.get((split, reason))
            example = self._examples.get((split, reason))
            text = f"{reason}: {n}" + (f" of {total}" if total else "")
            parts.append(text + (f" (e.g. {example!r})" if example is not None else ""))
        return ", ".join(parts)

    def snapshot(self, split: str) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """The counts of ``split`` now, to :meth:`restore` them (a dataset built again counts nothing twice)."""
        totals = {k: v for k, v in self._totals.items() if k[0] == split}
        return self.counts(split), totals

    def restore(self, split: str, state: tuple[dict[str, int], dict[tuple[str, str], int]]) -> None:
        """Set the counts of ``split`` back to a :meth:`snapshot`."""
        counts, totals = state
        self._counts[split] = Counter(counts)
        self._totals = {k: v for k, v in self._totals.items() if k[0] != split} | totals

    def __repr__(self) -> str:
        return f"SkipReport({self.as_dict()})"
