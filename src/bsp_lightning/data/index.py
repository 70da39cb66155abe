"""Index of trimmed action videos in the Kinetics format.

The official Kinetics annotation CSV has the header ``label,youtube_id,time_start,time_end,split``; a clip
is stored as ``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4``. Accepted layouts, for a split such as
``train``::

    root/train/<label>/<youtube_id>_<start>_<end>.mp4      the usual layout
    root/train/<youtube_id>_<start>_<end>.mp4              flat split folder (CVDF download)
    root/<label>/<youtube_id>_<start>_<end>.mp4            no split folder

Label folders may keep the label text as-is (``passing American football (in game)``) or use the common
renamings (spaces to underscores; mmaction2 also turns parentheses into hyphens): files are found by
name anywhere under the split folder, so the folder spelling does not matter. Files named by the bare
youtube id are accepted too. Listed clips that are missing on disk are skipped with one warning that
counts them.

Without a CSV the folders are scanned: ``root/<split>/<label>/*.mp4`` when ``root/<split>`` exists, else
``root/<label>/*.mp4``; the folder name is the label.

Frame folders (``kind="frames"``, :mod:`bsp_lightning.data.frames`) take the place of the files in the same
layouts: ``root/train/<label>/<youtube_id>_<start>_<end>/img_00001.jpg`` or flat ``root/train/<clip>/``.
Only the clip folders are listed (a label folder's entries), never the images inside them, so indexing
Kinetics' 240k folders reads about 240k directory entries. TSM/mmaction2 list files are
:func:`bsp_lightning.data.lists.index_from_list`.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from bsp_lightning.video.extensions import VIDEO_EXTENSIONS

__all__ = ["KINDS", "VideoIndex", "VideoRecord", "VIDEO_EXTENSIONS", "kinetics_clip_name"]

KINDS = ("videos", "frames")  # what a record's path is: a video file or a frame folder

logger = logging.getLogger(__name__)

KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")

# Kinetics CSVs and folders spell the validation split in several ways.
_SPLIT_ALIASES = {
    "train": ("train", "training"),
    "val": ("val", "validate", "valid", "validation"),
    "test": ("test", "testing"),
}


class VideoRecord(NamedTuple):
    """One trimmed video.

    Attributes:
        video_id: ``<youtube_id>_<start:06d>_<end:06d>`` (Kinetics CSV) or the file stem (folder scan).
        path: path of the video file.
        label: class name as written in the CSV (or the folder name).
        label_index: position of ``label`` in :attr:`VideoIndex.classes`.
    """

    video_id: str
    path: str
    label: str
    label_index: int


def kinetics_clip_name(youtube_id: str, time_start: float, time_end: float) -> str:
    """File stem of a Kinetics clip: ``<youtube_id>_<start:06d>_<end:06d>``."""
    return f"{youtube_id}_{int(float(time_start)):06d}_{int(float(time_end)):06d}"


def _split_names(split: str) -> tuple[str, ...]:
    for names in _SPLIT_ALIASES.values():
        if split.lower() in names:
            return names
    return (split,)


def _scan_frame_folders(folder: Path, clip_names: set[str] | None) -> dict[str, str]:
    """Map folder name -> path of the clip folders under ``folder``: a child named like a clip (flat layout),
    else the children of every other child (label folders). Clip folders are never listed."""
    found: dict[str, str] = {}
    with os.scandir(folder) as top:
        children = sorted((e for e in top if e.is_dir() and not e.name.startswith(".")), key=lambda e: e.name)
    for child in children:
        if clip_names is not None and child.name in clip_names:
            found.setdefault(child.name, child.path)
            continue
        with os.scandir(child.path) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir() and not entry.name.startswith("."):
                    found.setdefault(entry.name, entry.path)
    return found


def _scan_videos(folder: Path) -> dict[str, str]:
    """Map file stem -> path for every video under ``folder`` (one walk, no per-clip stat calls)."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            stem, ext = os.path.splitext(name)
            if ext.lower() in VIDEO_EXTENSIONS and not name.startswith("."):
                found.setdefault(stem, os.path.join(dirpath, name))
    return found


