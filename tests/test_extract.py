"""Snippet feature extraction: features equal the backbone on the decoded snippets, the manifest, failures,
DDP-style sharding, two-stream, BSPModule checkpoints, resuming (also after a kill), and `combine`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import av
import torch
from torch.utils.data import DataLoader

from bsp_lightning.extract import (
    _EXIT_AFTER_ENV,
    ExtractionError,
    SnippetBatches,
    SnippetSpec,
    combine_main,
    list_videos,
    main,
)
from bsp_lightning.models import TSMClassifier
from bsp_lightning.video import read_frames

FRAMES = {"a_long": 20, "b_short": 5, "c_exact": 16}  # 3 snippets (last padded), 1 (padded), 2
SIZE = ["--short-side", "32", "--crop", "32"]


def write_video(path: Path, num_frames: int, seed: int) -> None:
    """Lossless RGB H.264 (decoded frames equal the input); local because module-scoped fixtures cannot use
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


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
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
    return {"root": root, "videos": videos, "model": model, "reference": reference, "rc": rc}


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


def test_features_manifest_and_failures(setup, capsys):
    assert setup["rc"] == 1  # one video failed
    out = setup["reference"]
    manifest = json.loads((out / "manifest.json").read_text())
    for vid, n in FRAMES.items():
        feats = np.load(out / f"{vid}.npy")
        assert feats.dtype == np.float32
        np.testing.assert_allclose(feats, expected_features(setup["model"], setup["videos"] / f"{vid}.mp4", n),
                                   rtol=1e-4, atol=1e-5)
        entry = manifest["videos"][vid]
        assert entry["status"] == "ok" and entry["fps"] == 30.0 and entry["num_frames"] == n
        assert entry["num_snippets"] == feats.shape[0]
        assert entry["snippet_starts"] == pytest.approx([8 * k / 30 for k in range(feats.shape[0])])
    assert [np.load(out / f"{v}.npy").shape[0] for v in FRAMES] == [3, 1, 2]
    broken = manifest["videos"]["d_broken"]
    assert broken["status"] == "failed" and "cannot open" in broken["reason"]
    assert not (out / "d_broken.npy").exists()
    config = manifest["config"]
    assert (config["snippet_length"], config["stride"], config["feature_dim"]) == (8, 8, 512)
    assert config["checkpoints"][0]["kind"] == "official_tsm" and len(config["checkpoints"][0]["sha256"]) == 64
    assert manifest["summary"] == {"ok": 3, "failed": 1}


def test_rerun_skips_done_videos_and_workers_give_identical_files(setup, tmp_path, capsys):
    root, videos = setup["root"], setup["videos"]
    out = tmp_path / "feat"
    args = ["--checkpoint", str(root / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--batch-size", "3", "--accelerator", "cpu", *SIZE]
    assert main([*args, "--num-workers", "2"]) == 1
    for vid in FRAMES:  # decoding in 2 worker processes, other batch size: the same bytes
        assert (out / f"{vid}.npy").read_bytes() == (setup["reference"] / f"{vid}.npy").read_bytes()
    capsys.readouterr()
    mtimes = {vid: (out / f"{vid}.npy").stat().st_mtime_ns for vid in FRAMES}
    assert main([*args, "--num-workers", "0"]) == 1
    assert "0 video(s) written, 3 already done, 1 failed (d_broken" in capsys.readouterr().out
    assert mtimes == {vid: (out / f"{vid}.npy").stat().st_mtime_ns for vid in FRAMES}


def test_killed_run_resumes_to_identical_files(setup, tmp_path):
    root, out = setup["root"], tmp_path / "feat"
    args = ["--checkpoint", str(root / "tsm_a.pth"), "--videos", str(setup["videos"]), "--out", str(out),
            "--batch-size", "2", "--num-workers", "0", "--accelerator", "cpu", *SIZE]
    env = dict(os.environ, **{_EXIT_AFTER_ENV: "1"})
    code = f"import sys; from bsp_lightning.extract import main; sys.exit(main({args!r}))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 17, proc.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.npy")) == ["a_long.npy"]  # killed after the first video
    assert not (out / "manifest.json").exists() and not list(out.rglob("*.tmp*"))
    assert main(args) == 1
    reference = setup["reference"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.glob("*.npy"):
        assert (out / path.name).read_bytes() == path.read_bytes()
    strip = lambda m: {k: v for k, v in json.loads(m.read_text()).items() if k != "config"}  # noqa: E731
    assert strip(out / "manifest.json") == strip(reference / "manifest.json")


def test_two_stream_extraction_concatenates_channels(setup, tmp_path):
    root = setup["root"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# one video\n\n{setup['videos'] / 'a_long.mp4'}\n")
    out = tmp_path / "two"
    assert main(["--checkpoint", str(root / "tsm_a.pth"), "--checkpoint", str(root / "tsm_b.pth"),
                 "--videos", str(listing), "--out", str(out), "--num-workers", "0", "--accelerator", "cpu",
                 *SIZE]) == 0
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
                 "--num-workers", "0", "--accelerator", "cpu", *SIZE]) == 0
    feats = np.load(out / "c_exact.npy")
    frames = read_frames(tmp_path / "c_exact.mp4", range(16), short_side=32)[:, :, 4:36]
    clip = torch.from_numpy(frames.reshape(2, 8, 32, 32, 3)).permute(0, 1, 4, 2, 3)
    np.testing.assert_allclose(feats, module.extract_features(clip).numpy(), rtol=1e-4, atol=1e-5)
    assert json.loads((out / "manifest.json").read_text())["config"]["checkpoints"][0]["kind"] == "bsp"


