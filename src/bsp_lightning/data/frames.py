"""Frame folders: a video stored as one image per frame, as TSM's and mmaction2's ``rawframes`` tools write them.

Layout: one folder per video (``<root>/<split>/<label>/<video_id>/img_00001.jpg``). File names follow a
template with one integer field; the usual ones are tried in order when none is given
(:data:`TEMPLATES`): TSM and mmaction2 write ``img_{:05d}.jpg`` from 1, ``ffmpeg -i v.mp4 %05d.jpg``
writes ``{:05d}.jpg`` from 1. Frame ``k`` (0-based, as for videos) is the file numbered
``start_index + k``; ``start_index`` is 0 when a file numbered 0 exists, else 1.

The frame count comes from the folder (one directory listing, cached per process): the highest file number
minus ``start_index`` plus one. A file missing inside that range, or one that does not decode, is an error
for the sample that needs it (:class:`FrameFolderError`, a :class:`~bsp_lightning.video.VideoDecodeError`),
so the pre-training data skips and counts it as it does a broken video.

Only the images a sample needs are read, decoded at the wanted size (:mod:`bsp_lightning.data.jpeg`:
libjpeg's DCT scaling through PIL's draft mode when shrinking by 2 or more).

Frame rates are not in the images: :func:`read_fps_table` reads them from a number or a side file.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bsp_lightning.data.jpeg import ImageDecodeError, decode_image, image_size
from bsp_lightning.video.decode import VideoInfo
from bsp_lightning.video.errors import VideoDecodeError
from bsp_lightning.video.geometry import resized_shape
from bsp_lightning.video.snippets import Snippet, num_snippets

__all__ = [
    "FolderInfo",
    "FrameFolderError",
    "IMAGE_EXTENSIONS",
    "TEMPLATES",
    "folder_info",
    "folder_video_info",
    "fps_of",
    "is_frame_folder",
    "iter_folder_frames",
    "iter_folder_snippets",
    "read_fps_table",
    "read_images",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
# Tried in this order when no template is given; the one matching the most files of a folder wins.
TEMPLATES = ("img_{:05d}.jpg", "{:05d}.jpg", "image_{:05d}.jpg", "frame_{:05d}.jpg", "{:06d}.jpg", "img_{:05d}.png")


class FrameFolderError(VideoDecodeError):
    """A frame folder (or one of its images) that cannot be read; ``str()`` names the folder and the reason."""


class FolderInfo(NamedTuple):
    """What a frame folder holds.

    Attributes:
        path: the folder.
        template: file-name template with one integer field (``img_{:05d}.jpg``).
        start_index: the file number of frame 0.
        num_frames: highest file number - ``start_index`` + 1.
        num_missing: numbers in that range without a file (a sample that needs one is skipped).
        height: height of the first image, in pixels (all frames of a folder share it).
        width: width of the first image.
    """

    path: str
    template: str
    start_index: int
    num_frames: int
    num_missing: int
    height: int
    width: int

    def file(self, frame: int) -> str:
        """Path of frame ``frame`` (0-based)."""
        return os.path.join(self.path, self.template.format(self.start_index + frame))


@lru_cache(maxsize=None)
def _pattern(template: str) -> tuple[re.Pattern[str], str]:
    fields = re.findall(r"\{[^{}]*\}", template)
    if len(fields) != 1 or not re.fullmatch(r"\{(:0?\d*d)?\}", fields[0]):
        raise ValueError(f"frame template {template!r} must have exactly one integer field such as {{:05d}}")
    prefix, suffix = template.split(fields[0])
    width = re.search(r"0(\d+)d", fields[0])
    # exactly what str.format writes: zero-padded to the width, or more digits without a leading zero
    digits = rf"(\d{{{width.group(1)}}}|[1-9]\d{{{width.group(1)},}})" if width else r"(0|[1-9]\d*)"
    return re.compile(re.escape(prefix) + digits + re.escape(suffix) + r"\Z"), fields[0]


def _numbers(names: Sequence[str], template: str) -> list[int]:
    pattern, _ = _pattern(template)
    return [int(m.group(1)) for m in map(pattern.match, names) if m]


def is_frame_folder(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding at least one image file (checked on its first entries)."""
    try:
        with os.scandir(path) as entries:
            for count, entry in enumerate(entries):
                if os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                    return True
                if count >= 16:
                    return False
    except OSError:
        return False
    return False


