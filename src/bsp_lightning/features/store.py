"""A folder of snippet features: ``<video_id>.npy`` files plus ``manifest.json``.

Layout (the per-video ``.npy`` files are the same as OpenTAD's, so other toolboxes read them directly)::

    FEATDIR/<video_id>.npy         float32 (num_snippets, D)
    FEATDIR/manifest.json          run configuration + one entry per video
    FEATDIR/.entries/<video_id>.json   the same per-video entries, one file each

Every process of a (possibly multi-GPU) extraction writes a video's ``.npy`` and then its entry file, each
atomically (temporary name, then rename); ``manifest.json`` is assembled from the entry files at the end of a
run. So a killed run leaves only complete files behind, ranks never write the same file, and a re-run knows
exactly which videos are done: those whose ``.npy`` exists and whose entry says ``ok`` with the same
configuration hash.

A per-video entry::

    {"status": "ok", "num_snippets": 3, "snippet_starts": [0.0, 0.2667, ...], "fps": 30.0,
     "num_frames": 24, "config_hash": "...", "reason": null}

``snippet_starts`` are the start times in seconds of each snippet's first frame (``start_frame / fps``).
A failed video has ``"status": "failed"`` and the ``reason``; so has a ``partial`` one. Entries written
by ``extract`` also record
``expected_frames`` (the exact frame count of the file) and ``source`` (``{"size", "mtime_ns"}`` of the
video file); when fewer frames decoded than expected the status is ``"partial"`` (its features cover what
decoded), and a video whose file changed since is extracted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning import legacy
from bsp_lightning.utils.io import atomic_save_npy, atomic_symlink, atomic_write_json

__all__ = [
    "MANIFEST_NAME",
    "FORMAT_VERSION",
    "FeatureStoreError",
    "FeatureMismatchError",
    "FeatureStore",
    "config_hash",
    "read_manifest",
    "load_features",
]

MANIFEST_NAME = "manifest.json"
ENTRIES_DIR = ".entries"
FORMAT_VERSION = "bsp-lightning-features/1"
# Snippet start times of two streams agree when they differ by less than this (seconds).
TIME_TOLERANCE = 1e-6

_SAFE_ID = re.compile(r"^[^/\\\x00]+$")


class FeatureStoreError(ValueError):
    """A feature folder is missing, malformed, or inconsistent; the message names the path."""


class FeatureMismatchError(FeatureStoreError):
    """Two feature folders disagree; ``problems`` maps each disagreeing video id to what differs."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(sorted(problems.items()))
        listed = "; ".join(f"{vid}: {why}" for vid, why in self.problems.items())
        super().__init__(f"{len(self.problems)} video(s) disagree: {listed}")


