"""IoU target maps, map masks and the max-pool map against hand-computed values and slow loops."""

import math

import numpy as np
import pytest
import torch

from bsp_tan2d.maps import cell_times, iou_target_map, map_mask, map_steps, max_pool_map


def test_iou_target_map_by_hand():
    # 4 clips of 2 s, ground truth [2, 6]: cell (a, b) spans [2a, 2(b + 1)]
    iou = iou_target_map(2.0, 6.0, 8.0, num_clips=4)
    expected = np.array([
        [0.0, 2 / 6, 4 / 6, 4 / 8],
        [0.0, 2 / 4, 1.0, 4 / 6],
        [0.0, 0.0, 2 / 4, 2 / 6],
        [0.0, 0.0, 0.0, 0.0],
    ])
    assert iou.dtype == np.float64 and iou.shape == (4, 4)
    np.testing.assert_allclose(iou, expected, rtol=0, atol=1e-15)


def test_iou_target_map_rounds_times_to_float32():
    # the official loaders compute the cell times and hold the ground truth in float32
    duration, start, end = 30.1, 0.1, 7.3
    iou = iou_target_map(start, end, duration, num_clips=16)
    s32, e32 = float(np.float32(start)), float(np.float32(end))
    cell_end = float(np.float32(np.float32(4) * np.float32(duration)) / np.float32(16))  # cell (0, 3)
    assert cell_end == cell_times(16, duration)[1][3]
    expected = (min(cell_end, e32) - s32) / (max(cell_end, e32) - 0.0)
    assert iou[0, 3] == expected
    assert iou[0, 3] != (min(4 * duration / 16, end) - start) / max(4 * duration / 16, end)


def test_map_mask_dense_for_charades():
    mask = map_mask(16, [16])
    assert mask.dtype == bool and mask.sum() == 136
    np.testing.assert_array_equal(mask, np.triu(np.ones((16, 16), dtype=bool)))


def test_map_mask_sparse_n64_by_hand():
    mask = map_mask(64, [16, 8, 8])
    assert mask.sum() == 1104
    valid = [(0, 0), (48, 63), (0, 15), (3, 18), (0, 17), (2, 19), (46, 63), (0, 31), (0, 35), (4, 39), (28, 63),
             (0, 63), (8, 71 - 8)]
    invalid = [(1, 0), (0, 16), (1, 18), (0, 18), (2, 37), (0, 33), (0, 37), (4, 42), (1, 63), (2, 63)]
    for a, b in valid:
        assert mask[a, b], (a, b)
    for a, b in invalid:
        assert not mask[a, b], (a, b)


@pytest.mark.parametrize("num_clips,scales,count", [(64, [16, 8, 8], 1104), (128, [16, 8, 8, 8], 2548),
                                                    (32, [16, 8], 428)])
def test_map_mask_closed_form(num_clips, scales, count):
    # docs/heads/tan2d-lgi.md §1.4: l <= 16 always; else a and l divisible by 2**ceil(log2(l / 16))
    expected = np.zeros((num_clips, num_clips), dtype=bool)
    for a in range(num_clips):
        for b in range(a, num_clips):
            length = b - a + 1
            if length <= 16:
                expected[a, b] = True
            else:
                step = 2 ** math.ceil(math.log2(length / 16))
                expected[a, b] = a % step == 0 and length % step == 0
    mask = map_mask(num_clips, scales)
    np.testing.assert_array_equal(mask, expected)
    assert mask.sum() == count


def test_map_steps_reject_configs_the_official_code_cannot_run():
    with pytest.raises(ValueError, match="too deep"):
        map_steps(16, [16, 8])
    with pytest.raises(ValueError, match="positive"):
        map_steps(16, [])


@pytest.mark.parametrize("num_clips,scales", [(16, [16]), (64, [16, 8, 8]), (8, [8])])
def test_max_pool_map_against_slow_loop(num_clips, scales):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, num_clips)).astype(np.float32)
    out = max_pool_map(x, scales)
    mask = map_mask(num_clips, scales)
    expected = np.zeros((3, num_clips, num_clips), dtype=np.float32)
    for a in range(num_clips):
        for b in range(a, num_clips):
            if mask[a, b]:
                expected[:, a, b] = x[:, a : b + 1].max(axis=1)
    np.testing.assert_array_equal(out, expected)
    batched = max_pool_map(torch.from_numpy(np.stack([x, -x])), scales)
    assert isinstance(batched, torch.Tensor) and batched.shape == (2, 3, num_clips, num_clips)
    np.testing.assert_array_equal(batched[0].numpy(), expected)
