"""CrossTask loaders and 0.2 s actionness labels."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.annotations import (
    AnnotationError,
    CrossTaskStep,
    load_crosstask,
    num_segments,
    read_crosstask_annotations,
    read_tasks,
    read_videos,
    segment_labels,
)

TASKS = """23521
Make Jello Shots
http://www.wikihow.com/Make-Jello-Shots
6
pour water,pour juice,pour jello powder,pour alcohol,stir mixture,pour mixture into cup

59684
Build Floating Shelves
http://www.wikihow.com/Build-Floating-Shelves
5
cut shelf,assemble shelf,sand shelf,paint shelf,attach shelf

"""
VIDEOS = (
    "23521,_xEl4mMQS-0,https://www.youtube.com/watch?v=_xEl4mMQS-0\n"
    "23521,IM1ax4S_Mbk,https://www.youtube.com/watch?v=IM1ax4S_Mbk\n"
    "59684,8ulPbX3yVh8,https://www.youtube.com/watch?v=8ulPbX3yVh8\n"
)


def make_release(root: Path) -> Path:
    ann = root / "annotations"
    ann.mkdir(parents=True)
    (root / "tasks_primary.txt").write_text(TASKS)
    (root / "videos.csv").write_text(VIDEOS)
    (ann / "23521__xEl4mMQS-0.csv").write_text("1,18.69,25.77\n2,26.0,30.2\n3,40.5,38.0\n")
    (ann / "23521_IM1ax4S_Mbk.csv").write_text("5,0.0,1.6\n7,2.0,2.0\n")  # 7 > 6 steps; zero length
    (ann / "59684_8ulPbX3yVh8.csv").write_text("")  # no step annotated
    (ann / "77721_zzzzzzzzzzz.csv").write_text("1,1.0,2.0\n")  # task and video not listed
    (ann / "README.txt").write_text("not an annotation")
    return root


def test_tasks_and_videos(tmp_path):
    root = make_release(tmp_path)
    tasks = read_tasks(root / "tasks_primary.txt")
    assert list(tasks) == ["23521", "59684"]
    jello = tasks["23521"]
    assert (jello.title, jello.url, jello.n_steps) == (
        "Make Jello Shots", "http://www.wikihow.com/Make-Jello-Shots", 6
    )  # fmt: skip
    assert jello.steps[0] == "pour water" and jello.steps[-1] == "pour mixture into cup"
    videos = read_videos(root / "videos.csv")
    assert [(v.task_id, v.video_id) for v in videos][:2] == [("23521", "_xEl4mMQS-0"), ("23521", "IM1ax4S_Mbk")]


def test_annotations_split_task_at_first_underscore(tmp_path):
    root = make_release(tmp_path)
    steps = read_crosstask_annotations(root / "annotations")
    assert set(steps) == {"_xEl4mMQS-0", "IM1ax4S_Mbk", "8ulPbX3yVh8", "zzzzzzzzzzz"}
    assert steps["_xEl4mMQS-0"] == [CrossTaskStep(1, 18.69, 25.77), CrossTaskStep(2, 26.0, 30.2)]
    assert steps["8ulPbX3yVh8"] == []


def test_load_release_counts_anomalies(tmp_path):
    ann = load_crosstask(make_release(tmp_path))
    assert ann.video_task["IM1ax4S_Mbk"] == "23521"
    assert ann.report.anomalies == {
        "start_after_end": 1,
        "zero_length": 1,
        "step_out_of_range": 1,
        "empty_annotation_file": 1,
        "task_not_in_tasks_file": 1,
        "video_not_in_videos_csv": 1,
        "unrecognised_file": 1,
    }
    assert ann.report.counts == {
        "records": 5, "videos": 4, "tasks": 3, "tasks_in_tasks_file": 2, "videos_in_videos_csv": 3
    }  # fmt: skip
    # the annotations folder alone also loads
    assert set(load_crosstask(tmp_path / "annotations").steps) == set(ann.steps)


def test_video_in_two_tasks_is_merged(tmp_path):
    ann_dir = tmp_path / "annotations"
    ann_dir.mkdir()
    (ann_dir / "1_a_b.csv").write_text("1,0.0,1.0\n")
    (ann_dir / "2_a_b.csv").write_text("2,3.0,4.0\n")
    ann = load_crosstask(ann_dir)
    assert ann.steps["a_b"] == [CrossTaskStep(1, 0.0, 1.0), CrossTaskStep(2, 3.0, 4.0)]
    assert ann.report.anomalies["video_in_several_tasks"] == 1


def test_num_segments():
    assert num_segments(0.0) == 0
    assert num_segments(0.2) == 1
    assert num_segments(0.21) == 2
    assert num_segments(0.6) == 3  # 0.6 / 0.2 = 2.9999999999999996
    assert num_segments(2.2) == 11  # 2.2 / 0.2 = 11.000000000000002
    assert num_segments(10.0, segment_length=1.0) == 10
    with pytest.raises(ValueError):
        num_segments(float("nan"))


def test_segment_labels_by_hand():
    # segments: [0,.2) [.2,.4) [.4,.6) [.6,.8) [.8,1.0) [1.0,1.2)
    got = segment_labels([CrossTaskStep(1, 0.6, 0.8)], 6)
    assert got.tolist() == [False, False, False, True, False, False]  # touching 0.6 and 0.8 does not count
    assert segment_labels([(0.61, 0.81)], 6).tolist() == [False, False, False, True, True, False]
    assert segment_labels([(0.1, 0.1)], 3).tolist() == [True, False, False]  # zero length inside a segment
    assert segment_labels([(0.0, 0.2), (1.0, 9.0)], 6).tolist() == [True, False, False, False, False, True]
    assert segment_labels([], 4).tolist() == [False] * 4
    assert segment_labels([(5.0, 9.0)], 3).dtype == bool


def _slow_labels(steps, count, length="0.2"):
    """Exact decimal arithmetic: the independent reference."""
    seg = Fraction(length)
    out = []
    for i in range(count):
        lo, hi = i * seg, (i + 1) * seg
        out.append(any(Fraction(repr(s)) < hi and Fraction(repr(e)) > lo for s, e in steps))
    return out


def test_segment_labels_match_exact_reference():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(0, 5))
        starts = np.round(rng.uniform(0, 12, k), int(rng.integers(1, 3)))
        ends = np.round(starts + rng.uniform(0, 3, k), 1)
        steps = [(float(s), float(e)) for s, e in zip(starts, ends)]
        count = int(rng.integers(1, 70))
        assert segment_labels(steps, count).tolist() == _slow_labels(steps, count)


def test_crosstask_errors(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        load_crosstask(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnnotationError, match="no <task>_<video>.csv"):
        read_crosstask_annotations(tmp_path / "empty")
    ann = tmp_path / "ann"
    ann.mkdir()
    for body, message in [
        ("1,1.0\n", "expected 'step,start,end'"),
        ("one,1.0,2.0\n", "step is not an integer"),
        ("0,1.0,2.0\n", "1-based"),
        ("1,1.0,x\n", "end is not a number"),
    ]:
        (ann / "23521_abc.csv").write_text("1,0.5,0.7\n" + body)
        with pytest.raises(AnnotationError, match=message) as info:
            read_crosstask_annotations(ann)
        assert str(info.value).startswith(f"{ann / '23521_abc.csv'}:2: ")
    tasks = tmp_path / "tasks_primary.txt"
    tasks.write_text("23521\nMake Jello Shots\nhttp://x\nsix\na,b\n\n")
    with pytest.raises(AnnotationError, match=r"tasks_primary.txt:4: step count is not an integer"):
        read_tasks(tasks)
    tasks.write_text("23521\nMake Jello Shots\n")
    with pytest.raises(AnnotationError, match=r":1: incomplete task block"):
        read_tasks(tasks)
    tasks.write_text("")
    with pytest.raises(AnnotationError, match="empty CrossTask tasks file"):
        read_tasks(tasks)
    videos = tmp_path / "videos.csv"
    videos.write_text("23521,abc\n")
    with pytest.raises(AnnotationError, match=r"videos.csv:1: expected 'task,video_id,url'"):
        read_videos(videos)


def test_release_folder_accepted_by_contract_reader(tmp_path):
    root = make_release(tmp_path)
    assert read_crosstask_annotations(root) == read_crosstask_annotations(root / "annotations")


def test_negative_start_is_counted_and_kept(tmp_path, capsys):
    from bsp_lightning.annotations.cli import main

    ann_dir = tmp_path / "annotations"
    ann_dir.mkdir()
    (ann_dir / "1_a.csv").write_text("1,-0.5,0.3\n2,1.0,1.4\n")
    ann = load_crosstask(ann_dir)
    # kept: the part before 0 s lies outside every segment; segments 0 and 1 ([0, 0.4)) are marked
    assert ann.steps["a"] == [CrossTaskStep(1, -0.5, 0.3), CrossTaskStep(2, 1.0, 1.4)]
    assert ann.report.anomalies == {"negative_start": 1}
    assert ann.report.examples["negative_start"] == ["1_a.csv:1"]
    assert segment_labels(ann.steps["a"], 4).tolist() == [True, True, False, False]
    assert main(["inspect", "crosstask", str(tmp_path)]) == 0
    assert "negative_start" in capsys.readouterr().out
