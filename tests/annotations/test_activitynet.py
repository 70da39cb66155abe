"""ActivityNet-1.3 loader on a tiny file in the official format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsp_lightning.annotations import AnnotationError, load_activitynet, with_v_prefix, without_v_prefix

TAXONOMY = [
    {"parentName": None, "nodeName": "Root", "nodeId": 0, "parentId": None},
    {"parentName": "Root", "nodeName": "Sports", "nodeId": 1, "parentId": 0},
    {"parentName": "Sports", "nodeName": "Ballet", "nodeId": 2, "parentId": 1},
    {"parentName": "Sports", "nodeName": "Long jump", "nodeId": 3, "parentId": 1},
    {"parentName": "Root", "nodeName": "Playing piano", "nodeId": 4, "parentId": 0},
]


def _video(subset, duration, annotations, vid="x"):
    return {
        "duration": duration,
        "subset": subset,
        "resolution": "1920x1080",
        "url": f"https://www.youtube.com/watch?v={vid}",
        "annotations": annotations,
    }


def database():
    return {
        "QOlSCBRmfWY": _video("training", 82.73, [{"segment": [0.83, 19.86], "label": "Ballet"}]),
        "sJFgo9H6zNo": _video(
            "validation",
            141.71,
            [
                {"segment": [0.0, 48.06], "label": "Long jump"},
                {"segment": [60.0, 150.2], "label": "Long jump"},  # end beyond duration
                {"segment": [70.0, 65.0], "label": "Ballet"},  # start > end
                {"segment": [12.5, 12.5], "label": "Ballet"},  # zero length
            ],
        ),
        "V1nvJ-eRNAs": _video("validation", None, [{"segment": [-1.0, 5.0], "label": "Surfing"}]),
        "xQ_0yqQ1xDk": _video("testing", 30.0, []),
    }


def write(tmp_path: Path, obj, name="activity_net.v1-3.min.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def official(tmp_path):
    return write(tmp_path, {"version": "VERSION 1.3", "taxonomy": TAXONOMY, "database": database()})


def test_all_subsets_and_classes(tmp_path):
    ann = load_activitynet(official(tmp_path))
    assert ann.version == "VERSION 1.3"
    assert len(ann.videos) == 4 and len(ann.segments) == 6
    # labels of the file plus taxonomy leaves (Playing piano has no instance; Surfing is not in the taxonomy)
    assert ann.classes == ["Ballet", "Long jump", "Playing piano", "Surfing"]
    assert ann.class_index["Long jump"] == 1
    assert ann.report.anomalies == {
        "end_beyond_duration": 1,
        "start_after_end": 1,
        "zero_length": 1,
        "negative_start": 1,
        "missing_duration": 1,
        "label_not_in_taxonomy": 1,
    }
    assert ann.report.counts == {"records": 6, "videos": 4, "classes": 4}


def test_validation_subset_not_clipped(tmp_path):
    ann = load_activitynet(official(tmp_path), subset="validation")
    assert set(ann.videos) == {"sJFgo9H6zNo", "V1nvJ-eRNAs"}
    seg = [s for s in ann.segments if s.video_id == "sJFgo9H6zNo"]
    assert [(s.start, s.end, s.label) for s in seg] == [
        (0.0, 48.06, "Long jump"),
        (60.0, 150.2, "Long jump"),
        (70.0, 65.0, "Ballet"),
        (12.5, 12.5, "Ballet"),
    ]
    assert seg[0].duration == 141.71 and seg[0].subset == "validation"
    assert ann.videos["V1nvJ-eRNAs"].duration is None
    # classes do not depend on the subset
    assert ann.classes == load_activitynet(official(tmp_path), subset="training").classes


def test_testing_subset_has_videos_without_segments(tmp_path):
    ann = load_activitynet(official(tmp_path), subset="testing")
    assert list(ann.videos) == ["xQ_0yqQ1xDk"] and ann.segments == []
    assert ann.segments_by_video() == {"xQ_0yqQ1xDk": []}


def test_clip_and_drop_invalid(tmp_path):
    ann = load_activitynet(official(tmp_path), subset="validation", clip=True, drop_invalid=True)
    assert [(s.video_id, s.start, s.end) for s in ann.segments] == [
        ("sJFgo9H6zNo", 0.0, 48.06),
        ("sJFgo9H6zNo", 60.0, 141.71),
        ("V1nvJ-eRNAs", 0.0, 5.0),
    ]
    assert ann.report.anomalies["clipped"] == 2 and ann.report.anomalies["dropped"] == 2


def test_v_prefix(tmp_path):
    ann = load_activitynet(official(tmp_path), subset="training", add_v_prefix=True)
    assert list(ann.videos) == ["v_QOlSCBRmfWY"] and ann.segments[0].video_id == "v_QOlSCBRmfWY"
    prefixed = {with_v_prefix(k): v for k, v in database().items()}
    ann = load_activitynet(write(tmp_path, {"database": prefixed}, "p.json"), strip_v_prefix=True)
    assert set(ann.videos) == set(database())
    assert without_v_prefix("v_abc") == "abc" and without_v_prefix("abc") == "abc"
    with pytest.raises(ValueError, match="mutually exclusive"):
        load_activitynet(official(tmp_path), strip_v_prefix=True, add_v_prefix=True)


def test_without_taxonomy_classes_come_from_annotations(tmp_path):
    ann = load_activitynet(write(tmp_path, {"database": database()}))
    assert ann.classes == ["Ballet", "Long jump", "Surfing"]
    assert "label_not_in_taxonomy" not in ann.report.anomalies


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"database": {', "malformed JSON"),
        ("[]", "no 'database'"),
        ('{"version": "1.3"}', "no 'database'"),
        ('{"database": {}}', "'database' is empty"),
        ('{"database": {"a": {"duration": 3, "annotations": []}}}', "missing key 'subset'"),
        ('{"database": {"a": {"subset": "training", "duration": 3}}}', "missing key 'annotations'"),
        ('{"database": {"a": {"subset": "training", "annotations": [{"label": "x"}]}}}', "missing key 'segment'"),
        ('{"database": {"a": {"subset": "training", "annotations": [{"segment": [1, 2]}]}}}', "missing key 'label'"),
        ('{"database": {"a": {"subset": "training", "annotations": [{"segment": [1], "label": "x"}]}}}', "must be"),
        (
            '{"database": {"a": {"subset": "training", "annotations": [{"segment": ["a", 2], "label": "x"}]}}}',
            "start is not a number",
        ),
        ('{"database": {"a": {"subset": "training", "duration": "long", "annotations": []}}}', "'duration'"),
        ("  \n", "empty JSON file"),
    ],
)
def test_errors_name_file_and_problem(tmp_path, content, message):
    path = tmp_path / "gt.json"
    path.write_text(content)
    with pytest.raises(AnnotationError, match=message) as info:
        load_activitynet(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_malformed_json_reports_line(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text('{\n  "database": {\n    "a": }\n}')
    with pytest.raises(AnnotationError) as info:
        load_activitynet(path)
    assert info.value.line == 3 and str(info.value).startswith(f"{path}:3: malformed JSON")


def test_missing_file_and_unknown_subset(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        load_activitynet(tmp_path / "nope.json")
    with pytest.raises(AnnotationError, match="subset 'validaton' not in file"):
        load_activitynet(official(tmp_path), subset="validaton")
