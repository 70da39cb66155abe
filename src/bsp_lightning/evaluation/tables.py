"""The one table formatter of the library's printed results (``bsp-lightning evaluate``, a head's test, the proposal
metric): right-aligned columns between rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["format_metric_table", "format_table"]


def format_table(rows: Sequence[Sequence[Any]], title: str = "") -> str:
    """``rows`` (the first is the header) as right-aligned columns: rule, header, rule, rows, rule; ``title``
    (when given) on the line above."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).rjust(w) for cell, w in zip(row, widths)) for row in rows]
    rule = "-" * len(lines[0])
    return "\n".join(([title] if title else []) + [rule, lines[0], rule, *lines[1:], rule])


def format_metric_table(metrics: Mapping[str, float], title: str = "") -> str:
    """A two-row table of fractions shown in percent (two decimals), one column per metric; the title says
    ``(%)``."""
    names = list(metrics)
    title = f"{title} (%)" if title else "(%)"
    return format_table([names, [f"{100 * float(metrics[n]):.2f}" for n in names]], title)
