"""GTADDataModule: resizing, normalisation, windows, skips and bad input."""

import json

import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStoreError
from bsp_lightning.features.resample import interpolate_to_length
from bsp_lightning.heads import FeatureCoverageError
from bsp_gtad.data import GTADActivityNetData
from bsp_gtad.thumos import make_windows
from bsp_gtad.targets import gtad_targets


def test_make_windows_official_rule():
    assert make_windows(100) == [0]  # fewer than 256: one (zero-padded) window
    assert make_windows(256) == [0]
    assert make_windows(300) == [0]  # tail 44 <= 51
    assert make_windows(308) == [0, 52]  # tail 52 > 51: extra window at N - 256
    assert make_windows(640) == [0, 128, 256, 384]  # int((640 + 128 - 256) / 128) = 4, tail 0


def test_activitynet_items(tiny_anet):
    feats, anno = tiny_anet
    dm = GTADActivityNetData(str(feats), str(anno), temporal_scale=16, max_duration=16)
    train = dm.dataset("train")
    assert [r["video_id"] for r in train.records] == ["vid0", "vid1", "vid2", "vid3"]
    item = train[1]
    raw = np.load(feats / "v_vid1.npy")
    np.testing.assert_allclose(item["features"].numpy(), interpolate_to_length(raw, 16).T)
    # vid1: 44 snippets of 0.32 s -> covered 14.08 s; the ground truth normalised by it
    record = train.records[1]
    assert record["covered"] == pytest.approx(44 * 0.32)
    start, _, iou = gtad_targets(record["segments"] / (44 * 0.32), 16, max_duration=16)
    np.testing.assert_allclose(item["start"].numpy(), start, atol=1e-6)
    np.testing.assert_allclose(item["iou_map"].numpy(), iou, atol=1e-6)
    assert item["video_labels"].tolist() == [1.0, 1.0]
    assert dm.data_info == {"classes": ["jump", "run"], "benchmark": "activitynet", "temporal_scale": 16,
                            "max_duration": 16}


def test_skips_and_coverage(tiny_anet, tmp_path, caplog):
    feats, anno = tiny_anet
    data = json.loads(anno.read_text())
    data["database"]["vid0"]["annotations"] = [{"segment": [3.0, 3.0], "label": "run"},
                                               {"segment": [500.0, 600.0], "label": "run"}]
    data["database"]["nofeat"] = {"subset": "training", "duration": 5.0,
                                  "annotations": [{"segment": [1, 2], "label": "run"}]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    dm = GTADActivityNetData(str(feats), str(bad), temporal_scale=16, max_duration=16)
    train = dm.dataset("train")
    assert "vid0" not in [r["video_id"] for r in train.records]
    assert dm.skips.counts("train") == {"zero-length or reversed segments": 1,
                                        "segments outside the feature-covered span": 1,
                                        "videos without a usable segment": 1, "missing_features": 1}
    assert dm.missing_features["train"] == ["nofeat"]
    only = tmp_path / "only.json"
    only.write_text(json.dumps({"database": {"x": data["database"]["nofeat"]}}))
    with pytest.raises(FeatureCoverageError, match="v_"):
        GTADActivityNetData(str(feats), str(only), temporal_scale=16).dataset("train")


def test_wrong_width_file_is_one_line(tiny_anet):
    feats, anno = tiny_anet
    np.save(feats / "v_vid2.npy", np.zeros((48, 7), dtype=np.float32))
    with pytest.raises(FeatureStoreError, match="v_vid2.npy"):
        GTADActivityNetData(str(feats), str(anno), temporal_scale=16).dataset("train")


def test_holdout_validation(tiny_anet):
    feats, anno = tiny_anet
    dm = GTADActivityNetData(str(feats), str(anno), temporal_scale=16, val_subset="holdout")
    train = {r["video_id"] for r in dm.dataset("train").records}
    val = {r["video_id"] for r in dm.dataset("val").records}
    assert len(val) == 1 and not train & val and train | val == {"vid0", "vid1", "vid2", "vid3"}
