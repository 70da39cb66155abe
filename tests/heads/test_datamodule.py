from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStore
from bsp_lightning.heads import MISSING_FEATURES_FILE, FeatureCoverageError, FeatureDataModule, holdout_split


class _Ids(FeatureDataModule):
    def build_dataset(self, split):
        return list(self.match_videos(["a", "b", "c"], split).values())


def _features(root: Path, ids: list[str]) -> Path:
    store = FeatureStore(root)
    for vid in ids:
        store.write_video(vid, np.ones((2, 4), np.float32), [0.0, 0.5], 16.0, 16, "h")
    store.write_manifest({"feature_dim": 4, "snippet_length": 8, "stride": 8})
    return root


def test_missing_features_counted_listed_and_v_prefix_matched(tmp_path: Path, caplog) -> None:
    dm = _Ids(str(_features(tmp_path / "f", ["v_a", "c"])), "ann.json")
    dm.trainer = SimpleNamespace(default_root_dir=str(tmp_path / "run"))
    assert dm.feature_dim == 4
    with caplog.at_level(logging.WARNING):
        assert dm.dataset("train") == ["v_a", "c"]
    assert "1 of 3 annotated train videos have no features (skipped), e.g. 'b'" in caplog.text
    assert (tmp_path / "run" / MISSING_FEATURES_FILE).read_text() == "train\tb\n"
    assert dm.missing_features == {"train": ["b"]}


def test_without_a_trainer_nothing_is_written(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    dm = _Ids(str(_features(tmp_path / "f", ["a"])), "ann.json")
    assert dm.dataset("val") == ["a"]
    assert dm.missing_features == {"val": ["b", "c"]} and not (tmp_path / MISSING_FEATURES_FILE).exists()


def test_no_annotated_video_has_features_names_both_paths(tmp_path: Path) -> None:
    dm = _Ids(str(_features(tmp_path / "f", ["zzz"])), "ann.json")
    with pytest.raises(FeatureCoverageError) as err:
        dm.dataset("test")
    text = str(err.value)
    assert "ann.json" in text and str(tmp_path / "f") in text and "'a'" in text and "'zzz'" in text
    assert "'v_' prefix" in text


def test_a_feature_file_of_the_wrong_width_is_named_when_the_dataset_is_built(tmp_path: Path) -> None:
    # not mid-epoch, when a head (2D-TAN) first loads the video
    from bsp_lightning.features.store import FeatureStoreError

    folder = _features(tmp_path / "f", ["a", "b"])
    np.save(folder / "b.npy", np.zeros((2, 3), np.float32))
    dm = _Ids(str(folder), "ann.json")
    with pytest.raises(FeatureStoreError, match=r"b\.npy: shape \(2, 3\) but the manifest says \(2, 4\)"):
        dm.dataset("train")
    (folder / "b.npy").write_bytes(b"")
    with pytest.raises(FeatureStoreError, match=r"b\.npy: cannot read"):
        _Ids(str(folder), "ann.json").dataset("train")


def test_holdout_split_is_seeded_by_video_and_sorted() -> None:
    ids = [f"vid{i:02d}" for i in range(20)]
    train, val = holdout_split(reversed(ids), fraction=0.1, seed=3)
    assert len(val) == 2 and sorted(train + val) == ids and train == sorted(train)
    assert (train, val) == holdout_split(ids, fraction=0.1, seed=3)
    assert holdout_split(ids, 0.1, seed=4) != (train, val)
    assert holdout_split(["x", "y"], 0.1)[1] != []  # at least one validation video
    with pytest.raises(ValueError):
        holdout_split(ids, 1.0)
