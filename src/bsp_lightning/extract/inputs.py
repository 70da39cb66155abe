"""What an extraction reads: the video list, the checkpoints, the snippet settings and their defaults.

Each checkpoint is read once (:func:`read_checkpoint_info`); what is read is passed on, to the settings here and
to the loader (:func:`~bsp_lightning.extract.extractor.load_feature_stream`).

Snippet settings default to what the checkpoint was trained with
(``docs/decisions.md#extraction-defaults-from-checkpoint``): a BSP checkpoint records its DataModule's
hyper-parameters (``datamodule_hyper_parameters``), whose ``num_frames`` (the pre-training name) is the
``snippet_length``, ``short_side`` the decoding size and ``resolution`` the centre crop (the validation protocol
of :class:`~bsp_lightning.data.BSPDataModule`). An official TSM file keeps TSM's single-crop test protocol,
short side 256 then a 224 crop, 8 frames. A flag given on the command line wins. The manifest records each
value and where it came from (``config.settings_source``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bsp_lightning.models.checkpoints import CheckpointInfo, inspect_checkpoint
from bsp_lightning.video.extensions import VIDEO_EXTENSIONS

__all__ = [
    "OFFICIAL_TSM_SETTINGS",
    "UNSET",
    "ExtractionError",
    "SnippetSpec",
    "VideoItem",
    "checkpoint_settings",
    "list_videos",
    "read_checkpoint_info",
    "resolve_spec",
    "source_stat",
]

# TSM's single-crop test protocol (mit-han-lab/temporal-shift-module, test_models.py: scale 256, crop 224).
OFFICIAL_TSM_SETTINGS = {"snippet_length": 8, "short_side": 256, "crop_size": 224}
SETTINGS = ("snippet_length", "short_side", "crop_size")
DEFAULT_STRIDE = 8
class _Unset:
    """A setting not given (None is a value: "keep the size")."""

    def __repr__(self) -> str:
        return "unset"


UNSET: Any = _Unset()


class ExtractionError(ValueError):
    """Bad extraction input (videos, checkpoint, options); the message names the file and the problem."""


@dataclass(frozen=True)
class SnippetSpec:
    """How videos are cut into snippets and how frames are sized.

    Attributes:
        snippet_length: consecutive frames per snippet (8 in the paper).
        stride: frames between snippet starts.
        short_side: resize the shorter side to this many pixels (None: keep).
        crop_size: centre crop ``crop_size x crop_size`` after resizing (None: no crop).
    """

    snippet_length: int = 8
    stride: int = 8
    short_side: int | None = 256
    crop_size: int | None = 224

    def __post_init__(self) -> None:
        if self.snippet_length < 1 or self.stride < 1:
            raise ExtractionError(f"snippet length and stride must be >= 1, got {self.snippet_length}, {self.stride}")
        for name in ("short_side", "crop_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ExtractionError(f"{name} must be >= 1, got {value}")


@dataclass(frozen=True)
class VideoItem:
    """One video to extract: its id (file stem or frame-folder name, the name of the ``.npy``) and path.

    Attributes:
        fps: frame folders: their frame rate (videos carry their own).
        frame_template: frame folders: image name template (None: detected).
    """

    video_id: str
    path: str
    fps: float | None = None
    frame_template: str | None = None


def _scan(source: Path) -> list[Path]:
    """Video files and frame folders under ``source``, sorted; a frame folder's images are not walked."""
    from bsp_lightning.data.frames import IMAGE_EXTENSIONS

    found = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        if Path(dirpath) != source and any(os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS for f in filenames):
            found.append(Path(dirpath))
            dirnames.clear()
            continue
        found.extend(Path(dirpath) / f for f in filenames
                     if os.path.splitext(f)[1].lower() in VIDEO_EXTENSIONS and not f.startswith("."))
    return sorted(found)


