"""``FeatureDataModule``: the base LightningDataModule of every downstream head.

A head sees features and annotations only (``docs/design.md`` §3): this class opens the feature folders
(:class:`~bsp_lightning.heads.features.FeatureSet`, several folders = two-stream), matches the annotation's video
ids to feature files once, and builds the loaders from the subclass's :meth:`FeatureDataModule.build_dataset`.
The feature width and whatever the model must know about the data (:attr:`FeatureDataModule.data_info`: class
names, a vocabulary...) are linked into the model by ``bsp-lightning fit``, so a checkpoint's hyper-parameters
are enough to rebuild the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from bsp_lightning.features.store import FeatureStoreError
from bsp_lightning.heads.features import FeatureSet, as_folder_list
from bsp_lightning.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["FeatureDataModule", "FeatureCoverageError", "MISSING_FEATURES_FILE"]

MISSING_FEATURES_FILE = "missing_features.txt"
SPLITS = ("train", "val", "test", "predict")


class FeatureCoverageError(FeatureStoreError):
    """No annotated video of a split has features: the message names both paths and an example id of each."""


class FeatureDataModule(pl.LightningDataModule):
    """Base DataModule of the heads: feature folders + one annotation file.

    Subclasses implement :meth:`build_dataset` (and may override :meth:`collate_fn` and :attr:`data_info`).

    Args:
        features: a feature folder written by ``bsp-lightning extract``, or a list of them (two-stream: their
            channels are concatenated in order).
        annotations: the benchmark's annotation file (or folder), read with :mod:`bsp_lightning.annotations`.
        batch_size: videos (or windows, or queries) per batch.
        num_workers: DataLoader worker processes.
        seed: seeds the training shuffle and any split the subclass makes.
    """

    drop_last: bool = False

    def __init__(
        self,
        features: str | list[str],
        annotations: str,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.features = [str(f) for f in as_folder_list(features)]
        self.annotations = str(annotations)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self._datasets: dict[str, Dataset] = {}
        self.missing_features: dict[str, list[str]] = {}

    # --- what the model needs -----------------------------------------------------------------------------

    @cached_property
    def features_set(self) -> FeatureSet:
        """The opened feature folders (read on first use)."""
        return FeatureSet(self.features)

    @property
    def feature_dim(self) -> int:
        """``D`` of the (concatenated) features, from the manifests; linked into ``model.feature_dim``."""
        return self.features_set.feature_dim

    @property
    def data_info(self) -> dict[str, Any]:
        """What the model must know about the data (class names, vocabulary...); linked into
        ``model.data_info`` at instantiation, so it lands in the checkpoint's hyper-parameters. Default ``{}``."""
        return {}

    @property
    def root_dir(self) -> Path | None:
        """Where run files go: the trainer's ``default_root_dir``; ``None`` when no trainer is attached."""
        trainer = getattr(self, "trainer", None)
        return Path(trainer.default_root_dir) if trainer is not None else None

    # --- annotation ids -> feature ids --------------------------------------------------------------------

    def match_videos(self, annotation_ids: Iterable[str], split: str) -> dict[str, str]:
        """Map the annotated videos of ``split`` to their feature ids (``v_`` prefix added or removed as needed).

        The videos without features are logged once with a count, kept in :attr:`missing_features` and, when a
        trainer is attached, listed in ``<default_root_dir>/missing_features.txt`` (one ``split<TAB>id`` line
        each, all splits).

        Raises:
            FeatureCoverageError: none of the annotated videos has features.
            FeatureStoreError: a matched video's feature file is missing, unreadable or not the manifest's shape.
        """
        ids = list(dict.fromkeys(annotation_ids))
        found, missing = {}, []
        for vid in ids:
            fid = self.features_set.resolve(vid)
            if fid is None:
                missing.append(vid)
            else:
                found[vid] = fid
        if ids and not found:
            example_feature = self.features_set.video_ids[0] if self.features_set.video_ids else "(none)"
            raise FeatureCoverageError(
                f"no annotated {split} video has features: {self.annotations} (e.g. {ids[0]!r}) vs "
                f"{', '.join(self.features)} (e.g. {example_feature!r}); a 'v_' prefix mismatch is the usual cause "
                "(ActivityNet ground truth has none, G-TAD/BSN feature files have it: both forms are tried)"
            )
        # every matched file's header now (shape vs manifest): a bad file is one line before the first epoch
        self.features_set.check_files(list(found.values()))
        if missing:
            self.missing_features[split] = missing
            self._write_missing()
            where = f"; list in {self.root_dir / MISSING_FEATURES_FILE}" if self.root_dir is not None else ""
            logger.warning("%d of %d annotated %s videos have no features (skipped), e.g. %r%s",
                           len(missing), len(ids), split, missing[0], where)
        return found

    def _write_missing(self) -> None:
        if self.root_dir is None:
            return
        path = self.root_dir / MISSING_FEATURES_FILE
        lines = [f"{split}\t{vid}" for split, vids in self.missing_features.items() for vid in vids]
        try:
            atomic_write_text(path, "\n".join(lines) + "\n")
        except OSError as err:  # a read-only run folder must not stop training: the log line says it all
            logger.warning("cannot write %s: %s", path, err)

    # --- hooks ----------------------------------------------------------------------------------------------

    def build_dataset(self, split: str) -> Dataset:
        """The dataset of ``split`` (``"train"``, ``"val"``, ``"test"`` or ``"predict"``); subclasses implement it.

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement build_dataset(split)")

    def collate_fn(self, split: str) -> Callable[[list[Any]], Any] | None:
        """The collate function of ``split``'s loader; ``None`` is PyTorch's default collate."""
        return None

    # --- Lightning ------------------------------------------------------------------------------------------

    def dataset(self, split: str) -> Dataset:
        """The (cached) dataset of ``split``."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if split not in self._datasets:
            self._datasets[split] = self.build_dataset(split)
        return self._datasets[split]

    def setup(self, stage: str | None = None) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("predict",)}
        for split in wanted.get(stage or "fit", ()):
            self.dataset(split)

    def _loader(self, split: str, shuffle: bool = False, drop_last: bool = False) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn(split),
            generator=generator,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True, drop_last=self.drop_last)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")

