"""Video backbones (TSM on timm ResNets), checkpoint reading, official-checkpoint import and the pretext heads.

The floor of the library: nothing here imports the LightningModules (frozen backbones built from checkpoints are
:mod:`bsp_lightning.pretrain.frozen`).
"""

from __future__ import annotations

from bsp_lightning import legacy
from bsp_lightning.models.pretext_heads import ActionHead, ChangePointHead, ClassificationHead, DistillationProjections
from bsp_lightning.models.checkpoints import (
    CheckpointInfo,
    checkpoint_kind,
    clean_state_dict,
    inspect_checkpoint,
)
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
    "CheckpointInfo",
    "DistillationProjections",
    "OfficialCheckpointError",
    "TSMClassifier",
    "TemporalShift",
    "checkpoint_kind",
    "clean_state_dict",
    "inspect_checkpoint",
    "load_imagenet_weights",
    "load_official_tsm",
    "temporal_shift",
]

__getattr__ = legacy.module_getattr(__name__)
