"""``extract`` / ``bsp-lightning extract`` end to end: features equal the backbone on the decoded snippets, the
manifest, failures, resuming, what makes a video be extracted again, partial files."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from bsp_lightning.extract import main


def test_features_manifest_and_failures(setup, reference_features, capsys):
    assert setup["rc"] == 1  # one video failed
    out = setup["reference"]
    manifest = json.loads((out / "manifest.json").read_text())
    for vid, n in setup["frames"].items():
        feats = np.load(out / f"{vid}.npy")
        assert feats.dtype == np.float32
        np.testing.assert_allclose(feats, reference_features(setup["model"], setup["videos"] / f"{vid}.mp4", n),
                                   rtol=1e-4, atol=1e-5)
        entry = manifest["videos"][vid]
        assert entry["status"] == "ok" and entry["fps"] == 30.0 and entry["num_frames"] == n
        assert entry["num_snippets"] == feats.shape[0]
        assert entry["snippet_starts"] == pytest.approx([8 * k / 30 for k in range(feats.shape[0])])
    assert [np.load(out / f"{v}.npy").shape[0] for v in setup["frames"]] == [3, 1, 2]
    broken = manifest["videos"]["d_broken"]
    assert broken["status"] == "failed" and "cannot open" in broken["reason"]
    assert not (out / "d_broken.npy").exists()
    config = manifest["config"]
    assert (config["snippet_length"], config["stride"], config["feature_dim"]) == (8, 8, 512)
    assert config["checkpoints"][0]["kind"] == "official_tsm" and len(config["checkpoints"][0]["sha256"]) == 64
    assert manifest["summary"] == {"ok": 3, "failed": 1}


def test_fixture_features_depend_on_the_frame_order_inside_a_snippet(setup):
    # a frame-order bug inside a snippet must change the features, or test_features_manifest_and_failures
    # could not catch it
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 32, 32)
    with torch.no_grad():
        ordered, shuffled = setup["model"].features(x), setup["model"].features(x[:, torch.randperm(8)])
    assert (ordered - shuffled).abs().max() > 1e-2 * ordered.abs().max()


def test_rerun_skips_done_videos_and_workers_give_identical_files(setup, tmp_path, capsys):
    root, videos = setup["root"], setup["videos"]
    out = tmp_path / "feat"
    args = ["--checkpoint", str(root / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--batch-size", "3", "--accelerator", "cpu", *setup["size"]]
    assert main([*args, "--num-workers", "2"]) == 1
    for vid in setup["frames"]:  # decoding in 2 worker processes, other batch size: the same bytes
        assert (out / f"{vid}.npy").read_bytes() == (setup["reference"] / f"{vid}.npy").read_bytes()
    capsys.readouterr()
    mtimes = {vid: (out / f"{vid}.npy").stat().st_mtime_ns for vid in setup["frames"]}
    assert main([*args, "--num-workers", "0"]) == 1
    assert "0 video(s) written, 3 already done, 1 failed (d_broken" in capsys.readouterr().out
    assert mtimes == {vid: (out / f"{vid}.npy").stat().st_mtime_ns for vid in setup["frames"]}


@pytest.mark.parametrize("change", ["checkpoint", "short_side", "crop"])
def test_another_checkpoint_or_frame_size_in_the_same_out_re_extracts(setup, tmp_path, capsys, change):
    root, out = setup["root"], tmp_path / "feat"
    shutil.copytree(setup["reference"], out)
    checkpoint, size = root / "tsm_a.pth", list(setup["size"])
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
    for vid in setup["frames"]:
        assert not np.array_equal(np.load(out / f"{vid}.npy"), np.load(setup["reference"] / f"{vid}.npy"))


def test_changed_source_video_is_re_extracted(setup, tmp_path, capsys, video_writer):
    videos, out = tmp_path / "videos", tmp_path / "feat"
    shutil.copytree(setup["videos"], videos)
    (videos / "d_broken.mp4").unlink()
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]
    assert main(args) == 0
    entry = json.loads((out / "manifest.json").read_text())["videos"]["a_long"]
    assert entry["source"] == {"size": (videos / "a_long.mp4").stat().st_size,
                               "mtime_ns": (videos / "a_long.mp4").stat().st_mtime_ns}
    video_writer(videos / "a_long.mp4", 12, seed=7)  # replaced by another video
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
            "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]
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


def _extract_half_file(setup, tmp_path, name, codec, pix_fmt, seed, stream_options=None, container_options=None):
    """Write 48 intra frames of noise with ``codec``, keep the first half of the file as ``videos/<name>`` (a
    half-downloaded file), extract it; return ``main``'s exit code and the manifest entry of ``cut``."""
    full = tmp_path / f"full{Path(name).suffix}"
    with av.open(str(full), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 40, 32, pix_fmt
        if stream_options:
            stream.options = stream_options
        rng = np.random.default_rng(seed)
        for _ in range(48):
            image = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    videos = tmp_path / "videos"
    videos.mkdir()
    data = full.read_bytes()
    (videos / name).write_bytes(data[: len(data) // 2])
    out = tmp_path / "feat"
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(videos), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]
    code = main(args)
    return code, json.loads((out / "manifest.json").read_text())["videos"]["cut"]


def test_half_downloaded_matroska_file_is_partial(setup, tmp_path, capsys):
    # intra-only FFV1: every packet left in the cut file decodes, so only the container's own length tells
    code, entry = _extract_half_file(setup, tmp_path, "cut.mkv", "ffv1", "bgr0", seed=3)
    assert code == 0
    assert "WARNING 1 partial (cut: " in capsys.readouterr().out
    assert entry["status"] == "partial" and 0 < entry["num_frames"] < 48


def test_partial_entry_gives_the_declared_count_and_the_reason(setup, tmp_path, capsys):
    # a half-downloaded faststart MP4 of 48 intra frames: the packets left decode, the header declares 48
    code, entry = _extract_half_file(setup, tmp_path, "cut.mp4", "libx264rgb", "rgb24", seed=4,
                                     stream_options={"crf": "0", "preset": "ultrafast", "g": "1"},
                                     container_options={"movflags": "faststart"})
    assert code == 0
    decoded = entry["num_frames"]
    assert entry["status"] == "partial" and 0 < decoded < 48
    assert entry["reason"] == f"{decoded} of 48 frames decoded (the file ends before its container says)"
    assert f"WARNING 1 partial (cut: {entry['reason']}" in capsys.readouterr().out


def test_ctrl_c_keeps_what_was_written_says_so_and_the_same_command_resumes(setup, tmp_path, capsys, monkeypatch):
    from bsp_lightning.extract.extractor import SnippetFeatureExtractor

    real_step, calls = SnippetFeatureExtractor.predict_step, []

    def interrupted_step(self, batch, batch_idx, dataloader_idx=0):
        calls.append(batch["video_id"])
        if len(set(calls)) > 2:  # the user presses Ctrl-C while the third video is read
            raise KeyboardInterrupt
        return real_step(self, batch, batch_idx, dataloader_idx)

    monkeypatch.setattr(SnippetFeatureExtractor, "predict_step", interrupted_step)
    out = tmp_path / "feat"
    args = ["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(setup["videos"]), "--out", str(out),
            "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]
    assert main(args) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    manifest = json.loads((out / "manifest.json").read_text())
    done = [v for v, e in manifest["videos"].items() if e["status"] in ("ok", "partial", "failed")]
    assert err.startswith(f"bsp-lightning extract: interrupted after {len(done)} of ") and "resumes" in err
    assert 1 <= len(done) <= 2
    monkeypatch.setattr(SnippetFeatureExtractor, "predict_step", real_step)
    main(args)
    assert f"{len(done)} already done" in capsys.readouterr().out
