"""G-TAD (Xu et al., CVPR 2020) temporal action localization head for bsp-lightning.

Pure-PyTorch model (:mod:`bsp_gtad.model`), targets, losses and post-processing exact to the official code
(``frostinassiky/gtad``), a :class:`~bsp_gtad.data.GTADDataModule` for ActivityNet-1.3 and THUMOS-14 and the
:class:`~bsp_gtad.lightning.GTADModule`. Configs: ``gtad_anet``, ``gtad_thumos14``, ``gtad_toy``.
"""

from pathlib import Path

from bsp_lightning.heads import HeadSpec
from bsp_gtad.data import GTADDataModule
from bsp_gtad.example import make_example
from bsp_gtad.lightning import GTADModule

__all__ = ["HEAD", "GTADDataModule", "GTADModule"]

HEAD = HeadSpec(
    name="gtad",
    module=GTADModule,
    datamodule=GTADDataModule,
    configs=Path(__file__).parent / "configs",
    task="detection",
    description="G-TAD temporal action localization (ActivityNet-1.3, THUMOS-14), exact to the official code",
    make_example=make_example,
)
