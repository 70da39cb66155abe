"""Imported and extracted folders are interchangeable: ``FeatureSet`` concatenates an imported and an extracted
folder under the two-stream rule, ``combine`` does too, and a head trains and tests on either or both. The
extracted folder is a real ``bsp-lightning extract`` run on tiny videos."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bsp_lightning.features.combine import combine
from bsp_lightning.features.importers.cli import main as features_main
from bsp_lightning.features.store import FeatureMismatchError, load_features, read_manifest
from bsp_lightning.heads import FeatureSet

FPS = 25
FRAMES = {"v_alpha": 40, "v_beta": 56, "v_gamma": 72}  # as tests/features/conftest.py extracts them


@pytest.fixture(scope="module")
def folders(extracted, tmp_path_factory):
    """``{"extracted", "imported", "root", "annotations"}``: the same videos, extracted and imported."""
    root = tmp_path_factory.mktemp("interchange")
    release = root / "release"  # another stream of the same snippets, as a per-video .npy release
    release.mkdir()
    for i, vid in enumerate(FRAMES):
        n = read_manifest(extracted / "extracted")["videos"][vid]["num_snippets"]
        np.save(release / f"{vid}.npy", np.random.default_rng(10 + i).normal(size=(n, 8)).astype(np.float32))
    assert features_main(["import", "npy", str(release), "--layout", "TD", "--fps", str(FPS), "--snippet-length",
                          "8", "--stride", "8", "--out", str(root / "imported"), "--no-progress"]) == 0
    database = {}
    for vid, subset in zip(FRAMES, ("training", "validation", "testing")):
        seconds = FRAMES[vid] / FPS
        database[vid[2:]] = {"subset": subset, "duration": seconds,
                             "annotations": [{"segment": [0.2 * seconds, 0.7 * seconds], "label": "x"}]}
    (root / "anet.json").write_text(json.dumps({"database": database}))
    return {"root": root, "extracted": extracted / "extracted", "imported": root / "imported",
            "annotations": root / "anet.json"}


def test_feature_set_concatenates_an_imported_and_an_extracted_folder(folders):
    both = FeatureSet([folders["extracted"], folders["imported"]])
    assert both.imported == [False, True] and both.dims == [512, 8] and both.feature_dim == 520
    for vid in FRAMES:
        row = both.load(vid)
        np.testing.assert_array_equal(row[:, :512], load_features(folders["extracted"], vid))
        np.testing.assert_array_equal(row[:, 512:], np.load(folders["root"] / "release" / f"{vid}.npy"))
        np.testing.assert_array_equal(both.snippet_starts(vid), 8 * np.arange(len(row)) / FPS)
    assert both.snippet_seconds("v_beta") == 8 / FPS
    assert FeatureSet([folders["imported"], folders["extracted"]]).load("v_alpha").shape == (5, 520)
    out = combine(folders["imported"], folders["extracted"], folders["root"] / "combined")
    assert out.feature_dim == 520 and sorted(out.written) == sorted(FRAMES)


def test_other_timing_disagrees_and_names_the_videos(folders, tmp_path):
    assert features_main(["import", "npy", str(folders["root"] / "release"), "--layout", "TD", "--fps", str(FPS),
                          "--snippet-length", "8", "--stride", "4", "--out", str(tmp_path / "i4"),
                          "--no-progress"]) == 0
    with pytest.raises(FeatureMismatchError) as err:
        FeatureSet([folders["extracted"], tmp_path / "i4"])
    assert set(err.value.problems) == set(FRAMES)
    assert "snippet start times differ from snippet 1 (0.320000s vs 0.160000s)" in err.value.problems["v_alpha"]


@pytest.mark.parametrize("which", ["imported", "extracted+imported"])
def test_a_head_fits_and_tests_on_imported_or_mixed_folders(folders, tmp_path, which):
    from bsp_lightning.lightning_cli import build_cli

    features = [folders["imported"]] if which == "imported" else [folders["extracted"], folders["imported"]]
    args = ["--config", "gtad_toy", *[f"--data.features={f}" for f in features],
            f"--data.annotations={folders['annotations']}", f"--trainer.default_root_dir={tmp_path / 'run'}",
            "--data.init_args.batch_size=1", "--trainer.fast_dev_run=true", "--logger=none"]
    from bsp_lightning.config_files import rewrite_configs

    cli = build_cli(rewrite_configs(["fit", *args])[1:], run=False)
    assert cli.model.feature_dim == (8 if which == "imported" else 520)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.test(cli.model, datamodule=cli.datamodule)
    assert set(cli.model.test_results) >= {"average_mAP", "AR@100"}
