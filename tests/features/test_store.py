"""Feature folder: per-video npy + entries + manifest, resumability checks, and two-stream combine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.features.combine import combine
from bsp_lightning.features.store import (
    FeatureMismatchError,
    FeatureStore,
    FeatureStoreError,
    config_hash,
    load_features,
    read_manifest,
)


def fill(root, videos: dict[str, tuple[int, int]], hash_: str = "h", fps: float = 30.0, offset: float = 0.0):
    """videos: id -> (num_snippets, D). Values encode (video, snippet, channel) for later checks."""
    store = FeatureStore(root)
    for i, (vid, (n, d)) in enumerate(videos.items()):
        feats = (i * 1000 + np.arange(n)[:, None] * 10 + np.arange(d)[None, :] + offset).astype(np.float32)
        store.write_video(vid, feats, [8 * k / fps for k in range(n)], fps, 8 * n, hash_)
    store.write_manifest({"snippet_length": 8, "stride": 8, "feature_dim": d}, hash_)
    return store


def test_config_hash_is_order_independent_and_sensitive():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 16


def test_write_and_read_back(tmp_path):
    store = fill(tmp_path, {"v1": (3, 4), "v0": (2, 4)})
    feats = load_features(tmp_path, "v1")
    assert feats.dtype == np.float32 and feats.shape == (3, 4)
    assert feats[2, 3] == 23.0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert list(manifest["videos"]) == ["v0", "v1"]  # sorted
    assert manifest["videos"]["v1"]["snippet_starts"] == pytest.approx([0, 8 / 30, 16 / 30])
    assert manifest["videos"]["v1"]["num_snippets"] == 3
    assert manifest["summary"] == {"ok": 2, "failed": 0}
    assert manifest["config"]["snippet_length"] == 8
    assert store.is_complete("v1", "h") and not store.is_complete("v1", "other")
    assert not list(tmp_path.rglob("*.tmp*"))  # no temporary files left behind


def test_is_complete_needs_the_feature_file(tmp_path):
    store = fill(tmp_path, {"v": (2, 2)})
    (tmp_path / "v.npy").unlink()
    assert not store.is_complete("v", "h")


def test_entries_of_an_unfinished_run_are_seen_before_manifest_exists(tmp_path):
    store = FeatureStore(tmp_path)
    store.write_video("a", np.zeros((1, 2)), [0.0], 25.0, 8, "h")
    assert not (tmp_path / "manifest.json").exists()
    assert read_manifest(tmp_path)["videos"]["a"]["fps"] == 25.0
    assert FeatureStore(tmp_path).is_complete("a", "h")


def test_failure_recorded_and_stale_file_removed(tmp_path):
    store = fill(tmp_path, {"v": (2, 2)})
    store.write_failure("v", "cannot open as a video container", "h2")
    assert not (tmp_path / "v.npy").exists()
    manifest = store.write_manifest()
    assert manifest["videos"]["v"] == {"status": "failed", "config_hash": "h2",
                                       "reason": "cannot open as a video container"}
    assert manifest["summary"] == {"ok": 0, "failed": 1}


def test_bad_inputs(tmp_path):
    store = FeatureStore(tmp_path)
    with pytest.raises(FeatureStoreError, match="do not match"):
        store.write_video("v", np.zeros((2, 3)), [0.0], 30, 8, "h")
    with pytest.raises(FeatureStoreError, match="invalid video id"):
        store.feature_path("a/b")
    with pytest.raises(FeatureStoreError, match="does not exist"):
        FeatureStore(tmp_path / "missing", create=False)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(FeatureStoreError, match="manifest.json"):
        read_manifest(tmp_path)


def test_combine_concatenates_channels(tmp_path):
    fill(tmp_path / "a", {"v0": (3, 2), "v1": (1, 2)}, hash_="ha")
    fill(tmp_path / "b", {"v0": (3, 5), "v1": (1, 5)}, hash_="hb", offset=0.5)
    result = combine(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    assert result.written == ["v0", "v1"] and result.feature_dim == 7
    c = load_features(tmp_path / "c", "v0")
    assert c.shape == (3, 7)
    np.testing.assert_array_equal(c[:, :2], load_features(tmp_path / "a", "v0"))
    np.testing.assert_array_equal(c[:, 2:], load_features(tmp_path / "b", "v0"))
    manifest = read_manifest(tmp_path / "c")
    assert manifest["config"]["feature_dim"] == 7
    assert [s["config_hash"] for s in manifest["config"]["combined_from"]] == ["ha", "hb"]
    assert manifest["videos"]["v0"]["num_snippets"] == 3


def test_combine_names_every_disagreeing_video(tmp_path):
    fill(tmp_path / "a", {"same": (2, 2), "count": (3, 2), "time": (2, 2), "only_a": (1, 2)})
    store_b = fill(tmp_path / "b", {"same": (2, 2), "count": (4, 2)})
    store_b.write_video("time", np.zeros((2, 2)), [0.0, 0.5], 30.0, 16, "h")  # 8/30 s expected
    store_b.write_manifest()
    with pytest.raises(FeatureMismatchError) as info:
        combine(tmp_path / "a", tmp_path / "b", tmp_path / "c")
    problems = info.value.problems
    assert set(problems) == {"count", "time", "only_a"}
    assert "snippet counts differ (3 vs 4)" in problems["count"]
    assert "snippet 1" in problems["time"]
    assert "only in" in problems["only_a"]
    assert not (tmp_path / "c").exists()  # nothing written


def test_combine_allow_missing_skips_one_sided_videos(tmp_path):
    fill(tmp_path / "a", {"v": (2, 2), "only_a": (1, 2)})
    fill(tmp_path / "b", {"v": (2, 3)})
    result = combine(tmp_path / "a", tmp_path / "b", tmp_path / "c", allow_missing=True)
    assert result.written == ["v"] and list(result.skipped) == ["only_a"]


def test_combine_requires_feature_folders(tmp_path):
    (tmp_path / "a").mkdir()
    fill(tmp_path / "b", {"v": (1, 1)})
    with pytest.raises(FeatureStoreError, match="manifest.json: missing"):
        combine(tmp_path / "a", tmp_path / "b", tmp_path / "c")
