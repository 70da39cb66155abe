"""``bsp-lightning data convert csv``: your own CSV into ActivityNet / Charades-STA files, every drop counted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.annotations import load_activitynet, load_charades_sta
from bsp_lightning.annotations.cli import main
from bsp_lightning.annotations.convert import convert_csv, split_videos

ROWS = """video,start,end,label,duration
a.mp4,1.0,3.0,jump,10
a.mp4,4.0,4.0,jump,10
b,2.0,12.5,run,11
b,11.0,11.5,run,11
c,-0.5,2.0,,8
c,1.0,2.0,run,8
d,0,1,run,5
e,3,1,run,6
"""


def test_activitynet_rows_kept_clipped_and_dropped_with_counts(tmp_path):
    src = tmp_path / "mine.csv"
    src.write_text(ROWS)
    result = convert_csv(src, "activitynet", tmp_path / "anet.json", split=[0.5, 0.25, 0.25], seed=3)
    report = result.report.to_dict()
    assert report["counts"]["rows"] == 8 and report["counts"]["kept"] == 4 and report["counts"]["videos"] == 4
    assert report["anomalies"] == {"end_not_after_start": 2, "starts_after_video_end": 1, "no_label": 1,
                                   "end_clipped": 1}
    assert report["examples"]["end_not_after_start"] == ["mine.csv:3", "mine.csv:9"]
    anet = load_activitynet(tmp_path / "anet.json")
    segments = {(s.video_id, s.start, s.end, s.label) for s in anet.segments}
    assert segments == {("a", 1.0, 3.0, "jump"), ("b", 2.0, 11.0, "run"), ("c", 1.0, 2.0, "run"),
                        ("d", 0.0, 1.0, "run")}
    assert {v: m.duration for v, m in anet.videos.items()} == {"a": 10, "b": 11, "c": 8, "d": 5}
    subsets = {v: m.subset for v, m in anet.videos.items()}
    assert sorted(subsets.values()) == ["testing", "training", "training", "validation"]
    assert subsets == result.subsets


def test_split_is_seeded_by_video_and_covers_every_part():
    ids = [f"v{i}" for i in range(10)]
    first = split_videos(ids, ("training", "validation", "testing"), (0.6, 0.2, 0.2), seed=0)
    assert first == split_videos(list(reversed(ids)), ("training", "validation", "testing"), (0.6, 0.2, 0.2), 0)
    assert sorted(first.values()).count("training") == 6 and sorted(first.values()).count("testing") == 2
    order = [sorted(ids)[i] for i in np.random.default_rng(0).permutation(10)]  # shuffled, then cut 6 / 2 / 2
    assert [first[v] for v in order] == ["training"] * 6 + ["validation"] * 2 + ["testing"] * 2
    assert first != split_videos(ids, ("training", "validation", "testing"), (0.6, 0.2, 0.2), seed=1)
    three = split_videos(["x", "y", "z"], ("training", "validation", "testing"), (0.9, 0.05, 0.05), seed=0)
    assert sorted(three.values()) == ["testing", "training", "validation"]
    with pytest.raises(ValueError, match="summing to 1"):
        split_videos(ids, ("train", "test"), (0.5, 0.6), seed=0)


def test_durations_and_unknown_videos_from_a_video_folder(tmp_path, mp4_writer, frame_maker):
    videos = tmp_path / "videos"
    mp4_writer(videos / "a.mp4", frame_maker(50), fps=25)  # 2 s
    mp4_writer(videos / "z.mp4", frame_maker(25), fps=25)  # 1 s, no row
    src = tmp_path / "mine.csv"
    src.write_text("video,start,end,sentence\na,0.5,1.5,a person opens a door.\na,0.1,2.5,someone runs.\n"
                   "b,0,1,not in the folder.\na,1,2,\n")
    result = convert_csv(src, "charades-sta", tmp_path / "sta", videos=videos, split=[1.0, 0.0])
    report = result.report.to_dict()
    assert report["anomalies"] == {"unknown_video": 1, "no_sentence": 1, "end_clipped": 1,
                                   "videos_without_rows": 1}
    assert report["examples"]["videos_without_rows"] == ["z"]
    sta = load_charades_sta(tmp_path / "sta" / "charades_sta_train.txt", tmp_path / "sta" / "Charades_v1_train.csv")
    assert [(q.video_id, q.start, q.end, q.sentence, q.duration) for q in sta.queries] == [
        ("a", 0.5, 1.5, "a person opens a door.", 2.0), ("a", 0.1, 2.0, "someone runs.", 2.0)]
    assert (tmp_path / "sta" / "charades_sta_test.txt").read_text() == ""


def test_cli_reports_and_bad_input_is_one_line(tmp_path, capsys):
    src = tmp_path / "mine.csv"
    src.write_text(ROWS)
    assert main(["convert", "csv", str(src), "--to", "activitynet", "--out", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "end_not_after_start" in out and "kept" in out and f"wrote {tmp_path / 'a.json'}" in out
    assert json.loads((tmp_path / "a.json").read_text())["version"] == "VERSION 1.3"
    src.write_text("video,begin,end,label\na,1,2,x\n")
    assert main(["convert", "csv", str(src), "--to", "activitynet", "--out", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{src}:1: no column start" in err
    src.write_text("video,start,end,label\na,1,x,y\n")
    assert main(["convert", "csv", str(src), "--to", "activitynet", "--out", str(tmp_path / "b.json")]) == 2
    assert f"{src}:2: end is not a number" in capsys.readouterr().err
    src.write_text("video,start,end,label\na,1,2,y\n")
    assert main(["convert", "csv", str(src), "--to", "activitynet", "--out", str(tmp_path / "b.json")]) == 2
    assert "no duration for video 'a'" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()
