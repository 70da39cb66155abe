"""The seeded validation hold-out of :class:`~bsp_lightning.heads.FeatureDataModule`, and the split file.

The official 2D-TAN and LGI codes keep the epoch with the best *test* score. This library never looks at the test
split for model selection: where a benchmark has no validation split (Charades-STA, CrossTask, G-TAD's
``val_subset="holdout"``), a seeded fraction of the training *videos* (never single queries, so no video is on both
sides) is held out, and the split is saved with the run as ``<default_root_dir>/split.json``
(:data:`SPLIT_FILE`). A split file given by the user (``split_file``: the ``split.json`` of an earlier run, or
any JSON with ``"train"`` and ``"val"`` lists of video ids) wins over the drawn one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bsp_lightning.utils.errors import InputFileError, read_json
from bsp_lightning.utils.io import atomic_write_json

__all__ = ["SPLIT_FILE", "holdout_split", "read_split", "write_split"]

#: The split saved with a run, in its ``default_root_dir``.
SPLIT_FILE = "split.json"


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


def read_split(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a split file: a JSON object whose ``"train"`` (required), ``"val"`` and ``"test"`` (optional) values are
    lists of video ids; other keys are ignored.

    Raises:
        InputFileError: the file is missing, empty or not JSON, or ``"train"`` is not a list of ids (names the file).
    """
    data = read_json(path, "split file")
    if not isinstance(data, dict) or not isinstance(data.get("train"), list):
        raise InputFileError(path, 'a split file is a JSON object with a "train" list of video ids '
                                   '(and "val", "test" lists)')
    out = {}
    for key in ("train", "val", "test"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputFileError(path, f"{key!r} must be a list of video ids (strings)")
        out[key] = list(value)
    return out
