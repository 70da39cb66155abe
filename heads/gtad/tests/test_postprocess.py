"""Post-processing cases computed by hand (docs/heads/gtad-actionness.md §1.7)."""

import math

import numpy as np
import pytest

from bsp_gtad.postprocess import (
    boundary_flags, candidates, classify, merge_window_proposals, soft_nms, video_proposals, window_candidates,
)


def test_boundary_flags():
    s, e = boundary_flags(np.array([0.1, 0.3, 0.2, 0.9, 0.8, 0.1]), np.array([0.1, 0.3, 0.2, 0.9, 0.8, 0.1]))
    np.testing.assert_array_equal(s, [1, 1, 0, 1, 1, 0])  # index 0 always; 1, 3 peaks; 4 above 0.45
    np.testing.assert_array_equal(e, [0, 1, 0, 1, 1, 1])  # index T-1 always


def test_candidates_order_and_strict_end():
    t = 4
    start = np.array([0.9, 0.1, 0.1, 0.1])  # flags: 0 only
    end = np.array([0.1, 0.1, 0.1, 0.9])  # flags: 3 only
    clr = np.arange(16, dtype=float).reshape(4, 4) / 16
    reg = np.ones((4, 4)) * 0.5
    c = candidates(start, end, clr, reg)
    # s = 0 only; e = d + 1 = 3 -> d = 2; e = 4 (= T) is never produced
    np.testing.assert_allclose(c, [[0.0, 0.75, clr[2, 0], 0.5]])
    flat = np.ones(t) * 0.9  # all inner positions above half the max: every start 0..2, every end 1..3
    c = candidates(flat, flat, clr, reg)
    expected = [(s, s + d + 1) for d in range(4) for s in range(4) if s + d + 1 < 4]
    np.testing.assert_allclose(c[:, :2] * 4, expected)


def test_soft_nms_hand_case():
    p = np.array([[0.0, 1.0, 0.9], [0.5, 1.5, 0.8], [3.0, 4.0, 0.7]])
    out = soft_nms(p, 0.8, 100)
    # [0,1] first; [0.5,1.5] has IoU 1/3 -> 0.8 exp(-1/9/0.8) = 0.6963 < 0.7; [3,4] next; the last one is dropped
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.9], [3.0, 4.0, 0.7]])
    out = soft_nms(p[[1, 0]], 0.8, 100)
    np.testing.assert_allclose(out, [[0.0, 1.0, 0.9]])


def test_soft_nms_decayed_score_is_reported():
    p = np.array([[0.0, 1.0, 0.9], [0.5, 1.5, 0.8], [0.0, 1.0, 0.1], [5.0, 6.0, 0.05]])
    out = soft_nms(p, 0.8, 100)
    assert out[1, 2] == pytest.approx(0.8 * math.exp(-(1 / 9) / 0.8))
    assert out.shape == (3, 3)  # one of four is dropped by the len > 1 rule


def test_soft_nms_touching_top_k_zero_and_max_length():
    p = np.array([[0.0, 1.0, 0.9], [1.0, 2.0, 0.8], [2.0, 3.0, 0.7]])
    np.testing.assert_allclose(soft_nms(p, 0.8, 100)[:, 2], [0.9, 0.8])  # touching: IoU 0, no decay
    assert len(soft_nms(p, 0.8, 1)) == 1
    z = np.array([[0.0, 1.0, 0.9], [2.0, 3.0, 0.0], [4.0, 5.0, 0.0]])
    assert len(soft_nms(z, 0.8, 100)) == 1  # stops at a zero maximum
    long = np.array([[0.0, 20.0, 0.9], [2.0, 3.0, 0.5], [4.0, 5.0, 0.4]])
    np.testing.assert_allclose(soft_nms(long, 0.46, 200, max_length=10.0)[:, 2], [0.5, 0.4])
    assert soft_nms(np.zeros((0, 3))).shape == (0, 3)


def test_video_proposals_seconds():
    t = 4
    start = np.array([0.9, 0.1, 0.1, 0.1])
    end = np.array([0.1, 0.1, 0.9, 0.9])  # flags: 2, 3 (3 always)
    clr = np.full((t, t), 0.5)
    reg = np.full((t, t), 0.8)
    clr[1, 0] = 1.0  # [0, 2/4]
    out = video_proposals(start, end, clr, reg, 10.0)
    # candidates: [0, .5] score .8, [0, .75] score .4; IoU 2/3 -> .4 exp(-(4/9)/.8); only one kept (len > 1 rule)
    np.testing.assert_allclose(out, [[0.0, 5.0, 0.8]])