def folder_info(path: str | os.PathLike, template: str | None = None, start_index: int | None = None) -> FolderInfo:
    """List a frame folder once and describe it (:class:`FolderInfo`); cached per process.

    Args:
        path: the folder.
        template: file-name template (None: the one of :data:`TEMPLATES` matching the most files).
        start_index: file number of frame 0 (None: 0 when a file numbered 0 exists, else 1).

    Raises:
        FrameFolderError: the folder does not exist or holds no file of the template, or its first image
            has no readable header.
        ValueError: a template without exactly one integer field.
    """
    return _folder_info(os.fspath(path), template, start_index)


@lru_cache(maxsize=65536)
def _folder_info(path: str, template: str | None, start_index: int | None) -> FolderInfo:
    try:
        with os.scandir(path) as entries:
            names = [entry.name for entry in entries]
    except OSError as err:
        raise FrameFolderError(path, f"cannot list the frame folder ({err.strerror or err})") from None
    candidates = (template,) if template is not None else TEMPLATES
    matched = max(((t, _numbers(names, t)) for t in candidates), key=lambda item: len(item[1]))
    template, numbers = matched
    if not numbers:
        tried = template if len(candidates) == 1 else ", ".join(candidates)
        raise FrameFolderError(path, f"no image named like {tried} ({len(names)} files)")
    present = set(numbers)
    start = (0 if 0 in present else 1) if start_index is None else start_index
    last = max(numbers)
    num_frames = last - start + 1
    if num_frames < 1:
        raise FrameFolderError(path, f"no frame numbered {start} or more")
    first = next((n for n in range(start, last + 1) if n in present), last)
    try:
        height, width = image_size(os.path.join(path, template.format(first)))
    except ImageDecodeError as err:
        raise FrameFolderError(path, f"{template.format(first)}: {err}") from None
    missing = num_frames - len({n for n in present if n >= start})
    return FolderInfo(path, template, start, num_frames, missing, height, width)


def _read(info: FolderInfo, frame: int, size: tuple[int, int], decoder: str) -> np.ndarray:
    name = info.template.format(info.start_index + frame)
    try:
        with open(os.path.join(info.path, name), "rb") as f:
            data = f.read()
    except OSError:
        raise FrameFolderError(info.path, f"{name} is missing (frame {frame} of {info.num_frames})") from None
    try:
        # a frame of another size than the first is resized like the others (size is the same for all)
        return decode_image(data, size, (info.height, info.width), decoder)
    except ImageDecodeError as err:
        raise FrameFolderError(info.path, f"{name}: {err}") from None


def read_images(
    info: FolderInfo, indices: Sequence[int], short_side: int | None = None, decoder: str = "auto"
) -> np.ndarray:
    """Decode frames ``indices`` (0-based, any order, duplicates decoded once) of a frame folder.

    Args:
        info: the folder (:func:`folder_info`).
        indices: frame numbers.
        short_side: resize so the shorter side has this many pixels (aspect ratio kept, as
            :func:`bsp_lightning.video.read_frames` does); None keeps the stored size.
        decoder: see :func:`bsp_lightning.data.jpeg.decode_image`.

    Returns:
        ``uint8 (len(indices), H, W, 3)`` RGB in the order of ``indices``.

    Raises:
        FrameFolderError: an index outside the folder, a missing file, or an image that does not decode.
    """
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    size = resized_shape(info.height, info.width, short_side)
    out = np.empty((wanted.size, *size, 3), dtype=np.uint8)
    if wanted.size and (wanted.min() < 0 or wanted.max() >= info.num_frames):
        bad = int(wanted.min() if wanted.min() < 0 else wanted.max())
        raise FrameFolderError(info.path, f"frame {bad} requested but the folder has {info.num_frames} frames")
    for frame in np.unique(wanted).tolist():
        out[wanted == frame] = _read(info, frame, size, decoder)
    return out


