"""Snippets of long videos: exact frames, the padding rule, counts, one decode per frame."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from bsp_lightning.video import Snippet, iter_snippets, num_snippets
from bsp_lightning.video.reader import FrameReader


def _reference(frames: np.ndarray, length: int, stride: int) -> list[tuple[int, np.ndarray, int]]:
    """Slow reference: starts 0, stride, ... until the first snippet that reaches the last frame."""
    total = len(frames)
    out = []
    start = 0
    while start < total:
        real = frames[start : start + length]
        pad = np.repeat(real[-1:], length - len(real), axis=0)
        out.append((start, np.concatenate([real, pad]), len(real)))
        if start + length >= total:
            break
        start += stride
    return out


@pytest.mark.parametrize("length, stride", [(8, 8), (8, 4), (4, 6), (8, 3), (30, 8), (1, 1)])
def test_snippets_match_reference(tmp_path, mp4_writer, frame_maker, length, stride):
    frames = frame_maker(21, 16, 16, seed=length * 10 + stride)
    path = mp4_writer(tmp_path / "v.mp4", frames)
    got = list(iter_snippets(path, snippet_length=length, stride=stride))
    expected = _reference(frames, length, stride)
    assert len(got) == len(expected) == num_snippets(21, length, stride)
    for snippet, (start, clip, real) in zip(got, expected):
        start_frame, clip_frames = snippet  # unpacks as the contract's (start_frame, frames) pair
        assert (start_frame, snippet.num_real) == (start, real)
        assert clip_frames.dtype == np.uint8 and clip_frames.shape == (length, 16, 16, 3)
        np.testing.assert_array_equal(clip_frames, clip)


def test_last_snippet_is_padded_with_the_last_frame(tmp_path, mp4_writer, frame_maker):
    frames = frame_maker(10, 16, 16)
    path = mp4_writer(tmp_path / "v.mp4", frames)
    last = list(iter_snippets(path, 8, 8))[-1]
    assert (last.start_frame, last.num_real) == (8, 2)
    np.testing.assert_array_equal(last.frames[:2], frames[8:10])
    np.testing.assert_array_equal(last.frames[2:], np.repeat(frames[9:10], 6, axis=0))


def test_every_frame_converted_once(tmp_path, mp4_writer, frame_maker, monkeypatch):
    path = mp4_writer(tmp_path / "v.mp4", frame_maker(40, 16, 16))
    calls = []
    original = FrameReader.to_rgb

    def counting(self, frame):
        calls.append(frame.pts)
        return original(self, frame)

    monkeypatch.setattr(FrameReader, "to_rgb", counting)
    assert len(list(iter_snippets(path, 8, 4))) == 9
    assert len(calls) == 40 and calls == sorted(calls)  # once each, in order, despite the overlap
    calls.clear()
    assert len(list(iter_snippets(path, 4, 16))) == 3
    assert len(calls) == 12  # frames between snippets are skipped, not converted


def test_short_side_and_pickle(tmp_path, mp4_writer, frame_maker):
    path = mp4_writer(tmp_path / "v.mp4", frame_maker(9, 32, 64))
    first = next(iter_snippets(path, 4, 4, short_side=16))
    assert first.frames.shape == (4, 16, 32, 3)
    again = pickle.loads(pickle.dumps(first))
    assert isinstance(again, Snippet) and again.num_real == 4 and again.start_frame == 0
    np.testing.assert_array_equal(again.frames, first.frames)


def test_num_snippets_rules():
    assert num_snippets(64, 8, 8) == 8
    assert num_snippets(65, 8, 8) == 9
    assert num_snippets(3, 8, 8) == 1
    assert num_snippets(20, 8, 4) == 4  # 0, 4, 8, 12 (12 reaches frame 19)
    assert num_snippets(20, 4, 10) == 2  # 0, 10: a start at 20 would be past the end
    assert num_snippets(0, 8, 8) == 0
    with pytest.raises(ValueError):
        num_snippets(10, 0, 8)