def test_sharding_covers_every_video_once_across_ranks_and_workers(setup):
    items = list_videos(setup["videos"])
    spec = SnippetSpec(8, 8, 32, 32)
    seen = []
    for rank in range(2):
        dataset = SnippetBatches(items, spec, batch_size=1, rank=rank, world_size=2)
        for batch in DataLoader(dataset, batch_size=None, num_workers=2):
            seen.append((batch["video_id"], int(batch["snippet_index"][0]) if batch["error"] is None else -1))
        assert len(dataset.videos_of_rank(2)) == 2
    assert sorted(seen) == sorted([("a_long", 0), ("a_long", 1), ("a_long", 2), ("b_short", 0),
                                   ("c_exact", 0), ("c_exact", 1), ("d_broken", -1)])


def test_bad_inputs_are_clear_errors(setup, tmp_path, capsys):
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
    with pytest.raises(ExtractionError, match="no video files"):
        list_videos(tmp_path)
    (tmp_path / "list.bin").write_bytes(b"\xff\xfe\x82")
    with pytest.raises(ExtractionError, match="list.bin: cannot read as a text list"):
        list_videos(tmp_path / "list.bin")
    with pytest.raises(ExtractionError, match="snippet length"):
        SnippetSpec(0, 8)


def test_combine_cli(setup, tmp_path, capsys):
    reference = setup["reference"]
    assert combine_main([str(reference), str(reference), "--out", str(tmp_path / "c")]) == 0
    assert np.load(tmp_path / "c" / "a_long.npy").shape == (3, 1024)
    assert "combine: 3 video(s), D=1024" in capsys.readouterr().out
    other = tmp_path / "other"
    shutil.copytree(reference, other)
    # another configuration (stride) is not "the same": every video is redone
    assert main(["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(setup["videos"]),
                 "--out", str(other), "--stride", "4", "--num-workers", "0", "--accelerator", "cpu", *SIZE]) == 1
    assert "3 video(s) written, 0 already done" in capsys.readouterr().out
    assert [np.load(other / f"{v}.npy").shape[0] for v in FRAMES] == [4, 1, 3]  # a_long: starts 0, 4, 8, 12
    assert combine_main([str(reference), str(other), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "a_long: snippet counts differ (3 vs 4)" in err and "c_exact" in err


# ---------------------------------------------------------------- issue 8 section 5, issue 9 sections 3-4
def test_fixture_features_depend_on_the_frame_order_inside_a_snippet(setup):
    # a frame-order bug inside a snippet must change the features, or test_features_manifest_and_failures
    # could not catch it
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 32, 32)
    with torch.no_grad():
        ordered, shuffled = setup["model"].features(x), setup["model"].features(x[:, torch.randperm(8)])
    assert (ordered - shuffled).abs().max() > 1e-2 * ordered.abs().max()


@pytest.mark.parametrize("change", ["checkpoint", "short_side", "crop"])
def test_another_checkpoint_or_frame_size_in_the_same_out_re_extracts(setup, tmp_path, capsys, change):
    root, out = setup["root"], tmp_path / "feat"
    shutil.copytree(setup["reference"], out)
    checkpoint, size = root / "tsm_a.pth", list(SIZE)
    if change == "checkpoint":
        checkpoint = root / "tsm_b.pth"
    elif change == "short_side":
        size[1] = "36"
    else:
        size[3] = "28"
    capsys.readouterr()
    assert main(["--checkpoint", str(checkpoint), "--videos", str(setup["videos"]), "--out", str(out),
                 "--num-workers", "0", "--accelerator", "cpu", *size]) == 1
    assert "3 video(s) written, 0 already done" in capsys.readouterr().out
    for vid in FRAMES:
        assert not np.array_equal(np.load(out / f"{vid}.npy"), np.load(setup["reference"] / f"{vid}.npy"))


def test_changed_source_video_is_re_extracted(setup, tmp_path, capsys):
    videos, out = tmp_path / "videos", tmp_path / "feat"
    shutil.copytree(setup["videos"], videos)
    (videos / "d_broken.mp4").unlink()
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *SIZE]
    assert main(args) == 0
    entry = json.loads((out / "manifest.json").read_text())["videos"]["a_long"]
    assert entry["source"] == {"size": (videos / "a_long.mp4").stat().st_size,
                               "mtime_ns": (videos / "a_long.mp4").stat().st_mtime_ns}
    write_video(videos / "a_long.mp4", 12, seed=7)  # replaced by another video
    capsys.readouterr()
    assert main(args) == 0
    assert "1 video(s) written, 2 already done" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["videos"]["a_long"]["num_frames"] == 12
    os.utime(videos / "c_exact.mp4", ns=(0, 10**9))  # same bytes, another modification time
    assert main(args) == 0
    assert "1 video(s) written, 2 already done" in capsys.readouterr().out


