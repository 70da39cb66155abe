"""Frame index plans: uniform windows at a base stride and the speed change of equation (3)."""

from __future__ import annotations

import numpy as np
import pytest

from bsp_lightning.data.sampling import (
    ClipTooShortError,
    choose_gamma,
    diff_speed_indices,
    diff_speed_offsets,
    diff_speed_span,
    random_start,
    uniform_indices,
    uniform_span,
)
from bsp_lightning.data.synthesis import diff_speed


def test_uniform_indices_stride_and_window():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(200):
        idx = uniform_indices(20, 5, 3, rng)  # spans 13 frames: start in 0..7
        assert np.array_equal(np.diff(idx), [3, 3, 3, 3])
        assert 0 <= idx[0] and idx[-1] <= 19
        starts.add(int(idx[0]))
    assert starts == set(range(8))
    assert uniform_span(5, 3) == 13


def test_uniform_indices_exact_fit_and_too_short():
    rng = np.random.default_rng(0)
    assert uniform_indices(13, 5, 3, rng).tolist() == [0, 3, 6, 9, 12]
    with pytest.raises(ClipTooShortError, match="video has 12 frames, the clip spans 13"):
        uniform_indices(12, 5, 3, rng)
    with pytest.raises(ClipTooShortError):
        random_start(3, 5, rng)


def test_diff_speed_offsets_stride_one_is_equation_3():
    dense = np.arange(100)[:, None]  # frame k holds k: the output lists the 0-based frames read
    for tau, t, gamma in [(4, 3, 2.0), (4, 2, 0.5), (3, 1, 1.5), (4, 6, 0.25), (8, 4, 4.0)]:
        expected = diff_speed(dense, tau, t, gamma)[:, 0]
        assert diff_speed_offsets(tau, t, gamma, 1).tolist() == expected.tolist()


def test_diff_speed_offsets_by_hand_with_stride():
    # stride 2, tau=4, t=2, gamma=0.5: p = 1, 2, 2.5, 3, 3.5, 4, 4.5, 5 -> 2 (p - 1) = 0, 2, 3, 4, 5, 6, 7, 8
    assert diff_speed_offsets(4, 2, 0.5, 2).tolist() == [0, 2, 3, 4, 5, 6, 7, 8]
    # stride 2, tau=4, t=3, gamma=2: p = 1, 2, 3, 5, 7, 9, 11, 13 -> 0, 2, 4, 8, 12, 16, 20, 24
    assert diff_speed_offsets(4, 3, 2.0, 2).tolist() == [0, 2, 4, 8, 12, 16, 20, 24]
    assert diff_speed_span(4, 3, 2.0, 2) == 25
    # stride 3, tau=2, t=1, gamma=0.25: p = 1, 1.25, 1.5, 1.75 -> 3 (p - 1) = 0, 0.75, 1.5, 2.25 -> 0, 1, 2, 2
    assert diff_speed_offsets(2, 1, 0.25, 3).tolist() == [0, 1, 2, 2]


def test_diff_speed_indices_window():
    rng = np.random.default_rng(1)
    for _ in range(50):
        idx = diff_speed_indices(30, 4, 3, 2.0, 2, rng)
        assert np.array_equal(idx - idx[0], [0, 2, 4, 8, 12, 16, 20, 24])
        assert 0 <= idx[0] <= 5
    with pytest.raises(ClipTooShortError):
        diff_speed_indices(24, 4, 3, 2.0, 2, rng)


def test_choose_gamma_only_fitting_factors():
    rng = np.random.default_rng(0)
    # tau=4, t=2, stride 1: gamma 0.5 spans 5 frames, 2 spans 14, 4 spans 26
    assert {choose_gamma((0.5, 2.0, 4.0), 14, 4, 2, 1, rng) for _ in range(50)} == {0.5, 2.0}
    assert {choose_gamma((0.5, 2.0, 4.0), 26, 4, 2, 1, rng) for _ in range(50)} == {0.5, 2.0, 4.0}
    with pytest.raises(ClipTooShortError, match="spans at least 5"):
        choose_gamma((0.5, 2.0), 4, 4, 2, 1, rng)


@pytest.mark.parametrize("tau", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("gamma", [0.1, 0.25, 0.3, 0.5, 0.7, 1.5, 2.0, 2.5, 3.0, 4.0])
def test_diff_speed_offsets_at_stride_one_equal_equation_3_positions_minus_one(tau, gamma):
    # one rounding rule for equation (3): the sampler at stride 1 reads exactly the synthesis' source frames
    from bsp_lightning.data.synthesis import diff_speed_positions

    for t in range(1, 2 * tau):
        expected = diff_speed_positions(tau, t, gamma) - 1
        assert diff_speed_offsets(tau, t, gamma, 1).tolist() == expected.tolist(), (tau, t, gamma)
