"""One or more feature folders read as one: two-stream features concatenated along channels on the fly.

The paper's two-stream input (Fig. 3a) is the vanilla and BSP features of the same snippets side by side. A head
may be given several folders written by ``bsp-lightning extract`` or ``bsp-lightning features import`` (in any
mix); :class:`FeatureSet` checks, once, that every video has the same snippet count and snippet start times in
each (:func:`~bsp_lightning.features.store.disagreement`, the rule of ``bsp-lightning combine``) and concatenates
the arrays when a video is loaded, so no combined copy has to be written to disk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.annotations.activitynet import resolve_video_id
from bsp_lightning.features.store import (
    FeatureMismatchError,
    FeatureStore,
    FeatureStoreError,
    disagreement,
)

__all__ = ["FeatureSet", "as_folder_list"]


def as_folder_list(features: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """``features`` as a non-empty list of paths (a single path, or a list of them).

    Raises:
        FeatureStoreError: the list is empty.
    """
    if isinstance(features, (str, os.PathLike)):
        folders = [Path(features)]
    else:
        folders = [Path(f) for f in features]
    if not folders:
        raise FeatureStoreError("no feature folder given (--data.features DIR)")
    return folders


class FeatureSet:
    """Feature folders read as one ``(num_snippets, sum of D)`` array per video.

    Args:
        features: one folder or a list of folders (their channels are concatenated in this order).

    Raises:
        FeatureStoreError: a folder is missing, has no manifest, or holds no usable video.
        FeatureMismatchError: two folders disagree on a video's snippet count or start times (every
            disagreeing video is named).
    """

    def __init__(self, features: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
        self.folders = as_folder_list(features)
        self._stores = [FeatureStore(folder, create=False) for folder in self.folders]
        self._manifests = []
        for store in self._stores:
            if not store.manifest_path.is_file() and not (store.root / ".entries").is_dir():
                raise FeatureStoreError(
                    f"{store.manifest_path}: missing (not a feature folder written by `bsp-lightning extract` or "
                    "`bsp-lightning features import`)"
                )
            self._manifests.append(store.manifest())
        self._entries = [
            {vid: e for vid, e in m["videos"].items() if e.get("status") in ("ok", "partial")} for m in self._manifests
        ]
        self._check_agreement()
        self._checked: set[str] = set()

    def _check_agreement(self) -> None:
        problems: dict[str, str] = {}
        first = self._entries[0]
        for folder, entries in zip(self.folders[1:], self._entries[1:]):
            for vid in sorted(set(first) & set(entries)):
                why = disagreement(first[vid], entries[vid])
                if why is not None:
                    problems[vid] = f"{self.folders[0]} vs {folder}: {why}"
        if problems:
            raise FeatureMismatchError(problems)

    @property
    def manifests(self) -> list[dict[str, Any]]:
        """The manifests of the folders, in order."""
        return self._manifests

    @property
    def imported(self) -> list[bool]:
        """Per folder: written by ``bsp-lightning features import`` (a release) rather than ``extract``."""
        return [bool(m.get("config", {}).get("imported")) for m in self._manifests]

    @cached_property
    def video_ids(self) -> list[str]:
        """Videos with usable features in every folder, sorted."""
        common = set(self._entries[0])
        for entries in self._entries[1:]:
            common &= set(entries)
        return sorted(common)

    @cached_property
    def _id_set(self) -> frozenset[str]:
        return frozenset(self.video_ids)

    @cached_property
    def dims(self) -> list[int]:
        """Feature width of each folder, from its manifest (config ``feature_dim``, else a video entry)."""
        dims = []
        for folder, manifest, entries in zip(self.folders, self._manifests, self._entries):
            dim = manifest.get("config", {}).get("feature_dim")
            if not dim:
                dim = next((e.get("feature_dim") for e in entries.values() if e.get("feature_dim")), None)
            if not dim:
                raise FeatureStoreError(f"{folder / 'manifest.json'}: no feature_dim recorded and no usable video")
            dims.append(int(dim))
        return dims

    @property
    def feature_dim(self) -> int:
        """``D``: the sum of the folders' feature widths."""
        return sum(self.dims)

    def entry(self, video_id: str) -> dict[str, Any]:
        """The manifest entry of ``video_id`` in the first folder (``fps``, ``num_frames``, ``snippet_starts``...).

        Raises:
            KeyError: the video has no usable features.
        """
        if video_id not in self._id_set:
            raise KeyError(f"video {video_id!r} has no features in {', '.join(map(str, self.folders))}")
        return self._entries[0][video_id]

    def snippet_starts(self, video_id: str) -> np.ndarray:
        """float64 ``(num_snippets,)``: start time in seconds of each snippet's first frame."""
        return np.asarray(self.entry(video_id)["snippet_starts"], dtype=np.float64)

    @cached_property
    def snippet_length(self) -> int:
        """Frames per snippet: the ``snippet_length`` the first folder's manifest records (for a folder written by
        ``bsp-lightning combine``, the one its sources record).

        Raises:
            FeatureStoreError: the manifest records none (the message names it): no frame count is guessed.
        """
        config = self._manifests[0].get("config", {})
        # a folder written by `combine` records its sources' configurations instead of its own
        sources = [config] + [c.get("config", {}) for c in config.get("combined_from", [])]
        length = next((c["snippet_length"] for c in sources if c.get("snippet_length")), None)
        if length is None:
            raise FeatureStoreError(f"{self._stores[0].manifest_path}: no snippet_length (frames per snippet) in its "
                                    "config; `bsp-lightning extract` records it: re-extract, or add the value")
        return int(length)

    def snippet_seconds(self, video_id: str) -> float:
        """Duration of one snippet in seconds: :attr:`snippet_length` frames at the video's ``fps``.

        Raises:
            FeatureStoreError: no ``snippet_length`` in the manifest. KeyError: no usable features.
        """
        return float(self.snippet_length) / float(self.entry(video_id)["fps"])

    def load(self, video_id: str) -> np.ndarray:
        """float32 ``(num_snippets, D)``: the video's features, folders concatenated along channels.

        Raises:
            FeatureStoreError: a file is missing, has the wrong rank, or disagrees with its manifest entry in
                snippet count or width (the message names the file).
        """
        arrays = []
        for store, entries, dim in zip(self._stores, self._entries, self.dims):
            array = self._open(store, entries, dim, video_id)
            # a copy: callers (resampling, torch.from_numpy) may write, and the memory map is read-only
            arrays.append(np.array(array, dtype=np.float32))
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=1)

    @staticmethod
    def _open(store: FeatureStore, entries: dict[str, Any], dim: int, video_id: str) -> np.ndarray:
        """The memory-mapped file of ``video_id`` in one folder, its shape checked against the manifest."""
        path = store.feature_path(video_id)
        if not path.is_file():
            raise FeatureStoreError(f"{path}: no feature file for video {video_id!r}")
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError, EOFError) as err:
            raise FeatureStoreError(f"{path}: cannot read ({err or type(err).__name__})") from None
        expected = entries[video_id].get("num_snippets")
        if array.ndim != 2 or array.shape[1] != dim or (expected is not None and array.shape[0] != expected):
            raise FeatureStoreError(f"{path}: shape {tuple(array.shape)} but the manifest says ({expected}, {dim})")
        return array

    def check_files(self, video_ids: Sequence[str]) -> None:
        """Read the header of every feature file of ``video_ids`` (each once per :class:`FeatureSet`), so a
        missing, unreadable or wrongly shaped file is found when the datasets are built, not mid-epoch.

        Raises:
            FeatureStoreError: the first bad file (named, with the manifest's shape), as :meth:`load` would.
        """
        for video_id in dict.fromkeys(video_ids):
            if video_id in self._checked:
                continue
            self.entry(video_id)  # KeyError for a video without usable features
            for store, entries, dim in zip(self._stores, self._entries, self.dims):
                self._open(store, entries, dim, video_id)
            self._checked.add(video_id)

    def resolve(self, annotation_id: str) -> str | None:
        """The feature id of an annotation's video id: itself, else with the ``v_`` prefix added or removed
        (ActivityNet ground truth has no ``v_``; G-TAD/BSN feature files have it). ``None`` when absent."""
        return resolve_video_id(annotation_id, self._id_set)

    def __len__(self) -> int:
        return len(self.video_ids)

    def __repr__(self) -> str:
        return f"FeatureSet({[str(f) for f in self.folders]}, videos={len(self)}, D={self.feature_dim})"