def test_fewer_frames_than_the_exact_count_is_partial(setup, tmp_path, capsys, monkeypatch):
    import bsp_lightning.extract.dataset as dataset

    real_probe = dataset.probe

    def probe_says_more(path):  # as for a half-downloaded file whose index lists every frame
        info = real_probe(path)
        return info._replace(num_frames=info.num_frames + 5) if Path(path).stem == "a_long" else info

    monkeypatch.setattr(dataset, "probe", probe_says_more)
    out = tmp_path / "feat"
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(setup["videos"]), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *SIZE]
    assert main(args) == 1  # d_broken failed; a partial file alone is a warning
    printed = capsys.readouterr().out
    assert "WARNING 1 partial (a_long: 20 of 25 frames decoded" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["videos"]["a_long"]
    assert (entry["status"], entry["num_frames"], entry["expected_frames"]) == ("partial", 20, 25)
    assert manifest["videos"]["c_exact"]["status"] == "ok"
    assert manifest["summary"] == {"ok": 2, "failed": 1, "partial": 1}
    # what decoded is written, and the next run retries the partial file
    np.testing.assert_array_equal(np.load(out / "a_long.npy"), np.load(setup["reference"] / "a_long.npy"))
    monkeypatch.setattr(dataset, "probe", real_probe)
    assert main(args) == 1
    assert "1 video(s) written, 2 already done" in capsys.readouterr().out
    assert json.loads((out / "manifest.json").read_text())["videos"]["a_long"]["status"] == "ok"


def test_decoded_count_with_a_stride_longer_than_the_snippet():
    from bsp_lightning.extract import decoded_frames
    from bsp_lightning.video import Snippet

    frames = np.zeros((4, 2, 2, 3), dtype=np.uint8)
    assert decoded_frames(Snippet(8, frames, 2), stride=4, expected=99) == 10  # padded: exact
    assert decoded_frames(Snippet(8, frames, 4), stride=4, expected=12) == 12  # ends with the snippet
    assert decoded_frames(Snippet(8, frames, 4), stride=6, expected=13) == 13  # 12..14 possible: take probe's
    assert decoded_frames(Snippet(8, frames, 4), stride=6, expected=30) == 12  # far more announced: partial


