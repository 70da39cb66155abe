"""Resampling helpers against hand-computed values of the official G-TAD, 2D-TAN and LGI rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsp_lightning.features.resample import (
    average_to_fixed_length,
    interpolate_to_length,
    strided_indices,
    strided_subsample,
)


def column(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)[:, None]


def test_interpolate_downsample_samples_at_half_pixel_centres():
    # align_corners=False: output j samples (j + 0.5) * 4 / 2 - 0.5 = 0.5, 2.5
    out = interpolate_to_length(column([0, 1, 2, 3]), 2)
    np.testing.assert_allclose(out[:, 0], [0.5, 2.5])


def test_interpolate_upsample_clamps_at_the_ends():
    # sample positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    out = interpolate_to_length(column([0, 4]), 4)
    np.testing.assert_allclose(out[:, 0], [0.0, 1.0, 3.0, 4.0])


def test_interpolate_default_length_100_and_dtype():
    feats = np.random.default_rng(0).normal(size=(37, 5)).astype(np.float32)
    out = interpolate_to_length(feats)
    assert out.shape == (100, 5) and out.dtype == np.float32
    # independent reference: numpy interp at the align_corners=False positions
    pos = np.clip((np.arange(100) + 0.5) * 37 / 100 - 0.5, 0, 36)
    ref = np.stack([np.interp(pos, np.arange(37), feats[:, d]) for d in range(5)], axis=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_interpolate_accepts_tensors_and_single_snippet():
    out = interpolate_to_length(torch.tensor([[2.0, 3.0]]), 3)
    np.testing.assert_allclose(out, [[2, 3]] * 3)


def test_average_to_fixed_length_10_to_4():
    # bounds 0, 2.5, 5, 7.5, 10 -> round half even 0, 2, 5, 8, 10 -> clipped to 9: 0, 2, 5, 8, 9
    out = average_to_fixed_length(column(range(10)), 4)
    np.testing.assert_allclose(out[:, 0], [0.5, 3.0, 6.0, 8.0])


def test_average_to_fixed_length_upsamples_with_single_snippets():
    # bounds 0, .6, 1.2, 1.8, 2.4, 3 -> 0, 1, 1, 2, 2, 3 -> clipped 0, 1, 1, 2, 2, 2
    out = average_to_fixed_length(column([10, 20, 30]), 5)
    np.testing.assert_allclose(out[:, 0], [10, 20, 20, 30, 30])


def test_strided_indices_short_video_keeps_everything():
    np.testing.assert_array_equal(strided_indices(5, 128), np.arange(5))


def test_strided_indices_rounds_half_to_even():
    # stride 6 / 4 = 1.5: positions 0, 1.5, 3, 4.5 -> 0, 2, 3, 4
    np.testing.assert_array_equal(strided_indices(6, 4), [0, 2, 3, 4])


def test_strided_indices_long_video():
    idx = strided_indices(300, 128)
    assert len(idx) == 128
    assert idx[:3].tolist() == [0, 2, 5] and idx[-1] == 298  # 127 * 300 / 128 = 297.66


def test_strided_subsample_pads_and_counts():
    feats = column(np.arange(5) + 1)
    out, valid = strided_subsample(feats, 8)
    assert valid == 5
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3, 4, 5, 0, 0, 0])


def test_strided_subsample_training_jitter_offsets():
    # stride 10 / 4 = 2.5 -> jitter end 2.0 is an integer -> offsets {0, 1}
    feats = column(np.arange(10))
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(40):
        out, valid = strided_subsample(feats, 4, rng=rng)
        assert valid == 4
        seen.add(tuple(out[:, 0].astype(int)))
    assert seen == {(0, 2, 5, 8), (1, 4, 6, 8)}  # 1, 3.5, 6, 8.5 -> 1, 4, 6, 8


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="num_snippets"):
        interpolate_to_length(np.zeros((0, 3)), 10)
    with pytest.raises(ValueError, match="shape"):
        average_to_fixed_length(np.zeros(4), 2)
