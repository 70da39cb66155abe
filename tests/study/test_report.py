"""The study's report (tables with intervals, verdicts, CSV, PNG) and head plumbing, on hand-made records."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest

from bsp_lightning.study.config import PAPER_ORDER, comparisons, preset, stage_hash
from bsp_lightning.study.figure import write_png
from bsp_lightning.study.heads import discover_heads, head_arguments, primary_metric, split_arguments
from bsp_lightning.study.report import summarise, write_csv, write_markdown
from bsp_lightning.study.statistics import Interval


def _records() -> list[dict]:
    values = {"random": [0.10, 0.12], "bsp": [0.20, 0.22], "vanilla": [0.30, 0.34], "vanilla+bsp": [0.31, 0.35]}
    out = []
    for fs, vs in values.items():
        for seed, v in enumerate(vs):
            out.append({"head": "actionness", "task": "actionness", "features": fs, "seed": seed, "status": "ok",
                        "metrics": {"AP": v, "AP_per_video_mean": v / 2}, "error": None})
    out.append({"head": "gtad", "task": "detection", "features": "bsp", "seed": 0, "status": "failed",
                "metrics": {}, "error": "RuntimeError: boom"})
    return out


def test_comparisons_follow_the_paper_ordering():
    assert comparisons(PAPER_ORDER) == [("random", "bsp"), ("bsp", "vanilla"), ("vanilla", "vanilla+bsp")]
    full = preset("default", full=True).feature_sets
    assert ("bsp_class", "bsp_speed") in comparisons(full) and ("two_head", "distillation") in comparisons(full)
    assert comparisons(("random", "bsp")) == [("random", "bsp")]


def _analysis() -> dict:
    intervals = {fs: {"AP": Interval(sum(vs) / 2, min(vs) - 0.01, max(vs) + 0.01)}
                 for fs, vs in {"random": [0.10, 0.12], "bsp": [0.20, 0.22], "vanilla": [0.30, 0.34],
                                "vanilla+bsp": [0.31, 0.35]}.items()}
    checks = [{"earlier": "random", "later": "bsp", "metric": "AP", "difference": Interval(0.1, 0.05, 0.15),
               "verdict": "held"},
              {"earlier": "bsp", "later": "vanilla", "metric": "AP", "difference": Interval(-0.1, -0.15, -0.05),
               "verdict": "reversed"},
              {"earlier": "vanilla", "later": "vanilla+bsp", "metric": "AP", "difference": Interval(0.01, -0.02, 0.04),
               "verdict": "not decided"}]
    return {"actionness": {"intervals": intervals, "comparisons": checks, "notes": []}}


def test_markdown_csv_and_png(tmp_path: Path):
    records = _records()
    summary = summarise(records)
    assert summary["actionness"]["vanilla"]["AP"] == [0.30, 0.34] and "gtad" not in summary
    backbones = {"vanilla": {"task": "action", "floors": [("val/acc", 0.8)], "val_metrics": {"val/acc": 0.9},
                             "under_trained": False},
                 "bsp": {"task": "boundary, 4-way", "floors": [("val/acc", 0.7)],
                         "val_metrics": {"val/acc": 0.5, "val/acc_per_type_diff_class": 0.75}, "under_trained": True}}
    sensitivity = {"auroc": {"bsp": {"overall": Interval(0.8, 0.7, 0.9)}},
                   "pairs": {"bsp": {"overall": 5, "negative": 9}},
                   "comparisons": [], "notes": []}
    text = write_markdown(tmp_path / "results.md", records, {"actionness": "actionness", "gtad": "detection"},
                          PAPER_ORDER, ["# title"], _analysis(), backbones, sensitivity, 7)
    # vanilla AP: mean (0.30 + 0.34) / 2 = 32.00 %, interval [0.29, 0.35] -> [29.00, 35.00]
    assert "| vanilla | 2 | 32.00 [29.00, 35.00]" in text
    assert "+10.00 [+5.00, +15.00]: **held**" in text and "**reversed**" in text and "**not decided**" in text
    assert "every run failed: RuntimeError: boom" in text
    assert "| BSP | boundary, 4-way | acc >= 70 % | acc 50.0 % | diff_class 75.0 | **under-trained** |" in text
    assert "0.800 [0.700, 0.900]" in text and "| 5 / 9 |" in text
    assert "| actionness | AP | 2.00 | 2.00 | 3.00 | 3.00 | 3.00 |" in text  # half-widths in points
    assert (tmp_path / "results.md").read_text() == text
    write_csv(tmp_path / "results.csv", records, _analysis(), sensitivity)
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert rows[0].keys() == {"kind", "head", "features", "seed", "metric", "value", "low", "high"}
    runs = [r for r in rows if r["kind"] == "run"]
    assert len(runs) == 8 * 2 + 1 and {r["metric"] for r in runs} == {"AP", "AP_per_video_mean", "failed"}
    means = {r["features"]: r for r in rows if r["kind"] == "mean"}
    assert float(means["vanilla"]["value"]) == pytest.approx(0.32) and float(means["vanilla"]["low"]) == 0.29
    verdicts = [r["seed"] for r in rows if r["kind"] == "difference"]
    assert verdicts == ["held", "reversed", "not decided"]
    assert [r["metric"] for r in rows if r["kind"] == "sensitivity"] == ["overall"]
    write_png(tmp_path / "results.png", _analysis(), {"actionness": "AP"}, PAPER_ORDER, sensitivity)
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_runs_never_show_a_number(tmp_path: Path):
    records = [{"head": "gtad", "task": "detection", "features": fs, "seed": 0, "status": status,
                "metrics": {"average_mAP": 0.5} if status == "ok" else {}, "error": None if status == "ok" else "X: y"}
               for fs, status in (("random", "ok"), ("bsp", "failed"))]
    text = write_markdown(tmp_path / "r.md", records, {"gtad": "detection"}, ("random", "bsp"), [], {}, None, None, 3)
    assert "| BSP | 0 (1 failed) | failed |" in text and "| random init | 1 | 50.00 [no CI] |" in text
    assert "- failed: BSP seed 0: X: y" in text


def test_primary_metric_and_head_arguments(tmp_path: Path):
    assert primary_metric("grounding", {"R@1,IoU=0.3": 1, "R@1,IoU=0.5": 2}) == "R@1,IoU=0.5"
    assert primary_metric("detection", {"mAP@0.5": 1}) == "mAP@0.5"
    assert primary_metric("actionness", {}) is None
    assert primary_metric("detection", {"mAP@0.50": 1, "average_mAP": 2}) == "average_mAP"

    specs, _ = discover_heads(("lgi", "tan2d", "gtad", "actionness"))
    for name in ("lgi", "tan2d"):  # the toy Charades-STA names, given by the heads' specs
        assert head_arguments(specs[name], tmp_path) == [f"--data.annotations={tmp_path}",
                                                         "--data.train_file=toy_sta_train.txt",
                                                         "--data.test_files=toy_sta_test.txt"]
    # G-TAD also gets the oracle video-level class scores, written next to the ActivityNet JSON
    (tmp_path / "activity_net.json").write_text('{"version": "VERSION 1.3", "database": {"v": {"subset": "testing", '
                                                '"duration": 5.0, "annotations": []}}}')
    assert head_arguments(specs["gtad"], tmp_path) == [f"--data.annotations={tmp_path / 'activity_net.json'}",
                                                       f"--model.class_scores={tmp_path / 'gtad_oracle_class_scores.json'}"]
    assert head_arguments(specs["actionness"], tmp_path) == [f"--data.annotations={tmp_path / 'crosstask_release'}"]
    assert head_arguments(SimpleNamespace(study_inputs=None), tmp_path) == []
    # every head is tested on the toy test split (the one the bootstrap resamples), actionness included
    assert split_arguments(specs["actionness"], tmp_path) == [f"--data.split_file={tmp_path / 'splits.json'}"]
    assert [split_arguments(specs[name], tmp_path) for name in ("lgi", "tan2d", "gtad")] == [[], [], []]


def test_discover_reports_missing_heads():
    specs, missing = discover_heads(("actionness", "no_such_head"))
    assert "actionness" in specs and missing == {"no_such_head": "not installed"}
    specs, missing = discover_heads()
    assert set(specs) | set(missing) >= {"gtad", "tan2d", "lgi", "actionness"}


def test_presets_and_hash():
    quick, default = preset("quick"), preset("default")
    assert quick.seeds == (0,) and default.seeds == (0, 1) and default.feature_sets == PAPER_ORDER
    # the default pre-training budget is the main job's (`fit --config toy`), the one measured against the floors
    import yaml

    from bsp_lightning.lightning_cli import resolve_config

    toy = yaml.safe_load(open(resolve_config("toy")))
    assert (default.pretrain["max_epochs"], default.pretrain["samples_per_epoch"], default.pretrain["batch_size"]) == (
        toy["trainer"]["max_epochs"], toy["data"]["samples_per_epoch"], toy["data"]["batch_size"])
    full = preset("default", full=True)
    assert {"two_head", "distillation", "bsp_speed", "bsp_class"} <= set(full.variants)
    assert stage_hash("a", {"x": 1, "y": 2}) == stage_hash("a", {"y": 2, "x": 1}) != stage_hash("b")
    with pytest.raises(ValueError):
        preset("huge")


def test_markdown_columns_headline_first_at_most_four():
    from bsp_lightning.study.report import _columns

    gtad = [f"mAP@0.{k}" for k in range(50, 100, 5)] + ["average_mAP", "AR@1", "AR@100", "AUC"]
    assert _columns("average_mAP", gtad) == ["average_mAP", "mAP@0.50", "mAP@0.75", "mAP@0.95"]
    assert _columns("AP", ["AP_per_video_mean", "AP"]) == ["AP", "AP_per_video_mean"]


def test_a_killed_head_run_leaves_no_record_and_stops_the_study(tmp_path: Path, monkeypatch):
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    import bsp_lightning.lightning_cli as lightning_cli
    from bsp_lightning.study.heads import RESULT_FILE, run_head

    def killed(args, run=True):
        raise SIGTERMException()

    monkeypatch.setattr(lightning_cli, "build_cli", killed)
    specs, _ = discover_heads(("actionness",))
    features = [{"hash": "f", "folder": str(tmp_path / "features")}]
    with pytest.raises(SIGTERMException):
        run_head(preset("quick"), tmp_path, specs["actionness"], "bsp", features, tmp_path, 0)
    assert not (tmp_path / "heads" / "actionness" / "bsp" / "seed0" / RESULT_FILE).exists()


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds must be at least 1, got 0"),
    (["--heads", ","], "--heads names no head that can run: none in ','"),
    (["--heads", "no_such_head"], "--heads names no head that can run: no_such_head (not installed)"),
])
def test_bad_study_options_stop_before_any_stage(tmp_path: Path, capsys, argv, message):
    from bsp_lightning.study.cli import main

    assert main(["--quick", "--out", str(tmp_path / "study"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "study").exists()
