"""G-TAD data: what both benchmarks share (:class:`GTADData`) and ActivityNet-1.3 (every video resized to T = 100).

ActivityNet [``gtad_lib/dataset.py``, branch ``anet``]: each video's ``(N, D)`` features are resized to ``T``
positions with :func:`~bsp_lightning.features.resample.interpolate_to_length` (linear, ``align_corners=False``,
time axis only). Ground truth is normalised by the *feature-covered* duration (last snippet start + one snippet
length: the official ``feature_frame / duration_frame * duration_second``), while inference converts back with
the annotation's ``duration`` (the official train/test scale quirk). Segments with ``start >= end`` or lying
entirely outside the covered span are skipped and counted; a training video left without segments is skipped
and counted.

THUMOS-14 (sliding windows) is :mod:`bsp_gtad.thumos`.

A benchmark is a class: :class:`GTADActivityNetData` and :class:`GTADThumosData` share :class:`GTADData` (the
resize scale ``T``, the map depth ``D``, the class names, ``data_info``) and give the model what it must match
through ``data_info``: ``{"classes", "benchmark", "temporal_scale", "max_duration"}``. What they leave out is
counted in ``skips`` (per split; units: segments, videos, windows as named by each reason).
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from bsp_lightning.features.resample import interpolate_to_length
from bsp_lightning import legacy
from bsp_lightning.heads import FeatureDataModule
from bsp_gtad.classifier import multi_hot
from bsp_gtad.targets import gtad_targets

logger = logging.getLogger(__name__)

__all__ = ["GTADData", "GTADActivityNetData", "ActivityNetVideos"]


class ActivityNetVideos(Dataset):
    """One item per video: ``features (D, T)`` float32, ``video_labels (C,)``, ``video_id``, ``duration`` and,
    with targets, ``start``/``end (T,)``, ``iou_map (Dmax, T)`` float32."""

    def __init__(self, fs, records: list[dict[str, Any]], temporal_scale: int, max_duration: int,
                 classes: list[str], with_targets: bool) -> None:
        self.fs, self.records, self.t, self.d = fs, records, temporal_scale, max_duration
        self.classes, self.with_targets = classes, with_targets

    def __len__(self) -> int:
        return len(self.records)

    @property
    def video_ids(self) -> list[str]:
        """The annotation ids of the items, sorted."""
        return sorted({r["video_id"] for r in self.records})

    def __getitem__(self, i: int) -> dict[str, Any]:
        r = self.records[i]
        x = interpolate_to_length(self.fs.load(r["feature_id"]), self.t)
        item = {"features": torch.from_numpy(np.ascontiguousarray(x.T)), "video_id": r["video_id"],
                "duration": float(r["duration"]), "video_labels": multi_hot(r["labels"], self.classes)}
        if self.with_targets:
            start, end, iou = gtad_targets(r["segments"], self.t, duration_second=r["covered"],
                                           max_duration=self.d)
            item.update(start=torch.from_numpy(start).float(), end=torch.from_numpy(end).float(),
                        iou_map=torch.from_numpy(iou).float())
        return item


class GTADData(FeatureDataModule):
    """What G-TAD's two benchmarks share: the resize scale, the map depth, the classes, ``data_info``.

    Args:
        temporal_scale: ``T`` positions per item (ActivityNet 100, THUMOS 256).
        max_duration: ``D`` proposal durations of the map (ActivityNet 100, THUMOS 64).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s.
    """

    #: ``data_info["benchmark"]``: the model's rules (:data:`bsp_gtad.benchmarks.BENCHMARKS`)
    benchmark: str = ""

    def __init__(self, *args: Any, temporal_scale: int = 100, max_duration: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.temporal_scale, self.max_duration = int(temporal_scale), int(max_duration)

    @property
    def classes(self) -> list[str]:
        """The class names, in the order of the video-level labels."""
        raise TypeError(f"{type(self).__name__} must give its classes")

    @property
    def data_info(self) -> dict[str, Any]:
        return {"classes": self.classes, "benchmark": self.benchmark, "temporal_scale": self.temporal_scale,
                "max_duration": self.max_duration}

    def ground_truth(self, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
        """``(video ids, labels, (M, 2) seconds)`` of the evaluated ground truth, file order (for the metric)."""
        raise TypeError(f"{type(self).__name__} must give its ground truth")


class GTADActivityNetData(GTADData):
    """Features + the ActivityNet-1.3 JSON; every video resized to ``T`` (module docstring).

    Args:
        train_subset, val_subset, test_subset: ActivityNet subsets. ``val_subset="holdout"`` holds out
            ``val_fraction`` of the training videos instead (the base class's seeded hold-out, saved as
            ``split.json``); the official code selects on ``validation``, which is also where it reports its numbers.
        temporal_scale, max_duration: ``T`` and ``D`` (100, 100).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s.
    """

    benchmark = "activitynet"

    def __init__(self, *args: Any, train_subset: str = "training", val_subset: str = "validation",
                 test_subset: str = "validation", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subsets = {"train": train_subset, "val": val_subset, "test": test_subset, "predict": test_subset}

    @cached_property
    def _anet(self):
        from bsp_lightning.annotations import load_activitynet

        return load_activitynet(self.annotations)

    @property
    def classes(self) -> list[str]:
        return list(self._anet.classes)

    def ground_truth(self, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
        segs = [s for s in self._anet.segments if s.subset == self.subsets[split]]
        return [s.video_id for s in segs], [s.label for s in segs], np.array([(s.start, s.end) for s in segs])

    def _ids(self, split: str) -> list[str]:
        subset = self.subsets[split]
        if subset == "holdout" or (split == "train" and self.subsets["val"] == "holdout"):
            ids = [v for v, meta in self._anet.videos.items() if meta.subset == self.subsets["train"]]
            return self.hold_out(ids)["val" if subset == "holdout" else "train"]
        return [v for v, meta in self._anet.videos.items() if meta.subset == subset]

    def build_dataset(self, split: str) -> Dataset:
        with_targets = split in ("train", "val")
        ids = self._ids(split)
        matched = self.match_videos(ids, split) if ids else {}
        by_video = self._anet.segments_by_video()
        fs, records = self.features_set, []
        for vid, fid in matched.items():
            starts = fs.snippet_starts(fid)
            covered = float(starts[-1] + fs.snippet_seconds(fid))
            meta = self._anet.videos[vid]
            entry = fs.entry(fid)
            duration = meta.duration if meta.duration else entry["num_frames"] / entry["fps"]
            segments, labels = [], []
            for s in by_video.get(vid, []):
                if not s.start < s.end:
                    self.skips.add(split, "zero-length or reversed segments")
                elif s.end <= 0 or s.start >= covered:
                    self.skips.add(split, "segments outside the feature-covered span")
                else:
                    segments.append((s.start, s.end))
                    labels.append(s.label)
            if with_targets and not segments:
                self.skips.add(split, "videos without a usable segment", example=vid)
                continue
            records.append({"video_id": vid, "feature_id": fid, "covered": covered, "duration": float(duration),
                            "segments": np.asarray(segments, dtype=np.float64).reshape(-1, 2), "labels": labels})
        return ActivityNetVideos(fs, records, self.temporal_scale, self.max_duration, self.classes, with_targets)


__getattr__ = legacy.module_getattr(__name__)
