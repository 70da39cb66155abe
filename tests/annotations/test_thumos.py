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


# --- durations side files: columns by header name, nested JSON, conflicts -----------------------------------

GTAD_HEADER = "video-name,t-init,t-end,f-init,f-end,video-duration,frame-rate,video-frames,label_idx"


def gtad_csv(path: Path, rows: list[tuple[str, float, float, float]]) -> Path:
    """G-TAD's thumos14_test_groundtruth.csv layout: one row per instance, duration in column 6."""
    lines = [GTAD_HEADER]
    for video, start, end, duration in rows:
        lines.append(f"{video},{start},{end},{int(start * 30)},{int(end * 30)},{duration},30.0,{int(duration * 30)},7")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gtad_groundtruth_csv_read_by_header(tmp_path):
    # The old reader took the second column (t-init) as the duration: every instance ended after "its video".
    csv_path = gtad_csv(tmp_path / "thumos14_test_groundtruth.csv", [
        ("video_validation_0000051", 67.5, 75.9, 91.2),
        ("video_validation_0000051", 85.1, 99.6, 91.2),  # the video repeats, same duration
        ("video_validation_0000266", 72.8, 76.4, 200.0),
    ])  # fmt: skip
    assert read_durations(csv_path) == {"video_validation_0000051": 91.2, "video_validation_0000266": 200.0}
    ann = load_thumos14(write_split(tmp_path / "annotation"), durations=csv_path)
    # Only 85.1-99.6 of the 91.2 s video ends late (the ambiguous 0051/0266 segments and 72.8-76.4 fit).
    assert ann.report.anomalies["end_beyond_duration"] == 1


@pytest.mark.parametrize("column", ["duration", "Duration", "video_duration", "seconds", "duration_second"])
def test_duration_column_names(tmp_path, column):
    path = tmp_path / "d.csv"
    path.write_text(f"fps,{column},video\n30,12.5,a\n25,40,b\n")
    assert read_durations(path) == {"a": 12.5, "b": 40.0}


def test_two_column_csv_keeps_any_header(tmp_path):
    (tmp_path / "d.csv").write_text("vid,len\na,3\nb,4.5\n")
    assert read_durations(tmp_path / "d.csv") == {"a": 3.0, "b": 4.5}


def test_nested_json_video_info(tmp_path):
    # mmtad/OpenTAD TH14_video_info.json: {video: {"duration": s, "fps": f}}
    info = {"video_validation_0000051": {"duration": 91.2, "fps": 30.0},
            "video_validation_0000266": {"fps": 25.0, "duration_second": 200}}
    (tmp_path / "TH14_video_info.json").write_text(json.dumps(info))
    assert read_durations(tmp_path / "TH14_video_info.json") == {
        "video_validation_0000051": 91.2, "video_validation_0000266": 200.0,
    }  # fmt: skip
    (tmp_path / "bad.json").write_text(json.dumps({"v": {"fps": 30.0, "frames": 900}}))
    with pytest.raises(AnnotationError, match=r"bad.json: entry 'v' has no duration key \(found: fps, frames;"):
        read_durations(tmp_path / "bad.json")


def test_conflicting_durations_are_refused(tmp_path):
    path = gtad_csv(tmp_path / "g.csv", [("v1", 1.0, 2.0, 50.0), ("v2", 1.0, 2.0, 9.0), ("v1", 3.0, 4.0, 51.0)])
    with pytest.raises(AnnotationError, match=r"g.csv: conflicting durations for video 'v1': 50 \(line 2\) and 51 "
                       r"\(line 4\)"):
        read_durations(path)
    (tmp_path / "d.json").write_text('{"v1": 50.0, "v1": 51.0}')
    with pytest.raises(AnnotationError, match="d.json: key 'v1' appears twice with different values"):
        read_durations(tmp_path / "d.json")
    (tmp_path / "same.json").write_text('{"v1": 50.0, "v1": 50.0}')
    assert read_durations(tmp_path / "same.json") == {"v1": 50.0}


def test_unknown_columns_name_the_file_and_columns(tmp_path):
    (tmp_path / "d.csv").write_text("clip,start,end,total\na,1,2,30\n")
    with pytest.raises(AnnotationError) as info:
        read_durations(tmp_path / "d.csv")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'd.csv'}: cannot tell the video and duration columns")
    assert "'clip', 'start', 'end', 'total'" in message and "video-duration" not in message
    (tmp_path / "n.csv").write_text("a,1,2,30\n")
    with pytest.raises(AnnotationError, match="columns: no header row"):
        read_durations(tmp_path / "n.csv")
    (tmp_path / "neg.csv").write_text("video,duration\na,-3\n")
    with pytest.raises(AnnotationError, match="neg.csv:2: duration of 'a' must be positive"):
        read_durations(tmp_path / "neg.csv")


def test_data_inspect_thumos14_with_gtad_csv(tmp_path, capsys):
    from bsp_lightning.annotations.cli import main

    csv_path = gtad_csv(tmp_path / "gt.csv", [("video_validation_0000051", 67.5, 75.9, 91.2),
                                              ("video_validation_0000266", 72.8, 76.4, 200.0)])
    folder = write_split(tmp_path / "annotation")
    out = tmp_path / "report.json"
    assert main(["inspect", "thumos14", str(folder), "--durations", str(csv_path), "--json", str(out)]) == 0
    anomalies = json.loads(out.read_text())["anomalies"]
    assert anomalies["end_beyond_duration"] == 1 and anomalies["missing_duration"] == 3
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n")
    assert main(["inspect", "thumos14", str(folder), "--durations", str(tmp_path / "bad.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.csv: cannot tell the video and duration columns" in err
