"""Fixtures: tiny generated snippet features and Charades-STA-format annotation files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bsp_lightning.features.store import FeatureStore

CSV_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
WORDS = ["person", "opens", "closes", "the", "door", "sits", "on", "a", "chair", "takes", "book", "laughs"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def write_features(folder: Path, lengths: dict[str, int], dim: int, seed: int = 0) -> Path:
    """A feature folder as ``bsp-lightning extract`` writes it: ``<vid>.npy`` + ``manifest.json``."""
    store = FeatureStore(folder)
    rng = np.random.default_rng(seed)
    for vid, n in lengths.items():
        store.write_video(vid, rng.normal(size=(n, dim)).astype(np.float32), np.arange(n) * 0.5, 16.0, 8 * n, "h")
    store.write_manifest({"feature_dim": dim, "snippet_length": 8})
    return folder


def write_charades(folder: Path, split: str, videos: dict[str, float], queries: list[str]) -> None:
    """``charades_sta_<split>.txt`` (the given lines) and ``Charades_v1_<split>.csv`` (quoted free text)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"charades_sta_{split}.txt").write_text("".join(q + "\n" for q in queries))
    rows = "".join(f'{vid},P1,Kitchen,6,7,Yes,"A person, then\nanother",door;chair,"x, y",c001 0.0 1.0,{d}\n'
                   for vid, d in videos.items())
    (folder / f"Charades_v1_{split}.csv").write_text(CSV_HEADER + rows)


@pytest.fixture
def charades_files():
    """:func:`write_charades` (test modules cannot import conftest under ``--import-mode=importlib``)."""
    return write_charades


@pytest.fixture
def grounding_data(tmp_path: Path) -> dict[str, Path]:
    """16 train + 4 test videos of 20-60 snippets (8-d) with 2 queries each whose words follow the moment."""
    rng = np.random.default_rng(1)
    lengths, splits = {}, {"train": {}, "test": {}}
    lines: dict[str, list[str]] = {"train": [], "test": []}
    for i in range(20):
        split = "train" if i < 16 else "test"
        vid = f"V{i:03d}"
        lengths[vid] = int(rng.integers(20, 60))
        duration = round(lengths[vid] * 0.5, 2)
        splits[split][vid] = duration
        for _ in range(2):
            s = round(float(rng.uniform(0, duration * 0.6)), 1)
            e = round(min(duration, s + float(rng.uniform(1, duration * 0.4))), 1)
            words = " ".join(rng.choice(WORDS, size=int(rng.integers(3, 9))))
            lines[split].append(f"{vid} {s} {e}##{words.capitalize()}.")
    ann = tmp_path / "ann"
    for split in ("train", "test"):
        write_charades(ann, split, splits[split], lines[split])
    feats = write_features(tmp_path / "feats", lengths, 8)
    return {"features": feats, "annotations": ann, "root": tmp_path}
