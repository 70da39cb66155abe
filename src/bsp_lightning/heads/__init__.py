"""The downstream-head plug-in contract (stage 3, LOCALISE), and the one input layer the heads import from.

* :class:`HeadSpec`, :func:`available_heads`, :func:`head_configs`: what a head package registers in the
  entry-point group ``bsp_lightning.heads`` and how the core finds it;
* :class:`FeatureDataModule`: the base DataModule (features + annotations, the validation hold-out, the skip report
  :class:`SkipReport`, ``data_info``);
* :class:`HeadModule`: the base LightningModule (hooks; the ``data_info`` check; test/predict loops that write the
  official prediction formats and score them);
* the core helpers a head uses, re-exported so that a head imports nothing private: :class:`FeatureSet` (feature
  folders read as one), the seeded hold-out (:func:`holdout_split`, :func:`write_split`, :func:`read_split`), the
  input-file errors and readers (:class:`InputFileError`, :func:`read_json`, :func:`read_text`, :func:`to_number`),
  :class:`InvalidArgumentError` for a bad constructor argument, :func:`format_metric_table`.
"""

from bsp_lightning import legacy
from bsp_lightning.features.featureset import FeatureSet
from bsp_lightning.heads.datamodule import MISSING_FEATURES_FILE, FeatureCoverageError, FeatureDataModule
from bsp_lightning.evaluation.tables import format_metric_table
from bsp_lightning.heads.module import DataInfoMismatchError, HeadModule
from bsp_lightning.heads.skips import MISSING_FEATURES, SkipReport
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
from bsp_lightning.heads.splits import SPLIT_FILE, holdout_split, read_split, write_split
from bsp_lightning.utils.errors import InputFileError, InvalidArgumentError, read_json, read_text, to_number

__all__ = [
    "HEADS_GROUP",
    "MISSING_FEATURES",
    "MISSING_FEATURES_FILE",
    "SPLIT_FILE",
    "TASKS",
    "DataInfoMismatchError",
    "FeatureCoverageError",
    "FeatureDataModule",
    "FeatureSet",
    "HeadModule",
    "HeadSpec",
    "InputFileError",
    "InvalidArgumentError",
    "SkipReport",
    "available_heads",
    "config_description",
    "describe",
    "format_metric_table",
    "head_configs",
    "head_errors",
    "holdout_split",
    "load_head",
    "read_json",
    "read_split",
    "read_text",
    "to_number",
    "write_split",
]

__getattr__ = legacy.module_getattr(__name__)
