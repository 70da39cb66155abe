"""Targets computed by hand (docs/heads/gtad-actionness.md §1.4)."""

import numpy as np
import pytest

from bsp_gtad.targets import gtad_targets, valid_mask


def test_valid_mask():
    expected = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=float)
    np.testing.assert_array_equal(valid_mask(4), expected)
    np.testing.assert_array_equal(valid_mask(4, 2), expected[:2])


def test_activitynet_edge_boundaries():
    start, end, iou = gtad_targets(np.array([[0.2, 0.5]]), 10)
    np.testing.assert_allclose(start, [0.5, 1, 1, 0.5, 0, 0, 0, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(end, [0, 0, 0, 0.5, 1, 1, 0.5, 0, 0, 0], atol=1e-12)
    assert iou.shape == (10, 10)
    assert iou[2, 2] == pytest.approx(1.0)  # [0.2, 0.5]
    assert iou[0, 2] == pytest.approx(1 / 3)  # [0.2, 0.3]
    assert iou[3, 2] == pytest.approx(0.75)  # [0.2, 0.6]
    assert iou[0, 7] == 0.0
    assert iou[9, 9] == 0.0  # invalid cell [0.9, 1.9]: no overlap, no mask applied either way


def test_activitynet_mid_snippet_boundary():
    start, _, _ = gtad_targets(np.array([[0.105, 0.5]]), 100)
    np.testing.assert_allclose(start[8:13], [0.25, 0.75, 1.0, 0.75, 0.25], atol=1e-9)
    assert start[:8].max() == 0 and start[13:].max() == 0


def test_normalisation_by_feature_covered_duration_and_clip():
    # corrected = 2400 / 3000 * 100 = 80 s
    a = gtad_targets(np.array([[20.0, 50.0]]), 16, duration_second=100, duration_frame=3000, feature_frame=2400)
    b = gtad_targets(np.array([[0.25, 0.625]]), 16)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-12)
    clipped = gtad_targets(np.array([[-5.0, 200.0]]), 4, duration_second=100)
    np.testing.assert_allclose(clipped[2][3, 0], 1.0)  # [0, 1] after clipping


def test_max_over_ground_truths_and_empty():
    _, _, iou = gtad_targets(np.array([[0.0, 0.2], [0.5, 0.6]]), 10)
    assert iou[1, 0] == pytest.approx(1.0) and iou[0, 5] == pytest.approx(1.0)
    s, e, m = gtad_targets(np.zeros((0, 2)), 5, max_duration=3)
    assert m.shape == (3, 5) and not s.any() and not e.any() and not m.any()


def test_thumos_style_unclipped_boundaries():
    start, end, iou = gtad_targets(np.array([[-0.1, 0.35]]), 10, style="thumos")
    np.testing.assert_allclose(start, [0.5] + [0] * 9, atol=1e-12)
    np.testing.assert_allclose(end, [0, 0, 1, 1, 1, 0, 0, 0, 0, 0], atol=1e-12)
    assert iou[3, 0] == pytest.approx(0.35 / 0.4)  # IoU map uses the clipped [0, 0.35]


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        gtad_targets(np.array([[0.0, np.nan]]), 4)
    with pytest.raises(ValueError, match="positive"):
        gtad_targets(np.array([[0.0, 1.0]]), 4, duration_second=0)
    with pytest.raises(ValueError, match="style"):
        gtad_targets(np.array([[0.0, 1.0]]), 4, style="bmn")
