"""One grounding record for every benchmark, with the two official policies: "2dtan" (drop, clip, 2D-TAN's
sentence) and "lgi" (keep everything, count), on tiny files in the real formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsp_lightning.annotations import (
    AnnotationError,
    GroundingQuery,
    charades_sentence,
    load_anet_captions,
    load_charades_sta,
    load_grounding,
    load_tacos,
)

CSV_HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
# Lines in the Charades-STA format (``vid start end##sentence``), with its punctuation habits.
STA_LINES = [
    "AO8RW 0.0 6.9##a person is putting a book on a shelf.",
    "AO8RW 12.3 19.4##Person's laughing, then sits down.",
    "Y6R7T 30.1 25.0##the person closes the door",
    "Y6R7T 0.0 40.0##A person opens a door; they look out the window!",
]


def _charades(folder: Path, videos: dict[str, float], lines: list[str]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "charades_sta_train.txt").write_text("".join(q + "\n" for q in lines))
    rows = "".join(f'{vid},P1,Kitchen,6,7,Yes,"A person, then\nanother",door;chair,"x, y",c001 0.0 1.0,{d}\n'
                   for vid, d in videos.items())
    (folder / "Charades_v1_train.csv").write_text(CSV_HEADER + rows)
    return folder / "charades_sta_train.txt", folder / "Charades_v1_train.csv"


def test_charades_sentence_official_rule():
    line = "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
    assert charades_sentence(line) == "a person is putting a book on a shelf"
    assert charades_sentence("AO8RW 0.0 6.9##person opens it. then sits.\n") == "person opens it. then sits"
    assert charades_sentence("AO8RW 0.0 6.9##the last line keeps it.") == "the last line keeps it."
    assert charades_sentence("AO8RW 0.0 6.9##space before newline. \n") == "space before newline. \n"


def test_charades_2dtan_policy_clips_skips_and_reads_the_sentence_as_2dtan(tmp_path):
    (tmp_path / "charades_sta_train.txt").write_text(
        "v1 1.0 5.0##a person opens a door.\nv1 6.0 2.0##reversed.\nv1 2.0 99.0##runs past the end.\n"
        "v2 0.0 1.0##no duration for this video.\n")
    (tmp_path / "Charades_v1_train.csv").write_text("id,length\nv1,10.0\n")
    ann = load_grounding("charades", tmp_path / "charades_sta_train.txt", "2dtan")
    assert [(q.start, q.end, q.model_sentence) for q in ann.queries] == [(1.0, 5.0, "a person opens a door"),
                                                                         (2.0, 10.0, "runs past the end")]
    assert [q.sentence for q in ann.queries] == ["a person opens a door.", "runs past the end."]
    assert ann.report.anomalies["start_after_end"] == 1 and ann.report.anomalies["end_clipped"] == 1
    assert ann.report.anomalies["missing_duration"] == 1


def test_charades_lgi_policy_keeps_everything_and_counts(tmp_path):
    sta, csv = _charades(tmp_path, {"AO8RW": 30.0, "Y6R7T": 31.5}, STA_LINES + ["", "ZZZZZ 1.0 2.0##no duration"])
    ann = load_charades_sta(sta, csv, policy="lgi")
    assert [(q.video_id, q.start, q.end) for q in ann.queries] == [
        ("AO8RW", 0.0, 6.9), ("AO8RW", 12.3, 19.4), ("Y6R7T", 30.1, 25.0), ("Y6R7T", 0.0, 40.0)]
    assert ann.queries[3].end > ann.queries[3].duration == 31.5  # not clipped
    sentence = "Person's laughing, then sits down."
    assert ann.queries[1] == GroundingQuery("AO8RW", 12.3, 19.4, sentence, 30.0, "charades_sta_train.txt:2", sentence)
    assert ann.report.anomalies == {"start_after_end": 1, "end_past_video": 1, "blank_line": 1, "missing_duration": 1}
    sta.write_text("AO8RW 0.0 x##a person\n")
    with pytest.raises(AnnotationError, match=r"charades_sta_train.txt:1: end is not a number"):
        load_charades_sta(sta, csv, policy="lgi")


def test_anet_captions_lgi_policy_reads_files_in_order(tmp_path):
    (tmp_path / "a.json").write_text('{"v_x": {"duration": 10, "timestamps": [[0, 4], [3, 12]], '
                                     '"sentences": [" A man.", "He sits."]}}')
    (tmp_path / "b.json").write_text('{"v_y": {"duration": 5, "timestamps": [[1, 2]], "sentences": ["x", "y"]}}')
    ann = load_anet_captions([tmp_path / "a.json", tmp_path / "b.json"], policy="lgi")
    assert [(q.video_id, q.start, q.end, q.sentence) for q in ann.queries] == [
        ("v_x", 0.0, 4.0, "A man."), ("v_x", 3.0, 12.0, "He sits."), ("v_y", 1.0, 2.0, "x")]
    assert ann.report.anomalies == {"end_past_video": 1, "unpaired_entry": 1}
    assert [q.source for q in ann.queries] == ["a.json:v_x#0", "a.json:v_x#1", "b.json:v_y#0"]


def test_tacos_2dtan_and_lgi(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"s13-d21.avi": {"num_frames": 300, "fps": 30.0, "timestamps": [[30, 90], [90, 30],
                    [150, 600], [400, 500]], "sentences": ["He takes out a knife.", "b", "c", "d", "extra"]}}))
    ann = load_tacos(path)
    assert [(q.start, q.end, q.duration) for q in ann.queries] == [(1.0, 3.0, 10.0), (5.0, 10.0, 10.0)]
    assert ann.report.anomalies == {"unpaired_entry": 1, "start_after_end": 1, "end_clipped": 2,
                                    "start_beyond_duration": 1}
    kept = load_tacos(path, policy="lgi")
    assert [(q.start, q.end) for q in kept.queries] == [(1.0, 3.0), (3.0, 1.0), (5.0, 20.0), (400 / 30, 500 / 30)]
    assert kept.report.anomalies == {"unpaired_entry": 1, "start_after_end": 1, "end_past_video": 2}
    path.write_text(json.dumps({"v": {"fps": 30}}))
    with pytest.raises(AnnotationError, match="train.json"):
        load_tacos(path)


def test_unknown_policy_or_benchmark(tmp_path):
    with pytest.raises(ValueError, match="policy must be one of"):
        load_tacos(tmp_path / "x.json", policy="clip")
    with pytest.raises(ValueError, match="unknown grounding benchmark"):
        load_grounding("didemo", tmp_path / "x.json")