def iter_folder_frames(info: FolderInfo, short_side: int | None = None, decoder: str = "auto") -> Iterator[np.ndarray]:
    """Yield every frame of a folder in order, one ``uint8 (H, W, 3)`` array at a time.

    Raises:
        FrameFolderError: a missing or undecodable image (the frames before it were yielded).
    """
    size = resized_shape(info.height, info.width, short_side)
    for frame in range(info.num_frames):
        yield _read(info, frame, size, decoder)


def read_fps_table(source: float | str | os.PathLike | None) -> float | Mapping[str, float] | None:
    """Frame rates of frame folders: one number for all, or a side file naming each folder.

    Args:
        source: a number (``30``, ``"29.97"``); a JSON file ``{"<video_id>": fps, ...}``; or a CSV file with a
            header naming a video column (``video_id``, ``video``, ``id``, ``youtube_id`` or ``name``) and an
            ``fps`` column; None: unknown.

    Returns:
        The number, the ``video_id -> fps`` mapping, or None.

    Raises:
        ValueError: a side file that does not exist or has none of the columns above, or a rate <= 0.
    """
    if source is None:
        return None
    if isinstance(source, (int, float)) or re.fullmatch(r"\s*\d+(\.\d*)?\s*", str(source)):
        fps = float(source)
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        return fps
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{path}: fps side file does not exist (give a number or a JSON/CSV file)")
    if path.suffix.lower() == ".json":
        with open(path, encoding="utf-8") as f:
            table = {str(k): float(v) for k, v in json.load(f).items()}
    else:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            video = next((c for c in ("video_id", "video", "id", "youtube_id", "name") if c in columns), None)
            if video is None or "fps" not in columns:
                raise ValueError(f"{path}: an fps CSV needs a header with a video column (video_id, video, id, "
                                 f"youtube_id or name) and 'fps'; found {columns}")
            reader.fieldnames = columns
            table = {row[video]: float(row["fps"]) for row in reader}
    bad = [k for k, v in table.items() if not v > 0]
    if bad:
        raise ValueError(f"{path}: fps must be > 0 (video {bad[0]!r})")
    return table


def fps_of(table: float | Mapping[str, float] | None, video_id: str) -> float | None:
    """The frame rate of ``video_id`` from :func:`read_fps_table`'s result (None: unknown)."""
    if table is None or isinstance(table, float):
        return table
    return table.get(video_id)


def folder_video_info(path: str | os.PathLike, fps: float, template: str | None = None) -> VideoInfo:
    """A frame folder described like a video file (:class:`bsp_lightning.video.VideoInfo`) at frame rate ``fps``.

    Raises:
        FrameFolderError: see :func:`folder_info`.
    """
    info = folder_info(path, template)
    return VideoInfo(path=info.path, fps=float(fps), num_frames=info.num_frames, duration=info.num_frames / fps,
                     width=info.width, height=info.height, stored_width=info.width, stored_height=info.height)


def iter_folder_snippets(info: FolderInfo, snippet_length: int = 8, stride: int = 8,
                         short_side: int | None = None, decoder: str = "auto") -> Iterator[Snippet]:
    """The snippets of a frame folder, under the rule of :func:`bsp_lightning.video.iter_snippets` (snippet ``k``
    starts at frame ``k * stride``; the last one is padded with the last frame;
    :func:`~bsp_lightning.video.num_snippets` of them). Each image is decoded once; at most one snippet of frames
    is held.

    Raises:
        FrameFolderError: a missing or undecodable image (the snippets before it were yielded).
    """
    size = resized_shape(info.height, info.width, short_side)
    held: dict[int, np.ndarray] = {}
    for k in range(num_snippets(info.num_frames, snippet_length, stride)):
        start = k * stride
        numbers = [min(start + i, info.num_frames - 1) for i in range(snippet_length)]
        for old in [n for n in held if n < start]:
            del held[old]
        for number in numbers:
            if number not in held:
                held[number] = _read(info, number, size, decoder)
        yield Snippet(start, np.stack([held[n] for n in numbers]), min(snippet_length, info.num_frames - start))
