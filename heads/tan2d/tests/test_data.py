"""The hold-out, items and batches, counted skips (the query loaders are the core's: tests/annotations)."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bsp_lightning.features.resample import average_to_fixed_length
from bsp_tan2d.data import Tan2dDataModule, collate_grounding
from bsp_tan2d.example import write_example


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return write_example(tmp_path_factory.mktemp("tan2d"))


def test_datamodule_holdout_items_and_batches(example, tmp_path):
    dm = Tan2dDataModule(str(example["features"]), str(example["annotations"]), batch_size=3, num_sample_clips=32,
                         val_fraction=0.25, seed=1)
    dm.trainer = SimpleNamespace(default_root_dir=str(tmp_path))
    train_videos, val_videos = dm.split_videos["train"], dm.split_videos["val"]
    assert len(val_videos) == 2 and not set(train_videos) & set(val_videos)
    assert "door" in dm.data_info["vocabulary"] and "door." not in dm.data_info["vocabulary"]
    train, val, test = dm.dataset("train"), dm.dataset("val"), dm.dataset("test")
    assert {q.video_id for q in val.queries} == set(val_videos)
    assert len(train) + len(val) == 16 and len(test) == 8
    saved = json.loads((tmp_path / "split.json").read_text())
    assert saved["val"] == val_videos and saved["seed"] == 1
    item = train[0]
    assert item["features"].shape == (32, 16) and item["features"].dtype == torch.float32
    assert item["tokens"][-1] == "door" and item["tokens"][0] == "a"
    raw = torch.from_numpy(np.array(dm.features_set.load(item["video"])))
    expected = average_to_fixed_length(raw / raw.norm(dim=1, keepdim=True), 32)  # normalise, then resample
    np.testing.assert_allclose(item["features"].numpy(), expected, rtol=1e-5, atol=1e-6)
    batch = collate_grounding([train[i] for i in range(3)])
    assert batch["features"].shape == (3, 32, 16) and batch["gt"].dtype == torch.float64
    assert len(batch["tokens"]) == 3 and batch["index"].tolist() == [0, 1, 2]


def test_missing_features_and_empty_queries_are_counted(example, tmp_path):
    ann = tmp_path / "ann"
    ann.mkdir()
    lines = (example["annotations"] / "charades_sta_test.txt").read_text().splitlines(keepends=True)
    lines += ["nofeat 0.0 2.0##a person is opening the door.\n", "vid008 0.0 2.0##   .\n"]
    (ann / "charades_sta_test.txt").write_text("".join(lines))
    csv = (example["annotations"] / "Charades_v1_test.csv").read_text() + "nofeat,S,K,6,7,Yes,s,o,,,10.0\n"
    (ann / "Charades_v1_test.csv").write_text(csv)
    for name in ("charades_sta_train.txt", "Charades_v1_train.csv"):
        (ann / name).write_text((example["annotations"] / name).read_text())
    dm = Tan2dDataModule(str(example["features"]), str(ann), num_sample_clips=32)
    dm.trainer = SimpleNamespace(default_root_dir=str(tmp_path / "run"))
    test = dm.build_dataset("test")
    assert (tmp_path / "run" / "missing_features.txt").read_text().split() == ["test", "nofeat"]
    assert len(test) == 8
    assert dm.skips.counts("test") == {"missing_features": 1, "empty_query": 1}


def test_anet_captions_splits_and_v_prefix(example, tmp_path):
    def captions(videos):
        return json.dumps({f"v_{v}": {"duration": 20.0, "timestamps": [[1.0, 5.0], [4.0, 30.0]],
                                      "sentences": [" A person is opening the door.", "The person is eating."]}
                           for v in videos})

    (tmp_path / "train.json").write_text(captions(["vid000", "vid001", "vid002"]))
    (tmp_path / "val_1.json").write_text(captions(["vid003"]))
    (tmp_path / "val_2.json").write_text(captions(["vid008", "vid009"]))
    dm = Tan2dDataModule(str(example["features"]), str(tmp_path), benchmark="anet_captions", num_sample_clips=16)
    assert dm.split_videos is None
    train, val, test = dm.dataset("train"), dm.dataset("val"), dm.dataset("test")
    assert (len(train), len(val), len(test)) == (6, 2, 4)
    item = val[1]
    assert item["video"] == "v_vid003" and item["gt"].tolist() == [4.0, 20.0]  # end clipped to the duration
    assert item["tokens"] == ["the", "person", "is", "eating."]  # punctuation kept, as 2D-TAN
