"""The known feature releases (``--preset``): their format, orientation and time, with where each fact comes from.

A preset fills only the settings not given on the command line. Facts are those of the official codes pinned in
``docs/heads/gtad-actionness.md``, ``docs/heads/tan2d-lgi.md`` and ``docs/heads/actionformer.md``. Where the
release's frame rate or stride is not published (Charades VGG, TACoS and ActivityNet C3D, LGI's Charades I3D),
the preset spreads the rows over each video's duration (``span``), which is what the grounding heads do with them
anyway (they resample the rows to a grid over ``[0, duration]``); the duration file is then required.
"""

from __future__ import annotations

from dataclasses import dataclass

from bsp_lightning.features.importers.base import Timing
from bsp_lightning.features.importers.thumos_tsn import THUMOS_TSN

__all__ = ["FORMAT_DEFAULTS", "PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """Defaults for one known release.

    Attributes:
        formats: the import formats it applies to.
        layout: ``"TD"`` or ``"DT"``.
        timing: row times (``span`` ones need ``--video-info``).
        dataset: dataset/array name inside a file, if any.
        feature_dim: the release's width (checked on every video).
        video_info: what to give as ``--video-info`` (``""`` when not needed).
        about: the files, where they come from, and the source of each fact.
    """

    formats: tuple[str, ...]
    layout: str
    timing: Timing
    dataset: str | None = None
    feature_dim: int | None = None
    video_info: str = ""
    about: str = ""


_SPAN = Timing(span=True)

PRESETS: dict[str, Preset] = {
    "gtad-anet-tsn": Preset(
        ("h5", "csv"), "TD", _SPAN, feature_dim=400,
        video_info="G-TAD's video_info_new.csv or anet_anno_action.json (covered span), or "
                   "activity_net.v1-3.min.json (duration only)",
        about="BSN/G-TAD ActivityNet-1.3 TSN features: csv_mean_100.hdf5 (one (100, 400) dataset per v_ id) or "
              "csv_mean_100/v_<id>.csv; rows rescaled to 100 over the feature-covered span (G-TAD anet branch "
              "gtad_lib/dataset.py; gtad #43, BSN.pytorch #9)"),
    "tan2d-charades-vgg": Preset(
        ("h5",), "TD", _SPAN, feature_dim=4096, video_info="Charades_v1_train.csv and Charades_v1_test.csv",
        about="2D-TAN Charades-STA VGG16 fc7 features: vgg_rgb_features.hdf5 (= charades_vgg_rgb.hdf5, VideoX #51), "
              "one (L, 4096) dataset per video id (2D-TAN lib/datasets/charades.py)"),
    "tan2d-tacos-c3d": Preset(
        ("h5",), "TD", _SPAN, feature_dim=4096, video_info="2D-TAN's TACoS train.json, val.json and test.json",
        about="2D-TAN TACoS C3D features: tall_c3d_features.hdf5, one (L, 4096) dataset per video"),
    "tan2d-anet-c3d": Preset(
        ("h5",), "TD", _SPAN, dataset="c3d_features", feature_dim=500,
        video_info="ActivityNet Captions train.json, val_1.json and val_2.json",
        about="ActivityNet-2016 C3D PCA-500 features: sub_activitynet_v1-3.c3d.hdf5, <v_id>/c3d_features (L, 500) "
              "(VideoX #9, #10)"),
    "lgi-charades-i3d": Preset(
        ("npy",), "TD", _SPAN, feature_dim=1024, video_info="Charades_v1_train.csv and Charades_v1_test.csv",
        about="LGI Charades-STA I3D (Charades-finetuned, rgb_charades.pt) features from charades_data.tar.gz: "
              "i3d_finetuned/<vid>.npy, squeezed to (L, 1024); extraction fps and stride unknown even to the "
              "author (LGI #21)"),
    "actionformer-thumos-i3d": Preset(
        ("npy",), "TD", Timing(snippet_length=16, stride=4), feature_dim=2048,
        video_info="ActionFormer's thumos14.json (per-video fps)",
        about="ActionFormer/OpenTAD THUMOS-14 two-stream I3D: i3d_features/<id>.npy (T, 2048), 16-frame clips every "
              "4 frames, RGB channels first (ActionFormer README; ActionFormer #5, #60)"),
    "actionformer-anet-tsp": Preset(
        ("npy",), "TD", Timing(fps=15.0, snippet_length=16, stride=16), feature_dim=512,
        about="ActionFormer ActivityNet-1.3 TSP features: tsp_features/v_<id>.npy (T, 512), 16-frame clips at 15 "
              "fps, stride 16 (ActionFormer README; ActionFormer #11)"),
    "crosstask": Preset(
        ("npy",), "TD", Timing(fps=1.0, snippet_length=1, stride=1), feature_dim=3200,
        about="CrossTask release features: <video_id>.npy, one 3,200-d row per second (I3D 1024 + ResNet-152 2048 + "
              "audio 128; CrossTask README); a manifest 'frame' is one second"),
}

#: What a format implies by itself (applied before a preset and the flags).
FORMAT_DEFAULTS: dict[str, dict] = {
    "thumos-tsn": {
        "layout": "TD", "subsample": THUMOS_TSN["subsample"], "feature_dim": 2 * THUMOS_TSN["stream_dim"],
        "timing": Timing(fps=THUMOS_TSN["fps"], snippet_length=THUMOS_TSN["subsample"],
                         stride=THUMOS_TSN["subsample"], first_frame=-THUMOS_TSN["subsample"] / 2),
    },
    "csv": {"layout": "TD"},  # BSN's tables: rows are time steps
}
