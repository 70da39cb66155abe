"""G-TAD data: ActivityNet-1.3 (every video resized to T = 100 positions) and THUMOS-14 (sliding windows).

ActivityNet [``gtad_lib/dataset.py``, branch ``anet``]: each video's ``(N, D)`` features are resized to ``T``
positions with :func:`~bsp_lightning.features.resample.interpolate_to_length` (linear, ``align_corners=False``,
time axis only). Ground truth is normalised by the *feature-covered* duration (last snippet start + one snippet
length: the official ``feature_frame / duration_frame * duration_second``), while inference converts back with
the annotation's ``duration`` (the official train/test scale quirk). Segments with ``start >= end`` or lying
entirely outside the covered span are skipped and counted; a training video left without segments is skipped
and counted.

THUMOS-14 [``master``]: the official pipeline is frame-based (per-frame TSN features, ``[::5]``, windows of 256
snippets with stride 128). Here snippet positions come from the manifest's snippet start times: snippet ``i``
sits at its centre ``c_i = start_i + snippet_seconds / 2`` and the step is the median spacing of the centres.
``snippet_subsample`` plays the role of ``[::5]`` (1 for 8-frame snippets). Windows: ``int((N + stride - T) /
stride)`` windows at multiples of ``stride``; fewer than ``T`` snippets: one zero-padded window; else one more
window at ``N - T`` when the uncovered tail exceeds ``tail_threshold`` snippets (official ``int(256 / 5) = 51``).
A training window is kept when some ground truth overlaps it and the largest fraction of a ground truth lying
inside it is > 0.9. Training normalises times over ``[c_first - step/2, c_first - step/2 + T step]``; inference
maps index ``i`` to ``c_first + i step`` -- half a snippet later, as the official ``5 i + first_frame`` versus the
training offset ``first_frame - 2.5`` (its extra ``int()`` truncation of 0.5 frame has no meaning in seconds and
is not reproduced). The official model selection on THUMOS used the test windows as "validation"; here THUMOS
has no validation split and the last epoch is used.
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from bsp_lightning.features.resample import interpolate_to_length
from bsp_lightning.heads import FeatureDataModule, holdout_split
from bsp_gtad.classifier import multi_hot
from bsp_gtad.targets import gtad_targets

logger = logging.getLogger(__name__)

__all__ = ["GTADDataModule", "ActivityNetVideos", "ThumosWindows", "make_windows", "DATASETS"]

DATASETS = ("activitynet", "thumos")


def make_windows(num_snippets: int, length: int = 256, stride: int = 128, tail_threshold: int = 51) -> list[int]:
    """Window start indices of the official THUMOS rule (see the module docstring)."""
    if num_snippets < length:
        return [0]
    starts = [i * stride for i in range(int((num_snippets + stride - length) / stride))]
    if num_snippets - starts[-1] - length > tail_threshold:
        starts.append(num_snippets - length)
    return starts


class ActivityNetVideos(Dataset):
    """One item per video: ``features (D, T)`` float32, ``video_labels (C,)``, ``video_id``, ``duration`` and,
    with targets, ``start``/``end (T,)``, ``iou_map (Dmax, T)`` float32."""

    def __init__(self, fs, records: list[dict[str, Any]], temporal_scale: int, max_duration: int,
                 classes: list[str], with_targets: bool) -> None:
        self.fs, self.records, self.t, self.d = fs, records, temporal_scale, max_duration
        self.classes, self.with_targets = classes, with_targets

    def __len__(self) -> int:
        return len(self.records)

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


class ThumosWindows(Dataset):
    """One item per window: ``features (D, T)``, ``video_id``, ``origin`` (seconds of index 0 at inference),
    ``step`` (seconds), ``duration``, ``video_labels``; with targets also ``start``, ``end``, ``iou_map``."""

    def __init__(self, fs, windows: list[dict[str, Any]], temporal_scale: int, max_duration: int,
                 classes: list[str], with_targets: bool, subsample: int) -> None:
        self.fs, self.windows, self.t, self.d = fs, windows, temporal_scale, max_duration
        self.classes, self.with_targets, self.subsample = classes, with_targets, subsample

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        w = self.windows[i]
        x = self.fs.load(w["feature_id"])[:: self.subsample][w["first"] : w["first"] + self.t]
        if len(x) < self.t:
            x = np.concatenate((x, np.zeros((self.t - len(x), x.shape[1]), dtype=np.float32)))
        item = {"features": torch.from_numpy(np.ascontiguousarray(x.T)), "video_id": w["video_id"],
                "origin": w["origin"], "step": w["step"], "duration": w["duration"],
                "video_labels": multi_hot(w["labels"], self.classes)}
        if self.with_targets:
            span = self.t * w["step"]
            start, end, iou = gtad_targets(np.asarray(w["segments"]) - w["train_origin"], self.t,
                                           duration_second=span, max_duration=self.d, style="thumos")
            item.update(start=torch.from_numpy(start).float(), end=torch.from_numpy(end).float(),
                        iou_map=torch.from_numpy(iou).float())
        return item


class GTADDataModule(FeatureDataModule):
    """Features + ActivityNet JSON (``dataset="activitynet"``) or THUMOS-14 annotation folders (``"thumos"``).

    Args:
        features, annotations, batch_size, num_workers, seed: see :class:`~bsp_lightning.heads.FeatureDataModule`.
            THUMOS: ``annotations`` is the validation annotation folder (training), ``test_annotations`` the
            test one (defaults to ``annotations``).
        dataset: ``"activitynet"`` or ``"thumos"``.
        temporal_scale, max_duration: T and D (ActivityNet 100/100, THUMOS 256/64).
        train_subset, val_subset, test_subset: ActivityNet subsets. ``val_subset="holdout"`` holds out 10 % of
            the training videos instead (seeded); the official code selects on ``validation``, which is also
            where it reports its numbers.
        window_stride, tail_threshold, snippet_subsample: THUMOS windows (128, 51, 1).
    """

    def __init__(self, features: str | list[str], annotations: str, batch_size: int = 16, num_workers: int = 0,
                 seed: int = 0, dataset: str = "activitynet", temporal_scale: int = 100, max_duration: int = 100,
                 train_subset: str = "training", val_subset: str = "validation", test_subset: str = "validation",
                 test_annotations: str | None = None, window_stride: int = 128, tail_threshold: int = 51,
                 snippet_subsample: int = 1) -> None:
        super().__init__(features, annotations, batch_size, num_workers, seed)
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
        self.dataset_name, self.temporal_scale, self.max_duration = dataset, temporal_scale, max_duration
        self.subsets = {"train": train_subset, "val": val_subset, "test": test_subset, "predict": test_subset}
        self.test_annotations = test_annotations
        self.window_stride, self.tail_threshold, self.snippet_subsample = window_stride, tail_threshold, snippet_subsample
        self.skipped: Counter = Counter()

    # --- annotations ----------------------------------------------------------------------------------------

    @cached_property
    def _anet(self):
        from bsp_lightning.annotations import load_activitynet

        return load_activitynet(self.annotations)

    def _thumos(self, split: str):
        from bsp_lightning.annotations import load_thumos14

        folder = self.annotations if split == "train" else (self.test_annotations or self.annotations)
        return load_thumos14(folder, split="val" if split == "train" else "test")

    @property
    def classes(self) -> list[str]:
        if self.dataset_name == "thumos":
            from bsp_lightning.annotations import THUMOS14_CLASSES

            return list(THUMOS14_CLASSES)
        return list(self._anet.classes)

    @property
    def data_info(self) -> dict[str, Any]:
        return {"classes": self.classes, "dataset": self.dataset_name}

    def _holdout(self) -> tuple[list[str], list[str]]:
        ids = [v for v, meta in self._anet.videos.items() if meta.subset == self.subsets["train"]]
        return holdout_split(ids, 0.1, self.seed)

    def ground_truth(self, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
        """``(video ids, labels, (M, 2) seconds)`` of the evaluated subset, file order (for the metric)."""
        if self.dataset_name == "thumos":
            segs = self._thumos(split).segments
            return [s.video_id for s in segs], [s.label for s in segs], np.array([(s.start, s.end) for s in segs])
        segs = [s for s in self._anet.segments if s.subset == self.subsets[split]]
        return [s.video_id for s in segs], [s.label for s in segs], np.array([(s.start, s.end) for s in segs])

    def _count(self, kind: str, n: int = 1) -> None:
        self.skipped[kind] += n

    # --- datasets -------------------------------------------------------------------------------------------

    def build_dataset(self, split: str) -> Dataset:
        with_targets = split in ("train", "val")
        before = Counter(self.skipped)
        if self.dataset_name == "thumos":
            ds = self._thumos_dataset(split, with_targets)
        else:
            ds = self._anet_dataset(split, with_targets)
        new = {k: v - before.get(k, 0) for k, v in self.skipped.items() if v - before.get(k, 0)}
        if new:
            logger.warning("G-TAD %s split: skipped %s", split, ", ".join(f"{v} {k}" for k, v in sorted(new.items())))
        return ds

    def _anet_dataset(self, split: str, with_targets: bool) -> Dataset:
        anno = self._anet
        subset = self.subsets[split]
        if subset == "holdout" or (split == "train" and self.subsets["val"] == "holdout"):
            train_ids, val_ids = self._holdout()
            ids = val_ids if subset == "holdout" else train_ids
        else:
            ids = [v for v, meta in anno.videos.items() if meta.subset == subset]
            if not ids:
                return ActivityNetVideos(self.features_set, [], self.temporal_scale, self.max_duration,
                                         self.classes, with_targets)
        matched = self.match_videos(ids, split)
        by_video = anno.segments_by_video()
        fs, records = self.features_set, []
        for vid, fid in matched.items():
            starts = fs.snippet_starts(fid)
            covered = float(starts[-1] + fs.snippet_seconds(fid))
            meta = anno.videos[vid]
            entry = fs.entry(fid)
            duration = meta.duration if meta.duration else entry["num_frames"] / entry["fps"]
            segments, labels = [], []
            for s in by_video.get(vid, []):
                if not s.start < s.end:
                    self._count("zero-length or reversed segments")
                elif s.end <= 0 or s.start >= covered:
                    self._count("segments outside the feature-covered span")
                else:
                    segments.append((s.start, s.end))
                    labels.append(s.label)
            if with_targets and not segments:
                self._count("videos without a usable segment")
                continue
            records.append({"video_id": vid, "feature_id": fid, "covered": covered, "duration": float(duration),
                            "segments": np.asarray(segments, dtype=np.float64).reshape(-1, 2), "labels": labels})
        return ActivityNetVideos(fs, records, self.temporal_scale, self.max_duration, self.classes, with_targets)

    def _thumos_dataset(self, split: str, with_targets: bool) -> Dataset:
        if split == "val":
            return ThumosWindows(self.features_set, [], self.temporal_scale, self.max_duration, self.classes, True,
                                 self.snippet_subsample)
        anno = self._thumos(split)
        matched = self.match_videos(anno.videos, split)
        by_video: dict[str, list] = {}
        for s in anno.segments:
            if not s.start < s.end:
                self._count("zero-length or reversed segments")
                continue
            by_video.setdefault(s.video_id, []).append(s)
        fs, windows, t = self.features_set, [], self.temporal_scale
        for vid, fid in matched.items():
            snippet = fs.snippet_seconds(fid)
            centres = fs.snippet_starts(fid)[:: self.snippet_subsample] + snippet / 2
            step = float(np.median(np.diff(centres))) if len(centres) > 1 else snippet
            entry = fs.entry(fid)
            duration = entry["num_frames"] / entry["fps"]
            segs = by_video.get(vid, [])
            for first in make_windows(len(centres), t, self.window_stride, self.tail_threshold):
                origin = float(centres[first])
                lo = origin - step / 2
                hi = lo + t * step
                w = {"video_id": vid, "feature_id": fid, "first": first, "origin": origin, "train_origin": lo,
                     "step": step, "duration": duration, "segments": [], "labels": []}
                inside = []
                for s in segs:
                    frac = max(min(hi, s.end) - max(lo, s.start), 0.0) / (s.end - s.start)
                    if frac > 0:
                        w["segments"].append((s.start, s.end))
                        w["labels"].append(s.label)
                        inside.append(frac)
                if with_targets and not (inside and max(inside) > 0.9):
                    self._count("training windows without a ground truth > 90 % inside")
                    continue
                windows.append(w)
        return ThumosWindows(fs, windows, t, self.max_duration, self.classes, with_targets, self.snippet_subsample)
