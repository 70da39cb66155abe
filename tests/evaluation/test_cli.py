"""``bsp-lightning evaluate``: tables, exact JSON keys, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.evaluation.cli import main
from bsp_lightning.evaluation.detection import activitynet_map

GT = {
    "version": "VERSION 1.3",
    "taxonomy": [],
    "database": {
        "vidA": {"subset": "validation", "duration": 60.0, "url": "", "resolution": "",
                 "annotations": [{"segment": [0.0, 10.0], "label": "Run"}, {"segment": [20.0, 27.0], "label": "Run"}]},
        "vidB": {"subset": "validation", "duration": 30.0, "url": "", "resolution": "",
                 "annotations": [{"segment": [5.0, 15.0], "label": "Jump"}]},
        "vidC": {"subset": "training", "duration": 30.0, "url": "", "resolution": "",
                 "annotations": [{"segment": [1.0, 2.0], "label": "Swim"}]},
    },
}
PRED = {
    "version": "VERSION 1.3",
    "external_data": {},
    "results": {
        "vidA": [{"label": "Run", "score": 0.9, "segment": [0.0, 10.0]},
                 {"label": "Run", "score": 0.8, "segment": [0.0, 10.0]},
                 {"label": "Run", "score": 0.7, "segment": [20.0, 28.0]}],
        "vidB": [{"label": "Jump", "score": 0.5, "segment": [6.0, 15.0]}],
    },
}


def _write(path: Path, obj) -> Path:
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


@pytest.fixture()
def anet(tmp_path):
    return _write(tmp_path / "gt.json", GT), _write(tmp_path / "pred.json", PRED)


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_activitynet_json_and_table(anet, tmp_path, capsys):
    gt, pred = anet
    out_json = tmp_path / "out" / "anet.json"
    code, out, err = _run(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(pred),
                                   "--json", str(out_json)])
    assert code == 0, err
    assert "mAP (%)" in out and "0.50" in out and "avg" in out
    data = json.loads(out_json.read_text())
    assert set(data) == {"tiou_thresholds", "mAP", "average_mAP", "per_class_AP"}
    expected = activitynet_map(
        ["vidA", "vidA", "vidB"], ["Run", "Run", "Jump"], [[0, 10], [20, 27], [5, 15]],
        ["vidA"] * 3 + ["vidB"], ["Run"] * 3 + ["Jump"], [[0, 10], [0, 10], [20, 28], [6, 15]], [0.9, 0.8, 0.7, 0.5],
    )
    np.testing.assert_allclose(data["mAP"], expected.mAP, atol=1e-15)
    assert data["average_mAP"] == pytest.approx(expected.average_mAP, abs=1e-15)
    assert data["tiou_thresholds"] == pytest.approx(list(np.linspace(0.5, 0.95, 10)))
    assert set(data["per_class_AP"]) == {"Run", "Jump"}  # "Swim" has no ground truth in validation
    assert len(data["per_class_AP"]["Run"]) == 10
    assert not list(out_json.parent.glob(".*tmp*"))  # atomic write left no temporary file


def _error(capsys, argv, *needles):
    code, out, err = _run(capsys, argv)
    assert code == 2
    lines = err.strip().splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert errors == lines[-1:] and "Traceback" not in err, err  # warnings may precede the one error line
    for needle in needles:
        assert needle in errors[0]
    return errors[0]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("{\"results\": {", "malformed JSON"),
        ({"version": "1"}, "'results'"),
        ({"results": {"vidA": [{"label": "Run", "segment": [0, 1]}]}}, "'score'"),
        ({"results": {"vidA": [{"label": "Run", "score": float("nan"), "segment": [0, 1]}]}}, "NaN"),
        ({"results": {"vidA": [{"label": "Run", "score": "high", "segment": [0, 1]}]}}, "must be a number"),
        ({"results": {"vidA": [{"label": "Run", "score": 0.5, "segment": [0]}]}}, "[start, end]"),
        ({"results": {"vidA": [{"label": "Dance", "score": 0.5, "segment": [0, 1]}]}}, "Dance"),
        ({"results": []}, "'results' must be an object"),
    ],
)
def test_activitynet_bad_predictions(anet, tmp_path, capsys, content, needle):
    gt, _ = anet
    bad = _write(tmp_path / "bad.json", content)
    _error(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(bad)], str(bad), needle)


@pytest.mark.parametrize("results", [{}, {"vidA": [], "vidB": []}])
def test_activitynet_file_without_detections_scores_zero(anet, tmp_path, capsys, results):
    # The official code and activitynet_map score a class without detections 0: so does the command.
    gt, _ = anet
    path = _write(tmp_path / "p.json", {"version": "VERSION 1.3", "results": results, "external_data": {}})
    out_json = tmp_path / "o.json"
    code, out, err = _run(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(path),
                                   "--json", str(out_json)])
    assert code == 0, err
    assert "no detection in the file" in err and "error" not in err
    data = json.loads(out_json.read_text())
    assert data["mAP"] == [0.0] * 10 and data["average_mAP"] == 0.0
    assert data["per_class_AP"] == {"Run": [0.0] * 10, "Jump": [0.0] * 10}
    assert "mAP (%)" in out


def test_activitynet_missing_ground_truth_file(tmp_path, anet, capsys):
    _, pred = anet
    missing = tmp_path / "nope.json"
    _error(capsys, ["activitynet", "--ground-truth", str(missing), "--predictions", str(pred)], str(missing))


def test_activitynet_counted_warnings_where_the_official_code_proceeds(anet, tmp_path, capsys):
    gt, _ = anet
    pred = json.loads(json.dumps(PRED))
    pred["results"]["v_vidA"] = [{"label": "Run", "score": 0.99, "segment": [0, 10]}]
    pred["results"]["vidB"].append({"label": "Jump", "score": 0.1, "segment": [9, 3]})
    path = _write(tmp_path / "p.json", pred)
    code, out, err = _run(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(path)])
    assert code == 0
    assert "1 prediction(s) on 1 video(s) outside the 'validation' subset" in err and "'v_' prefix" in err
    assert "1 prediction(s) with start > end" in err


def test_activitynet_ignore_unknown_labels(anet, tmp_path, capsys):
    gt, _ = anet
    pred = json.loads(json.dumps(PRED))
    pred["results"]["vidB"].append({"label": "Swim", "score": 0.4, "segment": [1, 2]})
    path = _write(tmp_path / "p.json", pred)
    _error(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(path)], "Swim",
           "--ignore-unknown-labels")
    code, _, err = _run(capsys, ["activitynet", "--ground-truth", str(gt), "--predictions", str(path),
                                 "--ignore-unknown-labels"])
    assert code == 0 and "1 prediction(s) with labels absent" in err


GROUNDING = [
    {"video": "AO8RW", "duration": 30.0, "query": "a person opens a door", "gt": [0.0, 10.0],
     "predictions": [[0.0, 5.0], [20.0, 25.0]], "extra": 1},
    {"video": "Y6R7T", "duration": 30.0, "query": "a person sits", "gt": [10.0, 20.0],
     "predictions": [[10.0, 19.0]]},
]


def test_grounding_conventions(tmp_path, capsys):
    path = _write(tmp_path / "g.json", GROUNDING)
    out_json = tmp_path / "g_out.json"
    code, out, _ = _run(capsys, ["grounding", "--predictions", str(path), "--json", str(out_json)])
    assert code == 0 and "R@1,IoU=0.5" in out
    lgi = json.loads(out_json.read_text())
    assert list(lgi) == ["R@1,IoU=0.3", "R@5,IoU=0.3", "R@1,IoU=0.5", "R@5,IoU=0.5", "R@1,IoU=0.7", "R@5,IoU=0.7",
                         "mIoU"]
    assert lgi["R@1,IoU=0.5"] == 1.0  # IoU exactly 0.5 counts for LGI
    assert lgi["mIoU"] == pytest.approx((0.5 + 0.9) / 2)
    argv = ["grounding", "--predictions", str(path), "--convention", "2dtan", "--json", str(out_json)]
    code, _, _ = _run(capsys, argv)
    tan = json.loads(out_json.read_text())
    assert code == 0 and tan["R@1,IoU=0.5"] == 0.5  # but not for 2D-TAN (strict)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("[{\"video\": ", "malformed JSON"),
        ({"video": "x"}, "JSON list"),
        ([{"video": "x", "duration": 3, "query": "q", "gt": [0, 1]}], "'predictions'"),
        ([{"video": "x", "duration": 3, "query": "q", "gt": [0, 1], "predictions": [[0, "a"]]}], "prediction 0"),
        ([{"video": "x", "duration": float("nan"), "query": "q", "gt": [0, 1], "predictions": []}], "NaN"),
    ],
)
def test_grounding_bad_input(tmp_path, capsys, content, needle):
    bad = _write(tmp_path / "bad.json", content)
    _error(capsys, ["grounding", "--predictions", str(bad)], str(bad), needle)


def test_reversed_moments_are_kept_and_score_iou_0_as_in_lgi(tmp_path, capsys):
    # LGI regresses boundaries without clipping or reordering; its loader keeps ground truth with start > end
    entries = [{"video": "x", "duration": 9, "query": "q", "gt": [2, 8], "predictions": [[4.054, 4.046]]},
               {"video": "y", "duration": 9, "query": "q", "gt": [3, 1], "predictions": [[1, 3]]},
               {"video": "z", "duration": 9, "query": "q", "gt": [0, 4], "predictions": [[0, 2]]}]
    path = _write(tmp_path / "g.json", entries)
    out_json = tmp_path / "o.json"
    code, _, err = _run(capsys, ["grounding", "--predictions", str(path), "--json", str(out_json)])
    assert code == 0 and "1 predicted moment(s) with start > end" in err and "1 ground truth" in err
    numbers = json.loads(out_json.read_text())
    # x: reversed prediction, IoU 0; y: reversed gt [3, 1] vs [1, 3]: inter max(0, 1 - 3) = 0; z: 2 / 4
    assert numbers["mIoU"] == pytest.approx(0.5 / 3)
    assert numbers["R@1,IoU=0.3"] == pytest.approx(1 / 3)


def test_grounding_query_without_predictions_is_a_counted_miss(tmp_path, capsys):
    entries = GROUNDING + [{"video": "Z", "duration": 5.0, "query": "q", "gt": [0, 1], "predictions": []}]
    path = _write(tmp_path / "g.json", entries)
    out_json = tmp_path / "o.json"
    code, out, err = _run(capsys, ["grounding", "--predictions", str(path), "--json", str(out_json)])
    assert code == 0 and "1 query without predictions" in err
    assert json.loads(out_json.read_text())["R@1,IoU=0.5"] == pytest.approx(2 / 3)
    assert "1 of 3 queries had no predictions (scored as misses)" in out


def test_grounding_file_without_predictions_scores_zero(tmp_path, capsys):
    out_json = tmp_path / "o.json"
    # No query at all: every metric 0, warned.
    code, _, err = _run(capsys, ["grounding", "--predictions", str(_write(tmp_path / "g.json", [])),
                                 "--json", str(out_json)])
    assert code == 0 and "no query in the file" in err
    data = json.loads(out_json.read_text())
    assert len(data) == 7 and set(data.values()) == {0.0}
    # Queries without a single prediction: what grounding_metrics scores (misses, IoU 0).
    entries = [{**entry, "predictions": []} for entry in GROUNDING]
    for convention in ("lgi", "2dtan"):
        argv = ["grounding", "--predictions", str(_write(tmp_path / "g.json", entries)), "--convention", convention,
                "--json", str(out_json)]
        code, _, err = _run(capsys, argv)
        assert code == 0 and "2 queries without predictions" in err
        assert set(json.loads(out_json.read_text()).values()) == {0.0}


@pytest.fixture()
def crosstask(tmp_path):
    ann = tmp_path / "annotations"
    ann.mkdir()
    (ann / "23521_abc_d-e.csv").write_text("1,0.2,0.6\n2,1.0,1.1\n")  # segments 1, 2 and 5 positive
    (ann / "40567_xyz.csv").write_text("1,0.0,0.4\n")  # segments 0, 1
    return ann


def test_actionness(crosstask, tmp_path, capsys):
    scores = {"abc_d-e": [0.1, 0.9, 0.8, 0.2, 0.3, 0.7], "xyz": [0.6, 0.5, 0.4]}
    path = _write(tmp_path / "a.json", scores)
    out_json = tmp_path / "a_out.json"
    code, out, err = _run(capsys, ["actionness", "--annotations", str(crosstask), "--predictions", str(path),
                                   "--json", str(out_json)])
    assert code == 0, err
    data = json.loads(out_json.read_text())
    assert list(data) == ["AP", "AP_per_video_mean"]
    from bsp_lightning.evaluation.actionness import average_precision

    pooled = average_precision([0, 1, 1, 0, 0, 1, 1, 1, 0], scores["abc_d-e"] + scores["xyz"])
    assert data["AP"] == pytest.approx(pooled, abs=1e-15)
    assert data["AP_per_video_mean"] == pytest.approx(1.0)  # both videos rank their positives first
    assert "AP (%)" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("", "empty"),
        ("{", "malformed JSON"),
        ([0.1, 0.2], "JSON object"),
        ({"xyz": [0.1, None, 0.3]}, "segment 1"),
        ({"xyz": [0.1, float("nan")]}, "NaN"),
        ({"unknown": [0.1, 0.2]}, "no video of the file has annotations"),
    ],
)
def test_actionness_bad_input(crosstask, tmp_path, capsys, content, needle):
    bad = _write(tmp_path / "bad.json", content)
    _error(capsys, ["actionness", "--annotations", str(crosstask), "--predictions", str(bad)], str(bad), needle)


@pytest.mark.parametrize("content", [{}, {"xyz": []}, {"_protocol": {"segment_seconds": 0.2}}])
def test_actionness_file_without_scores_scores_zero(crosstask, tmp_path, capsys, content):
    out_json = tmp_path / "o.json"
    argv = ["actionness", "--annotations", str(crosstask), "--predictions", str(_write(tmp_path / "a.json", content)),
            "--json", str(out_json)]
    code, out, err = _run(capsys, argv)
    assert code == 0 and "no video with scores in the file" in err
    assert json.loads(out_json.read_text()) == {"AP": 0.0, "AP_per_video_mean": 0.0}


def test_actionness_protocol_key_is_not_a_video(crosstask, tmp_path, capsys):
    scores = {"xyz": [0.6, 0.5, 0.4], "_protocol": {"segment_seconds": 0.2}}
    code, _, err = _run(capsys, ["actionness", "--annotations", str(crosstask), "--predictions",
                                 str(_write(tmp_path / "a.json", scores))])
    assert code == 0 and "without annotations" not in err, err


def test_actionness_unknown_videos_are_counted_and_skipped(crosstask, tmp_path, capsys):
    path = _write(tmp_path / "a.json", {"xyz": [0.9, 0.8, 0.1], "ghost": [0.5]})
    code, _, err = _run(capsys, ["actionness", "--annotations", str(crosstask), "--predictions", str(path)])
    assert code == 0 and "1 video(s) without annotations" in err and "'ghost'" in err


def test_usage_errors_exit_2(capsys):
    assert main(["grounding"]) == 2
    assert main(["nonsense"]) == 2
    assert main(["--help"]) == 0


def test_subprocess_smoke(anet):
    gt, pred = anet
    proc = subprocess.run(
        [sys.executable, "-m", "bsp_lightning.evaluation.cli", "activitynet", "--ground-truth", str(gt),
         "--predictions", str(pred)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mAP (%)" in proc.stdout


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_grounding_nms_threshold_outside_0_1_is_an_argument_error(tmp_path, capsys, value):
    assert main(["grounding", str(tmp_path / "p.json"), "--nms-threshold", value]) == 2
    assert f"a temporal IoU must be in [0, 1], got {value}" in capsys.readouterr().err
