"""2D-TAN's data: grounding queries of Charades-STA, ActivityNet Captions and TACoS over snippet features.

Per query (official ``lib/datasets/{charades,activitynet,tacos}.py`` ``__getitem__``): the video's snippet
features, each row L2-normalised over channels (``DATASET.NORMALIZE``; for two-stream folders the whole
concatenated row, as one official feature file would be), resampled to ``num_sample_clips`` (256) rows by
:func:`bsp_lightning.features.resample.average_to_fixed_length` (2D-TAN's averaging rule, which drops the last
snippet when there are more than 256); the query tokens by :func:`bsp_lightning.text.tokenize_2dtan`; the queries
read by the core loaders with the ``"2dtan"`` policy (:func:`bsp_lightning.annotations.load_grounding`: start >= end
dropped, the ground truth clipped to the video, the query's ``model_sentence``: Charades-STA sentences read as
2D-TAN reads them). The IoU target map is built by the model from ``gt`` and ``duration``
(:func:`bsp_tan2d.maps.iou_target_map`), so the map side lives in one place.

Splits (``annotations`` is the folder of the official ``DATA_DIR`` layout; ``train_file``/``val_file``/
``test_file`` override the file names):

* ``charades``: ``charades_sta_{train,test}.txt`` with ``Charades_v1_{train,test}.csv`` next to them. Charades-STA
  has no validation split and the official code selects its epoch on the test split; here the base class's seeded
  ``val_fraction`` (10%) of the training *videos* with features is held out as validation instead
  (:meth:`bsp_lightning.heads.FeatureDataModule.hold_out`), saved as ``<default_root_dir>/split.json``.
* ``anet_captions``: ``train.json``, ``val_1.json`` (validation), ``val_2.json`` (test) -- the official
  renames ``val_1 -> val.json`` and ``val_2 -> test.json``.
* ``tacos``: ``train.json``, ``val.json``, ``test.json`` in the official TACoS format
  (:func:`bsp_lightning.annotations.load_tacos`).

Skips are counted in ``skips`` per split and logged once, never raised: the loaders' anomalies (queries dropped
for start > end or empty after clipping, ends clipped; unit: queries), videos without features
(``missing_features``, videos; listed in ``missing_features.txt``), queries with no token (``empty_query``).
``data_info`` gives the model ``num_sample_clips`` and the training vocabulary.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from bsp_lightning import legacy
from bsp_lightning.annotations import GroundingQuery, load_grounding
from bsp_lightning.features.resample import average_to_fixed_length
from bsp_lightning.heads import FeatureDataModule, FeatureSet, InvalidArgumentError
from bsp_lightning.text import tokenize_2dtan

logger = logging.getLogger(__name__)

__all__ = ["GroundingDataset", "collate_grounding", "Tan2dDataModule", "DATASETS"]

#: dataset -> default file of each split (``None``: made from the training file by the hold-out).
DATASETS: dict[str, dict[str, str | None]] = {
    "charades": {"train": "charades_sta_train.txt", "val": None, "test": "charades_sta_test.txt"},
    "anet_captions": {"train": "train.json", "val": "val_1.json", "test": "val_2.json"},
    "tacos": {"train": "train.json", "val": "val.json", "test": "test.json"},
}


class GroundingDataset(Dataset):
    """Queries with features: item ``{"features" float32 (T, D), "tokens" list[str], "gt" float64 (2,),
    "duration" float, "video", "query", "index"}``.

    Args:
        queries: the kept queries (videos with features, at least one token).
        feature_ids: annotation video id -> feature id.
        features: the opened feature folders.
        num_sample_clips: ``T`` (``DATASET.NUM_SAMPLE_CLIPS``, 256).
        normalize: L2-normalise each snippet before resampling (``DATASET.NORMALIZE``, True everywhere).
    """

    def __init__(self, queries: list[GroundingQuery], feature_ids: dict[str, str], features: FeatureSet,
                 num_sample_clips: int = 256, normalize: bool = True) -> None:
        self.queries = queries
        self.feature_ids = feature_ids
        self.features = features
        self.num_sample_clips = int(num_sample_clips)
        self.normalize = normalize
        self.tokens = [tokenize_2dtan(q.model_sentence) for q in queries]

    def __len__(self) -> int:
        return len(self.queries)

    def video_features(self, video_id: str) -> torch.Tensor:
        """float32 ``(T, D)``: normalised and resampled features of an annotated video."""
        x = torch.from_numpy(np.array(self.features.load(self.feature_ids[video_id]), dtype=np.float32))
        if self.normalize:
            x = F.normalize(x, dim=1)
        return torch.from_numpy(average_to_fixed_length(x, self.num_sample_clips))

    def __getitem__(self, index: int) -> dict[str, Any]:
        q = self.queries[index]
        return {
            "features": self.video_features(q.video_id),
            "tokens": self.tokens[index],
            "gt": torch.tensor([q.start, q.end], dtype=torch.float64),
            "duration": float(q.duration),
            "video": q.video_id,
            "query": q.model_sentence,
            "index": index,
        }


def collate_grounding(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of items: ``features`` (B, T, D), ``gt`` (B, 2) float64, ``duration`` (B,) float64,
    ``index`` (B,) int64; ``tokens``, ``video``, ``query`` stay lists."""
    return {
        "features": torch.stack([it["features"] for it in items]),
        "tokens": [it["tokens"] for it in items],
        "gt": torch.stack([it["gt"] for it in items]),
        "duration": torch.tensor([it["duration"] for it in items], dtype=torch.float64),
        "video": [it["video"] for it in items],
        "query": [it["query"] for it in items],
        "index": torch.tensor([it["index"] for it in items], dtype=torch.int64),
    }


