"""The pre-training LightningModules under their public import path (they live in :mod:`bsp_lightning.pretrain`).

This module is the stable public place: the packaged configs say ``class_path: bsp_lightning.module.BSPModule``,
checkpoints written by LightningCLI record ``_class_path: bsp_lightning.module.<Class>`` and those of older
versions ``bsp_lightning.module:<Class>``; all of them load without a warning. Names that used to be exported here
and moved (``FrozenTeacher``, ``load_teacher``, ``CLASS_KEY``) are served by :mod:`bsp_lightning.legacy`.
"""

from __future__ import annotations

from bsp_lightning import legacy
from bsp_lightning.pretrain.base import BSPModule, action_metrics, batch_accuracy
from bsp_lightning.pretrain.changepoint import ChangePointModule
from bsp_lightning.pretrain.distillation import DistillationModule
from bsp_lightning.pretrain.two_head import TwoHeadModule
from bsp_lightning.pretrain.vanilla import VanillaModule

__all__ = [
    "BSPModule",
    "ChangePointModule",
    "DistillationModule",
    "TwoHeadModule",
    "VanillaModule",
    "action_metrics",
    "batch_accuracy",
]

__getattr__ = legacy.module_getattr(__name__)
