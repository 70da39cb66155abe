"""A real ``bsp-lightning extract`` run on tiny videos, shared by the feature tests (about 5 s of CPU, once)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from bsp_lightning.extract import main as extract_main
from bsp_lightning.models import TSMClassifier

FPS = 25
#: video id -> frames: 5, 7 and 9 snippets of 8 frames; ids carry ``v_`` as ActivityNet video files do
FRAMES = {"v_alpha": 40, "v_beta": 56, "v_gamma": 72}


def _write_video(path: Path, num_frames: int, seed: int) -> None:
    frames = np.random.default_rng(seed).integers(0, 256, size=(num_frames, 32, 32, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.pix_fmt, stream.width, stream.height = "yuv420p", 32, 32
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="session")
def extracted(tmp_path_factory) -> Path:
    """A folder with ``videos/`` (:data:`FRAMES` at :data:`FPS`), ``tsm.pth`` (a random official-layout TSM-R18)
    and ``extracted/``: their 8-frame snippet features (stride 8) written by ``bsp-lightning extract``."""
    root = tmp_path_factory.mktemp("extracted")
    (root / "videos").mkdir()
    for i, (vid, n) in enumerate(FRAMES.items()):
        _write_video(root / "videos" / f"{vid}.mp4", n, i)
    torch.manual_seed(0)
    model = TSMClassifier(num_classes=3, arch="resnet18", num_segments=8)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "arch": "resnet18"},
               root / "tsm.pth")
    assert extract_main(["--checkpoint", str(root / "tsm.pth"), "--videos", str(root / "videos"), "--out",
                         str(root / "extracted"), "--num-workers", "0", "--accelerator", "cpu",
                         "--short-side", "none", "--crop", "none"]) == 0
    return root