class Tan2dDataModule(FeatureDataModule):
    """Charades-STA / ActivityNet Captions / TACoS queries over snippet features (module docstring).

    Args:
        benchmark: ``"charades"``, ``"anet_captions"`` or ``"tacos"``.
        num_sample_clips: ``T`` rows after resampling (256); given to the model through ``data_info``.
        normalize: L2-normalise each snippet first (True, as every official config).
        train_file, val_file, test_files: file names (relative to ``annotations``, or absolute) replacing the
            defaults of :data:`DATASETS`; several test files are read in order; a ``val_file`` for Charades-STA
            replaces the hold-out.
        batch_size: queries per batch (32 in every official config).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s (``annotations``: the folder holding
            the split files, official ``DATA_DIR`` layout; ``val_fraction``: the Charades-STA hold-out, 0.1).

    Raises:
        InvalidArgumentError: an unknown benchmark.
    """

    def __init__(self, *args: Any, benchmark: str = "charades", num_sample_clips: int = 256, normalize: bool = True,
                 train_file: str | None = None, val_file: str | None = None,
                 test_files: str | list[str] | None = None, batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(*args, batch_size=batch_size, **kwargs)
        if benchmark not in DATASETS:
            raise InvalidArgumentError(f"unknown 2D-TAN benchmark {benchmark!r}; choose one of {', '.join(DATASETS)}")
        self.benchmark = benchmark
        self.num_sample_clips = num_sample_clips
        self.normalize = normalize
        self.files: dict[str, list[str] | None] = {
            k: None if v is None else [v] for k, v in DATASETS[benchmark].items()}
        for split, names in (("train", train_file), ("val", val_file), ("test", test_files)):
            if names is not None:
                self.files[split] = [names] if isinstance(names, str) else list(names)

    def split_paths(self, split: str) -> list[Path] | None:
        """The annotation files of ``split`` (``predict`` reads the test files); ``None`` for a hold-out."""
        names = self.files["test" if split == "predict" else split]
        return None if names is None else [Path(self.annotations) / name for name in names]

    def _load(self, split: str) -> list[GroundingQuery]:
        queries = []
        for path in self.split_paths(split):
            loaded = load_grounding(self.benchmark, path, policy="2dtan")
            if loaded.report.anomalies:
                logger.info("%s", loaded.report.format_text())
            self.skips.update(split, dict(loaded.report.anomalies))
            queries += loaded.queries
        return queries

    @cached_property
    def _train_queries(self) -> list[GroundingQuery]:
        return self._load("train")

    @property
    def split_videos(self) -> dict[str, list[str]] | None:
        """``{"train": [...], "val": [...]}`` when the validation split is held out of the training videos (the
        base class's hold-out), ``None`` when the benchmark has a validation file."""
        if self.files["val"] is not None:
            return None
        return self.hold_out(q.video_id for q in self._train_queries)

    @property
    def data_info(self) -> dict[str, Any]:
        """``{"num_sample_clips": T, "vocabulary": sorted 2D-TAN tokens of the training file}``: the vocabulary
        is used by the learned-embedding option only (not the paper's setting); GloVe brings its own."""
        words = sorted({t for q in self._train_queries for t in tokenize_2dtan(q.model_sentence)})
        return {"num_sample_clips": self.num_sample_clips, "vocabulary": words}

    def build_dataset(self, split: str) -> Dataset:
        if split in ("train", "val") and self.split_videos is not None:
            keep = set(self.split_videos[split])
            queries = [q for q in self._train_queries if q.video_id in keep]
        else:
            queries = self._train_queries if split == "train" else self._load(split)
        return self._dataset(queries, split)

    def _dataset(self, queries: list[GroundingQuery], split: str) -> GroundingDataset:
        ids = self.match_videos([q.video_id for q in queries], split) if queries else {}
        kept = [q for q in queries if q.video_id in ids]
        empty = [q for q in kept if not tokenize_2dtan(q.model_sentence)]
        if empty:
            example = f"{empty[0].video_id}: {empty[0].model_sentence!r}"
            self.skips.add(split, "empty_query", len(empty), example=example)
            kept = [q for q in kept if tokenize_2dtan(q.model_sentence)]
        logger.info("%s: %d queries of %d videos", split, len(kept), len({q.video_id for q in kept}))
        return GroundingDataset(kept, ids, self.features_set, self.num_sample_clips, self.normalize)

    def collate_fn(self, split: str):
        return collate_grounding


__getattr__ = legacy.module_getattr(__name__)
