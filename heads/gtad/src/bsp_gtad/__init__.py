"""G-TAD (Xu et al., CVPR 2020) temporal action localization head for bsp-lightning.

Pure-PyTorch model (:mod:`bsp_gtad.model`), targets, losses and post-processing exact to the official code
(``frostinassiky/gtad``), one DataModule per benchmark (:class:`~bsp_gtad.data.GTADActivityNetData`,
:class:`~bsp_gtad.thumos.GTADThumosData`, sharing :class:`~bsp_gtad.data.GTADData`) and the
:class:`~bsp_gtad.lightning.GTADModule`. Configs: ``gtad_anet``, ``gtad_thumos14``, ``gtad_toy``.
"""

from pathlib import Path

from bsp_lightning import legacy
from bsp_lightning.heads import HeadSpec
from bsp_gtad.data import GTADActivityNetData, GTADData
from bsp_gtad.example import make_example, study_inputs
from bsp_gtad.lightning import GTADModule
from bsp_gtad.thumos import GTADThumosData

__all__ = ["HEAD", "GTADActivityNetData", "GTADData", "GTADModule", "GTADThumosData"]

HEAD = HeadSpec(
    name="gtad",
    module=GTADModule,
    datamodule=GTADData,
    configs=Path(__file__).parent / "configs",
    task="detection",
    description="G-TAD temporal action localization (ActivityNet-1.3, THUMOS-14), exact to the official code",
    make_example=make_example,
    primary_metric="average_mAP",
    study_inputs=study_inputs,
)

__getattr__ = legacy.module_getattr(__name__)