def test_window_candidates_and_merge():
    clr = np.full((2, 4), 0.5)
    reg = np.full((2, 4), 0.5)
    c = window_candidates(clr, reg, origin=10.0, step=0.5)
    # (d, s) with s + d + 1 < 4: d=0: s=0..2, d=1: s=0..1
    np.testing.assert_allclose(c[:, :2], [[10, 10.5], [10.5, 11], [11, 11.5], [10, 11], [10.5, 11.5]])
    merged = merge_window_proposals([np.array([[1.0, 2.0, 0.9], [8.0, 9.0, 0.5]]), np.array([[-1.0, 0.5, 0.6]])],
                                    duration=8.5)
    np.testing.assert_allclose(merged, [[1.0, 2.0, 0.9], [0.0, 0.5, 0.6]])  # clipped; last dropped


def test_classify_top2_order():
    p = np.array([[0.0, 1.0, 0.5], [2.0, 3.0, 0.25]])
    out = classify(p, np.array([0.1, 0.6, 0.3]), ["a", "b", "c"])
    assert [d["label"] for d in out] == ["b", "b", "c", "c"]
    assert [d["score"] for d in out] == pytest.approx([0.3, 0.15, 0.15, 0.075])
    assert out[1]["segment"] == [2.0, 3.0]
    r = classify(np.array([[0.123, 1.26, 0.1234567]]), np.array([1.0]), ["a"], 2, decimals=(1, 6))
    assert r == [{"label": "a", "score": 0.123457, "segment": [0.1, 1.3]}]
    with pytest.raises(ValueError):
        classify(p, np.array([0.1]), ["a", "b"])


def _soft_nms_loop(rows, denominator, top_k):
    """The official loop restated on Python lists (BSN style; first maximum wins)."""
    rows = sorted(rows, key=lambda r: -r[2])
    starts, ends, scores = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    kept = []
    while len(scores) > 1 and len(kept) < top_k and max(scores) > 0:
        m = scores.index(max(scores))
        for i in range(len(scores)):
            if i == m or starts[i] > ends[m] or starts[m] > ends[i]:
                continue
            iou = (min(ends[i], ends[m]) - max(starts[i], starts[m])) / (max(ends[i], ends[m]) - min(starts[i], starts[m]))
            if iou > 0:
                scores[i] *= math.exp(-iou * iou / denominator)
        kept.append((starts.pop(m), ends.pop(m), scores.pop(m)))
    return np.array(kept).reshape(-1, 3)


def test_soft_nms_against_loop_on_random_proposals():
    rng = np.random.default_rng(0)
    for n, top_k in ((60, 100), (80, 10), (2, 100)):
        lo = rng.integers(0, 20, n) / 20
        p = np.stack((lo, lo + rng.integers(1, 10, n) / 20, rng.random(n)), axis=1)
        np.testing.assert_allclose(soft_nms(p, 0.8, top_k), _soft_nms_loop(p.tolist(), 0.8, top_k), rtol=0, atol=1e-15)


def test_candidates_against_double_loop():
    rng = np.random.default_rng(1)
    t = 12
    start, end = rng.random(t), rng.random(t)
    clr, reg = rng.random((t, t)), rng.random((t, t))
    s_flags, e_flags = boundary_flags(start, end)
    expected = [(s / t, (s + d + 1) / t, clr[d, s], reg[d, s]) for d in range(t) for s in range(t)
                if s + d + 1 < t and s_flags[s] and e_flags[s + d + 1]]
    np.testing.assert_allclose(candidates(start, end, clr, reg), np.array(expected).reshape(-1, 4), rtol=0, atol=0)


def test_video_with_one_candidate_keeps_it():
    # The official anet gtad_postprocess.py calls Soft_NMS only when len(df) > 1 (its "while len > 1" loop would
    # drop a lone candidate): one candidate is kept with its clr * reg score.
    start = np.array([0.9, 0.1, 0.1, 0.1])  # start flags: 0 only
    end = np.array([0.1, 0.1, 0.1, 0.9])  # end flags: 3 only -> the one candidate s = 0, e = 3 (d = 2)
    clr = np.full((4, 4), 0.5)
    reg = np.full((4, 4), 0.5)
    clr[2, 0], reg[2, 0] = 0.75, 0.4
    np.testing.assert_allclose(video_proposals(start, end, clr, reg, 10.0), [[0.0, 7.5, 0.75 * 0.4]])


def test_video_without_candidates_has_no_proposals():
    # start flags: 0 only; end flags: 3 only; with D = 2 the ends s + d + 1 of s = 0 are 1 and 2, never flagged
    out = video_proposals(np.array([0.9, 0.1, 0.1, 0.1]), np.array([0.1, 0.1, 0.1, 0.9]), np.zeros((2, 4)),
                          np.zeros((2, 4)), 10.0)
    assert out.shape == (0, 3)
