"""``import_features``: a feature release in, a feature folder (``<video_id>.npy`` + ``manifest.json``) out.

Each video is read, checked (:mod:`.base`), placed in time, and written like ``bsp-lightning extract`` writes:
the ``.npy`` atomically (or, with ``link``, a symbolic link to a source ``.npy`` that is already float32
``(T, D)``), then its entry. The manifest's ``config`` records ``"imported": true`` and, under ``"import"``, the
format, the preset, the source files, the layout, the dataset name and the ``v_`` rule, next to the usual
``fps``, ``snippet_length``, ``stride`` and ``feature_dim``; each entry records ``imported_from`` (file and
dataset). A re-run skips the videos already imported with the same settings from unchanged source files (their
size and modification time), as ``extract`` does, so an interrupted import resumes.

Bad input -- a missing dataset, a non-finite value, a width differing from the other videos', a video without
the ``--video-info`` facts its timing needs -- stops the import with one line naming the file and the video;
with ``skip_bad`` the video is recorded as failed (with the reason) and counted instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bsp_lightning.annotations.activitynet import normalize_video_id
from bsp_lightning.features.importers.base import (
    LAYOUTS,
    FeatureImportError,
    SourceVideo,
    Timing,
    check_values,
    time_major,
)
from bsp_lightning.features.importers.video_info import VideoInfoTable, read_video_info
from bsp_lightning.features.store import FORMAT_VERSION, FeatureStore, config_hash

logger = logging.getLogger(__name__)

__all__ = ["V_PREFIX_RULES", "ImportSettings", "ImportSummary", "import_features"]

V_PREFIX_RULES = ("keep", "add", "strip")


@dataclass
class ImportSettings:
    """Everything an import needs (the CLI fills it from the flags and the preset).

    Attributes:
        format: ``"h5"``, ``"thumos-tsn"``, ``"npy"`` or ``"csv"``.
        sources: files or folders of the release.
        layout: ``"TD"`` or ``"DT"``; ``None`` with ``feature_dim`` finds the channel axis by its length.
        feature_dim: expected ``D`` (``None``: the first video's width, which every other video must have).
        dataset: dataset (h5) or array (npz) name inside a file.
        timing: the time of each row.
        video_info: side files with durations / fps / covered spans (:mod:`.video_info`).
        v_prefix: ``"keep"`` the release's ids, ``"add"`` or ``"strip"`` a leading ``v_``.
        subsample: THUMOS TSN rows kept per frame (``[::subsample]``).
        link: symbolic links instead of copies where a source ``.npy`` is already float32 ``(T, D)``.
        skip_bad: record bad videos as failed and go on, instead of stopping at the first.
        preset: the known release the defaults came from (recorded only).
    """

    format: str
    sources: list[Path]
    layout: str | None = None
    feature_dim: int | None = None
    dataset: str | None = None
    timing: Timing = field(default_factory=Timing)
    video_info: list[Path] = field(default_factory=list)
    v_prefix: str = "keep"
    subsample: int = 1
    link: bool = False
    skip_bad: bool = False
    preset: str | None = None

    def config(self, feature_dim: int) -> dict[str, Any]:
        """The manifest's ``config``."""
        return {
            "format": FORMAT_VERSION,
            "imported": True,
            "import": {
                "format": self.format,
                "preset": self.preset,
                "sources": [str(p.resolve()) for p in self.sources],
                "layout": self.layout,
                "dataset": self.dataset,
                "v_prefix": self.v_prefix,
                "subsample": self.subsample,
                "video_info": [str(p.resolve()) for p in self.video_info],
            },
            **self.timing.config(),
            "feature_dim": feature_dim,
        }

    def hash(self) -> str:
        """What changes the written values (not paths of the output, nor ``link``/``skip_bad``)."""
        return config_hash({"format": self.format, "layout": self.layout, "feature_dim": self.feature_dim,
                            "dataset": self.dataset, "timing": self.timing.config(), "v_prefix": self.v_prefix,
                            "subsample": self.subsample, "video_info": [str(p.resolve()) for p in self.video_info]})


@dataclass
class ImportSummary:
    """Counts of one import run."""

    written: int = 0
    linked: int = 0
    skipped: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    not_linked: dict[str, str] = field(default_factory=dict)
    feature_dim: int = 0
    seconds: float = 0.0


def _out_id(video_id: str, rule: str) -> str:
    return normalize_video_id(video_id, strip_v_prefix=rule == "strip", add_v_prefix=rule == "add" and
                              not video_id.startswith("v_"))


def _check_target(store: FeatureStore) -> None:
    if store.manifest_path.is_file():
        config = store.manifest().get("config", {})
        if config and not config.get("imported"):
            raise FeatureImportError(store.manifest_path, "this folder holds extracted (not imported) features; "
                                     "import into another --out")


def _link_reason(raw: Any, source: SourceVideo, layout: str | None) -> str | None:
    """Why ``source`` cannot be linked (``None``: it can)."""
    if not source.linkable:
        return "not a per-video .npy file"
    if raw.dtype != "float32" or raw.ndim != 2:
        return f"stored as {raw.dtype} {raw.shape}, converted to float32 (T, D)"
    if layout == "DT" or not raw.flags.c_contiguous:
        return "stored channels-first, transposed"
    return None


def import_features(
    settings: ImportSettings,
    out_dir: str | Path,
    list_sources: Callable[[ImportSettings], Any],
    progress: bool = True,
) -> ImportSummary:
    """Import the release described by ``settings`` into ``out_dir`` (see the module docstring).

    Args:
        list_sources: the format's lister: a context manager giving the :class:`SourceVideo` items.
        progress: show a progress bar over videos.

    Returns:
        The counts (``failed`` maps video ids to reasons; only with ``settings.skip_bad``).

    Raises:
        FeatureImportError: bad settings or bad input (one line naming the file and video).
        AnnotationError: an unreadable ``--video-info`` file.
    """
    started = time.perf_counter()
    if settings.layout is not None and settings.layout not in LAYOUTS:
        raise FeatureImportError(None, f"--layout must be TD or DT, got {settings.layout!r}")
    if settings.v_prefix not in V_PREFIX_RULES:
        raise FeatureImportError(None, f"--v-prefix must be one of {', '.join(V_PREFIX_RULES)}")
    if settings.layout is None and settings.feature_dim is None:
        raise FeatureImportError(None, f"{settings.format}: the orientation of the arrays is unknown: give --layout "
                                 "TD (rows are time steps) or DT, or --feature-dim D (or a --preset)")
    settings.timing.check()
    info: VideoInfoTable | None = read_video_info(settings.video_info) if settings.video_info else None
    if settings.timing.span and info is None:
        raise FeatureImportError(None, "--span needs --video-info (the duration of every video)")

    store = FeatureStore(out_dir)
    _check_target(store)
    hash_ = settings.hash()
    summary = ImportSummary()
    width, width_from = settings.feature_dim, "--feature-dim"
    with list_sources(settings) as sources:
        if not sources:
            raise FeatureImportError(", ".join(map(str, settings.sources)), f"no {settings.format} video found")
        seen: dict[str, str] = {}
        for source in tqdm(sources, desc="import", unit="video", disable=not progress, dynamic_ncols=True):
            vid = _out_id(source.video_id, settings.v_prefix)
            if vid in seen:
                raise FeatureImportError(source.where, f"becomes {vid!r}, as does {seen[vid]}", source.video_id)
            seen[vid] = source.where
            if store.is_complete(vid, hash_, source.stat()):
                summary.skipped += 1
                done = store.entry(vid) or {}
                if width is None and done.get("feature_dim"):
                    width, width_from = int(done["feature_dim"]), vid
                continue
            try:
                raw = source.read()
                array = time_major(raw, settings.layout, settings.feature_dim, source)
                check_values(array, source)
                if width is not None and array.shape[1] != width:
                    raise FeatureImportError(source.where, f"width {array.shape[1]}, but {width_from} has {width}",
                                             source.video_id)
                video_info = info.find(source.video_id) if info is not None else None
                starts, fps, frames = settings.timing.place(len(array), video_info, source.num_frames, source)
            except FeatureImportError as err:
                if not settings.skip_bad:
                    raise
                store.write_failure(vid, str(err), hash_)
                summary.failed[vid] = str(err)
                logger.warning("skipped %s", err)
                continue
            if width is None:
                width, width_from = array.shape[1], vid
            link = None
            if settings.link:
                reason = _link_reason(raw, source, settings.layout)
                if reason is None:
                    link = source.paths[0]
                else:
                    summary.not_linked[vid] = reason
            store.write_video(vid, array, starts, fps, frames, hash_, source=source.stat(), link=link,
                              extra={"imported_from": {"path": [str(p.resolve()) for p in source.paths],
                                                       "key": source.key}})
            summary.written += 1
            summary.linked += link is not None
    summary.feature_dim = int(width or 0)
    if summary.written or summary.skipped or summary.failed:
        store.write_manifest(settings.config(summary.feature_dim), hash_)
    summary.seconds = time.perf_counter() - started
    return summary
