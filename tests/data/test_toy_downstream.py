"""The downstream toy set: every annotation file read back by the real loaders and by ``data inspect``."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.annotations import load_activitynet, load_charades_sta, load_crosstask
from bsp_lightning.annotations.cli import main as data_main
from bsp_lightning.data.toy import (
    ACTION_WORDS,
    COLOURS,
    TOY_ACTIONS,
    UNTRIMMED_PRESET,
    ToyInstance,
    describe,
    render_video,
    speed_word,
    toy_tasks,
    write_toy_untrimmed,
)
from bsp_lightning.data.toy.actions import SHAPE_WORDS
from bsp_lightning.data.toy.scene import Appearance, actor_track
from bsp_lightning.video import probe

TINY = dict(size=32, num_classes=10, num_videos=10, duration=(8.0, 10.0), instance_duration=(1.0, 2.0),
            max_instances=4, val_fraction=0.2, test_fraction=0.3, fps=10, layout="tasks", frame_step=2,
            glove_dim=8, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_toy_untrimmed(tmp_path_factory.mktemp("toy") / "toy-untrimmed", seed=5, **TINY)


def test_toy_tasks_cut_the_classes_in_order():
    assert toy_tasks(10) == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert toy_tasks(4) == [[0, 1, 2, 3]] and toy_tasks(5) == [[0, 1, 2], [3, 4]]
    assert len(ACTION_WORDS) == len(TOY_ACTIONS)


def test_sentences_name_the_motion_and_speed():
    assert speed_word(0.6) == "slowly" and speed_word(1.5) == "quickly" and speed_word(1.0) == ""
    colours = {name for name, _ in COLOURS}
    nouns = {n for words in SHAPE_WORDS.values() for n in words}
    for action in range(len(TOY_ACTIONS)):
        for k in range(6):
            sentence = describe(ToyInstance(action, 0, 10, 0.6), (1, k))
            assert sentence.endswith(".") and "  " not in sentence and "slowly" in sentence
            assert any(v in sentence for v in ACTION_WORDS[action].verbs)
            words = set(sentence.rstrip(".").split())
            assert not words & colours and not words & nouns  # no appearance without one to name
            named = describe(ToyInstance(action, 0, 10, 1.5), (1, k), Appearance("square", 0, 9.0, 1.0), ordinal=2)
            assert "quickly" in named and named.endswith("for the second time.")
            assert set(named.rstrip(".").split()) & ({"red", "square", "box"} | {"object", "shape", "thing"})
    assert describe(ToyInstance(0, 0, 10), (1, 0)) == describe(ToyInstance(0, 0, 10), (1, 0))
    assert "slowly" not in describe(ToyInstance(0, 0, 10), (1, 0))


def test_split_by_video_and_activitynet(tiny):
    splits = json.loads((tiny / "splits.json").read_text())
    assert {k: len(v) for k, v in splits.items()} == {"train": 5, "val": 2, "test": 3}
    ids = sorted(sum(splits.values(), []))
    assert len(set(ids)) == 10 and splits["val"] == ids[:2] and splits["test"] == ids[2:5]
    gt = load_activitynet(tiny / "activity_net.json")
    assert gt.report.anomalies == {} and len(gt.videos) == 10
    subset_of = {"training": "train", "validation": "val", "testing": "test"}
    for video in gt.videos.values():
        assert video.video_id in splits[subset_of[video.subset]]
        info = probe(tiny / "videos" / f"{video.video_id}.mp4")
        assert info.num_frames == round(video.duration * 10) and (info.width, info.fps) == (32, 10.0)
    tasks = toy_tasks(10)
    for video_id, segments in gt.segments_by_video().items():
        labels = [TOY_ACTIONS.index(next(a for a in TOY_ACTIONS if a.name == s.label)) for s in segments]
        # steps of one task in the task's order (a step repeats across a cut or a speed change), back to back
        # or with at least 1 s of idling between them
        assert 1 <= len(segments) <= 4 and any(set(labels) <= set(t) for t in tasks)
        assert labels == sorted(labels)
        assert all(b.start == a.end or b.start - a.end >= 1.0 - 1e-9 for a, b in zip(segments, segments[1:]))
    assert set(gt.classes) == {a.name for a in TOY_ACTIONS}


def test_charades_sta_files(tiny):
    splits = json.loads((tiny / "splits.json").read_text())
    gt = load_activitynet(tiny / "activity_net.json").segments_by_video()
    seen = []
    for split, videos in (("train", splits["train"] + splits["val"]), ("test", splits["test"])):
        sta = load_charades_sta(tiny / f"toy_sta_{split}.txt")  # finds Charades_v1_<split>.csv itself
        assert sta.report.anomalies == {} and sorted(sta.videos) == sorted(videos)
        for q in sta.queries:
            assert abs(q.duration - load_activitynet(tiny / "activity_net.json").videos[q.video_id].duration) < 1e-9
            assert any(abs(s.start - q.start) < 1e-9 and abs(s.end - q.end) < 1e-9 for s in gt[q.video_id])
            assert q.sentence.endswith(".") and ("slowly" in q.sentence) != ("quickly" in q.sentence)
        seen += [(q.video_id, q.start) for q in sta.queries]
    assert len(seen) == sum(len(s) for s in gt.values()) == len(set(seen))  # one query per instance


def test_crosstask_release(tiny):
    ct = load_crosstask(tiny / "crosstask_release")
    assert ct.report.anomalies == {} and len(ct.steps) == 10 and set(ct.tasks) == {"90001", "90002", "90003"}
    gt = load_activitynet(tiny / "activity_net.json").segments_by_video()
    for video_id, steps in ct.steps.items():
        task = ct.tasks[ct.video_task[video_id]]
        assert [task.steps[s.step - 1] for s in steps] == [seg.label for seg in gt[video_id]]
        assert [(s.start, s.end) for s in steps] == [(seg.start, seg.end) for seg in gt[video_id]]


def test_glove_covers_both_tokenisations(tiny):
    lines = (tiny / "glove.toy.8d.txt").read_text().splitlines()
    vectors = {line.split(" ")[0]: np.array(line.split(" ")[1:], dtype=float) for line in lines}
    assert all(v.shape == (8,) for v in vectors.values())
    for split in ("train", "test"):
        for q in load_charades_sta(tiny / f"toy_sta_{split}.txt").queries:
            assert set(q.sentence.lower().split()) <= set(vectors)  # 2D-TAN: whitespace, punctuation kept
            stripped = q.sentence.lower().translate(str.maketrans("", "", string.punctuation)).split()
            assert set(stripped) <= set(vectors)  # LGI: punctuation removed


def test_instance_speed_and_frame_step_scale_the_motion():
    """An instance at speed s is at frame t where an instance at speed 1 is at frame s * t; a video written with
    frame_step 2 shows every other frame of the one written with frame_step 1 (actor, idling and distractors)."""
    fast = actor_track(12, [ToyInstance(0, 0, 12, 2.0)], (4,))
    slow = actor_track(24, [ToyInstance(0, 0, 24, 1.0)], (4,))
    np.testing.assert_allclose(fast.x, slow.x[::2]) and np.testing.assert_allclose(fast.y, slow.y[::2])
    instances = [ToyInstance(0, 4, 8, 1.0)]
    stepped = render_video(12, 32, [i._replace(start=i.start // 2, end=i.end // 2) for i in instances], seed=(4,),
                           frame_step=2)
    plain = render_video(24, 32, instances, seed=(4,))
    back_stepped = render_video(12, 32, [], seed=(4,), draw_objects=False).astype(int)
    back_plain = render_video(24, 32, [], seed=(4,), draw_objects=False).astype(int)
    # the background noise differs per frame, so compare where the objects are
    mask_stepped = np.abs(stepped.astype(int) - back_stepped).max(-1) > 40
    mask_plain = np.abs(plain.astype(int) - back_plain).max(-1) > 40
    assert (mask_stepped == mask_plain[::2]).mean() > 0.99


def test_deterministic_by_seed(tiny, tmp_path):
    again = write_toy_untrimmed(tmp_path / "again", seed=5, **TINY)
    for name in ("activity_net.json", "toy_sta_train.txt", "toy_sta_test.txt", "Charades_v1_train.csv",
                 "glove.toy.8d.txt", "splits.json", "crosstask_release/videos.csv"):
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
    other = write_toy_untrimmed(tmp_path / "other", seed=6, **TINY)
    assert (other / "splits.json").read_bytes() != (tiny / "splits.json").read_bytes()


@pytest.mark.parametrize("fmt, files, options", [
    ("activitynet", ["activity_net.json"], []),
    ("activitynet", ["activity_net.json"], ["--subset", "testing"]),
    ("charades-sta", ["toy_sta_train.txt"], []),
    ("charades-sta", ["toy_sta_test.txt", "Charades_v1_test.csv"], []),
    ("crosstask", ["crosstask_release"], []),
])
def test_data_inspect_reads_every_file_set(tiny, fmt, files, options, capsys):
    assert data_main(["inspect", fmt, *(str(tiny / f) for f in files), *options]) == 0
    out = capsys.readouterr().out
    assert "anomalies: none" in out and "records" in out


def test_preset_is_the_cli_default():
    from bsp_lightning.data.toy.cli import _parser

    args = _parser().parse_args([])
    assert args.untrimmed_videos == UNTRIMMED_PRESET["num_videos"] == 300
    assert args.layout == "tasks" and args.fps is None and args.test_fraction == 0.2
