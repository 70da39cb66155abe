"""2D-TAN NMS at its edges: overlap exactly at the threshold, and zero-length moments (docs/heads/tan2d-lgi.md §1).

Official rule (2D-TAN ``lib/core/eval.py`` ``nms``): ``order = order[np.where(ovr <= thresh)[0] + 1]``, so an
overlap equal to the threshold is kept, and ``0 / 0`` (two zero-length moments) is NaN, which fails
``<=`` and suppresses.
"""

from __future__ import annotations

import numpy as np

from bsp_lightning.evaluation import nms_2dtan


def test_overlap_exactly_at_the_threshold_is_kept():
    # [0, 4] and [0, 2]: inter 2, union 4 + 2 - 2 = 4, overlap exactly 0.5 (exact in floating point)
    ranked = np.array([[0.0, 4.0], [0.0, 2.0]])
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.5), [0, 1])
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.49), [0])


def test_two_zero_length_moments_suppress_each_other():
    # [1, 1] twice: 0 / 0 = NaN suppresses the second; [0, 3] overlaps [1, 1] by 0 / 3 = 0 and is kept
    ranked = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 3.0]])
    np.testing.assert_array_equal(nms_2dtan(ranked, 0.5), [0, 2])
    # two disjoint zero-length moments are NaN too: the official code suppresses them as well
    np.testing.assert_array_equal(nms_2dtan(np.array([[1.0, 1.0], [3.0, 3.0]]), 0.5), [0])
