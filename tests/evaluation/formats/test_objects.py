"""The format objects: one per task, each merging a head's items, writing atomically, reading back, naming metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.evaluation.formats import (
    ACTIONNESS,
    DETECTION,
    FORMATS,
    GROUNDING,
    PROPOSALS,
    TASKS,
    ActionnessScores,
    Detections,
)
from bsp_lightning.evaluation.tables import format_metric_table, format_table


def test_one_object_per_task_and_the_proposals():
    assert set(FORMATS) == {*TASKS, "proposals"} and all(FORMATS[name].name == name for name in FORMATS)


def test_detections_merge_in_item_order_and_proposals_travel_with_them(tmp_path):
    items = [("v1", [{"label": "a", "score": 0.9, "segment": [0.0, 1.0]}]), ("v2", []),
             ("v1", [{"label": "b", "score": 0.5, "segment": [2.0, 3.0]}])]
    merged = DETECTION.merge(items, {"used": False})
    assert [d["label"] for d in merged.results["v1"]] == ["a", "b"] and merged.results["v2"] == []
    assert merged.to_json() == {"version": "VERSION 1.3", "results": merged.results, "external_data": {"used": False}}
    merged.proposals = {"v1": np.array([[0.0, 1.0, 0.9], [2.0, 3.0, 0.5]]), "v2": np.zeros((0, 3))}
    out = DETECTION.write(tmp_path / "test.json", merged)
    assert json.loads(out.read_text()) == merged.to_json()
    back = PROPOSALS.read(tmp_path / "test_proposals.json")
    np.testing.assert_array_equal(back["v1"], merged.proposals["v1"])
    assert back["v2"].shape == (0, 3)
    read = DETECTION.read(out)
    assert read.videos == ["v1", "v1"] and read.scores.tolist() == [0.9, 0.5]
    # without proposals, and as the plain official dict: one file
    DETECTION.write(tmp_path / "plain.json", Detections({"v": []}).to_json())
    assert not (tmp_path / "plain_proposals.json").exists()
    assert DETECTION.metric_names((0.3, 0.5)) == ("mAP@0.30", "mAP@0.50", "average_mAP")


def test_grounding_merge_restores_the_dataset_order(tmp_path):
    items = [{"video": "b", "duration": 4.0, "query": "q2", "gt": [1, 2], "predictions": [[1, 2]], "index": 1},
             {"video": "a", "duration": 5.0, "query": "q1", "gt": [0, 1], "predictions": [], "index": 0}]
    merged = GROUNDING.merge(items)
    assert [r["query"] for r in merged] == ["q1", "q2"] and all("index" not in r for r in merged)
    assert GROUNDING.read(GROUNDING.write(tmp_path / "g.json", merged))[1]["predictions"] == [[1.0, 2.0]]
    assert GROUNDING.metric_names((1,), (0.5,)) == ("R@1,IoU=0.5", "mIoU")


def test_actionness_protocol_travels_in_the_predictions_object(tmp_path):
    merged = ACTIONNESS.merge([("v", np.array([0.25, 0.5]))], {"segment_length": 0.2})
    assert merged == ActionnessScores({"v": [0.25, 0.5]}, {"segment_length": 0.2})
    path = ACTIONNESS.write(tmp_path / "a.json", merged)
    assert json.loads(path.read_text())["_protocol"] == {"segment_length": 0.2}
    assert ACTIONNESS.read(path)["v"].tolist() == [0.25, 0.5]
    assert ACTIONNESS.metric_names() == ("AP", "AP_per_video_mean")


def test_proposals_writer_refuses_bad_rows_and_keeps_the_old_file(tmp_path):
    path = PROPOSALS.write(tmp_path / "p.json", {"v": [[0, 1, 0.5]]})
    before = path.read_text()
    for bad, needle in (({"v": [[0, 1]]}, r"\(n, 3\)"), ({"v": [[0, float("nan"), 1]]}, "NaN")):
        with pytest.raises(Exception, match=needle):
            PROPOSALS.write(path, bad)
    assert path.read_text() == before
    merged = PROPOSALS.merge([("v", [[0, 1, 0.5]]), ("v", [[2, 3, 0.4]])])
    assert merged["v"].tolist() == [[0, 1, 0.5], [2, 3, 0.4]]
    assert PROPOSALS.metric_names()[-1] == "AUC"


def test_one_table_formatter():
    assert format_table([["a", "bb"], ["1", "22"]], "T") == "T\n-----\na  bb\n-----\n1  22\n-----"
    assert format_metric_table({"AP": 0.5}, "head: test") == "head: test (%)\n-----\n   AP\n-----\n50.00\n-----"
