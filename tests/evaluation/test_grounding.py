"""Grounding R@n,IoU=m and mIoU under the LGI and 2D-TAN conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsp_lightning.evaluation.grounding import (
    GroundingRecall,
    grounding_metrics,
    metric_names,
    nms_2dtan,
    query_hits,
    temporal_iou,
)


def test_metric_names_follow_the_issue_order():
    assert metric_names() == [
        "R@1,IoU=0.3", "R@5,IoU=0.3", "R@1,IoU=0.5", "R@5,IoU=0.5", "R@1,IoU=0.7", "R@5,IoU=0.7", "mIoU",
    ]


def test_temporal_iou_by_hand():
    pred = np.array([[0, 10], [5, 15], [20, 30], [0, 5]], dtype=float)
    for convention in ("lgi", "2dtan"):
        np.testing.assert_allclose(temporal_iou(pred, [0, 10], convention), [1.0, 5 / 15, 0.0, 0.5])
    assert temporal_iou(np.array([[3.0, 3.0]]), [3.0, 3.0])[0] == 0.0  # 0/0 taken as 0


def test_boundary_iou_is_a_hit_for_lgi_only():
    pred = np.array([[0.0, 5.0]])  # IoU exactly 0.5 with [0, 10]
    lgi, _ = query_hits(pred, [0, 10], recall_at=(1,), iou_thresholds=(0.5,), convention="lgi")
    tan, _ = query_hits(pred, [0, 10], recall_at=(1,), iou_thresholds=(0.5,), convention="2dtan")
    assert lgi[0, 0] and not tan[0, 0]


def test_nms_2dtan_suppresses_overlaps_above_threshold():
    ranked = np.array([[0, 10], [0, 9], [0, 4], [20, 30], [1, 10], [40, 50]], dtype=float)
    # [0,9] overlaps [0,10] by 0.9 (suppressed); [0,4] by 0.4 (kept); [1,10] by 0.9 (suppressed)
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.5), [0, 2, 3, 5])
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.5, top_k=2), [0, 2])
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.95), [0, 1, 2, 3, 4, 5])


def test_nms_moves_a_hit_into_the_top_5():
    # The hit [60, 70] is 6th in the raw list; NMS removes the near-duplicates of the first moment.
    ranked = np.array([[0, 10], [0, 9.5], [0.5, 10], [0, 9], [1, 10], [60, 70]], dtype=float)
    gt = [60, 70]
    lgi, _ = query_hits(ranked, gt, recall_at=(1, 5), iou_thresholds=(0.5,), convention="lgi")
    tan, _ = query_hits(ranked, gt, recall_at=(1, 5), iou_thresholds=(0.5,), convention="2dtan")
    assert not lgi[0, 1] and tan[0, 1]
    assert not lgi[0, 0] and not tan[0, 0]


def test_grounding_metrics_by_hand():
    preds = [
        np.array([[0, 10], [30, 40]], dtype=float),  # top-1 IoU 1
        np.array([[0, 4], [10, 20]], dtype=float),  # top-1 IoU 0.4 with [0, 10]; 2nd IoU 0
        np.zeros((0, 2)),  # no prediction: miss, IoU 0
    ]
    gts = [(0, 10), (0, 10), (0, 10)]
    out = grounding_metrics(preds, gts, convention="lgi")
    assert out["R@1,IoU=0.3"] == pytest.approx(2 / 3)
    assert out["R@1,IoU=0.5"] == pytest.approx(1 / 3)
    assert out["R@5,IoU=0.7"] == pytest.approx(1 / 3)
    assert out["mIoU"] == pytest.approx((1.0 + 0.4 + 0.0) / 3)
    assert list(out) == metric_names()


def test_miou_is_top1_under_both_conventions():
    rng = np.random.default_rng(0)
    preds = [np.sort(rng.uniform(0, 30, size=(8, 2)), axis=1) for _ in range(20)]
    gts = [tuple(np.sort(rng.uniform(0, 30, size=2))) for _ in range(20)]
    expected = np.mean([temporal_iou(p[:1], g)[0] for p, g in zip(preds, gts)])
    for convention in ("lgi", "2dtan"):
        assert grounding_metrics(preds, gts, convention=convention)["mIoU"] == pytest.approx(expected, abs=1e-15)


def test_unknown_convention_is_rejected():
    with pytest.raises(ValueError, match="convention"):
        grounding_metrics([np.zeros((1, 2))], [(0, 1)], convention="tall")


@pytest.mark.parametrize("convention", ["lgi", "2dtan"])
def test_metric_matches_the_function(convention):
    rng = np.random.default_rng(1)
    preds = [np.sort(rng.uniform(0, 30, size=(6, 2)), axis=1) for _ in range(10)]
    gts = np.sort(rng.uniform(0, 30, size=(10, 2)), axis=1)
    metric = GroundingRecall(convention=convention)
    metric.update([torch.tensor(p) for p in preds[:4]], torch.tensor(gts[:4]))
    metric.update(torch.tensor(np.stack(preds[4:])), torch.tensor(gts[4:]))
    out = metric.compute()
    expected = grounding_metrics(preds, gts, convention=convention)
    assert set(out) == set(expected)
    for key, value in expected.items():
        assert float(out[key]) == pytest.approx(value, abs=1e-12)
