"""bsp-actionness: the linear actionness classifier for CrossTask step localisation (BSP Sec. 4.1, Table 3).

``HEAD`` is registered in the entry-point group ``bsp_lightning.heads`` (``actionness = "bsp_actionness:HEAD"``);
``bsp-lightning fit --config actionness_crosstask --data.features DIR --data.annotations crosstask_release``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bsp_lightning.heads import HeadSpec

from bsp_actionness.data import ActionnessDataModule
from bsp_actionness.lightning import ActionnessModule

__all__ = ["HEAD", "ActionnessDataModule", "ActionnessModule", "make_example", "study_inputs"]

CONFIGS = Path(__file__).parent / "configs"


def make_example(folder: Path) -> list[str]:
    """A tiny CrossTask release (2 tasks, 16 videos) and 6-d features whose channel 0 marks the steps.

    Returns the ``bsp-lightning fit`` arguments (``--config actionness_toy`` and the paths) that train on it.
    """
    from bsp_lightning.features.store import FeatureStore

    folder = Path(folder)
    release = folder / "crosstask_release"
    (release / "annotations").mkdir(parents=True, exist_ok=True)
    store = FeatureStore(folder / "features")
    rng = np.random.default_rng(0)
    fps, length = 10.0, 8
    tasks = ("101", "202")
    rows = []
    for i in range(16):
        vid, task = f"vid_{i:02d}", tasks[i % 2]
        num_snippets = 6 + i % 4
        steps = [(0.8 * (1 + i % 2), 0.8 * (3 + i % 2)), (0.8 * (num_snippets - 2), 0.8 * num_snippets - 0.1)]
        starts = np.arange(num_snippets) * length / fps
        feats = rng.normal(size=(num_snippets, 6)).astype(np.float32)
        for s, e in steps:
            feats[(starts + 0.4 > s) & (starts + 0.4 < e), 0] += 3.0
        store.write_video(vid, feats, starts.tolist(), fps, num_snippets * length, "example")
        (release / "annotations" / f"{task}_{vid}.csv").write_text(
            "".join(f"{k + 1},{s:.2f},{e:.2f}\n" for k, (s, e) in enumerate(steps)))
        rows.append(f"{task},{vid},https://www.youtube.com/watch?v={vid}\n")
    store.write_manifest({"feature_dim": 6, "snippet_length": length, "stride": length})
    (release / "videos.csv").write_text("".join(rows))
    (release / "tasks_primary.txt").write_text(
        "".join(f"{t}\nExample task {t}\nhttps://example.org/{t}\n2\nfirst step,second step\n\n" for t in tasks))
    return ["--config", str(CONFIGS / "actionness_toy.yaml"), f"--data.features={folder / 'features'}",
            f"--data.annotations={release}", f"--trainer.default_root_dir={folder / 'run'}",
            "--data.batch_size=4"]


def study_inputs(untrimmed: Path) -> list[str]:
    """The toy-untrimmed set's CrossTask release (:func:`bsp_lightning.data.toy.write_toy_untrimmed`)."""
    return [f"--data.annotations={Path(untrimmed) / 'crosstask_release'}"]


HEAD = HeadSpec(
    name="actionness",
    module=ActionnessModule,
    datamodule=ActionnessDataModule,
    configs=CONFIGS,
    task="actionness",
    description="linear actionness classifier on frozen features, CrossTask 0.2 s segments (Table 3)",
    make_example=make_example,
    primary_metric="AP",
    study_inputs=study_inputs,
)
