"""A tiny grounding dataset in the real formats, with its features: the grounding heads' example and test data.

:func:`write_grounding_example` writes a feature folder (``bsp-lightning extract`` layout), Charades-STA query files
(``charades_sta_{train,test}.txt``) with their ``Charades_v1_{train,test}.csv`` (the columns of
:data:`~bsp_lightning.data.toy.formats.CHARADES_COLUMNS`) and a small GloVe text file. Unlike the toy-untrimmed set
(:mod:`.untrimmed`), it needs no video and no extraction: each video shows two of a few "actions" as blocks of
snippets whose features carry that action's direction; each query names the action, so the data is learnable in
seconds. The heads' ``make_example`` (see :class:`~bsp_lightning.heads.HeadSpec`) point their toy configs at it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bsp_lightning.data.toy.formats import CHARADES_COLUMNS
from bsp_lightning.features.store import FeatureStore

__all__ = ["ACTIONS", "write_grounding_example"]

ACTIONS = ("opening", "closing", "eating", "running")
_WORDS = ("a", "person", "is", "the", "door", "food", "quickly", "then") + ACTIONS


def write_grounding_example(folder: str | Path, num_videos: int = 12, num_test: int = 4, feature_dim: int = 16,
                            glove_dim: int = 8, seed: int = 0, fps: float = 24.0,
                            snippet_length: int = 8) -> dict[str, Path]:
    """Write the example under ``folder``; returns ``{"features", "annotations", "glove"}`` paths.

    Videos ``vid000..`` last 20-40 s (snippets of ``snippet_length`` frames at ``fps``); the first
    ``num_videos - num_test`` are training videos. Each has two queries (``"a person is <action> the door."``)
    whose moment is the block of that action.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    store = FeatureStore(folder / "features")
    directions = rng.normal(size=(len(ACTIONS), feature_dim)).astype(np.float32)
    snippet = snippet_length / fps
    lines = {"train": [], "test": []}
    lengths = {"train": [], "test": []}
    for i in range(num_videos):
        split = "train" if i < num_videos - num_test else "test"
        vid = f"vid{i:03d}"
        num_snippets = int(rng.integers(int(20 / snippet), int(40 / snippet)))
        feats = rng.normal(scale=0.3, size=(num_snippets, feature_dim)).astype(np.float32)
        duration = num_snippets * snippet
        for action in rng.choice(len(ACTIONS), size=2, replace=False):
            a = int(rng.integers(0, num_snippets - 8))
            b = int(rng.integers(a + 4, min(num_snippets, a + num_snippets // 2) + 1))
            feats[a:b] += directions[action]
            lines[split].append(f"{vid} {a * snippet:.1f} {b * snippet:.1f}##a person is {ACTIONS[action]} the door.\n")
        store.write_video(vid, feats, [k * snippet for k in range(num_snippets)], fps, num_snippets * snippet_length,
                          "example")
        lengths[split].append((vid, duration))
    store.write_manifest({"feature_dim": feature_dim, "snippet_length": snippet_length, "stride": snippet_length})
    ann = folder / "charades"
    ann.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        (ann / f"charades_sta_{split}.txt").write_text("".join(lines[split]))
        with open(ann / f"Charades_v1_{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(CHARADES_COLUMNS)
            for vid, duration in lengths[split]:
                writer.writerow([vid, "S", "Kitchen", 6, 7, "Yes", "a script, with a comma", "door", "", "",
                                 f"{duration:.2f}"])
    glove = folder / "glove.example.txt"
    vectors = rng.normal(size=(len(_WORDS), glove_dim))
    glove.write_text("".join(f"{w} {' '.join(f'{v:.5f}' for v in vec)}\n" for w, vec in zip(_WORDS, vectors)))
    return {"features": folder / "features", "annotations": ann, "glove": glove}
