"""``bsp-lightning study --quick`` end to end (SLOW: a few minutes on 2 cores; ``-m "not slow"`` deselects it).

It runs the actionness head only (the other heads have their own tests and may be mid-change) plus a head name that
is not installed, which the study must report and skip.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bsp_lightning.cli import main as bsp_main


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_study_quick_writes_csv_markdown_png_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "study"
    assert bsp_main(["study", "--quick", "--out", str(out), "--heads", "actionness,not_a_head"]) == 0
    printed = capsys.readouterr().out
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["features"] for r in rows} == {"random", "vanilla", "bsp", "vanilla+bsp"}
    assert {r["metric"] for r in rows} == {"AP", "AP_per_video_mean"} and {r["head"] for r in rows} == {"actionness"}
    assert all(0.0 <= float(r["value"]) <= 1.0 for r in rows)
    markdown = (out / "results.md").read_text()
    assert "## actionness" in markdown and "Paper ordering on AP" in markdown
    assert "not_a_head (not installed)" in markdown
    assert markdown in printed
    assert (out / "results.png").read_bytes()[:4] == b"\x89PNG"
    # two-stream features are both folders: D(vanilla+bsp) = D(vanilla) + D(bsp)
    split = json.loads((out / "heads" / "actionness" / "vanilla+bsp" / "seed0" / "split.json").read_text())
    assert split["test"] and not set(split["test"]) & set(split["train"])
    # a second run with the same configuration reuses every stage: no file of a finished stage is rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("stage.json")}
    stamps.update({p: p.stat().st_mtime_ns for p in out.rglob("result.json")})
    assert bsp_main(["study", "--quick", "--out", str(out), "--heads", "actionness"]) == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
