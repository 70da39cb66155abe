"""Tiny Kinetics-layout videos and their frame shards, made once per test session."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from bsp_lightning.data.lists import open_index

CLASSES = ("class_a", "class_b", "class_c")


def numbered_video(green: int, num_frames: int, height: int = 32, width: int = 40) -> np.ndarray:
    """Frames whose red channel is 4 x the frame number and whose green names the video, over a gradient that
    makes crops and resizes visible."""
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    frames[..., 0] = (4 * np.arange(num_frames))[:, None, None]
    frames[..., 1] = green
    frames[..., 2] = (np.arange(width) * 5)[None, None, :]
    return frames


def write_lossless_mp4(path: Path, frames: np.ndarray, fps: int = 30) -> None:
    """RGB H.264 at crf 0 (decoded frames equal ``frames``); local because session fixtures cannot use the
    function-scoped ``mp4_writer`` fixture."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264rgb", rate=fps)
        stream.pix_fmt, stream.height, stream.width = "rgb24", frames.shape[1], frames.shape[2]
        stream.options = {"crf": "0", "preset": "ultrafast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="session")
def kinetics_videos(tmp_path_factory) -> Path:
    """root/{train,val}/<label>/<id>.mp4: 3 classes, 4 training and 2 validation clips each, 30-39 frames."""
    root = tmp_path_factory.mktemp("kinetics_videos")
    number = 0
    for split, count in (("train", 4), ("val", 2)):
        for label in CLASSES:
            for k in range(count):
                frames = numbered_video(20 + 9 * number, 30 + 3 * k)
                write_lossless_mp4(root / split / label / f"{split}_{label}_{k}.mp4", frames)
                number += 1
    return root


@pytest.fixture(scope="session")
def packed(kinetics_videos, tmp_path_factory) -> dict[str, Path]:
    """The videos packed at short side 32, 3 clips per chunk: ``{"raw": store, "jpeg": store}`` (train and val)."""
    from bsp_lightning.data.pack import pack

    stores = {}
    for encoding in ("raw", "jpeg"):
        store = tmp_path_factory.mktemp(f"shards_{encoding}")
        for split in ("train", "val"):
            pack(open_index(kinetics_videos, None, split), store / split, short_side=32, raw=encoding == "raw",
                 quality=95, chunk_clips=3, workers=2, progress=False)
        stores[encoding] = store
    return stores
