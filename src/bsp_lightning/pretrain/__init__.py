"""Pre-training LightningModules (paper 3.3-3.4): the :class:`BSPModule` base and one variant per file.

=======================  ==================================================================
module                   class
=======================  ==================================================================
``pretrain.base``        :class:`BSPModule`: boundary classification (4-way or a binary pair)
``pretrain.changepoint`` :class:`ChangePointModule`: per-frame change-point heatmap (regression)
``pretrain.vanilla``     :class:`VanillaModule`: action classification of the source videos
``pretrain.two_head``    :class:`TwoHeadModule`: boundary + action heads on one backbone (Fig. 3b)
``pretrain.distillation`` :class:`DistillationModule`: a student and two frozen teachers (Fig. 3c)
``pretrain.optim``       TSM's parameter groups and learning-rate schedule
``pretrain.frozen``      frozen backbones from checkpoints (distillation teachers, extraction)
``pretrain.restore``     the class a checkpoint holds, old names migrated; building it
=======================  ==================================================================

:mod:`bsp_lightning.module` re-exports the classes under the names configs and checkpoints use.
"""

from __future__ import annotations

from bsp_lightning.pretrain.base import BSPModule
from bsp_lightning.pretrain.changepoint import ChangePointModule
from bsp_lightning.pretrain.distillation import DistillationModule
from bsp_lightning.pretrain.two_head import TwoHeadModule
from bsp_lightning.pretrain.vanilla import VanillaModule

__all__ = ["BSPModule", "ChangePointModule", "DistillationModule", "TwoHeadModule", "VanillaModule"]
