"""`bsp-lightning data inspect` in-process, plus one subprocess smoke test."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bsp_lightning.annotations.cli import main


@pytest.fixture
def anet_gt(tmp_path):
    gt = {
        "version": "VERSION 1.3",
        "database": {
            "QOlSCBRmfWY": {
                "duration": 82.73, "subset": "validation", "resolution": "1920x1080", "url": "u",
                "annotations": [
                    {"segment": [0.83, 19.86], "label": "Ballet"},
                    {"segment": [70.0, 90.0], "label": "Ballet"},
                ],
            },
            "sJFgo9H6zNo": {"duration": 10.0, "subset": "training", "url": "u", "annotations": []},
        },
    }  # fmt: skip
    path = tmp_path / "activity_net.v1-3.min.json"
    path.write_text(json.dumps(gt))
    return path


def test_inspect_activitynet_prints_and_writes_json(anet_gt, tmp_path, capsys):
    out = tmp_path / "out" / "report.json"
    assert main(["inspect", "activitynet", str(anet_gt), "--subset", "validation", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "records" in text and "end_beyond_duration" in text
    report = json.loads(out.read_text())
    assert report["format"] == "activitynet"
    assert report["counts"] == {"records": 2, "videos": 1, "classes": 1}
    assert report["anomalies"] == {"end_beyond_duration": 1}
    assert report["examples"] == {"end_beyond_duration": ["QOlSCBRmfWY[1]"]}
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temporary file left


def test_inspect_each_format(tmp_path, capsys):
    (tmp_path / "charades_sta_test.txt").write_text("AO8RW 0.0 6.9##a person.\nAO8RW 3.0 1.0##b.\n")
    (tmp_path / "Charades_v1_test.csv").write_text(
        "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
        'AO8RW,CQ4M,Bedroom,5,7,Yes,"a, b",book,"c\nd",,33.67\n'
    )
    assert main(["inspect", "charades-sta", str(tmp_path / "charades_sta_test.txt")]) == 0
    text = capsys.readouterr().out
    assert "start_after_end" in text and "records" in text

    captions = {"v_a": {"duration": 5, "timestamps": [[1, 2]], "sentences": [" x"]}}
    (tmp_path / "val_1.json").write_text(json.dumps(captions))
    assert main(["inspect", "anet-captions", str(tmp_path / "val_1.json"), "--v-prefix", "strip"]) == 0
    assert "anomalies: none" in capsys.readouterr().out

    thumos = tmp_path / "thumos"
    thumos.mkdir()
    (thumos / "CliffDiving_test.txt").write_text("video_test_0000004  1.0 2.0\n")
    (thumos / "Diving_test.txt").write_text("video_test_0000004  1.0 2.0\n")
    (thumos / "Ambiguous_test.txt").write_text("video_test_0000004  3.0 4.0\n")
    out = tmp_path / "t.json"
    assert main(["inspect", "thumos14", str(thumos), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["anomalies"]["cliffdiving_also_diving"] == 1 and report["anomalies"]["missing_class_file"] == 18
    assert report["counts"]["classes"] == 2

    ann = tmp_path / "crosstask" / "annotations"
    ann.mkdir(parents=True)
    (ann / "23521__xEl4mMQS-0.csv").write_text("1,18.69,25.77\n")
    assert main(["inspect", "crosstask", str(tmp_path / "crosstask")]) == 0
    assert "tasks" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "gt.json"
    bad.write_text("{not json")
    out = tmp_path / "r.json"
    assert main(["inspect", "activitynet", str(bad), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:1: malformed JSON" in err
    assert not out.exists()
    assert main(["inspect", "activitynet", str(bad), str(bad)]) == 2
    assert "got 2 paths" in capsys.readouterr().err


def test_subprocess_smoke(anet_gt):
    proc = subprocess.run(
        [sys.executable, "-m", "bsp_lightning.annotations.cli", "inspect", "activitynet", str(anet_gt)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "activitynet" in proc.stdout and "videos" in proc.stdout
