"""The pre-training LightningModules under their public names (they live in :mod:`bsp_lightning.pretrain`).

Configs (``class_path: bsp_lightning.module.BSPModule``) and checkpoints (which record
``bsp_lightning.module:<Class>``) name the classes here, so this module keeps exporting them.
"""

from __future__ import annotations

from bsp_lightning.models.checkpoints import CLASS_KEY
from bsp_lightning.pretrain.base import BSPModule, action_metrics, batch_accuracy
from bsp_lightning.pretrain.changepoint import ChangePointModule
from bsp_lightning.pretrain.distillation import DistillationModule, FrozenTeacher, load_teacher
from bsp_lightning.pretrain.two_head import TwoHeadModule
from bsp_lightning.pretrain.vanilla import VanillaModule

__all__ = [
    "CLASS_KEY",
    "BSPModule",
    "ChangePointModule",
    "DistillationModule",
    "FrozenTeacher",
    "TwoHeadModule",
    "VanillaModule",
    "action_metrics",
    "batch_accuracy",
    "load_teacher",
]
