from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.features.store import FeatureMismatchError, FeatureStore, FeatureStoreError
from bsp_lightning.features import FeatureSet


def _folder(root: Path, dim: int, videos: dict[str, int], offset: float = 0.0, fps: float = 30.0) -> Path:
    store = FeatureStore(root)
    for vid, n in videos.items():
        feats = np.arange(n * dim, dtype=np.float32).reshape(n, dim) + offset
        store.write_video(vid, feats, [k * 8 / fps for k in range(n)], fps, n * 8, "h")
    store.write_manifest({"feature_dim": dim, "snippet_length": 8, "stride": 8})
    return root


def test_two_stream_concatenates_channels_in_order(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 2, {"v1": 3, "v2": 4})
    b = _folder(tmp_path / "b", 3, {"v1": 3, "v2": 4, "v3": 5}, offset=100.0)
    fs = FeatureSet([a, b])
    assert fs.feature_dim == 5 and fs.dims == [2, 3]
    assert fs.video_ids == ["v1", "v2"]  # v3 only in b
    x = fs.load("v1")
    assert x.shape == (3, 5) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :2], np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(x[:, 2:], np.arange(9).reshape(3, 3) + 100.0)
    np.testing.assert_allclose(fs.snippet_starts("v2"), [0, 8 / 30, 16 / 30, 24 / 30])
    assert fs.snippet_seconds("v1") == pytest.approx(8 / 30)


def test_disagreeing_snippet_counts_or_times_are_named(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 2, {"v1": 3, "v2": 4})
    b = _folder(tmp_path / "b", 2, {"v1": 4, "v2": 4}, fps=25.0)
    with pytest.raises(FeatureMismatchError) as err:
        FeatureSet([a, b])
    assert set(err.value.problems) == {"v1", "v2"}
    assert "snippet counts differ (3 vs 4)" in err.value.problems["v1"]
    assert "start times differ" in err.value.problems["v2"]


def test_v_prefix_resolution(tmp_path: Path) -> None:
    fs = FeatureSet(_folder(tmp_path / "a", 2, {"v_abc": 2, "xyz": 2}))
    assert fs.resolve("abc") == "v_abc"
    assert fs.resolve("v_abc") == "v_abc"
    assert fs.resolve("v_xyz") == "xyz"
    assert fs.resolve("nope") is None


def test_feature_file_of_the_wrong_width_is_named(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 2, {"v1": 3})
    np.save(a / "v1.npy", np.zeros((3, 7), dtype=np.float32))
    with pytest.raises(FeatureStoreError, match=r"v1\.npy: shape \(3, 7\) but the manifest says \(3, 2\)"):
        FeatureSet(a).load("v1")


def test_not_a_feature_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(FeatureStoreError, match="manifest.json: missing"):
        FeatureSet(tmp_path / "empty")
    with pytest.raises(FeatureStoreError, match="does not exist"):
        FeatureSet(tmp_path / "absent")


def test_loaded_features_are_writable(tmp_path: Path) -> None:
    x = FeatureSet(_folder(tmp_path / "a", 2, {"v1": 3})).load("v1")
    assert x.flags.writeable
    x[0, 0] = -1.0  # never reaches the file
    assert FeatureSet(tmp_path / "a").load("v1")[0, 0] == 0.0


def test_frames_per_snippet_come_from_the_manifest_never_a_default(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", 2, {"v1": 3}, fps=25.0)
    assert FeatureSet(a).snippet_length == 8 and FeatureSet(a).snippet_seconds("v1") == pytest.approx(8 / 25)
    store = FeatureStore(tmp_path / "a")
    store.write_manifest({"feature_dim": 2})  # an older or hand-written folder: no frame count recorded
    fs = FeatureSet(a)
    assert fs.load("v1").shape == (3, 2)  # a head that needs no snippet length still reads it
    with pytest.raises(FeatureStoreError, match=r"a/manifest.json: no snippet_length \(frames per snippet\)"):
        fs.snippet_seconds("v1")


def test_the_old_module_path_still_serves_feature_set(monkeypatch) -> None:
    from bsp_lightning import legacy

    monkeypatch.setattr(legacy, "_warned", set())
    with pytest.warns(FutureWarning, match="bsp_lightning.features.featureset.FeatureSet"):
        from bsp_lightning.heads.features import FeatureSet as Old
    assert Old is FeatureSet
