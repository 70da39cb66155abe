"""Snippet feature extraction for untrimmed videos (stage 2 of the pipeline), on ``Trainer.predict``.

One job per file: ``inputs`` (video list, snippet settings and their defaults from the checkpoint),
``dataset`` (snippet batches sharded over ranks and workers), ``extractor`` (frozen feature streams),
``writer`` (per-video ``.npy`` + manifest entries), ``command`` (:func:`extract` and ``bsp-lightning extract``).
``bsp-lightning combine`` lives next to the feature store (:mod:`bsp_lightning.features.combine`).
"""

from __future__ import annotations

from bsp_lightning import legacy
from bsp_lightning.extract.command import LAST_SNIPPET_RULE, build_parser, extract, extraction_config, main
from bsp_lightning.extract.dataset import SnippetBatches, SnippetDataModule, decoded_frames, shard_of
from bsp_lightning.extract.extractor import SnippetFeatureExtractor, load_feature_stream
from bsp_lightning.extract.inputs import (
    ExtractionError,
    SnippetSpec,
    VideoItem,
    checkpoint_settings,
    list_videos,
    read_checkpoint_info,
    resolve_spec,
)
from bsp_lightning.extract.writer import ExtractionSummary, FeatureWriter
from bsp_lightning.video.extensions import VIDEO_EXTENSIONS

__all__ = [
    "LAST_SNIPPET_RULE",
    "VIDEO_EXTENSIONS",
    "ExtractionError",
    "ExtractionSummary",
    "FeatureWriter",
    "SnippetBatches",
    "SnippetDataModule",
    "SnippetFeatureExtractor",
    "SnippetSpec",
    "VideoItem",
    "build_parser",
    "checkpoint_settings",
    "decoded_frames",
    "extract",
    "extraction_config",
    "list_videos",
    "load_feature_stream",
    "main",
    "read_checkpoint_info",
    "resolve_spec",
    "shard_of",
]

__getattr__ = legacy.module_getattr(__name__)
