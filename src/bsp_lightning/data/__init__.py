"""Pre-training data: Kinetics-format index, boundary synthesis, sampling, augmentation, BSPDataModule.

The DataModule (and with it PyTorch Lightning) is imported on first use, so the pure synthesis
functions stay cheap to import.
"""

from __future__ import annotations

from typing import Any

from bsp_lightning.data.index import VideoIndex, VideoRecord
from bsp_lightning.data.synthesis import (
    BOUNDARY_TYPES,
    DIFF_CLASS,
    DIFF_SPEED,
    SAME_CLASS,
    SAME_SPEED,
    change_point_heatmap,
    diff_class,
    diff_speed,
    diff_speed_source_length,
    same_class,
    same_speed,
)

__all__ = [
    "BOUNDARY_TYPES",
    "BSPDataModule",
    "BoundaryClipDataset",
    "DIFF_CLASS",
    "DIFF_SPEED",
    "NoUsableVideoError",
    "SAME_CLASS",
    "SAME_SPEED",
    "SkippedVideosCallback",
    "VideoIndex",
    "VideoRecord",
    "change_point_heatmap",
    "diff_class",
    "diff_speed",
    "diff_speed_source_length",
    "same_class",
    "same_speed",
]

_DATAMODULE_NAMES = {"BSPDataModule", "BoundaryClipDataset", "NoUsableVideoError", "SkippedVideosCallback"}


def __getattr__(name: str) -> Any:
    if name in _DATAMODULE_NAMES:
        from bsp_lightning.data import datamodule

        return getattr(datamodule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
