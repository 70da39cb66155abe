"""The grounding loaders by benchmark name: :func:`load_grounding` (records and policies: :mod:`.query`)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from bsp_lightning.annotations.anet_captions import load_anet_captions
from bsp_lightning.annotations.charades_sta import load_charades_sta
from bsp_lightning.annotations.query import GroundingAnnotations
from bsp_lightning.annotations.tacos import load_tacos

__all__ = ["BENCHMARKS", "load_grounding"]

#: The grounding benchmarks of :func:`load_grounding`.
BENCHMARKS = ("charades", "anet_captions", "tacos")


def load_grounding(benchmark: str, paths: str | os.PathLike | Sequence[str | os.PathLike], policy: str = "2dtan",
                   durations: str | os.PathLike | None = None) -> GroundingAnnotations:
    """The queries of one split of ``benchmark`` under ``policy`` (several files are read in order).

    Args:
        benchmark: ``"charades"``, ``"anet_captions"`` or ``"tacos"``.
        paths: the split's file(s): ``charades_sta_<split>.txt`` (one), ActivityNet Captions JSON (one or more),
            the TACoS JSON (one or more).
        policy: ``"2dtan"`` or ``"lgi"`` (:mod:`bsp_lightning.annotations.query`).
        durations: Charades-STA only: ``Charades_v1_<split>.csv`` (default: the one next to the query file).

    Raises:
        ValueError: an unknown benchmark or policy, several Charades-STA files.
        AnnotationError: the loader's (file, line, problem).
    """
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if benchmark == "charades":
        if len(files) != 1:
            raise ValueError(f"Charades-STA takes one query file per split, got {[str(f) for f in files]}")
        return load_charades_sta(files[0], durations, policy=policy)
    if benchmark == "anet_captions":
        return load_anet_captions(files, policy=policy)
    if benchmark == "tacos":
        return load_tacos(files, policy=policy)
    raise ValueError(f"unknown grounding benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
