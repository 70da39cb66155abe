"""``FeatureDataModule``: the base LightningDataModule of every downstream head.

A head sees features and annotations only (docs/design.md §3). This class owns what every head needs around
its datasets, so that a head is its datasets and its model:

* the feature folders (:class:`~bsp_lightning.features.FeatureSet`, several folders = two-stream) and the matching
  of annotation ids to feature files (:meth:`FeatureDataModule.match_videos`, ``v_`` prefix either way);
* the validation hold-out (:meth:`FeatureDataModule.hold_out`): ``val_fraction`` of the training videos that have
  features, seeded, written once to ``<default_root_dir>/split.json``; a user's ``split_file`` wins;
* the skip report (:attr:`FeatureDataModule.skips`, a :class:`~bsp_lightning.heads.skips.SkipReport`): one counter
  per split and reason, one warning per split once it is built; videos without features, with a 0-snippet file or
  (``skip_bad_features``) with NaN/inf values are left out there, listed per stage, and their ground truth is
  scored as missed (:meth:`FeatureDataModule.unscored`);
* :attr:`FeatureDataModule.data_info`, the only channel from data to model: linked into the model by
  ``bsp-lightning fit`` with the feature width, recorded in the checkpoint, compared with the data's at test time
  (:meth:`~bsp_lightning.heads.HeadModule.check_data_info`); the keys the model owns (a vocabulary) come from the
  checkpoint at validate, test and predict time (:meth:`FeatureDataModule.adopt_data_info`);
* the loaders' order (:mod:`bsp_lightning.heads.samplers`): a training shuffle whose state is saved in checkpoints
  (a resumed run draws the uninterrupted orders), and test/predict items split over processes without padding.

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
from bsp_lightning.heads.samplers import unpadded_sampler
from bsp_lightning.heads.skips import EMPTY_FEATURES, MISSING_FEATURES, NON_FINITE_FEATURES, SkipReport
from bsp_lightning.heads.splits import SPLIT_FILE, holdout_split, read_split, write_split
from bsp_lightning.utils.errors import InvalidArgumentError
from bsp_lightning.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

__all__ = ["FeatureDataModule", "FeatureCoverageError", "MISSING_FEATURES_FILE", "missing_features_file"]

#: The list of the videos a ``fit`` run left out for their features; other stages write
#: :func:`missing_features_file` of their stage, so a ``test`` run does not replace the training list.
MISSING_FEATURES_FILE = "missing_features.txt"
SPLITS = ("train", "val", "test", "predict")
_STAGE_OF_SPLIT = {"train": "fit", "val": "fit", "test": "test", "predict": "predict"}


def missing_features_file(stage: str) -> str:
    """``missing_features.txt`` for ``fit``, ``missing_features_<stage>.txt`` for ``validate``, ``test``,
    ``predict``."""
    return MISSING_FEATURES_FILE if stage == "fit" else f"missing_features_{stage}.txt"


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
        skip_bad_features: a video whose features hold NaN or inf is left out and counted
            (``non_finite_features``, named in the warning and in the missing-features list) instead of stopping
            the run with one line naming the file and the first bad snippet. Checking up front reads every matched
            file once more when a split is built; without it, values are checked as each video is first loaded.

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
        skip_bad_features: bool = False,
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
        self.skip_bad_features = bool(skip_bad_features)
        self.skips = SkipReport()
        self.missing_features: dict[str, list[str]] = {}
        #: per split, the annotated videos left out for their features (missing, empty, non-finite): their
        #: ground truth is unscored and counts as missed (:meth:`unscored`)
        self.unscored_videos: dict[str, list[str]] = {}
        #: per split, the number of annotated videos :meth:`match_videos` was given
        self.annotated_videos: dict[str, int] = {}
        # data_info keys the model owns at validate/test/predict time (:meth:`adopt_data_info`)
        self.adopted_data_info: dict[str, Any] = {}
        self.split: dict[str, list[str]] | None = None
        self._split_written = False
        self._datasets: dict[str, Dataset] = {}
        self._built: dict[str, Any] = {}
        self._reasons: dict[tuple[str, str], str] = {}
        self._train_generator: torch.Generator | None = None
        self._generator_state: torch.Tensor | None = None

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

        Left out, counted in :attr:`skips` (unit: videos) and kept in :attr:`unscored_videos` (their ground truth
        then counts as missed): videos without features (``missing_features``), with a 0-snippet file
        (``empty_features``) and, with ``skip_bad_features``, with a NaN or inf value (``non_finite_features``).
        They are listed in :attr:`missing_features` and, when a trainer is attached, in the stage's file
        (:func:`missing_features_file`: one ``split<TAB>id`` line each, ``<TAB>reason`` added for the last two).

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
        bad: dict[str, list[tuple[str, str]]] = {}
        for vid, fid in list(found.items()):
            problem = None
            if self.features_set.num_snippets(fid) == 0:
                problem = EMPTY_FEATURES, f"{vid}: 0 snippets"
            elif self.skip_bad_features:
                why = self.features_set.check_values(fid)
                problem = None if why is None else (NON_FINITE_FEATURES, why)
            if problem is not None:
                bad.setdefault(problem[0], []).append((vid, problem[1]))
                del found[vid]
        self.annotated_videos[split] = self.annotated_videos.get(split, 0) + len(ids)
        listed = [(vid, "") for vid in missing]
        if missing:
            self.skips.add(split, MISSING_FEATURES, len(missing), example=missing[0], of=len(ids))
        for reason, videos in bad.items():
            self.skips.add(split, reason, len(videos), example=videos[0][1], of=len(ids))
            listed += [(vid, reason) for vid, _ in videos]
        if listed:
            self.unscored_videos.setdefault(split, []).extend(vid for vid, _ in listed)
            self.missing_features.setdefault(split, []).extend(vid for vid, _ in listed)
            self._reasons.update({(split, vid): reason for vid, reason in listed if reason})
            self._write_missing(split)
        return found

    def _stage(self, split: str) -> str:
        trainer = getattr(self, "trainer", None)
        fn = getattr(getattr(trainer, "state", None), "fn", None)
        return "validate" if fn is not None and fn.value == "validate" else _STAGE_OF_SPLIT[split]

    def missing_features_path(self, split: str) -> Path | None:
        """Where the videos of ``split`` left out for their features are listed (``None`` without a trainer)."""
        return None if self.root_dir is None else self.root_dir / missing_features_file(self._stage(split))

    def _write_missing(self, split: str) -> None:
        path = self.missing_features_path(split)
        if path is None:
            return
        stage = self._stage(split)
        lines = [f"{s}\t{vid}" + (f"\t{self._reasons[(s, vid)]}" if (s, vid) in self._reasons else "")
                 for s, vids in self.missing_features.items() if self._stage(s) == stage for vid in vids]
        try:
            atomic_write_text(path, "\n".join(lines) + "\n")
        except OSError as err:  # a read-only run folder must not stop training: the log line says it all
            logger.warning("cannot write %s: %s", path, err)

    def unscored(self, split: str) -> tuple[list[Any], int, int, str]:
        """The ground truth of ``split`` that no prediction can score, which counts as missed (one rule for every
        head: docs/design.md §3).

        Returns:
            ``(items, n, total, unit)``: prediction items without predictions, in the head's format, that
            :meth:`~bsp_lightning.heads.HeadModule.merge_predictions` adds to the predictions (a grounding query
            with an empty list, an actionness video with no score; detection needs none: its metric reads every
            ground-truth segment); ``n`` of ``total`` ``unit`` (``"videos"`` or ``"queries"``) had no usable
            features. Default: no items, and :attr:`unscored_videos` of the annotated videos.
        """
        return [], len(self.unscored_videos.get(split, [])), self.annotated_videos.get(split, 0), "videos"

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
        state = getattr(getattr(self, "trainer", None), "state", None)
        if getattr(state, "fn", None) not in (None, "fit"):
            return  # a test or predict run (perhaps with another --data.seed) leaves the fit run's split.json alone
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
                    where = f"; list of videos without features in {self.missing_features_path(split)}" if (
                        split in self.missing_features and self.root_dir is not None) else ""
                    logger.warning("%s %s split: %s%s", type(self).__name__, split, self.skips.summary(split), where)
        return self._datasets[split]

    #: ``data_info`` keys that, at validate, test and predict time, come from the model (its checkpoint) rather
    #: than from the data: what the model's weights index, e.g. a grounding head's vocabulary
    model_owned_keys: tuple[str, ...] = ()

    def adopt_data_info(self, recorded: dict[str, Any]) -> None:
        """Take the :attr:`model_owned_keys` of the model's ``data_info`` (called by :meth:`setup` at validate,
        test and predict time, before the datasets are built); a subclass reads them from
        :attr:`adopted_data_info` where it would otherwise rebuild them from the training data."""
        self.adopted_data_info = {k: recorded[k] for k in self.model_owned_keys if k in (recorded or {})}

    def setup(self, stage: str | None = None) -> None:
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("predict",)}
        model = getattr(getattr(self, "trainer", None), "lightning_module", None)
        if stage in ("validate", "test", "predict") and model is not None and self.model_owned_keys:
            self.adopt_data_info(dict(getattr(model, "data_info", None) or {}))
        for split in wanted.get(stage or "fit", ()):
            self.dataset(split)
        self._write_split()  # a split drawn before the trainer was attached (e.g. for data_info)

    def _loader(self, split: str, shuffle: bool = False, drop_last: bool = False) -> DataLoader:
        dataset = self.dataset(split)
        sampler, generator = None, None
        if shuffle:  # seeded once, its state saved in checkpoints: a resumed run draws the uninterrupted orders
            generator = torch.Generator().manual_seed(self.seed)
            if self._generator_state is not None:
                generator.set_state(self._generator_state)
            self._train_generator = generator
        trainer = getattr(self, "trainer", None)
        if split in ("test", "predict") and trainer is not None and trainer.world_size > 1:
            sampler = unpadded_sampler(dataset, trainer.world_size, trainer.global_rank)  # no repeated item
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            drop_last=drop_last,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn(split),
            generator=generator,
            persistent_workers=self.num_workers > 0,
        )

    def state_dict(self) -> dict[str, Any]:
        """Saved by Lightning in each checkpoint: the training shuffle's generator state (samplers module)."""
        return {} if self._train_generator is None else {"train_generator": self._train_generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restored by Lightning before a resumed run builds its training loader."""
        self._generator_state = state_dict.get("train_generator")
        if self._generator_state is not None and self._train_generator is not None:
            self._train_generator.set_state(self._generator_state)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True, drop_last=self.drop_last)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict")
