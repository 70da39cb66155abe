"""``csv``: BSN's per-video feature tables, ``csv_mean_100/v_<id>.csv``.

BSN (and G-TAD before its HDF5 file, the same features: gtad issue #43) stores each ActivityNet video as a CSV of
100 rows (the video rescaled to 100 positions) by 400 columns (TSN class scores, 200 rgb + 200 flow), read with
``pandas.read_csv`` (a header row of column names, then numbers). Rows are time steps. A first row of numbers is
data, not a header (the two cannot be confused); every other cell must be a number.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bsp_lightning.annotations.thumos import _is_number
from bsp_lightning.features.importers.base import FeatureImportError, SourceVideo, source_files

__all__ = ["list_csv", "read_feature_csv"]


def read_feature_csv(path: Path) -> np.ndarray:
    """float64 ``(rows, columns)`` of a feature CSV (an optional header row of names skipped).

    Raises:
        FeatureImportError: an unreadable or empty file, a non-numeric cell (with its line), ragged rows.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise FeatureImportError(path, f"cannot read ({err})", path.stem) from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if rows and not all(_is_number(c) for c in rows[0]):
        rows, first_line = rows[1:], 2
    else:
        first_line = 1
    if not rows:
        raise FeatureImportError(path, "no feature rows", path.stem)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise FeatureImportError(path, f"line {first_line + i}: {len(row)} values, expected {width}", path.stem)
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        bad = next(i for i, row in enumerate(rows) if not all(_is_number(c) for c in row))
        raise FeatureImportError(path, f"line {first_line + bad}: not a number", path.stem) from None


@contextlib.contextmanager
def list_csv(settings) -> Iterator[list[SourceVideo]]:
    """The ``.csv`` files of ``settings.sources`` (folders, or the files themselves), one per video."""
    files = source_files(settings.sources, (".csv",))
    yield [SourceVideo(p.stem, (p,), None, lambda p=p: read_feature_csv(p)) for p in files]
