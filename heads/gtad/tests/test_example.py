"""The study's inputs for G-TAD: the toy ActivityNet JSON and oracle video-level class scores."""

import json
from pathlib import Path

from bsp_gtad.classifier import read_class_scores
from bsp_gtad.example import ORACLE_CLASS_SCORES, study_inputs, write_oracle_class_scores


def _anet(path: Path) -> Path:
    database = {
        "a": {"subset": "training", "duration": 10.0, "annotations": [{"segment": [1, 2], "label": "run"},
                                                                      {"segment": [3, 4], "label": "jump"}]},
        "b": {"subset": "testing", "duration": 8.0, "annotations": [{"segment": [0, 5], "label": "swim"}]},
        "c": {"subset": "testing", "duration": 8.0, "annotations": []},
    }
    path.write_text(json.dumps({"version": "VERSION 1.3", "database": database}))
    return path


def test_oracle_scores_are_the_classes_each_video_contains(tmp_path: Path):
    out = write_oracle_class_scores(_anet(tmp_path / "anet.json"), tmp_path / "scores.json")
    data = json.loads(out.read_text())
    assert data["class"] == ["jump", "run", "swim"]
    assert data["results"] == {"a": [1.0, 1.0, 0.0], "b": [0.0, 0.0, 1.0], "c": [0.0, 0.0, 0.0]}
    scores = read_class_scores(out, ["a", "b"], ["jump", "run", "swim"])  # the format G-TAD reads
    assert scores.names == ["jump", "run", "swim"] and scores.scores("b").tolist() == [0.0, 0.0, 1.0]


def test_study_inputs_point_at_the_annotations_and_write_the_scores_once(tmp_path: Path):
    _anet(tmp_path / "activity_net.json")
    args = study_inputs(tmp_path)
    assert args == [f"--data.annotations={tmp_path / 'activity_net.json'}",
                    f"--model.class_scores={tmp_path / ORACLE_CLASS_SCORES}"]
    written = (tmp_path / ORACLE_CLASS_SCORES).stat().st_mtime_ns
    assert study_inputs(tmp_path) == args and (tmp_path / ORACLE_CLASS_SCORES).stat().st_mtime_ns == written
