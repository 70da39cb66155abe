"""Snippet features on disk (``<video_id>.npy`` + ``manifest.json``), two-stream combine, feature folders read as one
(:class:`FeatureSet`, the heads' input) and temporal resampling for the heads."""

from __future__ import annotations

from bsp_lightning.features.resample import (
    average_to_fixed_length,
    interpolate_to_length,
    strided_indices,
    strided_subsample,
)
from bsp_lightning.features.combine import CombineResult, combine
from bsp_lightning.features.featureset import FeatureSet, as_folder_list
from bsp_lightning.features.store import (
    MANIFEST_NAME,
    FeatureMismatchError,
    FeatureStore,
    FeatureStoreError,
    config_hash,
    disagreement,
    load_features,
    read_manifest,
)

__all__ = [
    "MANIFEST_NAME",
    "CombineResult",
    "FeatureMismatchError",
    "FeatureSet",
    "FeatureStore",
    "FeatureStoreError",
    "as_folder_list",
    "average_to_fixed_length",
    "combine",
    "config_hash",
    "disagreement",
    "interpolate_to_length",
    "load_features",
    "read_manifest",
    "strided_indices",
    "strided_subsample",
]