def list_videos(source: str | os.PathLike, fps: float | str | None = None,
                frame_template: str | None = None) -> list[VideoItem]:
    """The videos of a folder (recursively, by extension, sorted), of a list file (one path per line), or one file.

    Frame folders (:mod:`bsp_lightning.data.frames`: one folder of ``img_00001.jpg``... per video) count as
    videos: inside a folder, any sub-folder holding images; in a list file, a listed folder.

    In a list file, blank lines and lines starting with ``#`` are skipped and relative paths are relative
    to the list file's folder; a listed file that does not exist is kept (it is recorded as failed).

    Args:
        source: folder, list file or video file.
        fps: frame rate of the frame folders: a number, or a JSON/CSV side file naming each folder
            (:func:`bsp_lightning.data.frames.read_fps_table`); videos carry their own.
        frame_template: image name template of the frame folders (None: detected per folder).

    Raises:
        ExtractionError: ``source`` does not exist, lists no video, two videos share an id, or frame folders
            without a frame rate.
    """
    source = Path(source)
    if source.is_dir():
        paths = _scan(source)
        if not paths:
            raise ExtractionError(f"{source}: no video files ({', '.join(VIDEO_EXTENSIONS)}) or frame folders")
    elif source.is_file() and source.suffix.lower() in VIDEO_EXTENSIONS:
        paths = [source]
    elif source.is_file():
        try:
            lines = [line.strip() for line in source.read_text().splitlines()]
        except (OSError, UnicodeDecodeError) as err:
            raise ExtractionError(f"{source}: cannot read as a text list of video paths ({err})") from None
        paths = [Path(x) if Path(x).is_absolute() else source.parent / x for x in lines if x and not x.startswith("#")]
        if not paths:
            raise ExtractionError(f"{source}: the list names no video")
    else:
        raise ExtractionError(f"{source}: no such folder or list file")
    from bsp_lightning.data.frames import fps_of, read_fps_table

    try:
        table = read_fps_table(fps)
    except ValueError as err:
        raise ExtractionError(str(err)) from None
    items: dict[str, VideoItem] = {}
    for path in paths:
        folder = path.is_dir()
        vid = path.name if folder else path.stem
        if vid in items:
            raise ExtractionError(f"{path}: video id {vid!r} also used by {items[vid].path} (ids are file stems)")
        rate = fps_of(table, vid) if folder else None
        if folder and rate is None:
            raise ExtractionError(f"{path}: frame folder without a frame rate; give --fps (a number, or a JSON/CSV "
                                  "side file naming each folder)")
        items[vid] = VideoItem(vid, str(path), rate, frame_template if folder else None)
    return list(items.values())


def source_stat(path: str | os.PathLike) -> dict[str, int] | None:
    """``{"size", "mtime_ns"}`` of a source video (recorded per feature file; a change re-extracts it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def read_checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """Read a checkpoint once (:func:`~bsp_lightning.models.checkpoints.inspect_checkpoint`).

    Raises:
        ExtractionError: no such file.
    """
    try:
        return inspect_checkpoint(path)
    except FileNotFoundError as err:
        raise ExtractionError(str(err)) from None


def checkpoint_settings(info: CheckpointInfo) -> tuple[dict[str, Any], str]:
    """The snippet settings a checkpoint implies, and where they come from.

    Args:
        info: the checkpoint as read by :func:`read_checkpoint_info`.

    Returns:
        ``({"snippet_length", "short_side", "crop_size"}, source)``; see the module docstring.
    """
    path = info.path
    if info.kind != "bsp":
        return dict(OFFICIAL_TSM_SETTINGS), "official TSM test protocol (short side 256, crop 224)"
    # the pre-training names of the snippet length: the DataModule's num_frames, the model's num_segments
    data = info.section("datamodule_hyper_parameters")
    model = info.section("hyper_parameters")
    if "num_frames" in data and "resolution" in data:
        settings = {"snippet_length": int(data["num_frames"]), "short_side": data.get("short_side"),
                    "crop_size": int(data["resolution"])}
        return settings, f"{path}: the DataModule's num_frames, short_side and resolution"
    settings = dict(OFFICIAL_TSM_SETTINGS)
    if "num_segments" in model:
        settings["snippet_length"] = int(model["num_segments"])
        return settings, f"{path}: the model's num_segments (no DataModule recorded; sizes 256/224)"
    return settings, "default 8 frames, 256/224 (the checkpoint records no data configuration)"


def resolve_spec(
    checkpoints: Sequence[CheckpointInfo],
    snippet_length: Any = UNSET,
    stride: Any = UNSET,
    short_side: Any = UNSET,
    crop_size: Any = UNSET,
) -> tuple[SnippetSpec, dict[str, str]]:
    """The snippet settings of a run: the values given, the others from the checkpoints.

    Args:
        checkpoints: each stream's checkpoint, as read by :func:`read_checkpoint_info`.
        snippet_length, short_side, crop_size: given values, or :data:`UNSET`.
        stride: frames between snippet starts (:data:`UNSET`: 8, the paper's non-overlapping 8-frame snippets).

    Returns:
        ``(spec, source per setting)``.

    Raises:
        ExtractionError: two checkpoints imply different values for a setting that was not given.
    """
    given = {"snippet_length": snippet_length, "short_side": short_side, "crop_size": crop_size}
    implied = [(str(info.path), *checkpoint_settings(info)) for info in checkpoints]
    values: dict[str, Any] = {}
    sources = {"stride": "default" if stride is UNSET else "given"}
    stride = DEFAULT_STRIDE if stride is UNSET else stride
    for name in SETTINGS:
        if given[name] is not UNSET:
            values[name], sources[name] = given[name], "given"
            continue
        options = {repr(s[name]): (p, s[name], src) for p, s, src in implied}
        if len(options) > 1:
            listed = "; ".join(f"{p}: {v}" for p, v, _ in options.values())
            flag = {"snippet_length": "--snippet-length", "short_side": "--short-side", "crop_size": "--crop"}[name]
            raise ExtractionError(f"the checkpoints imply different {name} ({listed}); give {flag}")
        _, values[name], sources[name] = next(iter(options.values()))
    return SnippetSpec(values["snippet_length"], stride, values["short_side"], values["crop_size"]), sources
