"""The prediction writer of an extraction: each video's snippet features, written once the video is complete.

Batches of several videos interleave (one per DataLoader worker), so features are buffered per video id; a
video's ``.npy`` and manifest entry are written atomically when its last batch arrives, so a killed run
leaves only complete files. The entry's status is ``ok`` when the decoded frame count equals the exact count
of :func:`bsp_lightning.video.probe`, ``partial`` (both counts and the reason recorded, a warning logged)
otherwise, and ``failed`` with the reason when nothing decoded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.callbacks import BasePredictionWriter
from tqdm import tqdm

from bsp_lightning.features.store import FeatureStore

logger = logging.getLogger(__name__)

__all__ = ["ExtractionSummary", "FeatureWriter"]

# Test hook: the writer ends the process abruptly (os._exit) after writing this many videos, to prove that an
# interrupted run resumes to byte-identical files. Not a user option.
_EXIT_AFTER_ENV = "BSP_LIGHTNING_TEST_EXIT_AFTER_VIDEOS"


@dataclass
class _Pending:
    features: list[np.ndarray] = field(default_factory=list)
    start_frames: list[np.ndarray] = field(default_factory=list)
    next_index: int = 0


@dataclass
class ExtractionSummary:
    """Counts of one extraction run: of the whole run on global rank 0, of this process on the others."""

    written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0
    is_global_zero: bool = True


class FeatureWriter(BasePredictionWriter):
    """Assembles each video's snippet features and writes them when the video is complete.

    Batches of several videos may interleave (one per DataLoader worker), so features are buffered per
    video id; a video's ``.npy`` and manifest entry are written (atomically) when its last batch arrives.
    A progress bar counts videos.

    Args:
        store: the output feature folder.
        config_hash_: hash of the run configuration, recorded in every entry.
        total: videos this process will handle (for the progress bar).
    """

    def __init__(self, store: FeatureStore, config_hash_: str, total: int | None = None) -> None:
        super().__init__(write_interval="batch")
        self.store = store
        self.config_hash = config_hash_
        self.total = total
        self.summary = ExtractionSummary()
        self._pending: dict[str, _Pending] = {}
        self._bar: tqdm | None = None
        exit_after = os.environ.get(_EXIT_AFTER_ENV)
        self._exit_after = int(exit_after) if exit_after else None

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        desc = "extract" if trainer.world_size == 1 else f"extract (rank 0 of {trainer.world_size})"
        self._bar = tqdm(total=self.total, desc=desc, unit="video", disable=not trainer.is_global_zero,
                         dynamic_ncols=True)

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._bar is not None:
            self._bar.close()
        for vid in sorted(self._pending):  # cannot happen with SnippetBatches; keep the count honest if it does
            self._fail(vid, "incomplete: the data loader stopped before the last snippet")

    def _fail(self, video_id: str, reason: str) -> None:
        self._pending.pop(video_id, None)
        self.store.write_failure(video_id, reason, self.config_hash)
        self.summary.failed[video_id] = reason
        logger.warning("skipped %s: %s", video_id, reason)
        self._done()

    def _done(self) -> None:
        if self._bar is not None:
            self._bar.update(1)
        if self._exit_after is not None and self.summary.written + len(self.summary.failed) >= self._exit_after:
            os._exit(17)

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: dict[str, Any],
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        vid = prediction["video_id"]
        if prediction["error"] is not None:
            self._fail(vid, prediction["error"])
            return
        pending = self._pending.setdefault(vid, _Pending())
        indices = prediction["snippet_index"].numpy()
        if indices.size and indices[0] != pending.next_index:
            self._fail(vid, f"snippets out of order (got {indices[0]}, expected {pending.next_index})")
            return
        pending.features.append(prediction["features"].numpy())
        pending.start_frames.append(prediction["start_frame"].numpy())
        pending.next_index += len(indices)
        if not prediction["is_last"]:
            return
        del self._pending[vid]
        fps = float(prediction["fps"])
        starts = np.concatenate(pending.start_frames) / fps
        expected, decoded = int(prediction["num_frames"]), int(prediction["decoded_frames"])
        # a half-downloaded file can decode every packet it holds: the container's own length tells it apart
        truncated = bool(prediction.get("truncated", False))
        status = "ok" if decoded == expected and not truncated else "partial"
        # the dataset's reason gives a truncated file's total as its container declares it
        why = None if status == "ok" else prediction.get("partial_reason") or f"{decoded} of {expected} frames decoded"
        self.store.write_video(
            vid, np.concatenate(pending.features), starts.tolist(), fps, decoded, self.config_hash,
            status=status, expected_frames=expected, source=prediction.get("source"), reason=why,
        )
        if status == "partial":
            self.summary.partial[vid] = why
            logger.warning("%s: partial file, %s; its features cover what decoded", vid, why)
        self.summary.written += 1
        self._done()
