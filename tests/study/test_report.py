"""The study's report (ordering check, tables, CSV, PNG) and head plumbing, on hand-made records."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bsp_lightning.study.config import PAPER_ORDER, preset, stage_hash
from bsp_lightning.study.heads import discover_heads, head_arguments, primary_metric
from bsp_lightning.study.report import ordering, summarise, write_csv, write_markdown, write_png


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


def test_ordering_checks_each_comparison():
    held, lines = ordering({"random": 0.1, "bsp": 0.2, "vanilla": 0.3, "vanilla+bsp": 0.3})
    assert held is True and len(lines) == 3 and lines[-1].endswith("held") and "<=" in lines[-1]
    held, lines = ordering({"random": 0.1, "bsp": 0.35, "vanilla": 0.3, "vanilla+bsp": 0.4})
    assert held is False and lines[1].endswith("NOT held") and lines[0].endswith(": held")
    held, lines = ordering({"random": 0.1, "bsp": 0.2})
    assert held is None and "vanilla" in lines[0]


def test_markdown_csv_and_png(tmp_path: Path):
    records = _records()
    summary = summarise(records)
    assert summary["actionness"]["vanilla"]["AP"] == [0.30, 0.34] and "gtad" not in summary
    text = write_markdown(tmp_path / "results.md", records, {"actionness": "actionness", "gtad": "detection"},
                          PAPER_ORDER, ["# title"])
    # mean ± sample std in percent: vanilla AP (0.30, 0.34) -> 32.00 ± 2.83
    assert f"32.00 ± {100 * np.std([0.30, 0.34], ddof=1):.2f}" in text
    assert "**HELD**" in text and "every run failed: RuntimeError: boom" in text
    assert (tmp_path / "results.md").read_text() == text
    write_csv(tmp_path / "results.csv", records)
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 8 * 2 + 1 and rows[0].keys() == {"head", "features", "seed", "metric", "value"}
    assert {r["metric"] for r in rows} == {"AP", "AP_per_video_mean", "failed"}
    write_png(tmp_path / "results.png", records, {"actionness": "actionness"}, PAPER_ORDER)
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    assert head_arguments(specs["gtad"], tmp_path) == [f"--data.annotations={tmp_path / 'activity_net.json'}"]
    assert head_arguments(specs["actionness"], tmp_path) == [f"--data.annotations={tmp_path / 'crosstask_release'}"]
    assert head_arguments(SimpleNamespace(study_inputs=None), tmp_path) == []


def test_discover_reports_missing_heads():
    specs, missing = discover_heads(("actionness", "no_such_head"))
    assert "actionness" in specs and missing == {"no_such_head": "not installed"}
    specs, missing = discover_heads()
    assert set(specs) | set(missing) >= {"gtad", "tan2d", "lgi", "actionness"}


def test_presets_and_hash():
    quick, default = preset("quick"), preset("default")
    assert quick.seeds == (0,) and default.seeds == (0, 1, 2) and default.feature_sets == PAPER_ORDER
    full = preset("default", full=True)
    assert {"two_head", "distillation", "bsp_speed", "bsp_class"} <= set(full.variants)
    assert stage_hash("a", {"x": 1, "y": 2}) == stage_hash("a", {"y": 2, "x": 1}) != stage_hash("b")
    with pytest.raises(ValueError):
        preset("huge")


def test_markdown_columns_headline_first_at_most_six():
    from bsp_lightning.study.report import _columns

    gtad = [f"mAP@0.{k}" for k in range(50, 100, 5)] + ["average_mAP", "AR@1", "AR@100", "AUC"]
    assert _columns("detection", gtad) == ["average_mAP", "mAP@0.50", "mAP@0.75", "mAP@0.95", "AR@100", "AUC"]
    assert _columns("actionness", ["AP_per_video_mean", "AP"]) == ["AP", "AP_per_video_mean"]
