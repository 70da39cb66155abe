"""Video backbones (TSM on timm ResNets), checkpoint reading, official-checkpoint import and the pretext heads."""

from __future__ import annotations

from bsp_lightning.models.pretext_heads import ActionHead, ChangePointHead, ClassificationHead, DistillationProjections
from bsp_lightning.models.checkpoints import FrozenBackbone, checkpoint_kind, clean_state_dict, load_backbone
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
    "FrozenBackbone",
    "OfficialCheckpointError",
    "TSMClassifier",
    "TemporalShift",
    "checkpoint_kind",
    "clean_state_dict",
    "load_backbone",
    "load_imagenet_weights",
    "load_official_tsm",
    "temporal_shift",
]
