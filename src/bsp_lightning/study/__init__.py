"""``bsp-lightning study``: the paper's comparison in miniature (:mod:`.cli`), its configuration presets
(:mod:`.config`), stages (:mod:`.stages`), head runs (:mod:`.heads`) and report (:mod:`.report`)."""

from bsp_lightning.study.cli import main, run_study
from bsp_lightning.study.config import FEATURE_SETS, PAPER_ORDER, PRETRAIN_VARIANTS, StudyConfig, preset

__all__ = ["FEATURE_SETS", "PAPER_ORDER", "PRETRAIN_VARIANTS", "StudyConfig", "main", "preset", "run_study"]
