"""``ActionnessDataModule``: CrossTask annotations + frozen snippet features -> 0.2 s segments with labels.

One dataset item is one video: its segment features ``(S, D)`` (from the snippet features by the mapping of
:mod:`bsp_actionness.segments`) and its segment labels ``(S,)``. A batch concatenates the segments of its videos
(no padding): ``{"features": (N, D) float32, "labels": (N,) float32, "lengths": list[int], "video_id": list[str]}``.

The video's duration, which fixes its number of segments, is ``num_frames / fps`` of its feature manifest entry
(CrossTask annotations give no duration).

Splits: ``split_file`` (a JSON with ``"train"`` and ``"test"`` lists, and optionally ``"val"``; e.g. the
``split.json`` of an earlier run or the toy set's ``splits.json``) wins; otherwise the seeded per-task split of
:func:`~bsp_actionness.segments.split_per_task` (3:1). Model selection never looks at the test videos: the base
class's seeded hold-out (``val_fraction`` of the training videos,
:meth:`~bsp_lightning.heads.FeatureDataModule.hold_out`) gives the validation videos unless the split file names them. The lists, with the test videos and the protocol,
are written once to ``<default_root_dir>/split.json``.

Feature standardisation (``standardize``, a decision; the paper gives none): every channel is shifted and scaled
by the mean and standard deviation of the training videos' snippet features, so that feature sets of different
scales (random init vs. trained) meet the same optimiser settings. The statistics are recomputed from the same
training videos in a later ``test`` process, so a checkpoint needs nothing else.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from bsp_lightning.annotations import CrossTaskAnnotations, load_crosstask
from bsp_lightning.heads import FeatureDataModule, FeatureSet, InputFileError, InvalidArgumentError

from bsp_actionness.segments import MAPPINGS, SEGMENT_LENGTH, segment_features, split_per_task, video_segment_labels

logger = logging.getLogger(__name__)

__all__ = ["ActionnessDataModule", "SegmentDataset", "collate_segments"]

MAPPING_RULES = {
    "centre": "features of the snippet whose span contains the segment centre",
    "interpolate": "linear interpolation between the snippets whose centres surround the segment centre",
}


class SegmentDataset(Dataset):
    """Videos of one split as segment features and labels (module docstring).

    Args:
        features: the opened feature folders.
        videos: ``(annotation id, feature id, labels)`` per video.
        mapping: ``"centre"`` or ``"interpolate"``.
        segment_length: seconds per segment.
        mean, std: ``(D,)`` standardisation statistics, or ``None``.
    """

    def __init__(self, features: FeatureSet, videos: list[tuple[str, str, np.ndarray]], mapping: str,
                 segment_length: float, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        self.features = features
        self.videos = videos
        self.mapping = mapping
        self.segment_length = segment_length
        self.mean, self.std = mean, std

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """Annotation id -> bool ``(S,)`` segment labels."""
        return {vid: labels for vid, _, labels in self.videos}

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> dict[str, Any]:
        vid, fid, labels = self.videos[i]
        snippets = self.features.load(fid)
        if self.mean is not None:
            snippets = (snippets - self.mean) / self.std
        feats = segment_features(snippets, self.features.snippet_starts(fid), self.features.snippet_seconds(fid),
                                 len(labels), self.mapping, self.segment_length)
        return {"features": torch.from_numpy(feats), "labels": torch.from_numpy(labels.astype(np.float32)),
                "video_id": vid}


def collate_segments(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate the segments of the videos of a batch (module docstring)."""
    return {
        "features": torch.cat([it["features"] for it in items]),
        "labels": torch.cat([it["labels"] for it in items]),
        "lengths": [int(it["labels"].numel()) for it in items],
        "video_id": [it["video_id"] for it in items],
    }


