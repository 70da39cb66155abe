"""Actionness AP when a video has fewer scores than segments: the missing segments are unscored, and their
positives count as misses (never retrieved), in the metric function and in ``bsp-lightning evaluate actionness``.

The example video: steps 0.0-0.4 s and 1.0-1.6 s make segments 0, 1, 5, 6, 7 positive (five positives); its
scores cover segments 0-5 only. Ranked: 0.9 (seg 0, +) P 1 R 1/5; 0.7 (seg 5, +) P 1 R 2/5; 0.5 (seg 2, -);
0.3 (seg 1, +) P 3/4 R 3/5; the rest negative. AP = 1/5 + 1/5 + 3/4 * 1/5 = 0.55. Cutting the labels to the
six scores (the old behaviour) leaves three positives, all retrieved: 1/3 + 1/3 + 3/4 * 1/3 = 0.9167.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.evaluation.actionness import actionness_ap, average_precision
from bsp_lightning.evaluation.cli import main

SCORES = [0.9, 0.3, 0.5, 0.2, 0.1, 0.7]
LABELS_10 = np.array([1, 1, 0, 0, 0, 1, 1, 1, 0, 0], dtype=bool)  # a 2.0 s video: 10 segments
EXPECTED_AP = 1 / 5 + 1 / 5 + 3 / 4 * 1 / 5


def test_truncated_scores_count_their_positives_as_misses():
    result = actionness_ap({"v": SCORES}, {"v": LABELS_10})
    assert result.AP == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert result.AP_per_video_mean == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert result.videos_with_missing_scores == ("v",)
    assert result.num_missing_segments == 4 and result.num_missed_positives == 2
    assert result.num_segments == 10


def test_pooled_ap_with_a_complete_and_a_truncated_video():
    # "a" complete: [+ 0.8, - 0.6]; "b": labels [+, +, -], one score 0.7 (segments 1, 2 unscored).
    # Ranked: 0.8 (+) P 1 R 1/3; 0.7 (+) P 1 R 2/3; 0.6 (-). The third positive is never retrieved: AP = 2/3.
    result = actionness_ap({"a": [0.8, 0.6], "b": [0.7]}, {"a": [True, False], "b": [True, True, False]})
    assert result.AP == pytest.approx(2 / 3, abs=1e-15)
    # per video: "a" 1.0, "b" one of two positives at precision 1 -> 1/2
    assert result.AP_per_video_mean == pytest.approx((1.0 + 0.5) / 2, abs=1e-15)
    assert result.videos_with_missing_scores == ("b",)
    assert result.num_missing_segments == 2 and result.num_missed_positives == 1


def test_a_video_without_any_score_has_ap_zero():
    result = actionness_ap({"a": [0.8, 0.6], "b": []}, {"a": [True, False], "b": [False, True]})
    assert result.AP == pytest.approx(1 / 2, abs=1e-15)  # one of two positives retrieved, at precision 1
    assert result.AP_per_video_mean == pytest.approx((1.0 + 0.0) / 2, abs=1e-15)
    assert result.videos_with_missing_scores == ("b",)


def test_average_precision_with_unscored_positives():
    assert average_precision([1, 0], [0.9, 0.1], num_unscored_positives=3) == pytest.approx(1 / 4, abs=1e-15)
    assert average_precision([], [], num_unscored_positives=2) == 0.0
    with pytest.raises(ValueError, match="positive"):
        average_precision([0, 0], [0.1, 0.2], num_unscored_positives=0)


def test_more_scores_than_segments_stays_an_error():
    with pytest.raises(ValueError, match="segment labels"):
        actionness_ap({"a": [0.1, 0.2, 0.3]}, {"a": [True, False]})


# --- bsp-lightning evaluate actionness ------------------------------------------------------------------


@pytest.fixture()
def annotations(tmp_path):
    folder = tmp_path / "annotations"
    folder.mkdir()
    (folder / "23521_vid-1.csv").write_text("1,0.0,0.4\n2,1.0,1.6\n")
    return folder


def _evaluate(capsys, tmp_path, annotations, scores, *extra):
    predictions = tmp_path / "pred.json"
    predictions.write_text(json.dumps(scores))
    out_json = tmp_path / "out.json"
    argv = ["actionness", "--annotations", str(annotations), "--predictions", str(predictions),
            "--json", str(out_json), *extra]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out_json.read_text()), out, err


def test_cli_truncated_list_is_scored_against_the_annotated_steps(capsys, tmp_path, annotations):
    data, out, err = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES})
    assert data["AP"] == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert data["AP_per_video_mean"] == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert "'vid-1'" in err and "misses" in err
    # without a duration the segments reach the last annotated step: 1.6 s -> 8 segments
    assert "8 segments" in out and "2 without scores" in out


def test_cli_durations_file_sets_the_segments(capsys, tmp_path, annotations):
    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"vid-1": 2.0}))
    data, out, err = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES}, "--durations", str(durations))
    assert data["AP"] == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert "10 segments" in out and "4 without scores" in out
    assert "'vid-1'" in err and "6 of 10" in err


def test_cli_durations_from_a_feature_folder(capsys, tmp_path, annotations):
    from bsp_lightning.features.store import FeatureStore

    store = FeatureStore(tmp_path / "features")
    # 45 frames at 25 fps = 1.8 s -> 9 segments
    store.write_video("vid-1", np.zeros((2, 4), np.float32), [0.0, 0.32], 25.0, 45, "h")
    store.write_manifest({})
    data, out, _ = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES}, "--durations", str(store.root))
    assert data["AP"] == pytest.approx(EXPECTED_AP, abs=1e-15)
    assert "9 segments" in out


def test_cli_steps_after_the_duration_are_warned(capsys, tmp_path, annotations):
    # a 1.2 s video: 6 segments [+, +, -, -, -, +]; the step 1.0-1.6 runs past its end
    durations = tmp_path / "durations.csv"
    durations.write_text("vid-1,1.2\n")
    data, _, err = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES}, "--durations", str(durations))
    assert data["AP"] == pytest.approx(1 / 3 + 1 / 3 + 3 / 4 * 1 / 3, abs=1e-15)
    assert "after the end of the video" in err and "'vid-1'" in err


def test_cli_scores_past_the_duration_are_dropped_with_a_warning(capsys, tmp_path, annotations):
    # 1.0 s -> segments 0-4 [+, +, -, -, -]; the sixth score (0.7) lies after the video's end
    durations = tmp_path / "durations.json"
    durations.write_text(json.dumps({"vid-1": 1.0}))
    data, _, err = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES}, "--durations", str(durations))
    # ranked: 0.9 (+) P 1 R 1/2; 0.5 (-); 0.3 (+) P 2/3 R 1 -> 1/2 + 1/3
    assert data["AP"] == pytest.approx(1 / 2 + 1 / 2 * 2 / 3, abs=1e-15)
    assert "score(s) after the end of the video, ignored: 'vid-1' (6 for 5)" in err


def test_cli_empty_list_counts_as_misses(capsys, tmp_path, annotations):
    (annotations / "40567_other.csv").write_text("1,0.0,0.2\n")  # segment 0 positive
    data, _, err = _evaluate(capsys, tmp_path, annotations, {"vid-1": SCORES, "other": []})
    # the five positives of vid-1 ranked as above, plus one never retrieved: 1/6 + 1/6 + 3/4 * 1/6
    assert data["AP"] == pytest.approx((2 + 3 / 4) / 6, abs=1e-15)
    assert data["AP_per_video_mean"] == pytest.approx((EXPECTED_AP + 0.0) / 2, abs=1e-15)
    assert "'other'" in err


def test_missing_scores_warning_names_the_videos():
    from bsp_lightning.evaluation.actionness import missing_scores_warning

    scores = {"a": [0.8, 0.6], "b": [0.7], **{f"v{i}": [] for i in range(6)}}
    labels = {"a": [True, False], "b": [True, True, False], **{f"v{i}": [True] for i in range(6)}}
    result = actionness_ap(scores, labels)
    assert missing_scores_warning(result, scores, labels) == (
        "7 video(s) with fewer scores than segments: 'b' (1 of 3), 'v0' (0 of 1), 'v1' (0 of 1), 'v2' (0 of 1), "
        "'v3' (0 of 1) and 2 more; their 7 unscored positive segment(s) count as misses"
    )
    full = actionness_ap({"a": [0.8, 0.6]}, {"a": [True, False]})
    assert missing_scores_warning(full, {"a": [0.8, 0.6]}, {"a": [True, False]}) is None
