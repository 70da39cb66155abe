"""The scaled-IoU BCE loss on a 2x2 case, and ranking + NMS of score maps, by hand."""

import math

import numpy as np
import pytest
import torch

from bsp_tan2d.inference import predict_moments, ranked_moments
from bsp_tan2d.losses import bce_rescale_loss, scaled_iou_target


def test_loss_2x2_by_hand():
    ln3 = math.log(3.0)
    logits = torch.tensor([[[0.0, ln3], [5.0, -ln3]]])
    mask = torch.tensor([[True, True], [False, True]])
    iou = torch.tensor([[[0.75, 1.0], [0.9, 0.4]]])  # targets 0.5, 1, (masked), 0
    loss, scores = bce_rescale_loss(logits, mask, iou, 0.5, 1.0)
    expected = (math.log(2.0) - math.log(0.75) - math.log(0.75)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(scores.numpy(), [[[0.5, 0.75], [0.0, 0.25]]], rtol=1e-6)


def test_loss_is_mean_over_valid_cells_of_the_batch():
    logits = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[0.0, math.log(3.0)], [0.0, 0.0]]])
    mask = torch.tensor([[True, True], [False, True]])
    iou = torch.tensor([[[1.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 0.0]]])
    loss, _ = bce_rescale_loss(logits, mask, iou)
    # sample 1: three cells at p = 0.5 (ln 2 each); sample 2: ln 2, -ln 0.75, ln 2
    expected = (5 * math.log(2.0) - math.log(0.75)) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_scaled_target_tacos_and_charades():
    iou = torch.tensor([0.2, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(scaled_iou_target(iou, 0.3, 0.7).numpy(), [0, 0, 0.5, 1, 1], atol=1e-6)
    np.testing.assert_allclose(scaled_iou_target(iou, 0.5, 1.0).numpy(), [0, 0, 0, 0.4, 0.8], atol=1e-6)
    with pytest.raises(ValueError):
        scaled_iou_target(iou, 0.7, 0.3)


def test_loss_saturates_like_the_official_sigmoid_then_bce():
    # sigmoid(40) == 1 in float32, so a zero target costs the clamped -log(0) = 100
    loss, _ = bce_rescale_loss(torch.tensor([[[40.0]]]), torch.tensor([[True]]), torch.tensor([[[0.0]]]))
    assert loss.item() == pytest.approx(100.0)


def test_ranked_moments_by_hand():
    scores = np.array([[0.9, 0.2], [0.95, 0.5]], dtype=np.float32)  # (1, 0) is below the diagonal
    np.testing.assert_array_equal(ranked_moments(scores, 10.0), [[0, 5], [5, 10], [0, 10]])
    # ties: numpy's argsort of equal values is [0, 1, 2, 3], reversed -> (1,1), (1,0) dropped, (0,1), (0,0)
    np.testing.assert_array_equal(ranked_moments(np.zeros((2, 2), np.float32), 10.0), [[5, 10], [0, 10], [0, 5]])


def test_ranked_moments_float32_times():
    scores = np.zeros((16, 16), dtype=np.float32)
    scores[0, 2] = 1.0
    top = ranked_moments(torch.from_numpy(scores), 30.1)[0]
    assert top[0] == 0.0
    assert top[1] == float(np.float32(np.float32(3 / 16) * np.float32(30.1)))
    assert len(ranked_moments(scores, 30.1)) == 136


def test_predict_moments_nms_keeps_five():
    scores = np.zeros((4, 4), dtype=np.float32)
    # cells ranked: (0,3) [0,8], (0,2) [0,6] (IoU 0.75 with the first: suppressed at 0.5), (3,3) [6,8]
    scores[0, 3], scores[0, 2], scores[3, 3] = 0.9, 0.8, 0.7
    out = predict_moments(scores, 8.0, nms_threshold=0.5, top_k=5)
    assert out.shape == (5, 2)
    np.testing.assert_array_equal(out[:2], [[0, 8], [6, 8]])
    kept = predict_moments(scores, 8.0, nms_threshold=0.8, top_k=2)
    np.testing.assert_array_equal(kept, [[0, 8], [0, 6]])
