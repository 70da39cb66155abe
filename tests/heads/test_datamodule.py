from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStore
from bsp_lightning.heads import (MISSING_FEATURES_FILE, FeatureCoverageError, FeatureDataModule, InputFileError,
                                 InvalidArgumentError, holdout_split)


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
    warnings = [r.getMessage() for r in caplog.records if "train split" in r.getMessage()]
    assert len(warnings) == 1 and "_Ids train split: missing_features: 1 of 3 (e.g. 'b')" in warnings[0]
    assert str(tmp_path / "run" / MISSING_FEATURES_FILE) in warnings[0]
    assert (tmp_path / "run" / MISSING_FEATURES_FILE).read_text() == "train\tb\n"
    assert dm.missing_features == {"train": ["b"]}
    assert dm.skips.counts("train") == {"missing_features": 1}
    assert dm.skips.as_dict() == {"train": {"missing_features": 1}}


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


class _Held(FeatureDataModule):
    """Training videos a..j (b without features); the hold-out gives train and val, each a list of matched ids."""

    def build_dataset(self, split):
        if split in ("train", "val"):
            ids = self.hold_out(f"{c}" for c in "abcdefghij")[split]
        else:
            ids = ["a"]
        for vid in ids:
            if vid.endswith("x"):
                self.skips.add(split, "empty_query", example=vid)
        return list(self.match_videos(ids, split).values()) if ids else []


def test_hold_out_draws_among_videos_with_features_and_writes_split_json_once(tmp_path: Path) -> None:
    ids = list("abcdefghij")
    folder = _features(tmp_path / "f", [v for v in ids if v != "b"])
    dm = _Held(str(folder), "ann.json", val_fraction=0.2, seed=5)
    split = dm.hold_out(ids)  # no trainer yet: nothing written
    expected_val = holdout_split([v for v in ids if v != "b"], 0.2, 5)[1]  # 2 of the 9 videos with features
    assert split["val"] == expected_val and len(expected_val) == 2
    assert split["train"] == sorted(set(ids) - set(expected_val)) and "b" in split["train"]
    assert dm.hold_out(["z"]) is split  # the first call decides
    dm.trainer = SimpleNamespace(default_root_dir=str(tmp_path / "run"))
    dm.setup("fit")
    import json

    saved = json.loads((tmp_path / "run" / "split.json").read_text())
    assert saved == {"train": split["train"], "val": expected_val, "val_fraction": 0.2, "seed": 5, "split_file": None}
    (tmp_path / "run" / "split.json").unlink()
    dm.setup("fit")
    assert not (tmp_path / "run" / "split.json").exists()  # written once
    assert dm.skips.counts("train") == {"missing_features": 1}


def test_a_user_split_file_wins_and_val_fraction_is_checked(tmp_path: Path) -> None:
    import json

    folder = _features(tmp_path / "f", list("abcdefghij"))
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"train": ["a", "c", "d", "zz"], "val": ["j", "b"]}))
    dm = _Held(str(folder), "ann.json", split_file=str(given))
    assert dm.hold_out(list("abcdefghij")) == {"train": ["a", "c", "d"], "val": ["b", "j"]}
    given.write_text(json.dumps({"val": ["a"]}))
    with pytest.raises(InputFileError, match="given.json: a split file is a JSON object with a \"train\" list"):
        _Held(str(folder), "ann.json", split_file=str(given)).hold_out(["a"])
    for bad in (1.0, -0.1):
        with pytest.raises(InvalidArgumentError, match="val_fraction must be in"):
            _Held(str(folder), "ann.json", val_fraction=bad)


def test_skip_counts_warn_once_per_split_and_survive_a_rebuild(tmp_path: Path, caplog) -> None:
    folder = _features(tmp_path / "f", list("abcdefghij"))
    dm = _Held(str(folder), "ann.json", val_fraction=0.0)
    dm.skips.add("train", "end_past_video", 2, example="a.txt:3")  # e.g. counted when the annotations were read
    with caplog.at_level(logging.WARNING):
        dm.dataset("train")
        dm.dataset("train")
    assert [r.getMessage() for r in caplog.records].count("_Held train split: end_past_video: 2 (e.g. 'a.txt:3')") == 1
    dm._datasets.clear()  # a teardown that frees the datasets: building again counts nothing twice
    dm.dataset("train")
    assert dm.skips.as_dict() == {"train": {"end_past_video": 2}} and dm.skips.total() == 2
