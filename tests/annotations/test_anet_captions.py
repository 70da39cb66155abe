"""ActivityNet Captions loader on a tiny file in the real format."""

from __future__ import annotations

import json

import pytest

from bsp_lightning.annotations import AnnotationError, load_anet_captions

DATA = {
    "v_QOlSCBRmfWY": {
        "duration": 82.73,
        "timestamps": [[0.83, 19.86], [17.37, 60.81], [56.26, 79.42]],
        "sentences": [
            "A young woman is seen standing in a room and leads into her dancing.",
            " The girl dances around the room while the camera captures her movements.",
            " She continues dancing around the room and ends by laying on the floor.",
        ],
    },
    "v_ehGHCYKzyZ8": {
        "duration": 61.72,
        "timestamps": [[0, 10.0], [30.0, 20.0], [5.0, 5.0], [-0.5, 65.1], [70.0, 80.0]],
        "sentences": [" Two men are on a court.", " a.", " b.", " They play.", " Credits."],
    },
    "v_nwznKOuZM7w": {
        "duration": 10.0,
        "timestamps": [[1.0, 2.0], [3.0, 4.0]],
        "sentences": ["Only one sentence."],
    },
}


def write(tmp_path, obj=DATA, name="val_1.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def test_queries_stripped_clipped_and_counted(tmp_path):
    ann = load_anet_captions(write(tmp_path))
    got = [(q.video_id, q.start, q.end, q.sentence, int(q.source.rpartition("#")[2])) for q in ann.queries]
    assert got == [
        ("v_QOlSCBRmfWY", 0.83, 19.86, "A young woman is seen standing in a room and leads into her dancing.", 0),
        ("v_QOlSCBRmfWY", 17.37, 60.81, "The girl dances around the room while the camera captures her movements.", 1),
        ("v_QOlSCBRmfWY", 56.26, 79.42, "She continues dancing around the room and ends by laying on the floor.", 2),
        ("v_ehGHCYKzyZ8", 0.0, 10.0, "Two men are on a court.", 0),
        ("v_ehGHCYKzyZ8", 0.0, 61.72, "They play.", 3),
        ("v_nwznKOuZM7w", 1.0, 2.0, "Only one sentence.", 0),
    ]
    assert ann.queries[0].source == f"{write(tmp_path).name}:v_QOlSCBRmfWY#0"
    assert ann.queries[0].duration == 82.73
    assert ann.report.anomalies == {
        "start_after_end": 1,
        "zero_length": 1,
        "negative_start": 1,
        "end_clipped": 2,
        "start_beyond_duration": 1,
        "length_mismatch": 1,
        "unpaired_entry": 1,
    }
    assert ann.report.counts == {"records": 6, "videos": 3}
    assert ann.durations["v_nwznKOuZM7w"] == 10.0


def test_strip_prefix_matches_activitynet_ids(tmp_path):
    ann = load_anet_captions(write(tmp_path), strip_v_prefix=True)
    assert ann.videos == ["QOlSCBRmfWY", "ehGHCYKzyZ8", "nwznKOuZM7w"]


@pytest.mark.parametrize(
    "obj, message",
    [
        ({}, "non-empty object"),
        ({"v_a": {"timestamps": [], "sentences": []}}, "missing key 'duration'"),
        ({"v_a": {"duration": 3, "sentences": []}}, "missing key 'timestamps'"),
        ({"v_a": {"duration": 3, "timestamps": []}}, "missing key 'sentences'"),
        ({"v_a": {"duration": 3, "timestamps": [[1]], "sentences": ["x"]}}, r"expected \[start, end\]"),
        ({"v_a": {"duration": 3, "timestamps": [[1, "b"]], "sentences": ["x"]}}, "end is not a number"),
        ({"v_a": {"duration": None, "timestamps": [], "sentences": []}}, "duration is not a number"),
        ({"v_a": {"duration": 3, "timestamps": [[1, 2]], "sentences": [7]}}, "not a string"),
    ],
)
def test_errors(tmp_path, obj, message):
    path = write(tmp_path, obj)
    with pytest.raises(AnnotationError, match=message) as info:
        load_anet_captions(path)
    assert str(info.value).startswith(str(path))


def test_malformed_and_missing(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"v_a": {"duration": 3,}}')
    with pytest.raises(AnnotationError, match=r"train.json:1: malformed JSON"):
        load_anet_captions(path)
    with pytest.raises(AnnotationError, match="not found"):
        load_anet_captions(tmp_path / "val_2.json")
