"""Issue 9, section 2: any exception while building a training sample is a logged, counted skip."""

from __future__ import annotations

import logging
import sys

import numpy as np

from bsp_lightning.data import BSPDataModule


def _videos(root, mp4_writer):
    rng = np.random.default_rng(0)
    for label in ("class_a", "class_b"):
        for k in range(3):
            frames = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
            mp4_writer(root / "train" / label / f"{label}_{k}.mp4", frames)


def test_unexpected_errors_become_skips_naming_the_file(tmp_path, mp4_writer, monkeypatch, caplog):
    _videos(tmp_path, mp4_writer)
    dm = BSPDataModule(root=str(tmp_path), val_split=None, num_frames=4, eps=1, gammas=(0.5, 2.0), frame_stride=1,
                       resolution=8, batch_size=4, num_workers=0, samples_per_epoch=16, seed=0, max_retries=40)
    dm.setup("fit")
    module = sys.modules[type(dm.train_dataset).__module__]
    source_module = sys.modules[type(dm.train_dataset.source).__module__]  # where the video source decodes
    original_read, original_crop = source_module.read_frames, module.apply_crop
    bad = "class_a_1.mp4"

    def read_frames(path, *args, **kwargs):  # a bare numpy error, as mid-stream size changes raised
        if str(path).endswith(bad):
            raise ValueError("could not broadcast input array from shape (48,96,3) into shape (64,64,3)")
        return original_read(path, *args, **kwargs)

    calls = []

    def apply_crop(*args, **kwargs):  # a failure outside decoding, once
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("crop failed")
        return original_crop(*args, **kwargs)

    monkeypatch.setattr(source_module, "read_frames", read_frames)
    monkeypatch.setattr(module, "apply_crop", apply_crop)
    with caplog.at_level(logging.DEBUG, logger="bsp_lightning.data.datamodule"):
        batches = list(dm.train_dataloader())
    assert sum(len(b["label"]) for b in batches) == 16  # the epoch ends normally
    ids = [v for b in batches for v in b["video_id"] + b["video_id_2"] if v]
    assert "class_a_1" not in ids
    skips = [r.getMessage() for r in caplog.records if "skipping video" in r.getMessage()]
    assert len(skips) == int(sum(b["num_skipped"].sum() for b in batches)) > 1
    assert any(bad in m and "ValueError: could not broadcast" in m for m in skips)
    assert any("RuntimeError: crop failed" in m and ".mp4" in m for m in skips)