def config_hash(config: Mapping[str, Any]) -> str:
    """Hash of a configuration: sha256 (first 16 hex digits) of its canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_id(video_id: str) -> str:
    if not video_id or not _SAFE_ID.match(video_id) or video_id.startswith("."):
        raise FeatureStoreError(f"invalid video id {video_id!r} (empty, hidden, or contains a path separator)")
    return video_id


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """Read ``root/manifest.json`` merged with the newer per-video entry files of an unfinished run.

    Raises:
        FeatureStoreError: ``root`` is not a directory or the manifest is not valid JSON.
    """
    return FeatureStore(root, create=False).manifest()


def load_features(root: str | os.PathLike, video_id: str) -> np.ndarray:
    """Load ``root/<video_id>.npy`` as float32 ``(num_snippets, D)``."""
    path = Path(root) / f"{_check_id(video_id)}.npy"
    if not path.is_file():
        raise FeatureStoreError(f"{path}: no feature file for video {video_id!r}")
    array = np.load(path)
    if array.ndim != 2:
        raise FeatureStoreError(f"{path}: expected a (num_snippets, D) array, got shape {array.shape}")
    return array.astype(np.float32, copy=False)


class FeatureStore:
    """Reads and writes one feature folder (see the module docstring for the layout).

    Args:
        root: the feature folder.
        create: make the folder when absent; otherwise a missing folder is an error.
    """

    def __init__(self, root: str | os.PathLike, create: bool = True) -> None:
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise FeatureStoreError(f"{self.root}: feature folder does not exist")
        self._entries_dir = self.root / ENTRIES_DIR

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    def feature_path(self, video_id: str) -> Path:
        return self.root / f"{_check_id(video_id)}.npy"

    def _entry_path(self, video_id: str) -> Path:
        return self._entries_dir / f"{_check_id(video_id)}.json"

    def _read_json(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise FeatureStoreError(f"{path}: cannot read JSON ({err})") from None
        if not isinstance(data, dict):
            raise FeatureStoreError(f"{path}: expected a JSON object")
        return data

    def _stored_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {}
        data = self._read_json(self.manifest_path)
        if not isinstance(data.get("videos", {}), dict):
            raise FeatureStoreError(f"{self.manifest_path}: 'videos' must be an object")
        return data

    def entries(self) -> dict[str, dict[str, Any]]:
        """All per-video entries: those in ``manifest.json``, overridden by newer entry files."""
        videos = dict(self._stored_manifest().get("videos", {}))
        if self._entries_dir.is_dir():
            for path in self._entries_dir.glob("*.json"):
                videos[path.stem] = self._read_json(path)
        return dict(sorted(videos.items()))

    def entry(self, video_id: str) -> dict[str, Any] | None:
        path = self._entry_path(video_id)
        if path.is_file():
            return self._read_json(path)
        return self._stored_manifest().get("videos", {}).get(video_id)

    def is_complete(
        self, video_id: str, config_hash_: str, source: Mapping[str, int] | None = None
    ) -> bool:
        """True when ``<video_id>.npy`` exists, has status ``ok`` and was written with ``config_hash_``.

        Args:
            source: the source video's current ``{"size", "mtime_ns"}``; when the entry recorded other
                values the video changed since, and is not complete. ``partial`` entries are never complete
                (a half-downloaded file is retried once the download finished).
        """
        entry = self.entry(video_id)
        if entry is None or entry.get("status") != "ok" or entry.get("config_hash") != config_hash_:
            return False
        recorded = entry.get("source")
        if source is not None and recorded is not None and dict(recorded) != dict(source):
            return False
        return self.feature_path(video_id).is_file()

    def write_video(
        self,
        video_id: str,
        features: np.ndarray,
        snippet_starts: Iterable[float],
        fps: float,
        num_frames: int,
        config_hash_: str,
        status: str = "ok",
        expected_frames: int | None = None,
        source: Mapping[str, int] | None = None,
        reason: str | None = None,
        link: str | os.PathLike | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write the features of one video (atomically), then its entry; return the entry.

        Args:
            num_frames: frames that decoded.
            status: ``"ok"``, or ``"partial"`` when fewer (or more) frames decoded than ``expected_frames``.
            expected_frames: the exact frame count of the file (recorded when given).
            source: the source video's ``{"size", "mtime_ns"}`` (recorded when given; see :meth:`is_complete`).
            reason: why a ``partial`` video is partial (as a ``failed`` entry records why it failed).
            link: an existing float32 ``(num_snippets, D)`` ``.npy`` file equal to ``features``: the feature file
                becomes a symbolic link to it instead of a copy (``bsp-lightning features import --link``).
            extra: more fields for the entry (``features import`` records where each video came from).
        """
        if status not in ("ok", "partial"):
            raise FeatureStoreError(f"{video_id}: status must be 'ok' or 'partial', got {status!r}")
        features = np.ascontiguousarray(features, dtype=np.float32)
        starts = [float(t) for t in snippet_starts]
        if features.ndim != 2 or features.shape[0] != len(starts):
            raise FeatureStoreError(
                f"{video_id}: features {features.shape} do not match {len(starts)} snippet start times"
            )
        if link is not None:
            atomic_symlink(self.feature_path(video_id), link)
        else:
            atomic_save_npy(self.feature_path(video_id), features)
        entry = {
            "status": status,
            "num_snippets": int(features.shape[0]),
            "feature_dim": int(features.shape[1]),
            "snippet_starts": starts,
            "fps": float(fps),
            "num_frames": int(num_frames),
            "config_hash": config_hash_,
            "reason": None if reason is None else str(reason),
        }
        if expected_frames is not None:
            entry["expected_frames"] = int(expected_frames)
        if source is not None:
            entry["source"] = {"size": int(source["size"]), "mtime_ns": int(source["mtime_ns"])}
        entry.update(extra or {})
        atomic_write_json(self._entry_path(video_id), entry, indent=None)
        return entry

    def write_failure(self, video_id: str, reason: str, config_hash_: str) -> dict[str, Any]:
        """Record that ``video_id`` failed; a stale feature file from an earlier run is removed."""
        self.feature_path(video_id).unlink(missing_ok=True)
        entry = {"status": "failed", "config_hash": config_hash_, "reason": str(reason)}
        atomic_write_json(self._entry_path(video_id), entry, indent=None)
        return entry

    def manifest(self) -> dict[str, Any]:
        """The manifest as it would be written now (stored header + all entries)."""
        stored = self._stored_manifest()
        videos = self.entries()
        return {
            "format": stored.get("format", FORMAT_VERSION),
            "config": stored.get("config", {}),
            "config_hash": stored.get("config_hash"),
            "videos": videos,
            "summary": _summary(videos),
        }

    def write_manifest(self, config: Mapping[str, Any] | None = None, hash_: str | None = None) -> dict[str, Any]:
        """Assemble ``manifest.json`` from all entries (sorted by video id) and write it atomically.

        Args:
            config: the run configuration to record (kept from the stored manifest when None).
            hash_: its hash (see :func:`config_hash`).
        """
        manifest = self.manifest()
        if config is not None:
            manifest["config"] = dict(config)
            manifest["config_hash"] = hash_ if hash_ is not None else config_hash(config)
        atomic_write_json(self.manifest_path, manifest)
        return manifest


def _summary(videos: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    # "partial" appears only when some video is partial, so manifests of clean runs keep their two counts
    ok = sum(1 for e in videos.values() if e.get("status") == "ok")
    partial = sum(1 for e in videos.values() if e.get("status") == "partial")
    counts = {"ok": ok, "failed": len(videos) - ok - partial}
    if partial:
        counts["partial"] = partial
    return counts


def disagreement(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    """Why two manifest entries of one video do not line up (snippet count, then start times within
    ``TIME_TOLERANCE``), or ``None``: the rule of ``combine`` and of :class:`~bsp_lightning.features.FeatureSet`."""
    if a["num_snippets"] != b["num_snippets"]:
        return f"snippet counts differ ({a['num_snippets']} vs {b['num_snippets']})"
    starts_a = np.asarray(a["snippet_starts"], dtype=np.float64)
    starts_b = np.asarray(b["snippet_starts"], dtype=np.float64)
    if starts_a.shape != starts_b.shape:
        return "snippet start lists differ in length"
    diff = np.abs(starts_a - starts_b)
    if diff.size and diff.max() > TIME_TOLERANCE:
        k = int(np.argmax(diff > TIME_TOLERANCE))
        return f"snippet start times differ from snippet {k} ({starts_a[k]:.6f}s vs {starts_b[k]:.6f}s)"
    return None


__getattr__ = legacy.module_getattr(__name__)