class ActionnessDataModule(FeatureDataModule):
    """CrossTask step localisation as actionness (BSP Sec. 4.1, Table 3).

    Args:
        mapping: segment features from the snippet containing the segment centre (``"centre"``) or by linear
            interpolation between snippet centres (``"interpolate"``).
        segment_length: seconds per segment (0.2 in the protocol).
        test_fraction: share of each task's videos in test (0.25 = 3:1).
        tasks: only these task ids (default: every annotated task).
        standardize: standardise channels with training statistics (module docstring).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s (``features``: feature folder(s);
            ``annotations``: the CrossTask release folder, with ``annotations/`` inside and ``tasks_primary.txt``,
            ``videos.csv`` read when present, or its ``annotations/`` folder; ``val_fraction`` > 0 here: model
            selection needs validation videos; ``split_file`` with ``"train"`` and ``"test"`` lists, module
            docstring; ``seed`` also draws the per-task split).

    Raises:
        InvalidArgumentError: an unknown mapping, or ``val_fraction`` 0.
    """

    def __init__(
        self,
        *args: Any,
        mapping: str = "centre",
        segment_length: float = SEGMENT_LENGTH,
        test_fraction: float = 0.25,
        tasks: list[str] | None = None,
        standardize: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if mapping not in MAPPINGS:
            raise InvalidArgumentError(f"mapping must be one of {MAPPINGS}, got {mapping!r}")
        if self.val_fraction <= 0.0:
            raise InvalidArgumentError(f"val_fraction must be in (0, 1) (model selection needs validation videos), "
                                       f"got {self.val_fraction}")
        self.mapping = mapping
        self.segment_length = float(segment_length)
        self.test_fraction = float(test_fraction)
        self.tasks = [str(t) for t in tasks] if tasks else None
        self.standardize = standardize

    @property
    def protocol(self) -> dict[str, Any]:
        """How the segments were made and split; stored in the predictions file under ``_protocol``."""
        return {
            "segment_length": self.segment_length,
            "labels": "a segment is positive when it overlaps a step (strict overlap)",
            "mapping": self.mapping,
            "mapping_rule": MAPPING_RULES[self.mapping],
            "split": self.split_file or f"per-task seeded split, test_fraction {self.test_fraction}, seed {self.seed}",
            "standardize": self.standardize,
        }

    @property
    def data_info(self) -> dict[str, Any]:
        return {"protocol": self.protocol}

    @cached_property
    def crosstask(self) -> CrossTaskAnnotations:
        """The loaded annotations (anomalies logged once)."""
        ann = load_crosstask(self.annotations)
        if ann.report.anomalies:
            logger.warning("%s", ann.report.format_text())
        return ann

    def _annotated(self) -> dict[str, str]:
        video_task = self.crosstask.video_task
        if self.tasks is None:
            return dict(video_task)
        unknown = sorted(set(self.tasks) - set(video_task.values()))
        if unknown:
            raise ValueError(f"{self.annotations}: no annotated video of task(s) {', '.join(unknown)}")
        return {v: t for v, t in video_task.items() if t in self.tasks}

    @cached_property
    def _test_and_pool(self) -> tuple[list[str], list[str]]:
        """``(test videos, the videos train and val are drawn from)``: the split file's, else the per-task split."""
        annotated = self._annotated()
        given = self.given_split
        if given is None:
            pool, test = split_per_task(annotated, self.test_fraction, self.seed)
            return test, pool
        if "test" not in given:
            raise InputFileError(self.split_file, "a split file needs 'train' and 'test' lists of video ids")
        unknown = [v for v in given["test"] if v not in annotated]
        if unknown:
            logger.warning("%s: %d listed test videos have no annotation (skipped), e.g. %s", self.split_file,
                           len(unknown), unknown[0])
        test = sorted(v for v in given["test"] if v in annotated)
        return test, sorted(v for v in annotated if v not in set(test))

    @cached_property
    def splits(self) -> dict[str, list[str]]:
        """``{"train", "val", "test"}``: sorted annotation ids of each split."""
        test, pool = self._test_and_pool
        held = self.hold_out(pool)
        return {"train": held["train"], "val": held["val"], "test": test}

    def split_metadata(self) -> dict[str, Any]:
        """``split.json`` also lists the test videos and the protocol."""
        return {"test": self._test_and_pool[0], "protocol": self.protocol}

    def _labelled(self, ids: dict[str, str]) -> list[tuple[str, str, np.ndarray]]:
        out = []
        for vid, fid in ids.items():
            entry = self.features_set.entry(fid)
            duration = float(entry["num_frames"]) / float(entry["fps"])
            out.append((vid, fid, video_segment_labels(self.crosstask.steps[vid], duration, self.segment_length)))
        return out

    @cached_property
    def _train_ids(self) -> dict[str, str]:
        """The training videos' feature ids, matched once for the statistics and the training dataset."""
        return self.match_videos(self.splits["train"], "train")

    @cached_property
    def feature_stats(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, std)`` float32 ``(D,)`` over the training videos' snippets, or ``None`` without standardising."""
        if not self.standardize:
            return None
        total, total_sq, count = 0.0, 0.0, 0
        for fid in self._train_ids.values():
            x = self.features_set.load(fid).astype(np.float64)
            total, total_sq, count = total + x.sum(0), total_sq + (x * x).sum(0), count + x.shape[0]
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))
        # constant channels (e.g. dead ReLUs) would divide by zero: leave them unscaled
        std = np.where(std > 1e-6, std, 1.0)
        return mean.astype(np.float32), std.astype(np.float32)

    def build_dataset(self, split: str) -> Dataset:
        name = "test" if split == "predict" else split
        ids = self._train_ids if split == "train" else self.match_videos(self.splits[name], split)
        videos = self._labelled(ids)
        mean, std = self.feature_stats or (None, None)
        return SegmentDataset(self.features_set, videos, self.mapping, self.segment_length, mean, std)

    def collate_fn(self, split: str):
        return collate_segments

    def positive_fraction(self) -> float:
        """Share of positive segments over the training videos (for the balanced class weight)."""
        labels = np.concatenate([lab for _, _, lab in self.dataset("train").videos])
        return float(labels.mean()) if labels.size else 0.0
