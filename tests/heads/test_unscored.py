"""One rule for every head: ground truth left unscored (its video has no features) counts as missed, and the
result says how much ("1 of 9 queries had no features (scored as misses)")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl

from bsp_lightning.annotations.crosstask import num_segments, segment_labels
from bsp_lightning.evaluation.actionness import average_precision
from bsp_lightning.heads import available_heads
from bsp_lightning.lightning_cli import build_cli

HEADS = available_heads()


def _data(args: list[str], name: str) -> Path:
    return Path(next(a.split("=", 1)[1] for a in args if a.startswith(f"--data.{name}=")))


def _test(args: list[str], root: Path):
    cli = build_cli([*args, "--logger=none"], run=False)
    pl.seed_everything(0)
    trainer = pl.Trainer(default_root_dir=str(root), logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
    return cli.model, json.loads((root / "predictions" / "test.json").read_text())


@pytest.mark.parametrize("name", sorted(set(HEADS) & {"tan2d", "lgi"}))
def test_grounding_queries_without_features_are_misses(name, tmp_path):
    args = HEADS[name].make_example(tmp_path)
    ann = _data(args, "annotations")
    test_file = ann / "charades_sta_test.txt"
    test_file.write_text(test_file.read_text().rstrip("\n") + "\nnofeat 0.0 2.0##a person is opening the door.\n")
    csv = ann / "Charades_v1_test.csv"
    csv.write_text(csv.read_text().rstrip("\n") + "\nnofeat,S,K,6,7,Yes,s,o,,,10.0\n")
    total = len([line for line in test_file.read_text().splitlines() if line.strip()])
    model, records = _test(args, tmp_path / "run")
    assert f"1 of {total} queries had no features (scored as misses)\nleft out of the test split: " \
           f"missing_features: 1 of" in model.result_table  # under the printed metrics
    assert len(records) == total and [r["predictions"] for r in records if r["video"] == "nofeat"] == [[]]
    assert model.unscored_note == f"1 of {total} queries had no features (scored as misses)"
    # every metric is a mean over queries: the missed query adds a 0 to the scored ones' sum
    scored = model.build_metric()([r for r in records if r["video"] != "nofeat"])
    for key, value in scored.items():
        assert model.test_results[key] == pytest.approx(value * (total - 1) / total, abs=1e-12), key


@pytest.mark.skipif("actionness" not in HEADS, reason="needs the actionness head")
def test_actionness_videos_without_features_are_misses(tmp_path):
    args = HEADS["actionness"].make_example(tmp_path)
    release = _data(args, "annotations")
    steps = [(0.8, 2.4), (4.0, 5.5)]
    (release / "annotations" / "101_vid_99.csv").write_text("1,0.80,2.40\n2,4.00,5.50\n")
    with (release / "videos.csv").open("a") as f:
        f.write("101,vid_99,https://www.youtube.com/watch?v=vid_99\n")
    splits = build_cli([*args, "--logger=none"], run=False).datamodule.splits
    split_file = tmp_path / "split.json"
    split_file.write_text(json.dumps({"train": splits["train"] + splits["val"], "test": splits["test"] + ["vid_99"]}))
    model, written = _test([*args, f"--data.split_file={split_file}"], tmp_path / "run")
    scores = {v: np.asarray(s, dtype=np.float64) for v, s in written.items() if not v.startswith("_")}
    assert sorted(scores) == sorted(splits["test"] + ["vid_99"]) and scores["vid_99"].size == 0
    assert model.unscored_note == f"1 of {len(splits['test']) + 1} videos had no features (scored as misses)"
    # pooled AP: precision at each recalled positive is unchanged, recall is divided by all positives
    labels = model.trainer.datamodule.dataset("test").labels
    y = np.concatenate([labels[v][: scores[v].size] for v in sorted(labels)])
    s = np.concatenate([scores[v] for v in sorted(labels)])
    missed = int(segment_labels(steps, num_segments(5.5)).sum())
    assert missed == 16  # segments 4..11 and 20..27 of 0.2 s
    assert model.test_results["AP"] == pytest.approx(average_precision(y, s) * y.sum() / (y.sum() + missed),
                                                     abs=1e-12)
