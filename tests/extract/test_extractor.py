"""Feature streams: a BSPModule checkpoint gives its backbone's features, two checkpoints are concatenated along
channels, a bad checkpoint is one clear line, and one extraction reads each checkpoint file once."""

from __future__ import annotations

import json

import numpy as np
import torch

from bsp_lightning.extract import main
from bsp_lightning.video import read_frames


def test_two_stream_extraction_concatenates_channels(setup, tmp_path):
    root = setup["root"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# one video\n\n{setup['videos'] / 'a_long.mp4'}\n")
    out = tmp_path / "two"
    assert main(["--checkpoint", str(root / "tsm_a.pth"), "--checkpoint", str(root / "tsm_b.pth"),
                 "--videos", str(listing), "--out", str(out), "--num-workers", "0", "--accelerator", "cpu",
                 *setup["size"]]) == 0
    feats = np.load(out / "a_long.npy")
    assert feats.shape == (3, 1024)
    np.testing.assert_allclose(feats[:, :512], np.load(setup["reference"] / "a_long.npy"), rtol=1e-5, atol=1e-6)
    assert not np.allclose(feats[:, 512:], feats[:, :512])
    manifest = json.loads((out / "manifest.json").read_text())
    assert [c["kind"] for c in manifest["config"]["checkpoints"]] == ["official_tsm", "official_tsm"]
    assert manifest["config"]["feature_dim"] == 1024


def test_bsp_module_checkpoint(setup, tmp_path):
    import pytorch_lightning as pl

    from bsp_lightning.module import BSPModule

    torch.manual_seed(0)
    module = BSPModule(arch="resnet18", num_segments=8)
    ckpt = tmp_path / "bsp.ckpt"
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(ckpt)
    out = tmp_path / "bsp"
    (tmp_path / "c_exact.mp4").write_bytes((setup["videos"] / "c_exact.mp4").read_bytes())
    assert main(["--checkpoint", str(ckpt), "--videos", str(tmp_path / "c_exact.mp4"), "--out", str(out),
                 "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]) == 0
    feats = np.load(out / "c_exact.npy")
    frames = read_frames(tmp_path / "c_exact.mp4", range(16), short_side=32)[:, :, 4:36]
    clip = torch.from_numpy(frames.reshape(2, 8, 32, 32, 3)).permute(0, 1, 4, 2, 3)
    np.testing.assert_allclose(feats, module.extract_features(clip).numpy(), rtol=1e-4, atol=1e-5)
    assert json.loads((out / "manifest.json").read_text())["config"]["checkpoints"][0]["kind"] == "bsp"


def test_bad_checkpoints_are_clear_errors(setup, tmp_path, capsys):
    assert main(["--checkpoint", str(tmp_path / "nope.pth"), "--videos", str(setup["videos"]),
                 "--out", str(tmp_path / "o")]) == 2
    assert "nope.pth: checkpoint not found" in capsys.readouterr().err
    (tmp_path / "junk.pth").write_bytes(b"junk")
    assert main(["--checkpoint", str(tmp_path / "junk.pth"), "--videos", str(setup["videos"]),
                 "--out", str(tmp_path / "o")]) == 2
    assert "neither a BSPModule" in capsys.readouterr().err
    # an annotation file given by mistake: one line, not torch's multi-paragraph unpickling message
    (tmp_path / "anet.json").write_text('{"version": "VERSION 1.3", "database": {}}\n')
    assert main(["--checkpoint", str(tmp_path / "anet.json"), "--videos", str(setup["videos"]),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "anet.json: neither a BSPModule" in err and "not a PyTorch file" in err and len(err.strip().splitlines()) == 1


def test_one_extraction_unpickles_each_checkpoint_at_most_twice(setup, tmp_path, monkeypatch, make_bsp_checkpoint):
    # the checkpoint kind, the snippet settings, the loader, the class it holds and Lightning's load all used to
    # read the file again: 5 unpicklings of a BSP checkpoint, 3 of an official TSM file
    bsp = make_bsp_checkpoint(tmp_path / "bsp.ckpt", {"num_frames": 4, "short_side": None, "resolution": 32})
    official = setup["root"] / "tsm_a.pth"
    video = tmp_path / "c_exact.mp4"
    video.write_bytes((setup["videos"] / "c_exact.mp4").read_bytes())
    loads: list[str] = []
    real_load = torch.load

    def counting_load(f, *args, **kwargs):
        loads.append(str(getattr(f, "path", f)))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    for checkpoint in (bsp, official):
        loads.clear()
        assert main(["--checkpoint", str(checkpoint), "--videos", str(video), "--out", str(tmp_path / checkpoint.stem),
                     "--num-workers", "0", "--accelerator", "cpu", "--short-side", "32", "--crop", "32"]) == 0
        assert loads and all(name == str(checkpoint) for name in loads)
        assert len(loads) <= (2 if checkpoint == bsp else 1), loads
