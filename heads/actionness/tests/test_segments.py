"""Segment grid and labels, the segment-to-snippet mapping and the per-task split, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from bsp_actionness.segments import (
    centre_snippet_index,
    segment_centres,
    segment_features,
    split_per_task,
    video_segment_labels,
)


def test_grid_counts_and_centres():
    # ceil(duration / 0.2): 1.0 s -> 5 segments, 1.01 s -> 6 (the last one runs past the end), 0.05 s -> 1
    assert video_segment_labels([], 1.0).shape == (5,)
    assert video_segment_labels([], 1.01).shape == (6,)
    assert video_segment_labels([], 2.2).shape == (11,)  # 2.2 / 0.2 = 11.000000000000002 in floats
    np.testing.assert_allclose(segment_centres(3), [0.1, 0.3, 0.5])


def test_step_ending_exactly_on_a_segment_edge():
    # step [0.2, 0.6): segments [0.2,0.4) and [0.4,0.6) overlap it; [0.6,0.8) only touches its end
    labels = video_segment_labels([(0.2, 0.6)], 1.0)
    assert labels.tolist() == [False, True, True, False, False]
    # a step starting exactly at a segment's end does not mark that segment either
    assert video_segment_labels([(0.4, 0.5)], 1.0).tolist() == [False, False, True, False, False]
    # a step inside one segment marks it; a step past the video is ignored
    assert video_segment_labels([(0.81, 0.82), (3.0, 4.0)], 1.0).tolist() == [False, False, False, False, True]


def test_video_shorter_than_one_segment():
    assert video_segment_labels([(0.0, 0.1)], 0.1).tolist() == [True]
    assert video_segment_labels([], 0.1).tolist() == [False]
    assert video_segment_labels([(0.15, 0.3)], 0.12).tolist() == [True]  # the step overlaps [0, 0.2)


def test_centre_snippet_index_by_hand():
    # 8-frame snippets at 10 fps: spans [0, 0.8), [0.8, 1.6), [1.6, 2.4)
    starts = [0.0, 0.8, 1.6]
    centres = segment_centres(13)  # 0.1 ... 2.5
    expected = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]  # 2.5 is past the last snippet: clipped to it
    assert centre_snippet_index(starts, centres).tolist() == expected
    # a centre exactly on a snippet start belongs to that snippet; before the first start -> the first
    assert centre_snippet_index([0.0, 0.3], [0.3, 0.29999]).tolist() == [1, 0]
    assert centre_snippet_index([0.5, 1.0], [0.1]).tolist() == [0]
    with pytest.raises(ValueError, match="without snippets"):
        centre_snippet_index([], [0.1])


def test_segment_features_centre_and_interpolate():
    features = np.array([[0.0, 10.0], [8.0, 20.0], [16.0, 30.0]], dtype=np.float32)
    starts = [0.0, 0.8, 1.6]
    centre = segment_features(features, starts, 0.8, 6, "centre")
    np.testing.assert_array_equal(centre[:, 0], [0, 0, 0, 0, 8, 8])
    # interpolation between snippet centres 0.4, 1.2, 2.0: value = 10 * (t - 0.4) on channel 0, clamped
    interp = segment_features(features, starts, 0.8, 12, "interpolate")
    t = segment_centres(12)
    np.testing.assert_allclose(interp[:, 0], np.clip(10 * (t - 0.4), 0, 16), atol=1e-5)
    np.testing.assert_allclose(interp[:, 1], np.clip(10 + 12.5 * (t - 0.4), 10, 30), atol=1e-5)
    single = segment_features(features[:1], [0.0], 0.8, 3, "interpolate")
    np.testing.assert_array_equal(single, np.repeat(features[:1], 3, axis=0))
    with pytest.raises(ValueError, match="mapping"):
        segment_features(features, starts, 0.8, 3, "nearest")
    with pytest.raises(ValueError, match="start times"):
        segment_features(features, starts[:2], 0.8, 3)


def test_split_per_task_is_deterministic_and_three_to_one():
    video_task = {f"t{t}_v{i:02d}": str(100 + t) for t in range(3) for i in range(8 + 4 * t)}
    train, test = split_per_task(video_task, 0.25, seed=0)
    assert split_per_task(video_task, 0.25, seed=0) == (train, test)
    assert split_per_task(dict(reversed(list(video_task.items()))), 0.25, seed=0) == (train, test)
    assert split_per_task(video_task, 0.25, seed=1) != (train, test)
    assert not set(train) & set(test) and set(train) | set(test) == set(video_task)
    for t, n in zip(range(3), (8, 12, 16)):
        assert sum(v.startswith(f"t{t}_") for v in test) == round(0.25 * n)  # 2, 3, 4: per task
    # a task's split does not depend on the other tasks
    only_first = {v: k for v, k in video_task.items() if k == "100"}
    assert split_per_task(only_first, 0.25, 0)[1] == [v for v in test if v.startswith("t0_")]
    assert train == sorted(train) and test == sorted(test)
    with pytest.raises(ValueError):
        split_per_task(video_task, 1.5)
