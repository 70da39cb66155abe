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
A failed video has ``"status": "failed"`` and the ``reason``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.utils.io import atomic_save_npy, atomic_write_json

__all__ = [
    "MANIFEST_NAME",
    "FORMAT_VERSION",
    "FeatureStoreError",
    "FeatureMismatchError",
    "FeatureStore",
    "CombineResult",
    "config_hash",
    "read_manifest",
    "load_features",
    "combine",
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

    def is_complete(self, video_id: str, config_hash_: str) -> bool:
        """True when ``<video_id>.npy`` exists and was written by a run with configuration ``config_hash_``."""
        entry = self.entry(video_id)
        return (
            entry is not None
            and entry.get("status") == "ok"
            and entry.get("config_hash") == config_hash_
            and self.feature_path(video_id).is_file()
        )

    def write_video(
        self,
        video_id: str,
        features: np.ndarray,
        snippet_starts: Iterable[float],
        fps: float,
        num_frames: int,
        config_hash_: str,
    ) -> dict[str, Any]:
        """Write the features of one video (atomically), then its entry; return the entry."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        starts = [float(t) for t in snippet_starts]
        if features.ndim != 2 or features.shape[0] != len(starts):
            raise FeatureStoreError(
                f"{video_id}: features {features.shape} do not match {len(starts)} snippet start times"
            )
        atomic_save_npy(self.feature_path(video_id), features)
        entry = {
            "status": "ok",
            "num_snippets": int(features.shape[0]),
            "feature_dim": int(features.shape[1]),
            "snippet_starts": starts,
            "fps": float(fps),
            "num_frames": int(num_frames),
            "config_hash": config_hash_,
            "reason": None,
        }
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
    ok = sum(1 for e in videos.values() if e.get("status") == "ok")
    return {"ok": ok, "failed": len(videos) - ok}


@dataclass
class CombineResult:
    """What :func:`combine` wrote."""

    written: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    feature_dim: int = 0


def _ok_entries(store: FeatureStore) -> dict[str, dict[str, Any]]:
    return {vid: e for vid, e in store.entries().items() if e.get("status") == "ok"}


def _disagreement(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
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


def combine(
    dir_a: str | os.PathLike,
    dir_b: str | os.PathLike,
    out_dir: str | os.PathLike,
    allow_missing: bool = False,
) -> CombineResult:
    """Concatenate two feature folders along the channel axis: ``(N, Da) + (N, Db) -> (N, Da + Db)``.

    Two-stream features (vanilla + BSP) as in the paper. Every video must have the same snippet count and
    snippet start times in both folders; all disagreements are collected and reported together before
    anything is written.

    Args:
        dir_a: first feature folder (its channels come first).
        dir_b: second feature folder.
        out_dir: output folder (same layout, with its own manifest).
        allow_missing: combine only the videos present (and ok) in both folders instead of failing on
            videos present in one of them only; those are reported in ``CombineResult.skipped``.

    Raises:
        FeatureStoreError: a folder or manifest is missing or malformed, or a feature file does not match
            its manifest entry.
        FeatureMismatchError: some videos disagree (names them and says what differs).
    """
    store_a, store_b = FeatureStore(dir_a, create=False), FeatureStore(dir_b, create=False)
    for store in (store_a, store_b):
        if not store.manifest_path.is_file() and not (store.root / ENTRIES_DIR).is_dir():
            raise FeatureStoreError(f"{store.manifest_path}: missing (not a bsp-lightning feature folder)")
    ok_a, ok_b = _ok_entries(store_a), _ok_entries(store_b)
    problems: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for vid in sorted(set(ok_a) ^ set(ok_b)):
        where = f"only in {store_a.root}" if vid in ok_a else f"only in {store_b.root}"
        (skipped if allow_missing else problems)[vid] = where
    common = sorted(set(ok_a) & set(ok_b))
    for vid in common:
        why = _disagreement(ok_a[vid], ok_b[vid])
        if why is not None:
            problems[vid] = why
    if problems:
        raise FeatureMismatchError(problems)

    manifest_a, manifest_b = store_a.manifest(), store_b.manifest()
    out = FeatureStore(out_dir)
    combined_config = {
        "combined_from": [
            {"path": str(store_a.root), "config": manifest_a["config"], "config_hash": manifest_a["config_hash"]},
            {"path": str(store_b.root), "config": manifest_b["config"], "config_hash": manifest_b["config_hash"]},
        ]
    }
    hash_ = config_hash(
        {"combined_from": [manifest_a["config_hash"], manifest_b["config_hash"]]}
    )
    result = CombineResult(skipped=skipped)
    for vid in common:
        feats_a, feats_b = load_features(store_a.root, vid), load_features(store_b.root, vid)
        for store, feats, entry in ((store_a, feats_a, ok_a[vid]), (store_b, feats_b, ok_b[vid])):
            if feats.shape[0] != entry["num_snippets"]:
                raise FeatureStoreError(
                    f"{store.feature_path(vid)}: {feats.shape[0]} snippets but the manifest says "
                    f"{entry['num_snippets']}"
                )
        entry = ok_a[vid]
        out.write_video(
            vid,
            np.concatenate([feats_a, feats_b], axis=1),
            entry["snippet_starts"],
            entry["fps"],
            entry["num_frames"],
            hash_,
        )
        result.written.append(vid)
        result.feature_dim = feats_a.shape[1] + feats_b.shape[1]
    combined_config["feature_dim"] = result.feature_dim
    out.write_manifest(combined_config, hash_)
    return result
