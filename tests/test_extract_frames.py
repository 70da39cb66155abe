"""Feature extraction from frame folders: the same features as from the videos the frames came from, the
frame rate from --fps (a number or a side file), and one-line errors."""

from __future__ import annotations

import json

import av
import numpy as np
import torch
from PIL import Image

from bsp_lightning.extract import main
from bsp_lightning.models import TSMClassifier

SIZE = ["--short-side", "32", "--crop", "32", "--batch-size", "2", "--num-workers", "0", "--accelerator", "cpu"]


def test_frame_folders_give_the_features_of_their_videos(tmp_path, capsys):
    frames = {"a": np.random.default_rng(0).integers(0, 256, (13, 32, 40, 3), dtype=np.uint8),
              "b": np.random.default_rng(1).integers(0, 256, (6, 32, 40, 3), dtype=np.uint8)}
    for vid, clip in frames.items():
        (tmp_path / "videos").mkdir(exist_ok=True)
        with av.open(str(tmp_path / "videos" / f"{vid}.mp4"), mode="w") as container:  # lossless RGB
            stream = container.add_stream("libx264rgb", rate=30)
            stream.pix_fmt, stream.width, stream.height = "rgb24", 40, 32
            stream.options = {"crf": "0", "preset": "ultrafast"}
            for picture in clip:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
            container.mux(stream.encode())
        folder = tmp_path / "frames" / "some_class" / vid
        folder.mkdir(parents=True)
        for k, picture in enumerate(clip):  # PNG: the frames exactly
            Image.fromarray(picture).save(folder / f"img_{k + 1:05d}.png")
    torch.manual_seed(0)
    model = TSMClassifier(num_classes=3, arch="resnet18", num_segments=8)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "arch": "resnet18"},
               tmp_path / "tsm.pth")
    checkpoint = ["--checkpoint", str(tmp_path / "tsm.pth")]
    assert main([*checkpoint, "--videos", str(tmp_path / "videos"), "--out", str(tmp_path / "from_videos"), *SIZE]) == 0
    (tmp_path / "fps.csv").write_text("video_id,fps\na,25\nb,12.5\n")
    assert main([*checkpoint, "--videos", str(tmp_path / "frames"), "--out", str(tmp_path / "from_frames"),
                 "--fps", str(tmp_path / "fps.csv"), *SIZE]) == 0
    manifest = json.loads((tmp_path / "from_frames" / "manifest.json").read_text())
    for vid, fps in (("a", 25.0), ("b", 12.5)):
        np.testing.assert_array_equal(np.load(tmp_path / "from_frames" / f"{vid}.npy"),
                                      np.load(tmp_path / "from_videos" / f"{vid}.npy"))
        entry = manifest["videos"][vid]
        assert entry["status"] == "ok" and entry["fps"] == fps and entry["num_frames"] == len(frames[vid])
    assert manifest["videos"]["a"]["snippet_starts"] == [0.0, 8 / 25]
    capsys.readouterr()
    assert main([*checkpoint, "--videos", str(tmp_path / "frames"), "--out", str(tmp_path / "o"), *SIZE]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "frame folder without a frame rate; give --fps" in err
