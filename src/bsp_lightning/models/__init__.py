"""Video backbones (TSM on timm ResNets), official-checkpoint import and the pretext/action heads."""

from __future__ import annotations

from bsp_lightning.models.heads import ActionHead, ChangePointHead, ClassificationHead, DistillationProjections
from bsp_lightning.models.official import OfficialCheckpointError, load_official_tsm
from bsp_lightning.models.tsm import (
    TSM,
    TemporalShift,
    TSMClassifier,
    load_imagenet_weights,
    temporal_shift,
)

__all__ = [
    "TSM",
    "ActionHead",
    "ChangePointHead",
    "ClassificationHead",
    "DistillationProjections",
    "OfficialCheckpointError",
    "TSMClassifier",
    "TemporalShift",
    "load_imagenet_weights",
    "load_official_tsm",
    "temporal_shift",
]
