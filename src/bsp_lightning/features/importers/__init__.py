"""Import released snippet features (``bsp-lightning features import``) into the feature folder every head reads.

One module per release format: :mod:`.h5` (one dataset per video, or per-video ``.h5`` files), :mod:`.thumos_tsn`
(G-TAD's THUMOS ``rgb_*``/``flow_*`` pairs), :mod:`.npy` (per-video ``.npy``/``.npz`` folders: OpenTAD,
ActionFormer, TriDet, LGI), :mod:`.bsn_csv` (BSN's ``csv_mean_100/v_*.csv``). :mod:`.base` holds the shared
rules (orientation, time of each row, value checks), :mod:`.run` the import loop, :mod:`.presets` the known
releases, :mod:`.video_info` the duration/fps side files, :mod:`.cli` the command, and :mod:`.recipes` the
reproduction recipes of the heads' READMEs with their runnable miniature (``bsp-lightning features example``).
"""

from __future__ import annotations

from bsp_lightning.features.importers.base import FeatureImportError, SourceVideo, Timing
from bsp_lightning.features.importers.bsn_csv import list_csv
from bsp_lightning.features.importers.h5 import list_h5
from bsp_lightning.features.importers.npy import list_npy
from bsp_lightning.features.importers.presets import PRESETS, Preset
from bsp_lightning.features.importers.run import ImportSettings, ImportSummary, import_features
from bsp_lightning.features.importers.thumos_tsn import list_thumos_tsn
from bsp_lightning.features.importers.video_info import VideoInfo, read_video_info

#: format name -> lister of its source videos (a context manager over ``ImportSettings``).
FORMATS = {"h5": list_h5, "thumos-tsn": list_thumos_tsn, "npy": list_npy, "csv": list_csv}

__all__ = [
    "FORMATS",
    "PRESETS",
    "FeatureImportError",
    "ImportSettings",
    "ImportSummary",
    "Preset",
    "SourceVideo",
    "Timing",
    "VideoInfo",
    "import_features",
    "read_video_info",
]
