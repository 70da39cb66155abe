"""THUMOS-14 loader on tiny per-class files in the official layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.annotations import (
    THUMOS14_CLASS_IDS,
    THUMOS14_CLASSES,
    AnnotationError,
    durations_from_features,
    load_thumos14,
    read_durations,
)


def write_split(folder: Path, split="val", skip=(), extra=None) -> Path:
    """Official layout: one file per class, two spaces after the video name, Windows-free plain lines."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = {name: [] for name in THUMOS14_CLASSES}
    lines["BaseballPitch"] = ["video_validation_0000051  67.5 75.9", "video_validation_0000051  85.1 99.6"]
    lines["CliffDiving"] = ["video_validation_0000162  7.9 11.4", "video_validation_0000162  25.2 28.9"]
    lines["Diving"] = [
        "video_validation_0000162  7.9 11.4",  # = CliffDiving
        "video_validation_0000162  25.2 28.9",  # = CliffDiving
        "video_validation_0000170  3.0 6.2",
        "video_validation_0000170  3.0 6.2",  # repeated line
    ]
    lines["Billiards"] = ["video_validation_0000266  72.8 76.4", "video_validation_0000266\t80.0\t79.0"]
    for name in THUMOS14_CLASSES:
        if name in skip:
            continue
        body = lines[name] or ["video_validation_0000900  1.0 2.0"]
        (folder / f"{name}_{split}.txt").write_text("\n".join(body) + "\n")
    (folder / f"Ambiguous_{split}.txt").write_text(
        "video_validation_0000051  60.2 62.0\nvideo_validation_0000266  70.0 71.1\n"
    )
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return folder


def test_classes_and_indices():
    assert len(THUMOS14_CLASSES) == 20 and THUMOS14_CLASSES[0] == "BaseballPitch"
    assert THUMOS14_CLASS_IDS["CliffDiving"] == 22 and THUMOS14_CLASS_IDS["VolleyballSpiking"] == 97


def test_load_keeps_cliffdiving_under_diving_and_ambiguous_apart(tmp_path):
    ann = load_thumos14(write_split(tmp_path / "annotation"))
    assert ann.split == "val"
    base = [s for s in ann.segments if s.label == "BaseballPitch"]
    assert [(s.video_id, s.start, s.end, s.label_index, s.class_id) for s in base] == [
        ("video_validation_0000051", 67.5, 75.9, 0, 7),
        ("video_validation_0000051", 85.1, 99.6, 0, 7),
    ]
    diving = [s for s in ann.segments if s.label == "Diving"]
    assert len(diving) == 4 and diving[0].label_index == THUMOS14_CLASSES.index("Diving")
    assert [(s.video_id, s.start, s.end, s.label) for s in ann.ambiguous] == [
        ("video_validation_0000051", 60.2, 62.0, "Ambiguous"),
        ("video_validation_0000266", 70.0, 71.1, "Ambiguous"),
    ]
    # 2 + 2 + 4 + 2 + 16 one-line classes
    assert len(ann.segments) == 26
    assert ann.report.counts["records"] == 26 and ann.report.counts["classes"] == 20
    assert ann.report.counts["ambiguous"] == 2
    assert ann.report.anomalies == {"cliffdiving_also_diving": 2, "duplicate_instance": 1, "start_after_end": 1}
    assert all(s.duration is None for s in ann.segments)


def test_durations_from_json_and_csv(tmp_path):
    folder = write_split(tmp_path / "annotation")
    durations = {"video_validation_0000051": 90.0, "video_validation_0000266": 200.0}
    (tmp_path / "d.json").write_text(json.dumps(durations))
    ann = load_thumos14(folder, durations=tmp_path / "d.json")
    assert ann.durations == durations
    base = [s for s in ann.segments if s.label == "BaseballPitch"]
    assert [s.duration for s in base] == [90.0, 90.0]
    assert ann.report.anomalies["end_beyond_duration"] == 1  # 85.1-99.6 in a 90 s video
    assert ann.report.anomalies["missing_duration"] == 3  # 0162, 0170, 0900
    (tmp_path / "d.csv").write_text("video,duration\nvideo_validation_0000051,90\nvideo_validation_0000266,200.0\n")
    assert read_durations(tmp_path / "d.csv") == durations
    (tmp_path / "n.csv").write_text("video_validation_0000051,90\n")
    assert read_durations(tmp_path / "n.csv") == {"video_validation_0000051": 90.0}


def test_durations_from_features(tmp_path):
    feats = tmp_path / "features"
    feats.mkdir()
    np.save(feats / "video_test_0000004.npy", np.zeros((30, 4), np.float32))
    np.save(feats / "video_test_0000006.npy", np.zeros((75, 4), np.float32))
    assert durations_from_features(feats, stride=8, fps=30.0) == {
        "video_test_0000004": 8.0,
        "video_test_0000006": 20.0,
    }
    fps = {"video_test_0000004": 24.0, "video_test_0000006": 25.0}
    assert durations_from_features(feats, 8, fps) == {"video_test_0000004": 10.0, "video_test_0000006": 24.0}
    assert durations_from_features(feats, 8, fps.__getitem__)["video_test_0000004"] == 10.0
    with pytest.raises(AnnotationError, match="no frame rate given for video 'video_test_0000006'"):
        durations_from_features(feats, 8, {"video_test_0000004": 24.0})
    with pytest.raises(AnnotationError, match="no .npy feature files"):
        durations_from_features(tmp_path, 8, 30.0)


def test_missing_and_unknown_files_counted(tmp_path):
    folder = write_split(tmp_path / "a", split="test", skip=("Shotput",), extra={"Dancing_test.txt": "v 1 2\n"})
    (folder / "Ambiguous_test.txt").unlink()
    ann = load_thumos14(folder)
    assert ann.split == "test"
    assert ann.report.anomalies["missing_class_file"] == 1
    assert ann.report.anomalies["unknown_class_file"] == 1
    assert ann.report.anomalies["missing_ambiguous_file"] == 1
    assert ann.ambiguous == [] and "Dancing" not in {s.label for s in ann.segments}


def test_split_selection(tmp_path):
    folder = write_split(tmp_path / "a", split="val")
    write_split(folder, split="test")
    with pytest.raises(AnnotationError, match="both _val and _test"):
        load_thumos14(folder)
    assert load_thumos14(folder, split="test").split == "test"


@pytest.mark.parametrize(
    "line, message",
    [
        ("video_validation_0000051 67.5", "expected 'video start end'"),
        ("video_validation_0000051 a 75.9", "start is not a number"),
    ],
)
def test_malformed_line(tmp_path, line, message):
    folder = write_split(tmp_path / "a", extra={"GolfSwing_val.txt": f"video_validation_0000001  1.0 2.0\n{line}\n"})
    with pytest.raises(AnnotationError, match=message) as info:
        load_thumos14(folder)
    assert str(info.value).startswith(f"{folder / 'GolfSwing_val.txt'}:2:")


def test_bad_inputs(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        load_thumos14(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnnotationError, match="no <Class>_val.txt"):
        load_thumos14(tmp_path / "empty")
    folder = write_split(tmp_path / "a", extra={"HighJump_val.txt": "\n"})
    with pytest.raises(AnnotationError, match="empty THUMOS-14 class file"):
        load_thumos14(folder)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(AnnotationError, match="malformed JSON"):
        read_durations(tmp_path / "bad.json")
    (tmp_path / "bad.csv").write_text("video,duration\nvideo_validation_0000051,ninety\n")
    with pytest.raises(AnnotationError, match="bad.csv:2: duration is not a number"):
        read_durations(tmp_path / "bad.csv")
