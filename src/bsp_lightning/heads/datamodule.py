"""``FeatureDataModule``: the base LightningDataModule of every downstream head.

A head sees features and annotations only (docs/design.md, "Heads"). This class owns what every head needs around
its datasets, so that a head is its datasets and its model:

* the feature folders (:class:`~bsp_lightning.features.FeatureSet`, several folders = two-stream) and the matching
  of annotation ids to feature files (:meth:`FeatureDataModule.match_videos`, ``v_`` prefix either way);
* the validation hold-out (:meth:`FeatureDataModule.hold_out`): ``val_fraction`` of the training videos that have
  features, seeded, written once to ``<default_root_dir>/split.json``; a user's ``split_file`` wins;
* the skip report (:attr:`FeatureDataModule.skips`, a :class:`~bsp_lightning.heads.skips.SkipReport`): one counter
  per split and reason, one warning per split once it is built;
* :attr:`FeatureDataModule.data_info`, the only channel from data to model: linked into the model by
  ``bsp-lightning fit`` with the feature width, recorded in the checkpoint, compared with the data's at test time
  (:meth:`~bsp_lightning.heads.HeadModule.check_data_info`).

A subclass implements :meth:`FeatureDataModule.build_dataset` (and may override :meth:`collate_fn` and
:attr:`data_info`); its constructor takes its own arguments and passes the base's on with ``**kwargs``
(jsonargparse resolves them, so ``--help`` and the configs show them all).
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

from bsp_lightning import legacy
from bsp_lightning.features.featureset import FeatureSet, as_folder_list
from bsp_lightning.features.store import FeatureStoreError
from bsp_lightning.heads.skips import MISSING_FEATURES, SkipReport
from bsp_lightning.heads.splits import SPLIT_FILE, holdout_split, read_split, write_split
from bsp_lightning.utils.errors import InvalidArgumentError
from bsp_lightning.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["FeatureDataModule", "FeatureCoverageError", "MISSING_FEATURES_FILE"]

MISSING_FEATURES_FILE = "missing_features.txt"
SPLITS = ("train", "val", "test", "predict")


class FeatureCoverageError(FeatureStoreError):
    """No annotated video of a split has features: the message names both paths and an example id of each."""


class FeatureDataModule(pl.LightningDataModule, metaclass=legacy.LegacyArguments):
    """Base DataModule of the heads: feature folders + the benchmark's annotations.

    Args:
        features: a feature folder written by ``bsp-lightning extract``, or a list of them (two-stream: their
            channels are concatenated in order).
        annotations: the benchmark's annotation file (or folder), read with :mod:`bsp_lightning.annotations`.
        batch_size: videos (or windows, or queries) per batch.
        num_workers: DataLoader worker processes.
        seed: seeds the training shuffle and the validation hold-out.
        val_fraction: where the benchmark has no validation split, the fraction of the training videos (with
            features) held out for validation and model selection, in ``[0, 1)``; 0 holds out none.
        split_file: a JSON with ``"train"`` and ``"val"`` lists of video ids (e.g. the ``split.json`` of an earlier
            run) that replaces the drawn hold-out; without ``"val"``, the hold-out is drawn from its ``"train"``.

    Raises:
        InvalidArgumentError: ``val_fraction`` outside ``[0, 1)``.
    """

    drop_last: bool = False

    def __init__(
        self,
        features: str | list[str],
        annotations: str,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        val_fraction: float = 0.1,
        split_file: str | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise InvalidArgumentError(f"val_fraction must be in [0, 1), got {val_fraction}")
        self.features = [str(f) for f in as_folder_list(features)]
        self.annotations = str(annotations)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.val_fraction = float(val_fraction)
        self.split_file = split_file
        self.skips = SkipReport()
        self.missing_features: dict[str, list[str]] = {}
        self.split: dict[str, list[str]] | None = None
        self._split_written = False
        self._datasets: dict[str, Dataset] = {}
        self._built: dict[str, Any] = {}

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
        """What the model must know about the data (class names, a vocabulary, the input length...): linked into
        ``model.data_info`` at instantiation, so it lands in the checkpoint, and compared with the checkpoint's at
        test and predict time. JSON-like values only (compared with ``==``). Default ``{}``."""
        return {}

    @property
    def root_dir(self) -> Path | None:
        """Where run files go: the trainer's ``default_root_dir``; ``None`` when no trainer is attached."""
        trainer = getattr(self, "trainer", None)
        return Path(trainer.default_root_dir) if trainer is not None else None

    # --- annotation ids -> feature ids --------------------------------------------------------------------

    def match_videos(self, annotation_ids: Iterable[str], split: str) -> dict[str, str]:
        """Map the annotated videos of ``split`` to their feature ids (``v_`` prefix added or removed as needed).

        The videos without features are counted in :attr:`skips` (``missing_features``, unit: videos), kept in
        :attr:`missing_features` and, when a trainer is attached, listed in ``<default_root_dir>/missing_features.txt``
        (one ``split<TAB>id`` line each, all splits).

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
            self.missing_features.setdefault(split, []).extend(missing)
            self.skips.add(split, MISSING_FEATURES, len(missing), example=missing[0], of=len(ids))
            self._write_missing()
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

    # --- the validation hold-out ----------------------------------------------------------------------------

    @cached_property
    def given_split(self) -> dict[str, list[str]] | None:
        """The lists of :attr:`split_file` (:func:`~bsp_lightning.heads.splits.read_split`), or ``None``."""
        return read_split(self.split_file) if self.split_file else None

    def hold_out(self, video_ids: Iterable[str]) -> dict[str, list[str]]:
        """Split the training videos ``video_ids`` (annotation ids) into ``{"train": [...], "val": [...]}``.

        ``val`` is the user's (:attr:`given_split`) when it has one, else ``round(val_fraction * n)`` of the ``n``
        videos *that have features*, drawn with :func:`~bsp_lightning.heads.splits.holdout_split` (seeded, sorted
        ids); ``train`` is every other given video (those without features are then counted by
        :meth:`match_videos`). With a split file, only its listed videos take part. The first call decides (later
        calls return the same split); the split is written once to ``<default_root_dir>/split.json`` with
        :meth:`split_metadata`.
        """
        if self.split is None:
            ids = list(dict.fromkeys(video_ids))
            given = self.given_split
            if given is not None:
                known = set(ids)
                unknown = [v for key in ("train", "val") for v in given.get(key, []) if v not in known]
                if unknown:
                    logger.warning("%s: %d listed videos are not annotated training videos (left out), e.g. %r",
                                   self.split_file, len(unknown), unknown[0])
                ids = [v for v in given["train"] if v in known]
                if given.get("val"):
                    val = sorted(v for v in given["val"] if v in known)
                    self.split = {"train": sorted(v for v in ids if v not in set(val)), "val": val}
            if self.split is None:
                with_features = [v for v in ids if self.features_set.resolve(v) is not None]
                _, val = holdout_split(with_features, self.val_fraction, self.seed)
                drawn = set(val)
                self.split = {"train": sorted(v for v in set(ids) if v not in drawn), "val": val}
            self._write_split()
        return self.split

    def split_metadata(self) -> dict[str, Any]:
        """What ``split.json`` records next to the ``train`` and ``val`` lists; subclasses may change it."""
        return {"val_fraction": self.val_fraction, "seed": self.seed, "split_file": self.split_file}

    def _write_split(self) -> None:
        if self._split_written or self.split is None or self.root_dir is None:
            return
        path = self.root_dir / SPLIT_FILE
        try:
            write_split(path, self.split, **self.split_metadata())
        except OSError as err:  # a read-only run folder must not stop training
            logger.warning("cannot write %s: %s", path, err)
            return
        self._split_written = True
        logger.info("validation: %d of %d training videos, split saved to %s", len(self.split["val"]),
                    len(self.split["train"]) + len(self.split["val"]), path)

    # --- hooks ----------------------------------------------------------------------------------------------

    def build_dataset(self, split: str) -> Dataset:
        """The dataset of ``split`` (``"train"``, ``"val"``, ``"test"`` or ``"predict"``); subclasses implement it,
        counting what they leave out in :attr:`skips`.

        Raises:
            TypeError: the subclass did not implement it.
        """
        raise TypeError(f"{type(self).__name__} must implement build_dataset(split)")

    def collate_fn(self, split: str) -> Callable[[list[Any]], Any] | None:
        """The collate function of ``split``'s loader; ``None`` is PyTorch's default collate."""
        return None

    # --- Lightning ------------------------------------------------------------------------------------------

    def dataset(self, split: str) -> Dataset:
        """The (cached) dataset of ``split``; after its first build, one warning with its :attr:`skips`."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if split not in self._datasets:
            self._datasets[split] = self.build_dataset(split)
            if split in self._built:  # built again (after a teardown): the counts are those of the first build
                self.skips.restore(split, self._built[split])
            else:
                self._built[split] = self.skips.snapshot(split)
                if self.skips.counts(split):
                    where = f"; list of videos without features in {self.root_dir / MISSING_FEATURES_FILE}" if (
                        split in self.missing_features and self.root_dir is not None) else ""
                    logger.warning("%s %s split: %s%s", type(self).__name__, split, self.skips.summary(split), where)
        return self._datasets[split]

    def setup(self, stage: str | None = None) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("predict",)}
        for split in wanted.get(stage or "fit", ()):
            self.dataset(split)
        self._write_split()  # a split drawn before the trainer was attached (e.g. for data_info)

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
