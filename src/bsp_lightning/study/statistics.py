"""Bootstrap confidence intervals over test videos, and the study's verdict rule.

A head's test score depends on which videos happen to be in the test split and on the seed of its training run.
The study resamples the **test videos** with replacement (``B`` resamples, the same ones for every feature set,
so that differences are paired) and, in each resample, scores **every seed's run** on the resampled videos and
averages over the seeds. The 95 % interval is the 2.5th and 97.5th percentile of those replicates (percentile
bootstrap); the point estimate is the mean over seeds of each run's score on the whole test split.

Verdict of a comparison ``a < b`` of the paper's ordering, from the interval of the paired difference
``score(b) - score(a)``: **held** when it lies above 0, **reversed** when it lies below 0, **not decided** when it
contains 0. A comparison that involves a backbone below its pretext floor is "not decided: <backbone>
under-trained", whatever the interval says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "HELD",
    "NOT_DECIDED",
    "REVERSED",
    "Interval",
    "bootstrap_counts",
    "paired_replicates",
    "percentile_interval",
    "verdict",
]

HELD, REVERSED, NOT_DECIDED = "held", "reversed", "not decided"


class Interval(NamedTuple):
    """A point estimate with its confidence interval (same units as the estimate)."""

    estimate: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width."""
        return (self.high - self.low) / 2


def bootstrap_counts(num_units: int, num_resamples: int, seed: int = 0) -> np.ndarray:
    """How often each unit (test video) is drawn in each resample: ``int64 (num_resamples, num_units)``.

    Each row is a multinomial draw of ``num_units`` units with replacement, all units equally likely.

    Raises:
        ValueError: no unit, or no resample.
    """
    if num_units < 1 or num_resamples < 1:
        raise ValueError(f"need at least one unit and one resample, got {num_units} and {num_resamples}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(num_units, np.full(num_units, 1.0 / num_units), size=num_resamples).astype(np.int64)


def percentile_interval(estimate: float, replicates: Sequence[float], level: float = 0.95) -> Interval:
    """The percentile bootstrap interval of ``replicates`` around ``estimate``.

    Replicates that are NaN (a resample where the statistic is undefined, e.g. no positive segment) are left out.

    Raises:
        ValueError: ``level`` not in (0, 1), or no finite replicate.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    values = np.asarray(replicates, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite bootstrap replicate")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high))


def paired_replicates(score_runs: Sequence[Callable[[np.ndarray], float]], counts: np.ndarray) -> np.ndarray:
    """Replicates of the seed-averaged score: for each resample (row of ``counts``), the mean over the runs of
    ``score(counts_row)``.

    Args:
        score_runs: one function per seed's run, taking the per-unit multiplicities ``(num_units,)`` and
            returning the score of that run on the resampled units.
        counts: :func:`bootstrap_counts` output.

    Returns:
        ``float64 (num_resamples,)``.
    """
    if not score_runs:
        raise ValueError("no run to resample")
    return np.array([np.mean([score(row) for score in score_runs]) for row in counts], dtype=np.float64)


def verdict(difference: Interval, under_trained: Sequence[str] = ()) -> str:
    """The verdict of one comparison from the interval of its paired difference (module docstring).

    Args:
        difference: interval of ``score(later) - score(earlier)`` in the paper's ordering.
        under_trained: backbones of this comparison below their pretext floor.
    """
    if under_trained:
        return f"{NOT_DECIDED}: {', '.join(under_trained)} under-trained"
    if difference.low > 0:
        return HELD
    if difference.high < 0:
        return REVERSED
    return NOT_DECIDED
