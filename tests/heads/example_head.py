"""A tiny but complete example head, so the head contract test runs even when no head package is installed.

Whole-video classification as detection: mean-pooled snippet features -> linear layer -> one detection per video
covering the annotated part of it (the span of its ground-truth segments in training, the whole video at test), for
each of the top-2 classes. It reads the ActivityNet-1.3 JSON and writes the ActivityNet results format, scored with
the official-equivalent mAP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from bsp_lightning.annotations.activitynet import load_activitynet
from bsp_lightning.evaluation import activitynet_map
from bsp_lightning.features.store import FeatureStore
from bsp_lightning.heads import FeatureDataModule, HeadModule, HeadSpec

SUBSETS = {"train": "training", "val": "validation", "test": "validation", "predict": "validation"}
CONFIGS = Path(__file__).parent / "example_configs"


class _Videos(Dataset):
    def __init__(self, dm: ExampleDataModule, split: str) -> None:
        gt = load_activitynet(dm.annotations, subset=SUBSETS[split])
        self.classes = dm.classes
        ids = dm.match_videos(sorted(gt.videos), split)
        by_video = gt.segments_by_video()
        self.items = []
        for vid, fid in ids.items():
            labels = np.zeros(len(self.classes), dtype=np.float32)
            for seg in by_video[vid]:
                labels[self.classes.index(seg.label)] = 1.0
            self.items.append((vid, fid, labels, float(gt.videos[vid].duration or 0.0)))
        self.features = dm.features_set

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        vid, fid, labels, duration = self.items[i]
        return {"features": torch.from_numpy(self.features.load(fid).mean(0)), "labels": torch.from_numpy(labels),
                "video_id": vid, "duration": duration}


class ExampleDataModule(FeatureDataModule):
    """ActivityNet-format annotations; one mean-pooled feature vector per video."""

    @property
    def classes(self) -> list[str]:
        return load_activitynet(self.annotations).classes

    @property
    def data_info(self) -> dict[str, Any]:
        return {"classes": self.classes}

    def build_dataset(self, split: str) -> Dataset:
        return _Videos(self, split)


class ExampleHead(HeadModule):
    """A linear video-level classifier whose detections cover the whole video."""

    task = "detection"

    def __init__(self, feature_dim: int = 0, data_info: dict | None = None, lr: float = 1e-2, **kwargs) -> None:
        super().__init__(feature_dim, data_info, lr=lr, **kwargs)
        self.model = self.build_model()
        self.ground_truth = None

    def build_model(self) -> nn.Module:
        return nn.Linear(self.feature_dim, len(self.data_info["classes"]))

    def compute_loss(self, outputs, batch):
        return {"loss": nn.functional.binary_cross_entropy_with_logits(outputs["out"], batch["labels"])}

    def postprocess(self, outputs, batch):
        scores = torch.sigmoid(outputs["out"]).detach().cpu().numpy()
        classes = self.data_info["classes"]
        items = []
        for vid, duration, row in zip(batch["video_id"], batch["duration"].tolist(), scores):
            top = np.argsort(-row)[:2]
            items.append((vid, [{"label": classes[c], "score": float(row[c]), "segment": [0.0, duration]}
                                for c in top]))
        return items

    def prediction_metadata(self):
        return {"used": False, "details": "example head: labels from its own linear classifier"}

    def build_metric(self):
        gt = load_activitynet(self.trainer.datamodule.annotations, subset="validation")

        def score(predictions):
            videos, labels, segments, scores = [], [], [], []
            for vid, dets in predictions.results.items():
                for det in dets:
                    videos.append(vid), labels.append(det["label"]), segments.append(det["segment"])
                    scores.append(det["score"])
            result = activitynet_map(
                [s.video_id for s in gt.segments], [s.label for s in gt.segments],
                np.array([(s.start, s.end) for s in gt.segments]), videos, labels,
                np.array(segments, dtype=np.float64).reshape(-1, 2), np.array(scores), ignore_unknown_labels=True)
            return {"mAP@0.5": float(result.mAP[0]), "average_mAP": float(result.average_mAP)}

        return score


def make_example(folder: Path) -> list[str]:
    """Tiny features (8-d, 6 videos) and an ActivityNet JSON; returns the ``fit`` arguments."""
    rng = np.random.default_rng(0)
    store = FeatureStore(folder / "features")
    database = {}
    for i in range(6):
        vid = f"vid{i}"
        label = ["jump", "run"][i % 2]
        n = 5 + i
        feats = rng.normal(size=(n, 8)).astype(np.float32) + (3.0 if label == "run" else -3.0)
        store.write_video(f"v_{vid}", feats, [k * 8 / 30 for k in range(n)], 30.0, n * 8, "example")
        database[vid] = {"subset": "training" if i < 4 else "validation", "duration": n * 8 / 30,
                         "annotations": [{"segment": [0.5, n * 8 / 30 - 0.5], "label": label}]}
    store.write_manifest({"feature_dim": 8, "snippet_length": 8, "stride": 8})
    (folder / "anet.json").write_text(json.dumps({"version": "VERSION 1.3", "database": database}))
    return ["--config", str(CONFIGS / "example_toy.yaml"), f"--data.features={folder / 'features'}",
            f"--data.annotations={folder / 'anet.json'}", f"--trainer.default_root_dir={folder / 'run'}"]


HEAD = HeadSpec(name="example", module=ExampleHead, datamodule=ExampleDataModule, configs=CONFIGS,
                task="detection", description="whole-video linear classifier (contract test only)",
                make_example=make_example, primary_metric="average_mAP")
