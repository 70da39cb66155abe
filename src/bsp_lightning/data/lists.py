"""TSM and mmaction2 list files: one video or frame folder per line, with its class number.

Formats (whitespace-separated, paths relative to the dataset root unless absolute):

- frame folders, as TSM's ``gen_label_kinetics.py`` and mmaction2's ``build_file_list.py`` write them:
  ``<folder> <num_frames> <label>`` (``abseiling/-3B32lodo2M_000059_000069 300 0``);
- videos, mmaction2's video list: ``<file> <label>`` (``abseiling/-3B32lodo2M_000059_000069.mp4 0``).

The label is the class number; the class names are those numbers as text. The frame count written in a
list is not used: it is read from the folder itself (:func:`bsp_lightning.data.frames.folder_info`), so a
folder re-extracted at another rate stays right. Listed paths that do not exist are skipped with one
warning that counts them, as for a Kinetics CSV.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

from bsp_lightning.data.index import KINDS, KINETICS_COLUMNS, VideoIndex, VideoRecord

__all__ = ["index_from_list", "is_kinetics_csv", "open_index"]

logger = logging.getLogger(__name__)


def is_kinetics_csv(path: str | os.PathLike) -> bool:
    """True when the first line of ``path`` is a CSV header naming the Kinetics columns."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return False
    return all(column in [h.strip() for h in header] for column in KINETICS_COLUMNS[:2])


def _parse(line: str, list_path: Path, number: int) -> tuple[str, int]:
    tokens = line.split()
    if len(tokens) >= 3 and tokens[-2].isdigit() and tokens[-1].lstrip("-").isdigit():
        return " ".join(tokens[:-2]), int(tokens[-1])  # <folder> <num_frames> <label>
    if len(tokens) >= 2 and tokens[-1].lstrip("-").isdigit():
        return " ".join(tokens[:-1]), int(tokens[-1])  # <file> <label>
    raise ValueError(f"{list_path}: line {number}: expected '<path> <num_frames> <label>' or '<path> <label>' "
                     f"with an integer class number, got {line.strip()!r}")


def index_from_list(root: str | os.PathLike, list_path: str | os.PathLike, split: str = "train",
                    kind: str = "frames") -> VideoIndex:
    """A :class:`~bsp_lightning.data.index.VideoIndex` of the videos or frame folders a list file names.

    Args:
        root: the folder listed paths are relative to.
        list_path: the list file (see the module docstring).
        split: recorded in the index.
        kind: ``"frames"`` (frame folders) or ``"videos"`` (video files).

    Raises:
        FileNotFoundError: ``list_path`` does not exist.
        ValueError: a line that is not in one of the formats, a negative class number, or no listed path
            exists.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    root, list_path = Path(root), Path(list_path)
    if not list_path.is_file():
        raise FileNotFoundError(f"{list_path}: list file does not exist")
    entries = []
    with open(list_path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                entries.append(_parse(line, list_path, number))
    if not entries:
        raise ValueError(f"{list_path}: the list names no video")
    negative = next((label for _, label in entries if label < 0), None)
    if negative is not None:
        raise ValueError(f"{list_path}: class numbers must be >= 0, found {negative}")
    classes = [str(i) for i in range(max(label for _, label in entries) + 1)]
    records, missing = [], []
    for path_text, label in entries:
        path = Path(path_text) if Path(path_text).is_absolute() else root / path_text
        exists = path.is_dir() if kind == "frames" else path.is_file()
        if not exists:
            missing.append(str(path))
            continue
        video_id = path.name if kind == "frames" else path.stem
        records.append(VideoRecord(video_id, str(path), classes[label], label))
    if missing:
        logger.warning("%d of %d %s listed in %s are missing (first: %s); they are skipped", len(missing),
                       len(entries), "frame folders" if kind == "frames" else "videos", list_path, missing[0])
    if not records:
        raise ValueError(f"{list_path}: none of the {len(entries)} listed paths exists under {root}")
    return VideoIndex(records, classes, root, split, kind)


def open_index(root: str | os.PathLike, csv_path: str | os.PathLike | None, split: str,
               kind: str = "videos") -> VideoIndex:
    """The index of ``split`` under ``root``: from a Kinetics CSV, a TSM/mmaction2 list file, or the folders.

    ``csv_path`` None takes ``root/<split>.csv`` when it exists, else scans the label folders
    (:meth:`VideoIndex.from_kinetics`).

    Raises:
        FileNotFoundError: ``root`` or the named file does not exist.
        ValueError: a file of neither format, or nothing found.
    """
    root = Path(root)
    if csv_path is None and (root / f"{split}.csv").is_file():
        csv_path = root / f"{split}.csv"
    if csv_path is not None and Path(csv_path).is_file() and not is_kinetics_csv(csv_path):
        return index_from_list(root, csv_path, split, kind)
    return VideoIndex.from_kinetics(root, csv_path, split=split, kind=kind)