class VideoIndex:
    """Videos of one split with their classes.

    Attributes:
        classes: sorted class names; a label's index is its position here.
        records: the videos found on disk, in CSV (or sorted folder) order.
        by_class: class index -> positions in :attr:`records` (only classes with at least one video).
        root: dataset root folder.
        split: the split this index holds.
        kind: ``"videos"`` (record paths are video files) or ``"frames"`` (frame folders).
    """

    def __init__(self, records: list[VideoRecord], classes: list[str], root: str | os.PathLike = "",
                 split: str = "", kind: str = "videos") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind
        self.records = list(records)
        self.classes = list(classes)
        self.root = str(root)
        self.split = split
        self.by_class: dict[int, list[int]] = {}
        for position, record in enumerate(self.records):
            self.by_class.setdefault(record.label_index, []).append(position)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> VideoRecord:
        return self.records[i]

    def __iter__(self) -> Iterator[VideoRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        return (f"VideoIndex(root={self.root!r}, split={self.split!r}, videos={len(self)}, "
                f"classes={len(self.classes)})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @classmethod
    def from_kinetics(cls, root: str | os.PathLike, csv_path: str | os.PathLike | None = None,
                      split: str = "train", kind: str = "videos") -> VideoIndex:
        """Build the index of ``split`` from a Kinetics CSV, or by scanning folders when ``csv_path`` is None.

        Args:
            kind: ``"videos"`` (video files) or ``"frames"`` (one frame folder per clip).

        Raises:
            FileNotFoundError: ``root`` or ``csv_path`` does not exist.
            ValueError: the CSV lacks Kinetics columns or holds no row of ``split``; no video found.
        """
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: video root folder does not exist")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        split_dir = next((root / name for name in _split_names(split) if (root / name).is_dir()), None)
        if csv_path is None:
            return cls._from_folders(root, split_dir if split_dir is not None else root, split, kind)
        return cls._from_csv(root, Path(csv_path), split_dir if split_dir is not None else root, split, kind)

    @classmethod
    def _from_csv(cls, root: Path, csv_path: Path, video_dir: Path, split: str, kind: str = "videos") -> VideoIndex:
        if not csv_path.is_file():
            raise FileNotFoundError(f"{csv_path}: Kinetics CSV does not exist")
        with open(csv_path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing_columns = [c for c in KINETICS_COLUMNS[:4] if c not in columns]
            if missing_columns:
                raise ValueError(f"{csv_path}: not a Kinetics CSV with labels, missing columns {missing_columns} "
                                 f"(expected header {','.join(KINETICS_COLUMNS)})")
            reader.fieldnames = columns
            rows = list(reader)
        classes = sorted({row["label"] for row in rows})
        wanted = set(_split_names(split))
        if "split" in columns:
            present = sorted({row["split"] for row in rows})
            rows = [row for row in rows if row["split"].lower() in wanted]
            if not rows:
                raise ValueError(f"{csv_path}: no row of split {split!r} (splits present: {present})")
        label_index = {label: i for i, label in enumerate(classes)}
        if kind == "videos":
            on_disk = _scan_videos(video_dir)
        else:
            names = {row["youtube_id"] for row in rows}
            for row in rows:
                try:
                    names.add(kinetics_clip_name(row["youtube_id"], row["time_start"], row["time_end"]))
                except (TypeError, ValueError):
                    pass  # reported with its line number below
            on_disk = _scan_frame_folders(video_dir, names)
        records, missing = [], []
        for line, row in enumerate(rows, start=2):
            try:
                video_id = kinetics_clip_name(row["youtube_id"], row["time_start"], row["time_end"])
            except (TypeError, ValueError):
                raise ValueError(f"{csv_path}: line {line}: bad time_start/time_end "
                                 f"{row['time_start']!r}, {row['time_end']!r}") from None
            path = on_disk.get(video_id) or on_disk.get(row["youtube_id"])
            if path is None:
                missing.append(video_id)
                continue
            records.append(VideoRecord(video_id, path, row["label"], label_index[row["label"]]))
        if missing:
            logger.warning("%d of %d videos of split %r listed in %s are missing under %s (first: %s); "
                           "they are skipped", len(missing), len(rows), split, csv_path, video_dir, missing[0])
        if not records:
            what = "videos" if kind == "videos" else "frame folders"
            raise ValueError(f"{csv_path}: none of the {len(rows)} {what} of split {split!r} found under {video_dir}")
        return cls(records, classes, root, split, kind)

    @classmethod
    def _from_folders(cls, root: Path, video_dir: Path, split: str, kind: str = "videos") -> VideoIndex:
        label_dirs = sorted(d for d in video_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
        if kind == "videos":
            per_class = {d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS
                                        and not p.name.startswith(".")) for d in label_dirs}
        else:  # <label>/<clip>/ folders; their images are not listed here
            per_class = {d.name: sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
                         for d in label_dirs}
        classes = sorted(label for label, files in per_class.items() if files)
        records = [VideoRecord(p.stem if kind == "videos" else p.name, str(p), label, i)
                   for i, label in enumerate(classes) for p in per_class[label]]
        if not records:
            what = "videos" if kind == "videos" else "frame folders"
            raise ValueError(f"{video_dir}: no {what} found in <label>/ subfolders")
        return cls(records, classes, root, split, kind)
