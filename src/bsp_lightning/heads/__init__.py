"""The downstream-head plug-in contract (stage 3, LOCALISE).

* :class:`HeadSpec`, :func:`available_heads`, :func:`head_configs`: what a head package registers in the
  entry-point group ``bsp_lightning.heads`` and how the core finds it;
* :class:`FeatureSet`: one or more feature folders read as one (two-stream concatenated on the fly);
* :class:`FeatureDataModule`: the base DataModule (features + annotations, missing-feature report);
* :class:`HeadModule`: the base LightningModule (hooks; test/predict loops that write the official prediction
  formats and score them);
* :func:`holdout_split`, :func:`write_split`: the seeded validation hold-out of training videos.
"""

from bsp_lightning.heads.datamodule import MISSING_FEATURES_FILE, FeatureCoverageError, FeatureDataModule
from bsp_lightning.heads.features import FeatureSet
from bsp_lightning.heads.module import HeadModule, format_metric_table
from bsp_lightning.heads.spec import (
    HEADS_GROUP,
    TASKS,
    HeadSpec,
    available_heads,
    config_description,
    describe,
    head_configs,
    head_errors,
    load_head,
)
from bsp_lightning.heads.splits import holdout_split, write_split

__all__ = [
    "HEADS_GROUP",
    "MISSING_FEATURES_FILE",
    "TASKS",
    "FeatureCoverageError",
    "FeatureDataModule",
    "FeatureSet",
    "HeadModule",
    "HeadSpec",
    "available_heads",
    "config_description",
    "describe",
    "format_metric_table",
    "head_configs",
    "head_errors",
    "holdout_split",
    "load_head",
    "write_split",
]
