"""LGI (local-global video-text interactions, Mun et al., CVPR 2020) as a bsp-lightning head for video grounding.

Exact to the official ``JonghwanMun/LGI4temporalgrounding`` @ ``199e7ab`` (docs/heads/tan2d-lgi.md §2), on
BSP snippet features: ``bsp-lightning fit --config lgi_charades --data.features DIR --data.annotations DIR``.
"""

from pathlib import Path

from bsp_lightning.heads import HeadSpec
from bsp_lgi.data import LGIDataModule
from bsp_lgi.example import make_example, study_inputs
from bsp_lgi.lightning import LGIModule

__all__ = ["HEAD", "LGIModule", "LGIDataModule", "make_example"]

HEAD = HeadSpec(
    name="lgi",
    module=LGIModule,
    datamodule=LGIDataModule,
    configs=Path(__file__).parent / "configs",
    task="grounding",
    description="LGI video grounding (Charades-STA, ActivityNet Captions): R@1 at IoU 0.3/0.5/0.7 and mIoU",
    make_example=make_example,
    primary_metric="R@1,IoU=0.5",
    study_inputs=study_inputs,
)
