"""What an extraction reads: snippet settings from the checkpoints (a given value wins), video lists and specs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.extract import ExtractionError, SnippetSpec, list_videos, main, read_checkpoint_info, resolve_spec


def test_snippet_settings_default_to_the_checkpoint(setup, tmp_path, make_bsp_checkpoint):
    trained = make_bsp_checkpoint(tmp_path / "bsp.ckpt", {"num_frames": 4, "short_side": None, "resolution": 24})
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
    official = read_checkpoint_info(setup["root"] / "tsm_a.pth")
    trained = read_checkpoint_info(trained)
    spec, sources = resolve_spec([official])
    assert (spec.snippet_length, spec.short_side, spec.crop_size) == (8, 256, 224)
    assert "official TSM" in sources["short_side"]
    spec, sources = resolve_spec([trained], short_side=32)
    assert (spec.snippet_length, spec.short_side, spec.crop_size, sources["short_side"]) == (4, 32, 24, "given")
    with pytest.raises(ExtractionError, match="imply different snippet_length.*give --snippet-length"):
        resolve_spec([trained, official], short_side=32, crop_size=24)
    bare = read_checkpoint_info(make_bsp_checkpoint(tmp_path / "bare.ckpt", None))  # saved without a DataModule
    spec, sources = resolve_spec([bare])
    assert (spec.snippet_length, spec.short_side, spec.crop_size) == (4, 256, 224)
    assert "num_segments" in sources["snippet_length"]


def test_bad_video_lists_and_specs_are_clear_errors(tmp_path):
    with pytest.raises(ExtractionError, match="no video files"):
        list_videos(tmp_path)
    (tmp_path / "list.bin").write_bytes(b"\xff\xfe\x82")
    with pytest.raises(ExtractionError, match="list.bin: cannot read as a text list"):
        list_videos(tmp_path / "list.bin")
    with pytest.raises(ExtractionError, match="snippet length"):
        SnippetSpec(0, 8)
    with pytest.raises(ExtractionError, match="none.ckpt: checkpoint not found"):
        read_checkpoint_info(tmp_path / "none.ckpt")
