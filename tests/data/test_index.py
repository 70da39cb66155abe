"""VideoIndex over the official Kinetics CSV and the usual folder layouts (files are only listed, not decoded)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bsp_lightning.data.index import VideoIndex, VideoRecord, kinetics_clip_name

CSV = """label,youtube_id,time_start,time_end,split
"passing American football (in game)",-abc_DEF123,14,24,train
abseiling,0wCz0S6uuLo,0,10,train
abseiling,zzzzzzzzzzz,30,40,train
"tying bow tie",Aa1-bB2_cC3,5,15,train
"tying bow tie",missing0001,1,11,train
"tying bow tie",missing0002,2,12,train
abseiling,valvideo001,7,17,val
"""


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0")
    return path


@pytest.fixture
def kinetics(tmp_path) -> tuple[Path, Path]:
    root = tmp_path / "kinetics"
    # label folder as-is (spaces, parentheses), mmaction2's renaming, a flat split folder, a bare-id file name
    _touch(root / "train" / "passing American football (in game)" / "-abc_DEF123_000014_000024.mp4")
    _touch(root / "train" / "abseiling" / "0wCz0S6uuLo_000000_000010.mp4")
    _touch(root / "train" / "zzzzzzzzzzz_000030_000040.mkv")
    _touch(root / "train" / "tying_bow_tie" / "Aa1-bB2_cC3.mp4")
    _touch(root / "train" / "abseiling" / "notes.txt")
    _touch(root / "val" / "abseiling" / "valvideo001_000007_000017.mp4")
    csv_path = tmp_path / "kinetics400.csv"
    csv_path.write_text(CSV)
    return root, csv_path


def test_kinetics_csv_layouts_and_missing_warning(kinetics, caplog):
    root, csv_path = kinetics
    with caplog.at_level(logging.WARNING, logger="bsp_lightning.data.index"):
        index = VideoIndex.from_kinetics(root, csv_path, split="train")
    assert index.classes == ["abseiling", "passing American football (in game)", "tying bow tie"]
    assert [r.video_id for r in index.records] == [
        "-abc_DEF123_000014_000024", "0wCz0S6uuLo_000000_000010", "zzzzzzzzzzz_000030_000040",
        "Aa1-bB2_cC3_000005_000015",
    ]
    assert index[0] == VideoRecord("-abc_DEF123_000014_000024",
                                   str(root / "train" / "passing American football (in game)" /
                                       "-abc_DEF123_000014_000024.mp4"),
                                   "passing American football (in game)", 1)
    assert index[2].path.endswith(".mkv") and index[3].path.endswith("tying_bow_tie/Aa1-bB2_cC3.mp4")
    assert [r.label_index for r in index] == [1, 0, 0, 2]
    assert index.by_class == {1: [0], 0: [1, 2], 2: [3]}
    assert len(index) == 4 and index.num_classes == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 of 6 videos" in warnings[0].getMessage()


def test_val_split_alias_and_same_class_list(kinetics, tmp_path):
    root, csv_path = kinetics
    (root / "val").rename(root / "validate")
    index = VideoIndex.from_kinetics(root, csv_path, split="val")
    assert [r.video_id for r in index] == ["valvideo001_000007_000017"]
    # the class list comes from the whole CSV, so train and val agree on label indices
    assert index.classes == VideoIndex.from_kinetics(root, csv_path, split="train").classes
    assert index[0].label_index == 0


def test_plain_label_folders_with_csv(tmp_path):
    root = tmp_path / "k"
    _touch(root / "abseiling" / "0wCz0S6uuLo_000000_000010.mp4")
    csv_path = tmp_path / "train.csv"
    csv_path.write_text("label,youtube_id,time_start,time_end,split\nabseiling,0wCz0S6uuLo,0.0,10.0,train\n")
    index = VideoIndex.from_kinetics(root, csv_path)
    assert index[0].path == str(root / "abseiling" / "0wCz0S6uuLo_000000_000010.mp4")


def test_folder_scan_without_csv(tmp_path):
    root = tmp_path / "videos"
    for label, names in {"b class": ["x2.mp4", "x1.mp4"], "a_class": ["y.webm"], "empty": []}.items():
        (root / "train" / label).mkdir(parents=True)
        for name in names:
            _touch(root / "train" / label / name)
    index = VideoIndex.from_kinetics(root, split="train")
    assert index.classes == ["a_class", "b class"]
    assert [(r.video_id, r.label, r.label_index) for r in index] == [
        ("y", "a_class", 0), ("x1", "b class", 1), ("x2", "b class", 1)]
    # no split folder: root/<label>/*.mp4
    flat = VideoIndex.from_kinetics(root / "train", split="train")
    assert len(flat) == 3 and flat.by_class == {0: [0], 1: [1, 2]}


def test_bad_inputs_raise_clear_errors(kinetics, tmp_path):
    root, csv_path = kinetics
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VideoIndex.from_kinetics(tmp_path / "nope", csv_path)
    with pytest.raises(FileNotFoundError, match="CSV does not exist"):
        VideoIndex.from_kinetics(root, tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("youtube_id,time_start,time_end,split\nabc,0,10,test\n")
    with pytest.raises(ValueError, match="missing columns \\['label'\\]"):
        VideoIndex.from_kinetics(root, bad)
    with pytest.raises(ValueError, match="no row of split 'test'"):
        VideoIndex.from_kinetics(root, csv_path, split="test")
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("label,youtube_id,time_start,time_end,split\nabseiling,nothere0000,0,10,train\n")
    with pytest.raises(ValueError, match="none of the 1 videos"):
        VideoIndex.from_kinetics(root, nothing)


def test_clip_name():
    assert kinetics_clip_name("abc", 7, 17.0) == "abc_000007_000017"


def test_a_split_without_its_folder_next_to_other_split_folders_is_one_line(tmp_path):
    # scanning the root instead would read the train/ and val/ folders as two class labels
    for split in ("train", "val"):
        (tmp_path / split / "abseiling").mkdir(parents=True)
        (tmp_path / split / "abseiling" / "clip.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match=r"no folder of split 'test' \(split folders present: train, val\)"):
        VideoIndex.from_kinetics(tmp_path, None, split="test")
