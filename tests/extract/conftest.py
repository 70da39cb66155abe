"""Shared pieces of the extraction tests: tiny lossless videos, official TSM and BSPModule checkpoints, and one
reference extraction (official TSM, 4 videos, one broken) made once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from bsp_lightning.extract import main
from bsp_lightning.models import TSMClassifier
from bsp_lightning.video import read_frames

FRAMES = {"a_long": 20, "b_short": 5, "c_exact": 16}  # 3 snippets (last padded), 1 (padded), 2
SIZE = ["--short-side", "32", "--crop", "32"]


def write_video(path: Path, num_frames: int, seed: int) -> None:
    """Lossless RGB H.264 (decoded frames equal the input); local because session-scoped fixtures cannot use
    the function-scoped ``mp4_writer`` fixture."""
    frames = np.random.default_rng(seed).integers(0, 256, size=(num_frames, 32, 40, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264rgb", rate=30)
        stream.pix_fmt, stream.width, stream.height = "rgb24", 40, 32
        stream.options = {"crf": "0", "preset": "ultrafast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def save_official(path: Path, seed: int) -> TSMClassifier:
    torch.manual_seed(seed)
    model = TSMClassifier(num_classes=3, arch="resnet18", num_segments=8)
    # timm zero-initialises the last BatchNorm of each residual branch, which silences the temporal shift
    # (it sits in that branch): frames of a snippet in any order would give the same features. Non-trivial
    # weights and statistics make the features depend on the frame order inside a snippet.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
            torch.nn.init.uniform_(module.bias, -0.2, 0.2)
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    model.eval()
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "arch": "resnet18"}, path)
    return model


def expected_features(model: TSMClassifier, path: Path, num_frames: int) -> np.ndarray:
    """Independent reference: decode snippet frames by index (last snippet padded), crop, normalise, run."""
    starts = list(range(0, max(num_frames - 8, 0) + 7, 8)) if num_frames > 8 else [0]
    starts = [s for s in starts if s < num_frames]
    indices = [min(s + j, num_frames - 1) for s in starts for j in range(8)]
    frames = read_frames(path, indices, short_side=32)  # 32 x 40 -> crop columns 4..36
    frames = frames[:, :, 4:36].reshape(len(starts), 8, 32, 32, 3)
    x = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 1, 3, 1, 1)
    with torch.no_grad():
        return model.features((x - mean) / std).numpy()


def bsp_checkpoint(path: Path, data: dict | None, num_segments: int = 4) -> Path:
    """A BSPModule checkpoint as a Trainer writes it; ``data``: the DataModule hyper-parameters it records."""
    import pytorch_lightning as pl

    from bsp_lightning.module import BSPModule

    torch.manual_seed(0)
    module = BSPModule(arch="resnet18", num_segments=num_segments)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    if data is not None:
        ckpt = torch.load(path, weights_only=False)
        ckpt["datamodule_hyper_parameters"] = data
        torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def setup(tmp_path_factory):
    """``{"root", "videos", "model", "reference", "rc", "frames", "size"}``: the reference extraction with
    ``tsm_a.pth`` into ``reference`` (``tsm_b.pth`` is a second official checkpoint); ``frames``: video id ->
    frame count; ``size``: the frame-size flags every run uses."""
    root = tmp_path_factory.mktemp("extract")
    videos = root / "videos"
    for i, (vid, n) in enumerate(FRAMES.items()):
        write_video(videos / f"{vid}.mp4", n, seed=i)
    (videos / "d_broken.mp4").write_bytes(b"this is not a video")
    model = save_official(root / "tsm_a.pth", 0)
    save_official(root / "tsm_b.pth", 1)
    reference = root / "reference"
    rc = main(["--checkpoint", str(root / "tsm_a.pth"), "--videos", str(videos), "--out", str(reference),
               "--batch-size", "2", "--num-workers", "0", "--accelerator", "cpu", *SIZE])
    return {"root": root, "videos": videos, "model": model, "reference": reference, "rc": rc,
            "frames": dict(FRAMES), "size": list(SIZE)}


@pytest.fixture
def video_writer() -> Callable[[Path, int, int], None]:
    """``video_writer(path, num_frames, seed)``: a lossless 40x32 mp4 of random frames."""
    return write_video


@pytest.fixture
def reference_features() -> Callable[..., np.ndarray]:
    """``reference_features(model, path, num_frames)``: the features of a video computed without the library."""
    return expected_features


@pytest.fixture
def make_bsp_checkpoint() -> Callable[..., Path]:
    """``make_bsp_checkpoint(path, data, num_segments=4)``: see :func:`bsp_checkpoint`."""
    return bsp_checkpoint
