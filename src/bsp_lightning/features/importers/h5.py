"""``h5``: HDF5 feature releases, one dataset per video.

Two layouts, told apart by what a source is (never by the file's contents):

* a **file**: every top-level key is a video. Its value is the array (BSN/G-TAD ``csv_mean_100.hdf5``, ``(100,
  400)`` per ``v_`` id; 2D-TAN ``vgg_rgb_features.hdf5`` / ``charades_vgg_rgb.hdf5``, ``(L, 4096)``; TACoS
  ``tall_c3d_features.hdf5``), or a group holding it under ``--dataset`` (ActivityNet
  ``sub_activitynet_v1-3.c3d.hdf5``: ``<v_id>/c3d_features``, ``(L, 500)``). A group with a single dataset needs
  no name.
* a **folder**: per-video ``<id>.h5``/``<id>.hdf5`` files (G-TAD's per-video route, ``feature_path`` ending in
  ``/``: dataset ``<id>`` in file ``<id>.h5``), the array being ``--dataset``, else the dataset named like the
  file, else the file's only dataset.

A key that is not there is a one-line error naming the file and the video.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bsp_lightning.features.importers.base import FeatureImportError, SourceVideo, source_files

__all__ = ["H5_SUFFIXES", "list_h5"]

H5_SUFFIXES = (".h5", ".hdf5")


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a declared dependency
        raise FeatureImportError(None, "reading HDF5 needs h5py (python -m pip install h5py)") from None
    return h5py


def open_h5(path: Path, stack: contextlib.ExitStack) -> Any:
    """``path`` opened read-only (closed with ``stack``); one-line errors for a missing or non-HDF5 file."""
    h5py = _h5py()
    if not path.is_file():
        raise FeatureImportError(path, "not found")
    try:
        return stack.enter_context(h5py.File(path, "r"))
    except OSError as err:
        raise FeatureImportError(path, f"not a readable HDF5 file ({err})") from None


def _datasets(group: Any) -> list[str]:
    h5py = _h5py()
    return sorted(k for k, v in group.items() if isinstance(v, h5py.Dataset))


def _member(group: Any, video_id: str, name: str | None, path: Path, key: str) -> tuple[str, Any]:
    """``(key, dataset)`` of ``video_id`` below ``group[key]`` (``name``: the dataset inside a group)."""
    h5py = _h5py()
    obj = group[key]
    if isinstance(obj, h5py.Dataset):
        if name is not None:
            raise FeatureImportError(path, f"no dataset {name!r} ({key!r} is itself a dataset; drop --dataset)",
                                     video_id)
        return key, obj
    if name is not None:
        if name not in obj or not isinstance(obj[name], h5py.Dataset):
            have = ", ".join(_datasets(obj)) or "none"
            raise FeatureImportError(path, f"no dataset {key}/{name} (datasets there: {have})", video_id)
        return f"{key}/{name}", obj[name]
    inside = _datasets(obj)
    if len(inside) != 1:
        raise FeatureImportError(path, f"group {key!r} holds {len(inside)} datasets ({', '.join(inside) or 'none'}); "
                                 "name one with --dataset", video_id)
    return f"{key}/{inside[0]}", obj[inside[0]]


def _reader(dataset: Any, path: Path, video_id: str):
    def read():
        try:
            return dataset[()]
        except (OSError, ValueError, TypeError) as err:
            raise FeatureImportError(path, f"cannot read dataset {dataset.name} ({err})", video_id) from None

    return read


def _failing(err: FeatureImportError):
    def read():
        raise err

    return read


def _file_videos(path: Path, name: str | None, stack: contextlib.ExitStack) -> list[SourceVideo]:
    h5 = open_h5(path, stack)
    out = []
    for video_id in sorted(h5.keys()):
        try:
            key, dataset = _member(h5, video_id, name, path, video_id)
            read = _reader(dataset, path, video_id)
        except FeatureImportError as err:  # reported when the video's turn comes (so --skip-bad can count it)
            key, read = video_id, _failing(err)
        out.append(SourceVideo(video_id, (path,), key, read))
    return out


def _per_video(path: Path, name: str | None, stack: contextlib.ExitStack) -> SourceVideo:
    try:
        return _per_video_dataset(path, name, stack)
    except FeatureImportError as err:
        return SourceVideo(path.stem, (path,), name, _failing(err))


def _per_video_dataset(path: Path, name: str | None, stack: contextlib.ExitStack) -> SourceVideo:
    video_id = path.stem
    h5 = open_h5(path, stack)
    if name is not None and name in h5:
        key, dataset = _member(h5, video_id, None, path, name)
    elif name is not None and video_id in h5:
        key, dataset = _member(h5, video_id, name, path, video_id)
    elif name is not None:
        raise FeatureImportError(path, f"no dataset {name!r} (keys: {', '.join(sorted(h5.keys())) or 'none'})",
                                 video_id)
    elif video_id in h5:
        key, dataset = _member(h5, video_id, None, path, video_id)
    else:
        inside = _datasets(h5)
        if len(inside) != 1:
            raise FeatureImportError(path, f"no dataset named {video_id!r} and {len(inside)} others "
                                     f"({', '.join(inside) or 'none'}); name one with --dataset", video_id)
        key, dataset = inside[0], h5[inside[0]]
    return SourceVideo(video_id, (path,), key, _reader(dataset, path, video_id))


@contextlib.contextmanager
def list_h5(settings) -> Iterator[list[SourceVideo]]:
    """The videos of ``settings.sources`` (files: one dataset per video; folders: per-video files), files open
    until the block ends.

    Raises:
        FeatureImportError: a missing source, a folder without HDF5 files, a file that is not HDF5, a video
            whose dataset is missing.
    """
    with contextlib.ExitStack() as stack:
        videos: list[SourceVideo] = []
        for src in map(Path, settings.sources):
            if src.is_dir():  # per-video files
                videos += [_per_video(p, settings.dataset, stack) for p in source_files([src], H5_SUFFIXES)]
            else:  # one dataset per video
                videos += _file_videos(src, settings.dataset, stack)
        yield videos
