"""G-TAD data on THUMOS-14: sliding windows over snippet positions (:class:`GTADThumosData`).

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

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from bsp_gtad.classifier import multi_hot
from bsp_gtad.data import GTADData
from bsp_gtad.targets import gtad_targets

__all__ = ["GTADThumosData", "ThumosWindows", "make_windows"]


def make_windows(num_snippets: int, length: int = 256, stride: int = 128, tail_threshold: int = 51) -> list[int]:
    """Window start indices of the official THUMOS rule (see the module docstring)."""
    if num_snippets < length:
        return [0]
    starts = [i * stride for i in range(int((num_snippets + stride - length) / stride))]
    if num_snippets - starts[-1] - length > tail_threshold:
        starts.append(num_snippets - length)
    return starts


class ThumosWindows(Dataset):
    """One item per window: ``features (D, T)``, ``video_id``, ``origin`` (seconds of index 0 at inference),
    ``step`` (seconds), ``duration``, ``video_labels``; with targets also ``start``, ``end``, ``iou_map``."""

    def __init__(self, fs, windows: list[dict[str, Any]], temporal_scale: int, max_duration: int,
                 classes: list[str], with_targets: bool, subsample: int) -> None:
        self.fs, self.windows, self.t, self.d = fs, windows, temporal_scale, max_duration
        self.classes, self.with_targets, self.subsample = classes, with_targets, subsample

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def video_ids(self) -> list[str]:
        """The annotation ids of the windows' videos, sorted."""
        return sorted({w["video_id"] for w in self.windows})

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


class GTADThumosData(GTADData):
    """Features + THUMOS-14 annotation folders; sliding windows of ``T`` snippets (module docstring).

    Args:
        test_annotations: the test annotation folder (``annotations`` is the validation one, used for training);
            defaults to ``annotations``.
        window_stride, tail_threshold, snippet_subsample: the windows (128, 51, 1).
        temporal_scale, max_duration: ``T`` and ``D`` (256, 64).
        *args, **kwargs: :class:`~bsp_lightning.heads.FeatureDataModule`'s (``val_fraction`` unused: no
            validation split, the last epoch is kept).
    """

    benchmark = "thumos"

    def __init__(self, *args: Any, temporal_scale: int = 256, max_duration: int = 64,
                 test_annotations: str | None = None, window_stride: int = 128, tail_threshold: int = 51,
                 snippet_subsample: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, temporal_scale=temporal_scale, max_duration=max_duration, **kwargs)
        self.test_annotations = test_annotations
        self.window_stride, self.tail_threshold = window_stride, tail_threshold
        self.snippet_subsample = snippet_subsample

    def _thumos(self, split: str):
        from bsp_lightning.annotations import load_thumos14

        folder = self.annotations if split == "train" else (self.test_annotations or self.annotations)
        return load_thumos14(folder, split="val" if split == "train" else "test")

    @property
    def classes(self) -> list[str]:
        from bsp_lightning.annotations import THUMOS14_CLASSES

        return list(THUMOS14_CLASSES)

    def ground_truth(self, split: str = "test") -> tuple[list[str], list[str], np.ndarray]:
        segs = self._thumos(split).segments
        return [s.video_id for s in segs], [s.label for s in segs], np.array([(s.start, s.end) for s in segs])

    def build_dataset(self, split: str) -> Dataset:
        if split == "val":
            return ThumosWindows(self.features_set, [], self.temporal_scale, self.max_duration, self.classes, True,
                                 self.snippet_subsample)
        with_targets = split == "train"
        anno = self._thumos(split)
        matched = self.match_videos(anno.videos, split)
        by_video: dict[str, list] = {}
        for s in anno.segments:
            if not s.start < s.end:
                self.skips.add(split, "zero-length or reversed segments")
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
                    self.skips.add(split, "training windows without a ground truth > 90 % inside")
                    continue
                windows.append(w)
        return ThumosWindows(fs, windows, t, self.max_duration, self.classes, with_targets, self.snippet_subsample)