def _bsp_checkpoint(path: Path, data: dict | None) -> Path:
    import pytorch_lightning as pl

    from bsp_lightning.module import BSPModule

    torch.manual_seed(0)
    module = BSPModule(arch="resnet18", num_segments=4)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    if data is not None:
        ckpt = torch.load(path, weights_only=False)
        ckpt["datamodule_hyper_parameters"] = data
        torch.save(ckpt, path)
    return path


def test_snippet_settings_default_to_the_checkpoint(setup, tmp_path):
    from bsp_lightning.extract import resolve_spec

    trained = _bsp_checkpoint(tmp_path / "bsp.ckpt", {"num_frames": 4, "short_side": None, "resolution": 24})
    video = tmp_path / "c_exact.mp4"
    video.write_bytes((setup["videos"] / "c_exact.mp4").read_bytes())
    out = tmp_path / "feat"
    assert main(["--checkpoint", str(trained), "--videos", str(video), "--out", str(out), "--num-workers", "0",
                 "--accelerator", "cpu"]) == 0
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert (config["snippet_length"], config["stride"], config["short_side"], config["crop_size"]) == (4, 8, None, 24)
    assert "DataModule" in config["settings_source"]["crop_size"] and config["settings_source"]["stride"] == "default"
    assert np.load(out / "c_exact.npy").shape == (2, 512)  # starts 0 and 8 of 16 frames
    # official TSM files keep TSM's test protocol; a given value wins; disagreeing checkpoints need the flag
    official = str(setup["root"] / "tsm_a.pth")
    spec, sources = resolve_spec([(official, "official_tsm")])
    assert (spec.snippet_length, spec.short_side, spec.crop_size) == (8, 256, 224)
    assert "official TSM" in sources["short_side"]
    spec, sources = resolve_spec([(str(trained), "bsp")], short_side=32)
    assert (spec.snippet_length, spec.short_side, spec.crop_size, sources["short_side"]) == (4, 32, 24, "given")
    with pytest.raises(ExtractionError, match="imply different snippet_length.*give --snippet-length"):
        resolve_spec([(str(trained), "bsp"), (official, "official_tsm")], short_side=32, crop_size=24)
    bare = _bsp_checkpoint(tmp_path / "bare.ckpt", None)  # saved without a DataModule
    spec, sources = resolve_spec([(str(bare), "bsp")])
    assert (spec.snippet_length, spec.short_side, spec.crop_size) == (4, 256, 224)
    assert "num_segments" in sources["snippet_length"]


def test_half_downloaded_matroska_file_is_partial(setup, tmp_path, capsys):
    # intra-only FFV1: every packet left in the cut file decodes, so only the container's own length tells
    full = tmp_path / "full.mkv"
    with av.open(str(full), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 40, 32, "bgr0"
        rng = np.random.default_rng(3)
        for _ in range(48):
            image = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    videos = tmp_path / "videos"
    videos.mkdir()
    data = full.read_bytes()
    (videos / "cut.mkv").write_bytes(data[: len(data) // 2])
    out = tmp_path / "feat"
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *SIZE]
    assert main(args) == 0
    assert "WARNING 1 partial (cut: " in capsys.readouterr().out
    entry = json.loads((out / "manifest.json").read_text())["videos"]["cut"]
    assert entry["status"] == "partial" and 0 < entry["num_frames"] < 48


def test_partial_entry_gives_the_declared_count_and_the_reason(setup, tmp_path, capsys):
    # a half-downloaded faststart MP4 of 48 intra frames: the packets left decode, the header declares 48
    full = tmp_path / "full.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264rgb", rate=30)
        stream.width, stream.height, stream.pix_fmt = 40, 32, "rgb24"
        stream.options = {"crf": "0", "preset": "ultrafast", "g": "1"}
        rng = np.random.default_rng(4)
        for _ in range(48):
            image = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    videos = tmp_path / "videos"
    videos.mkdir()
    data = full.read_bytes()
    (videos / "cut.mp4").write_bytes(data[: len(data) // 2])
    out = tmp_path / "feat"
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *SIZE]
    assert main(args) == 0
    entry = json.loads((out / "manifest.json").read_text())["videos"]["cut"]
    decoded = entry["num_frames"]
    assert entry["status"] == "partial" and 0 < decoded < 48
    assert entry["reason"] == f"{decoded} of 48 frames decoded (the file ends before its container says)"
    assert f"WARNING 1 partial (cut: {entry['reason']}" in capsys.readouterr().out
