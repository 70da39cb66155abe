"""Tiny real-world-shaped video files (PyAV), each a few kB, whose right answer is known.

Frame ``k`` of every file shows ``k`` in binary: 8 blocks on a 2 x 4 grid over the whole picture, block
``b`` white when bit ``b`` of ``k`` is set. The pattern survives lossy codecs, resizing and rotation
(read it back with :func:`frame_number` after undoing the expected rotation), and lossless codecs give
the frames back exactly.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest


def numbered_frames(num_frames: int, height: int = 32, width: int = 32) -> np.ndarray:
    """``uint8 (T, H, W, 3)`` where frame ``k`` encodes ``k`` (0..255) in its 2 x 4 block grid."""
    frames = np.zeros((num_frames, height, width, 3), dtype=np.uint8)
    for k in range(num_frames):
        for bit in range(8):
            row, col = divmod(bit, 4)
            if (k >> bit) & 1:
                frames[k, row * height // 2:(row + 1) * height // 2, col * width // 4:(col + 1) * width // 4] = 255
    frames[:, :, :, 1] //= 2  # colour, so a channel swap would show
    return frames


def frame_number(rgb: np.ndarray) -> int:
    """The number :func:`numbered_frames` drew into ``rgb`` (sampled at each block's centre)."""
    height, width = rgb.shape[:2]
    number = 0
    for bit in range(8):
        row, col = divmod(bit, 4)
        y, x = int((row + 0.5) * height / 2), int((col + 0.5) * width / 4)
        if rgb[y, x, 0] > 128:
            number |= 1 << bit
    return number


def write_video(path: Path, frames: np.ndarray, codec: str = "libx264rgb", *, fmt: str | None = None,
                pix_fmt: str = "rgb24", options: dict | None = None, rate: int = 25, b_frames: int | None = None,
                audio_extra: float | None = None, rotation: tuple[int, bool, bool] | None = None,
                sar: Fraction | None = None, gop: int | None = None) -> Path:
    """Encode ``frames`` with ``codec`` into ``path`` (container from the suffix unless ``fmt``).

    ``audio_extra``: add an audio track that lasts that many seconds longer than the video.
    ``rotation``: ``(degrees, hflip, vflip)`` written as the stream's display matrix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        stream.options = dict(options or ({"crf": "0", "preset": "ultrafast"} if "264" in codec else {}))
        if b_frames is not None:
            stream.codec_context.max_b_frames = b_frames
        if gop is not None:
            stream.codec_context.gop_size = gop
        if rotation is not None:
            stream.set_display_rotation(*rotation)
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        audio = None
        if audio_extra is not None:
            audio = container.add_stream("libopus" if path.suffix == ".webm" else "aac", rate=48000)
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
        if audio is not None:
            samples = int((len(frames) / rate + audio_extra) * 48000)
            for start in range(0, samples, 960):
                chunk = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.float32), format="flt", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, start
                container.mux(audio.encode(chunk))
            container.mux(audio.encode())
    return path


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers of this file (test modules cannot import a conftest under importlib mode)."""
    return SimpleNamespace(numbered_frames=numbered_frames, frame_number=frame_number, write_video=write_video)


@pytest.fixture(scope="session")
def kinds(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    """One small file per kind of the frame contract (docs/design.md §4.7), with the frames it was made from."""
    root = tmp_path_factory.mktemp("kinds")
    out: dict[str, tuple[Path, np.ndarray]] = {}
    frames50, frames60 = numbered_frames(50), numbered_frames(60)
    out["webm_long_audio"] = (write_video(root / "a.webm", frames50, "libvpx-vp9", pix_fmt="yuv444p",
                                          options={"lossless": "1"}, audio_extra=0.5), frames50)
    out["mkv_long_audio"] = (write_video(root / "a.mkv", frames50, "ffv1", pix_fmt="bgr0", audio_extra=0.5),
                             frames50)
    out["xvid_avi_bframes"] = (write_video(root / "xvid.avi", frames60, "mpeg4", pix_fmt="yuv420p",
                                           options={"qscale": "2"}, b_frames=2, gop=12), frames60)
    out["h264_avi_bframes"] = (write_video(root / "h264.avi", frames60, options={"crf": "0", "bf": "2"}),
                               frames60)
    out["raw_h264"] = (write_video(root / "raw.h264", frames60, fmt="h264", options={"crf": "0", "bf": "2"}),
                       frames60)
    out["mp4_bframes"] = (write_video(root / "b.mp4", frames60, options={"crf": "0", "bf": "2"}, gop=10),
                          frames60)
    return out
