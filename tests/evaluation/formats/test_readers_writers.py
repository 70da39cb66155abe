"""Readers and atomic writers of the three prediction formats: round trips, the files' JSON, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bsp_lightning.evaluation import EvaluationInputError, formats
from bsp_lightning.evaluation.formats import (
    read_actionness,
    read_detections,
    read_grounding,
    write_actionness,
    write_detections,
    write_grounding,
)


def test_detections_round_trip(tmp_path):
    results = {
        "v_a": [
            {"label": "Run", "score": np.float32(0.75), "segment": np.array([1.5, 4.0])},
            {"label": "Jump", "score": 0.5, "segment": torch.tensor([0.0, 2.0], dtype=torch.float64), "rank": 2},
        ],
        "v_b": [{"label": "Run", "score": 1, "segment": [7, 3]}],  # start > end is written and counted
        "v_c": [],
    }
    path = write_detections(tmp_path / "sub" / "det.json", results, external_data={"used": False, "details": ""})
    assert path == tmp_path / "sub" / "det.json"
    # The file is exactly the official JSON object.
    assert json.loads(path.read_text()) == {
        "version": "VERSION 1.3",
        "results": {
            "v_a": [{"label": "Run", "score": 0.75, "segment": [1.5, 4.0]},
                    {"label": "Jump", "score": 0.5, "segment": [0.0, 2.0], "rank": 2}],
            "v_b": [{"label": "Run", "score": 1.0, "segment": [7.0, 3.0]}],
            "v_c": [],
        },
        "external_data": {"used": False, "details": ""},
    }
    pred = read_detections(path)
    assert pred.videos == ["v_a", "v_a", "v_b"] and pred.labels == ["Run", "Jump", "Run"]
    np.testing.assert_array_equal(pred.segments, [[1.5, 4.0], [0.0, 2.0], [7.0, 3.0]])
    np.testing.assert_array_equal(pred.scores, [0.75, 0.5, 1.0])
    assert pred.segments.dtype == pred.scores.dtype == np.float64
    assert pred.anomalies == {"start_after_end": 1, "missing_version_or_external_data": 0}
    assert sorted(p.name for p in path.parent.iterdir()) == ["det.json"]  # no temporary file left


def test_detections_without_any(tmp_path):
    pred = read_detections(write_detections(tmp_path / "d.json", {}))
    assert pred.videos == [] and pred.segments.shape == (0, 2) and pred.scores.shape == (0,)
    assert json.loads((tmp_path / "d.json").read_text()) == {"version": "VERSION 1.3", "results": {},
                                                             "external_data": {}}
    (tmp_path / "old.json").write_text(json.dumps({"results": {"x": []}}))
    pred = read_detections(tmp_path / "old.json")
    assert pred.videos == [] and pred.anomalies["missing_version_or_external_data"] == 1


@pytest.mark.parametrize(
    ("results", "needle"),
    [
        ({"v": [{"label": "Run", "segment": [0, 1]}]}, "missing key(s) 'score'"),
        ({"v": [{"label": "Run", "score": float("nan"), "segment": [0, 1]}]}, "NaN"),
        ({"v": [{"label": "Run", "score": np.float32("inf"), "segment": [0, 1]}]}, "NaN or infinite"),
        ({"v": [{"label": "Run", "score": 0.1, "segment": [0, 1, 2]}]}, "[start, end] pair"),
        ([("v", [])], "must map video id"),
    ],
)
def test_write_detections_refuses_bad_input_and_keeps_the_old_file(tmp_path, results, needle):
    path = tmp_path / "d.json"
    path.write_text("previous")
    with pytest.raises(EvaluationInputError) as info:
        write_detections(path, results)
    assert needle in str(info.value) and str(info.value).startswith(f"{path}: not written: ")
    assert path.read_text() == "previous"


def test_grounding_round_trip(tmp_path):
    records = [
        {"video": "AO8RW", "duration": np.float64(30.0), "query": "a person opens a door", "gt": (0, 10.5),
         "predictions": np.array([[0.0, 5.0], [20.0, 25.0]], dtype=np.float32), "index": np.int64(3)},
        {"video": "Y6R7T", "duration": 12, "query": "sits", "gt": torch.tensor([1.0, 2.0]),
         "predictions": torch.zeros(0, 2)},
        {"video": "Z", "duration": 5.0, "query": "q", "gt": [0, 1], "predictions": []},
    ]
    path = write_grounding(tmp_path / "g.json", records)
    expected = [
        {"video": "AO8RW", "duration": 30.0, "query": "a person opens a door", "gt": [0.0, 10.5],
         "predictions": [[0.0, 5.0], [20.0, 25.0]], "index": 3},
        {"video": "Y6R7T", "duration": 12.0, "query": "sits", "gt": [1.0, 2.0], "predictions": []},
        {"video": "Z", "duration": 5.0, "query": "q", "gt": [0.0, 1.0], "predictions": []},
    ]
    assert json.loads(path.read_text()) == expected
    assert read_grounding(path) == expected
    assert len(path.read_text().splitlines()) == 5  # "[", one line per query, "]"
    preds, gts, empty = formats.read_grounding_predictions(path)
    assert [p.shape for p in preds] == [(2, 2), (0, 2), (0, 2)] and gts[0] == (0.0, 10.5) and empty == 2
    assert read_grounding(write_grounding(tmp_path / "e.json", [])) == []


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"video": "x", "duration": 3, "query": "q", "gt": [0, 1]}, "'predictions'"),
        ({"video": "x", "duration": 3, "query": "q", "gt": [2], "predictions": []}, "gt: segment must be a"),
        ({"video": "x", "duration": 3, "query": "q", "gt": [0, 1], "predictions": [[1, None]]}, "prediction 0"),
        ({"video": "x", "duration": 3, "query": "q", "gt": [0, 1], "predictions": [0, 1]}, "shape (K, 2)"),
        ({"video": "x", "duration": float("inf"), "query": "q", "gt": [0, 1], "predictions": []}, "infinite"),
    ],
)
def test_write_grounding_refuses_bad_records(tmp_path, record, needle):
    with pytest.raises(EvaluationInputError, match="not written") as info:
        write_grounding(tmp_path / "g.json", [record])
    assert needle in str(info.value) and not (tmp_path / "g.json").exists()


def test_reversed_moments_round_trip_as_lgi_writes_them(tmp_path):
    # LGI neither clips nor reorders its regressed boundaries, and its loader keeps gt with start > end
    record = {"video": "x", "duration": 9, "query": "q", "gt": [3.0, 1.0], "predictions": [[4.054, 4.046], [0, 2]]}
    assert read_grounding(write_grounding(tmp_path / "g.json", [record])) == [record]


def test_read_grounding_errors_name_the_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text(json.dumps([{"video": "x", "duration": 3, "query": "q", "gt": [0, 1], "predictions": [[2]]}]))
    with pytest.raises(EvaluationInputError, match=r"g.json: entry 0 \(video 'x'\) prediction 0: segment must be"):
        read_grounding(path)
    path.write_text("{}")
    with pytest.raises(EvaluationInputError, match="expected a JSON list of queries, got dict"):
        read_grounding(path)


def test_actionness_round_trip_with_protocol(tmp_path):
    scores = {"abc": np.array([0.1, 0.9], dtype=np.float32), "xyz": torch.tensor([0.5]), "empty": [], 7: [1, 0]}
    protocol = {"segment_seconds": 0.2, "label": "overlap", "pooled": True}
    path = write_actionness(tmp_path / "a.json", scores, protocol=protocol)
    raw = json.loads(path.read_text())
    assert raw == {"abc": [float(np.float32(0.1)), float(np.float32(0.9))], "xyz": [0.5], "empty": [],
                   "7": [1.0, 0.0], "_protocol": protocol}
    back = read_actionness(path)
    assert list(back) == ["abc", "xyz", "empty", "7"]  # "_protocol" is not a video
    np.testing.assert_array_equal(back["abc"], np.array([0.1, 0.9], dtype=np.float32).astype(np.float64))
    assert back["abc"].dtype == np.float64 and back["empty"].shape == (0,)
    assert read_actionness(write_actionness(tmp_path / "n.json", {})) == {}


@pytest.mark.parametrize(
    ("scores", "needle"),
    [
        ({"_protocol": [0.1]}, "reserved"),
        ({"v": [[0.1, 0.2]]}, "1-D"),
        ({"v": [0.1, float("nan")]}, "NaN"),
        ({"v": np.array([0.1, np.inf])}, "NaN or infinite"),
        ({"v": ["high"]}, "scores must be numbers"),
        ({"v": [object()]}, "cannot write a object"),
    ],
)
def test_write_actionness_refuses_bad_scores(tmp_path, scores, needle):
    with pytest.raises(EvaluationInputError, match="a.json: not written") as info:
        write_actionness(tmp_path / "a.json", scores)
    assert needle in str(info.value)


def test_read_actionness_errors(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"v": [0.1, None]}))
    with pytest.raises(EvaluationInputError, match=r"a.json: video 'v' segment 1: score must be a number"):
        read_actionness(path)
    path.write_text(json.dumps([0.1]))
    with pytest.raises(EvaluationInputError, match="expected a JSON object"):
        read_actionness(path)


def test_old_reader_names_still_import():
    from bsp_lightning.evaluation import read_activitynet_predictions
    from bsp_lightning.evaluation.cli import read_actionness_predictions, read_grounding_predictions
    from bsp_lightning.evaluation.detection import ActivityNetPredictions
    from bsp_lightning.evaluation.detection import read_activitynet_predictions as from_detection

    assert read_activitynet_predictions is from_detection is read_detections
    assert ActivityNetPredictions is formats.ActivityNetPredictions
    assert read_grounding_predictions is formats.read_grounding_predictions and callable(read_actionness_predictions)
