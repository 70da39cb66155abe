"""Charades-STA loader on tiny files in the real formats (query txt + Charades_v1 csv)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsp_lightning.annotations import AnnotationError, load_charades_sta, read_charades_durations

HEADER = "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
# Quoted free-text fields with commas and a newline, as in Charades_v1_train.csv.
CSV = HEADER + (
    '46GP8,HR43,Kitchen,6,7,Yes,"A person cooks food on a stove, then sneezes.",food;stove;window,'
    '"A person is standing in the kitchen cooking.\nThey sneeze, then leave.",'
    "c092 11.90 21.20;c147 0.00 12.60,24.83\n"
    'AO8RW,CQ4M,Bedroom,5,7,Yes,"Person puts a book on a shelf.",book;shelf,"A person, holding a book.",'
    "c026 0.00 6.90,33.67\n"
    "Y6R7T,NQ2N,Hallway,7,7,Yes,Person walks.,floor,A person walks.,,15.0\n"
)
STA = (
    "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
    "46GP8 11.9 21.2##a person is cooking food on a stove.\n"
    "46GP8 20.0 30.1##person sneezes.\n"  # end past 24.83: clipped
    "Y6R7T 9.3 6.0##a person walks in the hallway.\n"  # start > end: dropped
    "Y6R7T 4.0 4.0##a person stands.\n"  # zero length: dropped
    "Y6R7T 16.0 18.0##the person opens a door.\n"  # starts after the 15 s video: dropped
    "ZZZZZ 1.0 2.0##a person is nowhere.\n"  # not in the csv
)


def write(tmp_path: Path, sta=STA, csv=CSV) -> tuple[Path, Path]:
    (tmp_path / "charades_sta_train.txt").write_text(sta)
    (tmp_path / "Charades_v1_train.csv").write_text(csv)
    return tmp_path / "charades_sta_train.txt", tmp_path / "Charades_v1_train.csv"


def test_durations_from_quoted_csv(tmp_path):
    _, csv_path = write(tmp_path)
    assert read_charades_durations(csv_path) == {"46GP8": 24.83, "AO8RW": 33.67, "Y6R7T": 15.0}


def test_queries_kept_like_2dtan_with_counts(tmp_path):
    sta, csv_path = write(tmp_path)
    ann = load_charades_sta(sta, csv_path)
    assert [(q.video_id, q.start, q.end, q.sentence, q.duration, q.source) for q in ann.queries] == [
        ("AO8RW", 0.0, 6.9, "a person is putting a book on a shelf.", 33.67, "charades_sta_train.txt:1"),
        ("46GP8", 11.9, 21.2, "a person is cooking food on a stove.", 24.83, "charades_sta_train.txt:2"),
        ("46GP8", 20.0, 24.83, "person sneezes.", 24.83, "charades_sta_train.txt:3"),
    ]
    # what 2D-TAN's model reads (charades_sentence: the period before the newline goes)
    assert [q.model_sentence for q in ann.queries] == ["a person is putting a book on a shelf",
                                                       "a person is cooking food on a stove", "person sneezes"]
    assert ann.report.anomalies == {
        "end_clipped": 2,  # line 3 and line 6 (then empty)
        "start_after_end": 1,
        "zero_length": 1,
        "start_beyond_duration": 1,
        "missing_duration": 1,
    }
    assert ann.report.counts == {"records": 3, "videos": 2}
    assert ann.videos == ["46GP8", "AO8RW"]


def test_keep_missing_duration_and_default_csv(tmp_path):
    sta, _ = write(tmp_path)
    ann = load_charades_sta(sta, keep_missing_duration=True)  # csv found next to the txt
    last = ann.queries[-1]
    assert (last.video_id, last.start, last.end, last.duration) == ("ZZZZZ", 1.0, 2.0, None)
    assert ann.report.anomalies["missing_duration"] == 1 and len(ann.queries) == 4


@pytest.mark.parametrize(
    "line, message",
    [
        ("AO8RW 0.0 6.9 a person is putting a book on a shelf.", "no '##'"),
        ("AO8RW 0.0##a person.", "expected 'video start end'"),
        ("AO8RW zero 6.9##a person.", "start is not a number"),
        ("AO8RW 0.0 nan##a person.", "end is not finite"),
    ],
)
def test_malformed_lines(tmp_path, line, message):
    sta, csv_path = write(tmp_path, sta="AO8RW 0.0 6.9##a person is putting a book on a shelf.\n" + line + "\n")
    with pytest.raises(AnnotationError, match=message) as info:
        load_charades_sta(sta, csv_path)
    assert str(info.value).startswith(f"{sta}:2: ")


def test_bad_csv(tmp_path):
    sta, csv_path = write(tmp_path, csv="id,subject,scene\nAO8RW,CQ4M,Bedroom\n")
    with pytest.raises(AnnotationError, match="no column 'length'"):
        load_charades_sta(sta, csv_path)
    # the bad row ends on physical line 3 because of the quoted newline on line 2
    bad = HEADER + 'AO8RW,CQ4M,Bedroom,5,7,Yes,"Two\nlines",book,desc,c026 0.00 6.90,long\n'
    csv_path.write_text(bad)
    with pytest.raises(AnnotationError, match=r":3: length of AO8RW is not a number"):
        load_charades_sta(sta, csv_path)
    csv_path.write_text(HEADER)
    with pytest.raises(AnnotationError, match="no rows after the header"):
        read_charades_durations(csv_path)


def test_missing_and_empty_files(tmp_path):
    sta, csv_path = write(tmp_path)
    with pytest.raises(AnnotationError, match="Charades-STA file not found"):
        load_charades_sta(tmp_path / "charades_sta_test.txt", csv_path)
    with pytest.raises(AnnotationError, match="Charades CSV not found"):
        load_charades_sta(sta, tmp_path / "Charades_v1_test.csv")
    sta.write_text("\n")
    with pytest.raises(AnnotationError, match="empty Charades-STA file"):
        load_charades_sta(sta, csv_path)


def test_csv_with_bom_and_non_utf8_free_text(tmp_path):
    csv_path = tmp_path / "Charades_v1_test.csv"
    row = 'AO8RW,CQ4M,Bedroom,5,7,Yes,"caf\xe9",book,desc,c026 0.00 6.90,33.67\n'.encode("latin-1")
    csv_path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + row)
    assert read_charades_durations(csv_path) == {"AO8RW": 33.67}
