"""The seeded validation hold-out shared by the heads whose official code selects on the test split.

The official 2D-TAN and LGI codes keep the epoch with the best *test* score. This library never looks at the test
split for model selection: where a benchmark has no validation split (Charades-STA), a seeded fraction of the
training *videos* (never single queries, so no video is on both sides) is held out, and the split is saved with
the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bsp_lightning.utils.io import atomic_write_json

__all__ = ["holdout_split", "write_split"]


def holdout_split(video_ids: Iterable[str], fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Split training videos into ``(train, val)``: ``round(fraction * n)`` videos (at least 1 when
    ``fraction > 0`` and ``n >= 2``) drawn without replacement by ``numpy.random.default_rng(seed)`` from the
    sorted unique ids. Both lists are returned sorted, so the split depends only on the id set and the seed.

    Raises:
        ValueError: ``fraction`` outside ``[0, 1)``.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"hold-out fraction must be in [0, 1), got {fraction}")
    ids = sorted(set(video_ids))
    n_val = int(round(fraction * len(ids)))
    if fraction > 0 and n_val == 0 and len(ids) >= 2:
        n_val = 1
    rng = np.random.default_rng(seed)
    val = set(rng.choice(len(ids), size=n_val, replace=False).tolist()) if n_val else set()
    return [v for i, v in enumerate(ids) if i not in val], [v for i, v in enumerate(ids) if i in val]


def write_split(path: str | os.PathLike, split: Mapping[str, Sequence[str]], **meta: object) -> None:
    """Write ``{"train": [...], "val": [...], ...meta}`` atomically as JSON (the split saved with the run)."""
    atomic_write_json(path, {**{k: list(v) for k, v in split.items()}, **meta})
