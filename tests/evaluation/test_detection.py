"""ActivityNet detection mAP: hand-computed cases, the official quirks, and the per-class oracle."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from reference_activitynet import reference_activitynet_map  # noqa: E402 - the slow oracle next to this file

sys.path.pop(0)
from bsp_lightning.evaluation.detection import (
    DEFAULT_TIOU_THRESHOLDS,
    ActivityNetMAP,
    UnknownLabelError,
    activitynet_map,
    interpolated_ap,
    segment_iou,
)


def test_thresholds_are_the_official_linspace():
    np.testing.assert_array_equal(DEFAULT_TIOU_THRESHOLDS, np.linspace(0.5, 0.95, 10))


def test_segment_iou_by_hand():
    iou = segment_iou([0.0, 10.0], np.array([[0, 10], [5, 15], [20, 30], [2, 4]], dtype=float))
    np.testing.assert_allclose(iou, [1.0, 5 / 15, 0.0, 0.2])


def test_interpolated_ap_by_hand():
    # envelope [1, 1, 2/3, 2/3]; recall steps 0 -> 0.5 -> 1
    assert interpolated_ap([1.0, 0.5, 2 / 3, 0.5], [0.5, 0.5, 1.0, 1.0]) == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)
    assert interpolated_ap([0.0, 0.5], [0.0, 1.0]) == pytest.approx(0.5)


def test_hand_case_duplicates_and_outside_video():
    # g1 is hit exactly by p1; p2 duplicates p1 (false positive); p3 has tIoU 7/8 with g2; p4 is on a
    # video outside the ground truth (false positive).
    result = activitynet_map(
        ["a", "a"], ["run", "run"], [[0, 10], [20, 27]],
        ["a", "a", "a", "zzz"], ["run"] * 4, [[0, 10], [0, 10], [20, 28], [0, 10]], [0.9, 0.8, 0.7, 0.6],
    )
    expected = np.array([0.5 + 0.5 * 2 / 3] * 8 + [0.5] * 2)  # thresholds 0.9, 0.95 exceed 7/8
    np.testing.assert_allclose(result.ap[:, 0], expected, atol=1e-15)
    np.testing.assert_allclose(result.mAP, expected, atol=1e-15)
    assert result.average_mAP == pytest.approx(expected.mean(), abs=1e-15)
    assert result.labels == ["run"]


def test_best_unmatched_ground_truth_is_taken():
    # p2 repeats p1: its best ground truth (g1) is taken, so it matches g2 (tIoU 8/12) where 8/12 >= t.
    result = activitynet_map(
        ["a", "a"], ["x", "x"], [[0, 10], [2, 12]],
        ["a", "a"], ["x", "x"], [[0, 10], [0, 10]], [0.9, 0.8],
    )
    np.testing.assert_allclose(result.ap[:, 0], [1.0] * 4 + [0.5] * 6, atol=1e-15)


def test_class_without_predictions_scores_zero_and_counts_in_the_mean():
    result = activitynet_map(
        ["a", "b"], ["x", "y"], [[0, 10], [0, 10]], ["a"], ["x"], [[0, 10]], [1.0],
    )
    assert result.labels == ["x", "y"]
    np.testing.assert_array_equal(result.ap[:, 1], 0.0)
    np.testing.assert_allclose(result.mAP, 0.5)


def test_ties_follow_the_official_argsort():
    # Two predictions with the same score: one hits, one misses. The official order is whatever
    # ``scores.argsort()[::-1]`` returns for the class's scores in input order.
    scores = np.array([0.5, 0.5])
    result = activitynet_map(["a"], ["x"], [[0, 10]], ["a", "a"], ["x", "x"], [[0, 10], [50, 60]], scores)
    hit_first = scores.argsort()[::-1][0] == 0
    np.testing.assert_allclose(result.ap[:, 0], 1.0 if hit_first else 0.5)


def test_unknown_label_raises_or_is_ignored():
    args = (["a"], ["x"], [[0, 10]], ["a", "a"], ["x", "nope"], [[0, 10], [0, 10]], [0.9, 0.95])
    with pytest.raises(UnknownLabelError, match="nope"):
        activitynet_map(*args)
    with pytest.warns(UserWarning, match="1 prediction"):
        result = activitynet_map(*args, ignore_unknown_labels=True)
    assert result.num_ignored_predictions == 1
    np.testing.assert_allclose(result.mAP, 1.0)


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        activitynet_map(["a"], ["x"], [[0, 10]], ["a"], ["x"], [[0, 10]], [float("nan")])


def _random_case(rng: np.random.Generator, videos: int = 12, classes: int = 4, per_video: int = 15):
    gt_v, gt_l, gt_s = [], [], []
    for v in range(videos):
        for _ in range(rng.integers(1, 5)):
            s = float(rng.integers(0, 60))
            gt_v.append(f"v{v}")
            gt_l.append(f"c{rng.integers(classes)}")
            gt_s.append([s, s + float(rng.integers(0, 15))])  # integer times: tied tIoUs, zero lengths
    labels = sorted(set(gt_l))
    p_v, p_l, p_s, p_c = [], [], [], []
    for v in range(videos + 3):  # three videos outside the ground truth
        for _ in range(per_video):
            s = float(rng.integers(0, 60))
            e = s + float(rng.integers(-2, 15))  # a few start > end, kept as the official code does
            p_v.append(f"v{v}")
            p_l.append(labels[rng.integers(len(labels))])
            p_s.append([s, e])
            p_c.append(round(float(rng.random()), 1))  # many tied scores
    return (gt_v, gt_l, np.array(gt_s)), (p_v, p_l, np.array(p_s), np.array(p_c))


@pytest.mark.parametrize("seed", range(6))
def test_matches_the_per_class_reference(seed):
    gt, pred = _random_case(np.random.default_rng(seed))
    result = activitynet_map(*gt, *pred)
    labels, ap = reference_activitynet_map(*gt, *pred)
    assert labels == result.labels
    np.testing.assert_allclose(result.ap, ap, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.mAP, ap.mean(axis=1), rtol=0, atol=1e-9)


def test_custom_thresholds_match_the_reference():
    gt, pred = _random_case(np.random.default_rng(42))
    thresholds = np.array([0.1, 0.3, 0.5, 0.7])
    result = activitynet_map(*gt, *pred, tiou_thresholds=thresholds)
    _, ap = reference_activitynet_map(*gt, *pred, tiou_thresholds=thresholds)
    np.testing.assert_allclose(result.ap, ap, rtol=0, atol=1e-9)


def test_blocked_videos_are_removed_from_both_sides():
    gt, pred = _random_case(np.random.default_rng(3))
    blocked = {"v0", "v13"}
    result = activitynet_map(*gt, *pred, blocked_videos=blocked)
    keep_g = [v not in blocked for v in gt[0]]
    keep_p = [v not in blocked for v in pred[0]]
    pick = lambda seq, keep: [x for x, k in zip(seq, keep) if k]  # noqa: E731
    _, ap = reference_activitynet_map(
        pick(gt[0], keep_g), pick(gt[1], keep_g), gt[2][keep_g],
        pick(pred[0], keep_p), pick(pred[1], keep_p), pred[2][keep_p], pred[3][keep_p],
    )
    np.testing.assert_allclose(result.ap, ap, rtol=0, atol=1e-9)


def test_metric_accumulates_like_the_function():
    gt, pred = _random_case(np.random.default_rng(7))
    labels = sorted(set(gt[1]))
    videos = sorted(set(pred[0]))
    metric = ActivityNetMAP(labels)
    vid = lambda seq: torch.tensor([videos.index(v) for v in seq])  # noqa: E731
    lab = lambda seq: torch.tensor([labels.index(x) for x in seq])  # noqa: E731
    half = len(pred[0]) // 2
    gt_half = len(gt[0]) // 2
    for p_sl, g_sl in ((slice(0, half), slice(0, gt_half)), (slice(half, None), slice(gt_half, None))):
        metric.update(
            vid(pred[0][p_sl]), lab(pred[1][p_sl]), torch.tensor(pred[2][p_sl]), torch.tensor(pred[3][p_sl]),
            vid(gt[0][g_sl]), lab(gt[1][g_sl]), torch.tensor(gt[2][g_sl]),
        )
    out = metric.compute()
    expected = activitynet_map(*gt, *pred)
    np.testing.assert_allclose(out["mAP"].numpy(), expected.mAP, rtol=0, atol=1e-12)
    assert float(out["average_mAP"]) == pytest.approx(expected.average_mAP, abs=1e-12)
    per_class = expected.per_class_ap()
    for i, name in enumerate(labels):
        assert float(out["per_class_AP"][i]) == pytest.approx(per_class[name], abs=1e-12)


def test_metric_states_merge_like_a_ddp_gather():
    # Two "ranks", each with its own videos; merging concatenates the states as the DDP gather does.
    gt, pred = _random_case(np.random.default_rng(11), videos=8)
    labels = sorted(set(gt[1]))
    videos = sorted(set(pred[0]))
    ranks = [ActivityNetMAP(labels), ActivityNetMAP(labels)]
    order_g, order_p = [], []
    for rank, metric in enumerate(ranks):
        mine = {v for i, v in enumerate(videos) if i % 2 == rank}
        g = [i for i, v in enumerate(gt[0]) if v in mine]
        p = [i for i, v in enumerate(pred[0]) if v in mine]
        order_g += g
        order_p += p
        metric.update(
            torch.tensor([videos.index(pred[0][i]) for i in p]), torch.tensor([labels.index(pred[1][i]) for i in p]),
            torch.tensor(pred[2][p]), torch.tensor(pred[3][p]),
            torch.tensor([videos.index(gt[0][i]) for i in g]), torch.tensor([labels.index(gt[1][i]) for i in g]),
            torch.tensor(gt[2][g]),
        )
    ranks[1].merge_state(ranks[0])  # puts the incoming (rank 0) states first, as a gather orders ranks
    out = ranks[1].compute()
    expected = activitynet_map(
        [gt[0][i] for i in order_g], [gt[1][i] for i in order_g], gt[2][order_g],
        [pred[0][i] for i in order_p], [pred[1][i] for i in order_p], pred[2][order_p], pred[3][order_p],
    )
    np.testing.assert_allclose(out["mAP"].numpy(), expected.mAP, rtol=0, atol=1e-12)
