"""Framewise actionness AP (scikit-learn semantics) and its per-video mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsp_lightning.evaluation.actionness import ActionnessAP, actionness_ap, average_precision


def test_average_precision_by_hand():
    # thresholds 0.9, 0.8, 0.7, 0.1 -> P = 1, 1/2, 2/3, 1/2 ; R = 1/2, 1/2, 1, 1
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


def test_tied_scores_form_one_threshold():
    # threshold 0.5 holds one positive and one negative: P = 1/2, R = 1/2; then 0.2: P = 2/3, R = 1
    expected = 0.5 * 0.5 + 0.5 * 2 / 3
    assert average_precision([1, 0, 1], [0.5, 0.5, 0.2]) == pytest.approx(expected, abs=1e-15)
    assert average_precision([0, 1, 1], [0.5, 0.5, 0.2]) == pytest.approx(expected, abs=1e-15)


def test_average_precision_rejects_no_positive_and_nan():
    with pytest.raises(ValueError, match="positive"):
        average_precision([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        average_precision([1, 0], [float("nan"), 0.2])


def test_matches_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.random(300) < 0.3
        s = np.round(rng.random(300), 2)  # ties
        assert average_precision(y, s) == pytest.approx(sklearn_metrics.average_precision_score(y, s), abs=1e-12)


def test_pooled_and_per_video_mean():
    scores = {"a": [0.9, 0.1], "b": [0.8, 0.7], "c": [0.3, 0.2]}
    labels = {"a": [True, False], "b": [False, True], "c": [False, False]}
    result = actionness_ap(scores, labels)
    pooled = average_precision([1, 0, 0, 1, 0, 0], [0.9, 0.1, 0.8, 0.7, 0.3, 0.2])
    assert result.AP == pytest.approx(pooled, abs=1e-15)
    assert result.AP_per_video_mean == pytest.approx((1.0 + 0.5) / 2, abs=1e-15)  # "c" has no positive
    assert result.num_videos_without_positives == 1
    assert result.num_videos == 3 and result.num_segments == 6


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="segment labels"):
        actionness_ap({"a": [0.1, 0.2]}, {"a": [True]})


def test_metric_matches_the_function():
    rng = np.random.default_rng(2)
    lengths = [7, 12, 5, 9]
    scores = {i: rng.random(n) for i, n in enumerate(lengths)}
    labels = {i: rng.random(n) < 0.4 for i, n in enumerate(lengths)}
    labels[2][:] = False
    metric = ActionnessAP()
    for i in (3, 1):
        metric.update(torch.tensor(scores[i]), torch.tensor(labels[i]), torch.full((lengths[i],), i))
    metric.update(
        torch.tensor(np.r_[scores[0], scores[2]]), torch.tensor(np.r_[labels[0], labels[2]]),
        torch.tensor([0] * lengths[0] + [2] * lengths[2]),
    )
    out = metric.compute()
    expected = actionness_ap(scores, labels)
    assert float(out["AP"]) == pytest.approx(expected.AP, abs=1e-12)
    assert float(out["AP_per_video_mean"]) == pytest.approx(expected.AP_per_video_mean, abs=1e-12)
