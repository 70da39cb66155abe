"""Figures: boundary/non-boundary pair selection, differences, matrix layout, and the PNGs of fig2/fig4."""

from __future__ import annotations

import json

import matplotlib.image as mpimg
import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStore
from bsp_lightning.viz import (
    VizError,
    boundary_differences,
    boundary_pairs,
    main,
    matrix_shape,
    pair_differences,
)


def test_boundary_pairs_by_hand():
    # centres .5 1.5 2.5 3.5 4.5; a boundary at 2.2 lies between centres 1 and 2 and inside the spans of
    # pairs 1 ([1, 3]) and 2 ([2, 4])
    b, n = boundary_pairs([0, 1, 2, 3, 4], 1.0, [2.2])
    assert b.tolist() == [1] and n.tolist() == [0, 3]
    b, n = boundary_pairs([0, 1, 2], 1.0, [])
    assert b.tolist() == [] and n.tolist() == [0, 1]
    b, n = boundary_pairs([0.0], 1.0, [0.5])
    assert b.size == 0 and n.size == 0


def test_pair_differences_normalise_first():
    diff = pair_differences(np.array([[3.0, 4.0], [0.0, 2.0], [0.0, 5.0]]), np.array([0, 1]))
    np.testing.assert_allclose(diff, [[0.6, 0.2], [0.0, 0.0]])


def test_matrix_shape_matches_the_paper():
    assert matrix_shape(512) == (32, 16)
    assert matrix_shape(1024) == (32, 32)
    assert matrix_shape(2048) == (64, 32)
    assert matrix_shape(7) == (7, 1)


def write_stream(root, jump: float, seed: int):
    """Two videos, 12 snippets of 8 frames at 8 fps (1 s each); a segment [4, 8] s in each."""
    rng = np.random.default_rng(seed)
    store = FeatureStore(root)
    for vid in ("v0", "v1"):
        feats = 1.0 + 0.01 * rng.standard_normal((12, 32))
        feats[4:8, :16] += jump  # the action changes the features inside the segment
        store.write_video(vid, feats, [float(k) for k in range(12)], 8.0, 96, "h")
    store.write_manifest({"snippet_length": 8, "stride": 8, "feature_dim": 32}, "h")


def test_fig4_png_and_boundary_sensitivity(tmp_path, capsys):
    write_stream(tmp_path / "vanilla", 0.0, 0)
    write_stream(tmp_path / "bsp", 1.0, 1)
    gt = {"version": "1.3", "database": {
        vid: {"subset": "validation", "duration": 12.0, "url": "",
              "annotations": [{"segment": [4.0, 8.0], "label": "toy"}]} for vid in ("v0", "v1", "not_extracted")}}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    bsp = boundary_differences(tmp_path / "bsp", tmp_path / "gt.json", "BSP")
    # boundaries at 4 and 8 s: pairs (3, 4) and (7, 8) per video; clean pairs avoid [k, k + 2] around them
    assert bsp.boundary.shape == (4, 32) and bsp.num_videos == 2
    # spans [k, k + 2] touching 4 s: k = 2, 3, 4; touching 8 s: k = 6, 7, 8 -> clean pairs 0, 1, 5, 9, 10
    assert bsp.non_boundary.shape == (2 * 5, 32)
    assert bsp.boundary.mean() > 10 * bsp.non_boundary.mean()
    out = tmp_path / "fig4.png"
    assert main(["fig4", "--features", str(tmp_path / "vanilla"), str(tmp_path / "bsp"),
                 "--names", "vanilla", "BSP", "--ground-truth", str(tmp_path / "gt.json"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    ratios = [float(line.rsplit("ratio ", 1)[1]) for line in printed.splitlines() if "ratio" in line]
    assert len(ratios) == 2 and ratios[1] > 10 > ratios[0]
    image = mpimg.imread(out)
    assert image.ndim == 3 and image.shape[0] > 500 and image.shape[1] > 500


def test_fig4_bad_inputs(tmp_path, capsys):
    write_stream(tmp_path / "a", 0.0, 0)
    (tmp_path / "gt.json").write_text(json.dumps({"database": {"other": {
        "subset": "validation", "duration": 3.0, "annotations": [{"segment": [1.0, 2.0], "label": "x"}]}}}))
    with pytest.raises(VizError, match="none of its videos has ground truth"):
        boundary_differences(tmp_path / "a", tmp_path / "gt.json", "a")
    assert main(["fig4", "--features", str(tmp_path / "missing"), "--ground-truth", str(tmp_path / "gt.json"),
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "missing: feature folder does not exist" in capsys.readouterr().err


def test_fig2_png_from_the_datamodule(tmp_path, capsys, mp4_writer, frame_maker):
    root = tmp_path / "kinetics"
    for c, label in enumerate(("jumping", "waving")):
        for v in range(2):
            mp4_writer(root / "train" / label / f"vid{c}{v}_000000_000010.mp4",
                       frame_maker(40, 32, 32, seed=10 * c + v))
    out = tmp_path / "fig2.png"
    assert main(["fig2", "--root", str(root), "--resolution", "32", "--out", str(out)]) == 0
    assert "boundary types drawn: diff_class, same_class, diff_speed, same_speed" in capsys.readouterr().out
    image = mpimg.imread(out)
    assert image.ndim == 3 and image.shape[1] > image.shape[0]  # 4 rows of 8 frames: a wide strip


def test_importing_viz_leaves_the_matplotlib_backend_alone():
    # a notebook's inline backend (or any caller's choice) must survive `from bsp_lightning import viz`
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import bsp_lightning.viz; "
            "import matplotlib.pyplot as plt; print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "svg"
