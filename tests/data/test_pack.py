"""`bsp-lightning data pack`: shards that stream the same frames as the videos, resampling, broken sources,
resuming, option changes, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bsp_lightning.annotations.cli import main as data_main
from bsp_lightning.data.lists import open_index
from bsp_lightning.data.pack import PackError, keep_frames
from bsp_lightning.data.shards import ShardError, ShardStore
from bsp_lightning.data.stream_dataset import ShardStreamDataset
from bsp_lightning.data.stream_plan import PlanConfig
from bsp_lightning.data.synthesis import DIFF_CLASS, SAME_CLASS, diff_class, same_class
from bsp_lightning.data.transforms import apply_crop
from bsp_lightning.video import read_frames

CFG = PlanConfig(types=(0, 1, 2, 3), gammas=(0.5, 2.0), resolution=16, pair_buffer=4, seed=5)


def from_videos(store: ShardStore, spec, cfg: PlanConfig = CFG) -> torch.Tensor:
    """The clip of ``spec`` composed from frames decoded from the source videos (not from the shards)."""
    frames = apply_crop(read_frames(store.sources[spec.clip], spec.indices, short_side=32), spec.box, cfg.resolution)
    if spec.kind in (DIFF_CLASS, SAME_CLASS):
        count = cfg.tau + cfg.eps if spec.kind == DIFF_CLASS else cfg.tau
        second = read_frames(store.sources[spec.mate], spec.mate_indices[:count], short_side=32)
        second = apply_crop(second, spec.box, cfg.resolution)
        if spec.kind == DIFF_CLASS:
            frames = diff_class(frames, second, cfg.tau, cfg.eps)
        else:
            frames = same_class(frames, second, cfg.tau)
    return frames


@pytest.mark.parametrize("encoding", ["raw", "jpeg"])
def test_pack_then_stream_equals_decoding_the_videos(packed, kinetics_videos, encoding):
    store = ShardStore(packed[encoding] / "train")
    assert len(store) == 12 and store.encoding == encoding and list(store.chunk_clips) == [3, 3, 3, 3]
    assert sorted(Path(s).name for s in store.sources) == sorted(p.name for p in kinetics_videos.glob("train/*/*.mp4"))
    assert (store.heights == 32).all() and (store.widths == 40).all() and (store.fps == 30).all()
    assert sorted(store.num_frames.tolist()) == [30, 30, 30, 33, 33, 33, 36, 36, 36, 39, 39, 39]
    dataset = ShardStreamDataset(store, CFG, batch_size=4)
    samples = list(dataset)
    specs = dataset.plan(0).samples
    assert [s["video_id"] for s in samples] == [store.ids[spec.clip] for spec in specs]
    assert {int(s["boundary_type"]) for s in samples} == {0, 1, 2, 3}
    for sample, spec in zip(samples, specs):
        expected = from_videos(store, spec)
        if encoding == "raw":  # the stored frames are the decoded video frames, bit for bit
            assert torch.equal(sample["clip"], expected)
        else:  # JPEG at quality 95
            difference = (sample["clip"].float() - expected.float()).abs()
            assert difference.mean() < 2.5 and difference.max() <= 40


def test_frame_rate_resampling_takes_the_nearest_source_frame():
    np.testing.assert_array_equal(keep_frames(10, 30, 15), [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(keep_frames(10, 25, 10), [0, 3, 5, 8])  # 0, 2.5 -> 3, 5, 7.5 -> 8
    np.testing.assert_array_equal(keep_frames(5, 30, None), np.arange(5))
    np.testing.assert_array_equal(keep_frames(5, 30, 60), np.arange(5))
    with pytest.raises(PackError, match="--source-fps"):
        keep_frames(5, None, 15)


def _broken_dataset(root: Path, kinetics_videos: Path) -> Path:
    for video in sorted(kinetics_videos.glob("train/*/*.mp4")):
        target = root / "train" / video.parent.name / video.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(video.read_bytes())
    broken = root / "train" / "class_b" / "train_class_b_1.mp4"
    broken.write_bytes(broken.read_bytes()[:300])
    return broken


def test_broken_source_is_refused_then_skipped_and_the_pack_resumes(tmp_path, kinetics_videos, capsys):
    broken = _broken_dataset(tmp_path / "videos", kinetics_videos)
    records = [r.path for r in open_index(tmp_path / "videos", None, "train")]
    # a seed whose clip order (pack shuffles with default_rng(seed)) puts the broken clip after the first chunk
    seed = next(s for s in range(100) if [records[i] for i in np.random.default_rng(s).permutation(12)].index(
        str(broken)) >= 4)
    group = [records[i] for i in np.random.default_rng(seed).permutation(12)].index(str(broken)) // 2
    args = ["pack", str(tmp_path / "videos"), "--out", str(tmp_path / "store"), "--short-side", "32",
            "--chunk-clips", "2", "--workers", "1", "--no-progress", "--seed", str(seed)]
    assert data_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(broken) in err and "--skip-broken" in err
    finished = len(list((tmp_path / "store" / "train").glob("*.clips.json")))
    assert group <= finished < 6  # the groups before the broken one (and any under way) are kept
    assert data_main(args + ["--skip-broken"]) == 0
    out = capsys.readouterr().out
    assert "11 clips in 6 chunks" in out and "1 broken source(s) skipped" in out
    assert f"{finished} chunks reused" in out
    table = json.loads((tmp_path / "store" / "train" / "bsp_clips.json").read_text())
    assert [s["id"] for s in table["skipped"]] == ["train_class_b_1"] and "train_class_b_1" not in table["clips"]["id"]
    assert len(ShardStore(tmp_path / "store" / "train")) == 11
    assert data_main(args + ["--skip-broken"]) == 0
    assert "already holds these 11 clips" in capsys.readouterr().out
    assert data_main(args + ["--skip-broken", "--quality", "50"]) == 2
    assert "packed before with other options (quality)" in capsys.readouterr().err


def test_bad_inputs(tmp_path, capsys):
    assert data_main(["pack", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "nowhere: video root folder does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        data_main(["pack", "--help"])
    assert exit_.value.code == 0 and "--skip-broken" in capsys.readouterr().out
    with pytest.raises(ShardError, match="not a frame-shard folder"):
        ShardStore(tmp_path)


def test_frame_folders_pack_at_a_lower_frame_rate(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    originals = {}
    for label in ("a", "b"):
        for k in range(2):
            folder = tmp_path / "frames" / "train" / label / f"{label}{k}"
            folder.mkdir(parents=True)
            originals[f"{label}{k}"] = rng.integers(0, 256, (9 + k, 16, 24, 3), dtype=np.uint8)
            for number, picture in enumerate(originals[f"{label}{k}"]):
                Image.fromarray(picture).save(folder / f"img_{number + 1:05d}.png")
    args = ["pack", str(tmp_path / "frames"), "--out", str(tmp_path / "store"), "--source-kind", "frames",
            "--short-side", "none", "--fps", "15", "--raw", "--workers", "1", "--no-progress"]
    assert data_main(args) == 2  # the frame rate of the folders is needed to resample them
    err = capsys.readouterr().err
    assert "frame folder without a frame rate (4 of 4)" in err and "--source-fps" in err and "--skip-broken" not in err
    assert data_main(args + ["--source-fps", "30"]) == 0
    store = ShardStore(tmp_path / "store" / "train")
    assert sorted(store.ids) == ["a0", "a1", "b0", "b1"] and store.classes == ["a", "b"]
    for clip, video_id in enumerate(store.ids):
        kept = keep_frames(len(originals[video_id]), 30, 15)  # 9 frames -> 0, 2, 4, 6, 8; 10 -> the same
        assert store.num_frames[clip] == len(kept) == 5 and store.fps[clip] == 15
        frames = store.read_chunk(int(store.chunks[clip]), {clip: range(5)})
        for j, source_frame in enumerate(kept):
            np.testing.assert_array_equal(frames[(clip, j)], originals[video_id][source_frame])
