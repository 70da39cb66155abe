"""2D-TAN (Zhang et al., AAAI 2020) as a bsp-lightning head: temporal grounding on snippet features.

Exact to the official code (``microsoft/2D-TAN`` @ ``2f7410f``; facts in docs/heads/tan2d-lgi.md §1):
:mod:`.maps` (the sparse 2D map, IoU targets), :mod:`.model` (pure torch), :mod:`.losses`, :mod:`.inference`,
:mod:`.data` (Charades-STA, ActivityNet Captions, TACoS), :mod:`.lightning` (the LightningModule), configs
``tan2d_charades``, ``tan2d_charades_pool``, ``tan2d_anet_captions``, ``tan2d_tacos``, ``tan2d_toy``.
"""

from pathlib import Path

from bsp_lightning.heads import HeadSpec
from bsp_tan2d.data import Tan2dDataModule
from bsp_tan2d.example import make_example, study_inputs
from bsp_tan2d.lightning import Tan2dModule

__version__ = "0.1.0"

HEAD = HeadSpec(
    name="tan2d",
    module=Tan2dModule,
    datamodule=Tan2dDataModule,
    configs=Path(__file__).parent / "configs",
    task="grounding",
    description="2D-TAN temporal grounding (Charades-STA, ActivityNet Captions, TACoS), exact to the official code",
    make_example=make_example,
    primary_metric="R@1,IoU=0.5",
    study_inputs=study_inputs,
)

__all__ = ["HEAD", "Tan2dDataModule", "Tan2dModule", "make_example"]
