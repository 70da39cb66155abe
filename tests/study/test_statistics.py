"""The bootstrap interval and the verdict rule on hand-made numbers; the resampled scorers against the official
functions applied to explicitly copied test videos; the boundary AUROC on hand-made feature sequences."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.evaluation.actionness import actionness_ap
from bsp_lightning.evaluation.detection import activitynet_map
from bsp_lightning.evaluation.formats import write_actionness, write_detections, write_grounding
from bsp_lightning.evaluation.grounding import grounding_metrics
from bsp_lightning.study.scoring import ActionnessScores, DetectionScores, GroundingScores
from bsp_lightning.study.sensitivity import auroc, boundary_pairs, consecutive_distances, weighted_auroc
from bsp_lightning.study.statistics import (
    HELD,
    NOT_DECIDED,
    REVERSED,
    Interval,
    bootstrap_counts,
    paired_replicates,
    percentile_interval,
    verdict,
)


def test_percentile_interval_on_hand_made_replicates():
    # 0..100: the 2.5th and 97.5th percentiles (linear interpolation) are 2.5 and 97.5
    interval = percentile_interval(50.0, np.arange(101.0))
    assert interval.estimate == 50.0 and interval.low == pytest.approx(2.5) and interval.high == pytest.approx(97.5)
    assert interval.half_width == pytest.approx(47.5)
    # NaN replicates (statistic undefined on a resample) are left out
    assert percentile_interval(1.0, [np.nan, 1.0, 1.0, np.nan]) == Interval(1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        percentile_interval(0.0, [np.nan])
    with pytest.raises(ValueError):
        percentile_interval(0.0, [1.0], level=1.0)


def test_verdict_rule():
    assert verdict(Interval(0.02, 0.001, 0.04)) == HELD
    assert verdict(Interval(-0.02, -0.04, -0.001)) == REVERSED
    assert verdict(Interval(0.01, -0.001, 0.03)) == NOT_DECIDED
    assert verdict(Interval(0.0, 0.0, 0.0)) == NOT_DECIDED  # touching 0 is containing it
    assert verdict(Interval(0.2, 0.1, 0.3), under_trained=["BSP"]) == "not decided: BSP under-trained"


def test_bootstrap_counts_draw_every_unit_with_replacement():
    counts = bootstrap_counts(5, 2000, seed=3)
    assert counts.shape == (2000, 5) and (counts.sum(axis=1) == 5).all()
    assert np.array_equal(counts, bootstrap_counts(5, 2000, seed=3))
    # each unit is drawn once per resample on average, and a resample repeats units
    assert np.allclose(counts.mean(axis=0), 1.0, atol=0.1) and (counts.max(axis=1) > 1).mean() > 0.5


def test_paired_replicates_average_the_seeds_on_the_same_resample():
    counts = np.array([[2, 0, 1], [0, 3, 0]])
    values = np.array([1.0, 2.0, 4.0])
    runs = [lambda c: float(c @ values / c.sum()), lambda c: float(c @ values / c.sum()) + 1.0]
    # resample 0: (2*1 + 4) / 3 = 2, seeds 2 and 3 -> 2.5; resample 1: 2 and 3 -> 2.5
    assert paired_replicates(runs, counts).tolist() == [2.5, 2.5]


def _expand(counts: np.ndarray, videos: list[str]) -> list[tuple[str, str]]:
    """(original id, copy id) for every copy of every drawn video."""
    return [(v, f"{v}#{k}") for v, c in zip(videos, counts) for k in range(int(c))]


def test_detection_resample_equals_map_of_copied_videos(tmp_path: Path):
    rng = np.random.default_rng(0)
    videos = [f"vid{i}" for i in range(6)]
    labels = ["jump", "run"]
    database, results = {}, {}
    for v in videos:
        gts = [{"segment": sorted(rng.uniform(0, 20, 2).round(2).tolist()), "label": str(rng.choice(labels))}
               for _ in range(rng.integers(1, 3))]
        database[v] = {"subset": "testing", "duration": 20.0, "annotations": gts}
        results[v] = [{"label": str(rng.choice(labels)), "score": float(rng.uniform()),
                       "segment": sorted(rng.uniform(0, 20, 2).round(2).tolist())} for _ in range(8)]
        results[v] += [{"label": g["label"], "score": float(rng.uniform()), "segment": g["segment"]} for g in gts[:1]]
    # a class with ground truth in one video and no detection, and a detection of a label without ground truth
    database["vid2"]["annotations"].append({"segment": [1.0, 4.0], "label": "swim"})
    results["vid3"].append({"label": "fly", "score": 0.99, "segment": [0.0, 5.0]})
    (tmp_path / "gt.json").write_text(json.dumps({"version": "VERSION 1.3", "database": database}))
    write_detections(tmp_path / "pred.json", results)
    scores = DetectionScores(tmp_path / "pred.json", tmp_path / "gt.json")
    assert scores.videos == videos

    def official(copies):
        gt = [(c, a["label"], a["segment"]) for v, c in copies for a in database[v]["annotations"]]
        pred = [(c, d["label"], d["segment"], d["score"]) for v, c in copies for d in results[v]]
        r = activitynet_map([g[0] for g in gt], [g[1] for g in gt], [g[2] for g in gt], [p[0] for p in pred],
                            [p[1] for p in pred], [p[2] for p in pred], [p[3] for p in pred],
                            ignore_unknown_labels=True)
        return np.append(r.mAP, r.average_mAP)

    np.testing.assert_allclose(scores.full(), official([(v, v) for v in videos]), atol=1e-12)
    counts = np.vstack([bootstrap_counts(len(videos), 12, seed=1), np.ones(len(videos), dtype=np.int64)])
    resampled = scores.resampled(counts, chunk=5)
    for row, values in zip(counts, resampled):
        np.testing.assert_allclose(values, official(_expand(row, videos)), atol=1e-9)


def test_grounding_resample_equals_metrics_of_copied_queries(tmp_path: Path):
    rng = np.random.default_rng(1)
    records = []
    for i in range(12):
        gt = sorted(rng.uniform(0, 10, 2).round(1).tolist())
        preds = [sorted(rng.uniform(0, 10, 2).round(1).tolist()) for _ in range(6)]
        records.append({"video": f"v{i % 5}", "duration": 10.0, "query": f"q{i}", "gt": gt, "predictions": preds})
    write_grounding(tmp_path / "g.json", records)
    for convention, recall_at in (("lgi", (1,)), ("2dtan", (1, 5))):
        scores = GroundingScores(tmp_path / "g.json", convention, recall_at)
        counts = bootstrap_counts(len(scores.videos), 5, seed=2)
        for row, values in zip(counts, scores.resampled(counts)):
            copies = [r for v, c in zip(scores.videos, row) for _ in range(int(c)) for r in records if r["video"] == v]
            expected = grounding_metrics([np.asarray(r["predictions"]) for r in copies], [r["gt"] for r in copies],
                                         recall_at, (0.3, 0.5, 0.7), convention)
            np.testing.assert_allclose(values, [expected[n] for n in scores.names], atol=1e-12)


def test_actionness_resample_equals_ap_of_copied_videos(tmp_path: Path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "crosstask" / "annotations"
    folder.mkdir(parents=True)
    scores_by_video = {}
    for i in range(5):
        (folder / f"1_v{i}.csv").write_text(f"1,{rng.uniform(0, 2):.1f},{rng.uniform(3, 5):.1f}\n")
        # rounded scores make ties, which the pooled AP groups
        scores_by_video[f"v{i}"] = rng.uniform(size=30).round(1).tolist()
    write_actionness(tmp_path / "a.json", scores_by_video)
    scores = ActionnessScores(tmp_path / "a.json", tmp_path / "crosstask")
    labels = {v: scores._labels[v] for v in scores.videos}
    counts = bootstrap_counts(5, 6, seed=4)
    for row, values in zip(counts, scores.resampled(counts)):
        copies = _expand(row, scores.videos)
        expected = actionness_ap({c: scores_by_video[v] for v, c in copies}, {c: labels[v] for v, c in copies})
        np.testing.assert_allclose(values, [expected.AP, expected.AP_per_video_mean], atol=1e-12)


def test_auroc_on_hand_made_scores():
    assert auroc([3.0, 4.0], [1.0, 2.0]) == 1.0 and auroc([1.0], [2.0, 3.0]) == 0.0
    # 1 vs (0, 1, 2): above 1 of 3, tied with 1 -> (1 + 0.5) / 3
    assert auroc([1.0], [0.0, 1.0, 2.0]) == pytest.approx(0.5)
    assert weighted_auroc(np.array([1.0]), np.array([2.0]), np.array([0.0, 2.0]), np.array([3.0, 1.0])) == 0.75
    with pytest.raises(ValueError):
        auroc([], [1.0])


def test_boundary_pairs_and_distances_on_a_hand_made_sequence():
    # 6 snippets of 1 s; a speed change at 2.7 s (between centres 2.5 and 3.5), a cut at exactly 5.0 s
    labels = boundary_pairs([0, 1, 2, 3, 4, 5], 1.0, [(2.7, "speed_change"), (5.0, "same_class_cut")])
    # (0,1) covers [0, 2]: clean. (1,2) covers [1, 3], which holds 2.7, but its centres 1.5 and 2.5 do not
    # enclose it: left out. (2,3): centres 2.5 < 2.7 <= 3.5. (3,4) covers [3, 5]: the cut's first frame is at
    # 5.0, after it: clean. (4,5): centres 4.5 < 5.0 <= 5.5.
    assert labels == ["negative", None, "speed_change", "negative", "same_class_cut"]
    features = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(consecutive_distances([features]), [0.0, np.sqrt(2.0)])
    two = consecutive_distances([features, features[:, ::-1]])
    np.testing.assert_allclose(two, [0.0, 2.0])
    # a sequence whose features jump exactly at the boundaries separates them perfectly
    f = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], dtype=float)
    d = consecutive_distances([f])
    labs = boundary_pairs(range(6), 1.0, [(3.0, "idle_to_action")])
    pos = [x for x, lab in zip(d, labs) if lab == "motion_change"]
    neg = [x for x, lab in zip(d, labs) if lab == "negative"]
    assert pos and neg and auroc(pos, neg) == 1.0
