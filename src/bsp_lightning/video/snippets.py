"""Snippets of long untrimmed videos for feature extraction.

A snippet is ``snippet_length`` consecutive frames; snippet ``k`` starts at frame ``k * stride``. The video
is decoded once, in order, holding at most ``snippet_length`` RGB frames, so hour-long videos stream
through in constant memory.

Last-partial-snippet rule (as in TSM/BSP and G-TAD-style feature extraction): snippets are emitted until
the first one that reaches the last frame; when that snippet runs past the end of the video it is padded
by repeating the last frame, so every snippet has exactly ``snippet_length`` frames and every frame is
covered when ``stride <= snippet_length``. :attr:`Snippet.num_real` tells how many of its frames are
real (the rest are the padding). The number of snippets is :func:`num_snippets`.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Iterator

import numpy as np

from bsp_lightning.video.reader import FrameReader

__all__ = ["Snippet", "iter_snippets", "num_snippets"]


class Snippet(tuple):
    """A ``(start_frame, frames)`` pair (unpacks as two values) with the count of real frames.

    Attributes:
        start_frame: index of the first frame.
        frames: ``uint8 (snippet_length, H, W, 3)`` RGB.
        num_real: frames of the video in this snippet; ``snippet_length - num_real`` trailing frames
            repeat the last frame of the video.
    """

    num_real: int

    def __new__(cls, start_frame: int, frames: np.ndarray, num_real: int) -> Snippet:
        self = super().__new__(cls, (start_frame, frames))
        self.num_real = num_real
        return self

    def __getnewargs__(self) -> tuple[int, np.ndarray, int]:
        return self[0], self[1], self.num_real

    @property
    def start_frame(self) -> int:
        return self[0]

    @property
    def frames(self) -> np.ndarray:
        return self[1]

    def __repr__(self) -> str:
        return f"Snippet(start_frame={self[0]}, frames={self[1].shape}, num_real={self.num_real})"


def num_snippets(num_frames: int, snippet_length: int = 8, stride: int = 8) -> int:
    """Number of snippets :func:`iter_snippets` yields for a video of ``num_frames`` frames.

    ``ceil((num_frames - snippet_length) / stride) + 1`` (at least 1), and never a snippet that starts
    at or after the last frame (``stride > snippet_length`` skips frames between snippets).
    """
    _check(snippet_length, stride)
    if num_frames <= 0:
        return 0
    reach_end = max(1, math.ceil((num_frames - snippet_length) / stride) + 1)
    return min(reach_end, math.ceil(num_frames / stride))


def _check(snippet_length: int, stride: int) -> None:
    if snippet_length < 1:
        raise ValueError(f"snippet_length must be >= 1, got {snippet_length}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")


def iter_snippets(
    path: str | os.PathLike,
    snippet_length: int = 8,
    stride: int = 8,
    short_side: int | None = None,
    *,
    threads: int = 0,
) -> Iterator[Snippet]:
    """Yield the snippets of ``path`` in order, decoding every frame exactly once.

    Args:
        path: video file.
        snippet_length: frames per snippet.
        stride: frames between the starts of consecutive snippets.
        short_side: resize frames so the shorter side has this many pixels (during colour conversion).
        threads: decoder and scaler threads (0: FFmpeg's choice, 1: the calling thread only).

    Yields:
        :class:`Snippet` ``(start_frame, frames)``; see the module docstring for the last snippet.

    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    _check(snippet_length, stride)
    path = os.fspath(path)
    window: deque[np.ndarray] = deque(maxlen=snippet_length)
    next_start = 0
    last_index = -1
    last_emitted_end = -1
    with FrameReader(path, threads, short_side) as reader:
        for index, frame in reader.frames(0):
            # Frames no snippet needs (stride > snippet_length) are decoded but never converted.
            rgb = reader.to_rgb(frame) if index >= next_start else None
            # A picture that did not decode mid-stream is stood in for by the previous one, so that
            # snippet k still starts at frame k * stride.
            for number in range(last_index + 1, index + 1):
                last_index = number
                if number < next_start:
                    continue
                window.append(rgb if number == index or not window else window[-1])
                if number == next_start + snippet_length - 1:
                    yield Snippet(next_start, np.stack(window), snippet_length)
                    last_emitted_end = number
                    next_start += stride
                    # With stride > snippet_length the next snippet starts later: drop what it will not use.
                    if stride >= snippet_length:
                        window.clear()
                    else:
                        for _ in range(stride):
                            window.popleft()
    if last_index < 0 or last_emitted_end == last_index or next_start > last_index:
        return
    num_real = last_index - next_start + 1
    padded = list(window)[-num_real:]
    padded += [padded[-1]] * (snippet_length - num_real)
    yield Snippet(next_start, np.stack(padded), num_real)
