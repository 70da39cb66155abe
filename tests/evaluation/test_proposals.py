"""AR@AN and AUC on cases computed by hand (ActivityNet Evaluation/eval_proposal.py rules)."""

import json

import numpy as np
import pytest

from bsp_lightning.evaluation._io import EvaluationInputError
from bsp_lightning.evaluation.formats import read_proposals
from bsp_lightning.evaluation.proposals import average_recall_vs_proposals

GT_VIDEOS = ["a", "a", "b"]
GT_SEGMENTS = [[0, 10], [20, 30], [0, 5]]
PROPOSALS = {
    "a": [[21, 30, 0.8], [0, 10, 0.9], [50, 60, 0.1]],  # ranked by score inside
    "b": [[0, 4, 0.5]],
}


def test_hand_computed_curve_and_auc():
    r = average_recall_vs_proposals(GT_VIDEOS, GT_SEGMENTS, PROPOSALS, max_avg_nr_proposals=2,
                                    tiou_thresholds=[0.5, 0.85])
    j = np.arange(1, 101)
    np.testing.assert_allclose(r.proposals_per_video, j / 50)
    # a keeps 3 (n_used = int(3 j / 100)); tIoUs 1.0 (rank 0), 0.9 (rank 1); b keeps 1 (used at j = 100), tIoU 0.8
    expected_05 = np.select([j < 34, j < 67, j < 100], [0, 1 / 3, 2 / 3], 1.0)
    expected_085 = np.select([j < 34, j < 67], [0, 1 / 3], 2 / 3)
    np.testing.assert_allclose(r.recall, [expected_05, expected_085])
    np.testing.assert_allclose(r.average_recall[-1], 5 / 6)
    # trapz over AN = j/50: 0.02 * (1/6 + 32/3 + 1/2 + 64/3 + 3/4) = 0.668333.., divided by AN[-1] = 2
    assert r.auc == pytest.approx(0.02 * (1 / 6 + 32 / 3 + 1 / 2 + 64 / 3 + 3 / 4) / 2)
    assert r.ar_at(1) == pytest.approx(1 / 3)


def test_proposals_outside_the_ground_truth_count_in_the_total():
    props = dict(PROPOSALS, z=[[0, 1, 0.9]] * 4)  # 8 proposals, 2 videos: ratio 0.5
    r = average_recall_vs_proposals(GT_VIDEOS, GT_SEGMENTS, props, max_avg_nr_proposals=2,
                                    tiou_thresholds=[0.5])
    # a keeps int(1.5) = 1 (its best, [0, 10]); b keeps int(0.5) = 0; total kept 1; pcn = 4 j / 100
    j = np.arange(1, 101)
    np.testing.assert_allclose(r.recall[0], np.where(j >= 25, 1 / 3, 0.0))
    np.testing.assert_allclose(r.proposals_per_video, 2 * j / 100)


def test_video_without_proposals_and_errors(tmp_path):
    r = average_recall_vs_proposals(GT_VIDEOS, GT_SEGMENTS, {"a": PROPOSALS["a"]}, max_avg_nr_proposals=3,
                                    tiou_thresholds=[0.5])
    assert r.recall[0, -1] == pytest.approx(2 / 3)
    with pytest.raises(EvaluationInputError):
        average_recall_vs_proposals([], np.zeros((0, 2)), PROPOSALS)
    with pytest.raises(EvaluationInputError):
        average_recall_vs_proposals(GT_VIDEOS, GT_SEGMENTS, {})
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"results": {"a": [{"segment": [0, 1], "score": 0.5, "label": "x"}]}}))
    np.testing.assert_allclose(read_proposals(path)["a"], [[0, 1, 0.5]])
    path.write_text(json.dumps({"results": {"a": [{"segment": [0, 1]}]}}))
    with pytest.raises(EvaluationInputError, match="score"):
        read_proposals(path)


def test_evaluate_proposals_command(tmp_path, capsys):
    from bsp_lightning.evaluation.cli import main

    gt = {"version": "VERSION 1.3", "database": {
        "a": {"subset": "validation", "duration": 40.0, "annotations": [{"segment": [0, 10], "label": "x"},
                                                                        {"segment": [20, 30], "label": "x"}]},
        "b": {"subset": "training", "duration": 9.0, "annotations": [{"segment": [0, 5], "label": "x"}]}}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    preds = {"results": {"a": [{"segment": [0, 10], "score": 0.9, "label": "x"},
                               {"segment": [20, 25], "score": 0.5, "label": "x"}]}}
    (tmp_path / "p.json").write_text(json.dumps(preds))
    out = tmp_path / "out.json"
    assert main(["proposals", "--ground-truth", str(tmp_path / "gt.json"), "--predictions", str(tmp_path / "p.json"),
                 "--json", str(out)]) == 0
    numbers = json.loads(out.read_text())
    # 2 proposals, max_avg 100: both kept; [20, 25] has tIoU 0.5 with [20, 30]: recalled at t = 0.5 only
    assert numbers["AR@100"] == pytest.approx((10 * 1 + 1) / 20)  # first: 10 thresholds; second: 1 of 10
    assert "AR@100" in capsys.readouterr().out
    assert main(["proposals", "--ground-truth", str(tmp_path / "gt.json"), "--predictions",
                 str(tmp_path / "missing.json")]) == 2


def test_evaluate_proposals_empty_file_and_id_mismatch(tmp_path, capsys):
    # an empty file scores 0 with a warning (as every other evaluate command); ids that miss the subset name the
    # files and the 'v_' hint, not the bare "no ground-truth video has proposals"
    from bsp_lightning.evaluation.cli import main

    gt = {"version": "VERSION 1.3", "database": {
        "a": {"subset": "validation", "duration": 40.0, "annotations": [{"segment": [0, 10], "label": "x"}]}}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    args = ["proposals", "--ground-truth", str(tmp_path / "gt.json"), "--predictions", str(tmp_path / "p.json")]
    (tmp_path / "p.json").write_text(json.dumps({"results": {}}))
    out = tmp_path / "out.json"
    assert main([*args, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["AR@100"] == 0.0 and json.loads(out.read_text())["AUC"] == 0.0
    assert "p.json: no proposal in the file" in capsys.readouterr().err
    (tmp_path / "p.json").write_text(json.dumps({"results": {"v_a": [{"segment": [0, 10], "score": 0.9}]}}))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "p.json" in err and "gt.json" in err and "'v_' prefix" in err and len(err.strip().splitlines()) == 1


def test_usage_lists_proposals():
    from bsp_lightning.evaluation.cli import build_parser

    assert "proposals}" in build_parser().format_usage()
