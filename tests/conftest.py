"""Shared fixtures: tiny real mp4 files written with PyAV.

``lossless=True`` writes RGB H.264 (``libx264rgb``, ``crf=0``) so decoded frames equal the input exactly,
as in pytorchvideo's test fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest


def write_mp4(path: str | Path, frames: np.ndarray, fps: float = 30, lossless: bool = True) -> Path:
    """Write ``frames`` (uint8 ``(T, H, W, 3)`` RGB, even H and W) to an H.264 mp4 at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames, dtype=np.uint8)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w") as container:
        if lossless:
            stream = container.add_stream("libx264rgb", rate=rate)
            stream.pix_fmt = "rgb24"
            stream.options = {"crf": "0", "preset": "ultrafast"}
        else:
            stream = container.add_stream("libx264", rate=rate)
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "18", "preset": "ultrafast"}
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_frames(num_frames: int, height: int = 32, width: int = 32, seed: int = 0) -> np.ndarray:
    """Deterministic frames where frame ``i`` is identifiable: pixel ``[0, 0, 0] == i % 256``."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(num_frames, height, width, 3), dtype=np.uint8)
    frames[:, 0, 0, 0] = np.arange(num_frames) % 256
    return frames


@pytest.fixture
def mp4_writer() -> Callable[..., Path]:
    return write_mp4


@pytest.fixture
def frame_maker() -> Callable[..., np.ndarray]:
    return make_frames
