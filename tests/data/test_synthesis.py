"""Boundary synthesis against frames computed by hand (tiny arrays whose frames hold distinct values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsp_lightning.data.synthesis import (
    BOUNDARY_TYPES,
    DIFF_CLASS,
    DIFF_SPEED,
    SAME_CLASS,
    SAME_SPEED,
    change_point_heatmap,
    diff_class,
    diff_speed,
    diff_speed_positions,
    diff_speed_source_length,
    same_class,
    same_speed,
)


def clip(values, dtype=np.uint8) -> np.ndarray:
    """A ``(T, 2, 2, 3)`` clip whose frame ``k`` is filled with ``values[k]``."""
    return np.array(values, dtype=np.float64)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3).astype(dtype)


def values(frames) -> list:
    frames = frames.numpy() if isinstance(frames, torch.Tensor) else frames
    assert (frames == frames[:, :1, :1, :1]).all()  # every frame stays constant
    return frames[:, 0, 0, 0].tolist()


def test_label_order():
    assert (DIFF_CLASS, SAME_CLASS, DIFF_SPEED, SAME_SPEED) == (0, 1, 2, 3)
    assert BOUNDARY_TYPES == ("diff_class", "same_class", "diff_speed", "same_speed")


def test_diff_class_by_hand_uint8():
    # tau=4, eps=2: inputs have 6 frames, output 8. Blend over i = 3..6:
    # i=3: 3/4 f1_3 + 1/4 f2_1 ; i=4: 1/2 f1_4 + 1/2 f2_2 ; i=5: 1/4 f1_5 + 3/4 f2_3 ; i=6: 0 f1_6 + 1 f2_4
    f1 = clip([10, 20, 30, 40, 50, 60])
    f2 = clip([101, 103, 105, 107, 109, 111])
    out = diff_class(f1, f2, tau=4, eps=2)
    assert out.dtype == np.uint8 and out.shape == (8, 2, 2, 3)
    expected = [10, 20, 0.75 * 30 + 0.25 * 101, 0.5 * 40 + 0.5 * 103, 0.25 * 50 + 0.75 * 105, 107, 109, 111]
    # 47.75 -> 48, 71.5 -> 72 (half up), 91.25 -> 91
    assert values(out) == [10, 20, 48, 72, 91, 107, 109, 111]
    assert values(out) == [int(np.floor(v + 0.5)) for v in expected]


def test_diff_class_float_keeps_exact_blend_and_torch_matches():
    f1 = clip([10, 20, 30, 40, 50, 60], np.float32)
    f2 = clip([101, 103, 105, 107, 109, 111], np.float32)
    out = diff_class(f1, f2, tau=4, eps=2)
    assert out.dtype == np.float32
    assert values(out) == [10, 20, 47.75, 71.5, 91.25, 107, 109, 111]
    out_t = diff_class(torch.from_numpy(f1), torch.from_numpy(f2), tau=4, eps=2)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    assert values(out_t) == values(out)


def test_diff_class_torch_uint8_equals_numpy():
    rng = np.random.default_rng(0)
    f1 = rng.integers(0, 256, (7, 4, 6, 3), dtype=np.uint8)
    f2 = rng.integers(0, 256, (7, 4, 6, 3), dtype=np.uint8)
    out = diff_class(f1, f2, tau=4, eps=3)
    out_t = diff_class(torch.from_numpy(f1), torch.from_numpy(f2), tau=4, eps=3)
    assert out_t.dtype == torch.uint8
    np.testing.assert_array_equal(out_t.numpy(), out)
    # i = 2 (first blended frame): w1 = 5/6, w2 = 1/6, f1_2 and f2_1
    ref = np.floor(5 / 6 * f1[1].astype(float) + 1 / 6 * f2[0].astype(float) + 0.5)
    np.testing.assert_array_equal(out[1], ref.astype(np.uint8))
    np.testing.assert_array_equal(out[0], f1[0])
    np.testing.assert_array_equal(out[7], f2[6])


def test_diff_class_eps_zero_is_hard_cut():
    out = diff_class(clip([1, 2, 3]), clip([7, 8, 9]), tau=3, eps=0)
    assert values(out) == [1, 2, 3, 7, 8, 9]


def test_diff_class_eps_equals_tau():
    # tau=eps=1: one blended frame i=1 with w1 = 1/2, then f2_2.
    out = diff_class(clip([10, 20]), clip([30, 40]), tau=1, eps=1)
    assert values(out) == [20, 40]


@pytest.mark.parametrize(
    "n1, n2, match",
    [(5, 6, "frames1 has 5 frames, diff_class needs tau \\+ eps = 6"), (6, 8, "frames2 has 8 frames")],
)
def test_diff_class_wrong_lengths(n1, n2, match):
    with pytest.raises(ValueError, match=match):
        diff_class(clip(range(n1)), clip(range(n2)), tau=4, eps=2)


def test_diff_class_bad_params_and_mismatch():
    with pytest.raises(ValueError, match="eps"):
        diff_class(clip(range(9)), clip(range(9)), tau=4, eps=5)
    with pytest.raises(ValueError, match="tau"):
        diff_class(clip(range(2)), clip(range(2)), tau=0, eps=2)
    with pytest.raises(TypeError, match="dtype"):
        diff_class(clip(range(6)), clip(range(6), np.float32), tau=4, eps=2)
    with pytest.raises(ValueError, match="frame shape"):
        diff_class(clip(range(6)), np.zeros((6, 3, 2, 3), np.uint8), tau=4, eps=2)


def test_same_class_by_hand():
    out = same_class(clip([1, 2, 3, 4, 5]), clip([11, 12, 13]), tau=3)
    assert values(out) == [1, 2, 3, 11, 12, 13]
    out_t = same_class(torch.from_numpy(clip([1, 2, 3])), torch.from_numpy(clip([4, 5, 6])), tau=2)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.uint8
    assert values(out_t) == [1, 2, 4, 5]
    with pytest.raises(ValueError, match="frames2 has 2 frames, same_class needs at least tau = 3"):
        same_class(clip([1, 2, 3]), clip([4, 5]), tau=3)


def test_diff_speed_downsampling_by_hand():
    # tau=4, t=3, gamma=2: i=4..8 -> 3 + 2 (i-3) = 5, 7, 9, 11, 13
    frames = clip(range(1, 14))  # frame k (1-based) holds value k
    out = diff_speed(frames, tau=4, change_point=3, gamma=2.0)
    assert values(out) == [1, 2, 3, 5, 7, 9, 11, 13]
    assert diff_speed_source_length(4, 3, 2.0) == 13


def test_diff_speed_upsampling_rounds_half_up():
    # tau=4, t=2, gamma=0.5: i=3..8 -> 2.5, 3, 3.5, 4, 4.5, 5 -> 3, 3, 4, 4, 5, 5 (halves rounded up)
    frames = clip(range(1, 6))
    out = diff_speed(frames, tau=4, change_point=2, gamma=0.5)
    assert values(out) == [1, 2, 3, 3, 4, 4, 5, 5]
    assert diff_speed_source_length(4, 2, 0.5) == 5
    # gamma=1.5, t=1: i=2..6 -> 2.5, 4, 5.5, 7, 8.5 -> 3, 4, 6, 7, 9
    assert diff_speed_positions(3, 1, 1.5).tolist() == [1, 3, 4, 6, 7, 9]
    # gamma=0.3, t=1: i=6 -> 1 + 1.5 (an inexact float product) -> 3
    assert diff_speed_positions(3, 1, 0.3).tolist() == [1, 1, 2, 2, 2, 3]


def test_diff_speed_torch_and_dtype():
    frames = torch.arange(1, 14, dtype=torch.int16).reshape(13, 1, 1, 1).expand(13, 2, 2, 3).contiguous()
    out = diff_speed(frames, tau=4, change_point=3, gamma=2.0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int16
    assert out[:, 0, 0, 0].tolist() == [1, 2, 3, 5, 7, 9, 11, 13]


def test_diff_speed_errors():
    frames = clip(range(1, 13))
    with pytest.raises(ValueError, match="has 12 frames.*needs 13"):
        diff_speed(frames, tau=4, change_point=3, gamma=2.0)
    with pytest.raises(ValueError, match="differ from 1"):
        diff_speed(frames, tau=4, change_point=3, gamma=1.0)
    with pytest.raises(ValueError, match="positive"):
        diff_speed(frames, tau=4, change_point=3, gamma=-0.5)
    with pytest.raises(ValueError, match="change_point"):
        diff_speed(frames, tau=4, change_point=8, gamma=2.0)
    with pytest.raises(ValueError, match="change_point"):
        diff_speed(frames, tau=4, change_point=0, gamma=2.0)


def test_same_speed():
    frames = clip(range(1, 11))
    assert values(same_speed(frames, tau=3)) == [1, 2, 3, 4, 5, 6]
    assert values(same_speed(torch.from_numpy(frames), tau=5)) == list(range(1, 11))
    with pytest.raises(ValueError, match="same_speed needs 2 tau = 12"):
        same_speed(frames, tau=6)


def test_change_point_heatmap_by_hand():
    y = change_point_heatmap(mu=3, length=6, tau=4)
    assert y.dtype == np.float32 and y.shape == (6,)
    expected = [np.exp(-4 / 8), np.exp(-1 / 8), 1.0, np.exp(-1 / 8), np.exp(-4 / 8), np.exp(-9 / 8)]
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    y = change_point_heatmap(mu=2.5, length=4, tau=1)
    np.testing.assert_allclose(y, np.exp(-np.array([1.5, 0.5, 0.5, 1.5]) ** 2 / 2), rtol=1e-6)


@pytest.mark.parametrize("tau, eps", [(4, 1), (4, 2), (8, 4), (64, 64), (4, 3)])
def test_diff_class_uint8_equals_float64_formula(tau, eps):
    # eq. (1) in float64, rounded half up, written out per output frame: every 2 eps (dyadic or not) agrees
    rng = np.random.default_rng(eps)
    f1, f2 = (rng.integers(0, 256, (tau + eps, 3, 5, 2), dtype=np.uint8) for _ in range(2))
    f1[:, 0, 0, 0], f2[:, 0, 0, 0] = 255, 255  # the top of the range
    f1[:, 0, 0, 1], f2[:, 0, 0, 1] = 1, 0  # an exact half
    expected = []
    for i in range(1, 2 * tau + 1):
        if i <= tau - eps:
            expected.append(f1[i - 1])
        elif i > tau + eps:
            expected.append(f2[i - tau + eps - 1])
        else:
            x = (tau + eps - i) / (2 * eps) * f1[i - 1].astype(np.float64) + (i - tau + eps) / (2 * eps) * f2[
                i - tau + eps - 1].astype(np.float64)
            expected.append(np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8))
    expected = np.stack(expected)
    np.testing.assert_array_equal(diff_class(f1, f2, tau, eps), expected)
    np.testing.assert_array_equal(diff_class(torch.from_numpy(f1), torch.from_numpy(f2), tau, eps).numpy(), expected)
