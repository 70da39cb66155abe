"""Round trips of each release format: the imported values equal the source's, at the right times."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from bsp_lightning.features.store import load_features, read_manifest


def values(n: int, d: int, seed: int) -> np.ndarray:
    """float32 ``(n, d)`` whose every cell encodes (seed, row, column)."""
    return (seed * 1000 + np.arange(n)[:, None] * 10 + np.arange(d)[None, :] / 100).astype(np.float32)


def test_h5_file_with_one_dataset_per_video_spread_over_the_covered_span(tmp_path, run):
    src = tmp_path / "csv_mean_100.hdf5"
    with h5py.File(src, "w") as f:
        f["v_a"] = values(100, 6, 1)
        f["v_b"] = values(100, 6, 2).astype(np.float64)
    info = tmp_path / "video_info_new.csv"
    info.write_text("video,numFrame,seconds,fps,rfps,subset,featureFrame\n"
                    "v_a,1000,40.0,25.0,25.0,training,992\nv_b,300,10.0,30.0,30.0,validation,288\n")
    code, out, err = run("import", "h5", src, "--layout", "TD", "--span", "--video-info", info, "--out",
                         tmp_path / "f", "--no-progress")
    assert code == 0, err
    assert "2 video(s) written" in out
    m = read_manifest(tmp_path / "f")
    np.testing.assert_array_equal(load_features(tmp_path / "f", "v_a"), values(100, 6, 1))
    np.testing.assert_array_equal(load_features(tmp_path / "f", "v_b"), values(100, 6, 2))
    # G-TAD's covered span: featureFrame / numFrame * seconds = 992 / 1000 * 40 = 39.68 s over 100 rows
    a = m["videos"]["v_a"]
    assert a["snippet_starts"][1] == pytest.approx(0.3968) and a["snippet_starts"][99] == pytest.approx(99 * 0.3968)
    assert a["fps"] == pytest.approx(100 / 39.68) and a["num_frames"] == 100
    assert m["videos"]["v_b"]["snippet_starts"][10] == pytest.approx(10 * 9.6 / 100)
    config = m["config"]
    assert config["imported"] is True and config["import"]["format"] == "h5"
    assert config["import"]["sources"] == [str(src.resolve())] and config["snippet_length"] == 1
    assert config["time_base"] == "rows" and config["feature_dim"] == 6


def test_h5_groups_with_a_dataset_name_and_per_video_files(tmp_path, run):
    src = tmp_path / "sub_activitynet_v1-3.c3d.hdf5"
    with h5py.File(src, "w") as f:
        f["v_x/c3d_features"] = values(7, 5, 1)
        f["v_x/other"] = np.zeros(3)
        f["v_y/c3d_features"] = values(9, 5, 2)
    common = ("--layout", "TD", "--fps", 30, "--snippet-length", 16, "--stride", 8, "--no-progress")
    code, _, err = run("import", "h5", src, "--dataset", "c3d_features", "--out", tmp_path / "a", *common)
    assert code == 0, err
    np.testing.assert_array_equal(load_features(tmp_path / "a", "v_y"), values(9, 5, 2))
    entry = read_manifest(tmp_path / "a")["videos"]["v_y"]
    assert entry["snippet_starts"] == pytest.approx([8 * i / 30 for i in range(9)])
    assert entry["imported_from"]["key"] == "v_y/c3d_features"
    # two datasets in the group and no name: refused, naming the file, the video and the datasets
    code, _, err = run("import", "h5", src, "--out", tmp_path / "b", *common)
    assert code == 2 and err.count("\n") == 1
    assert str(src) in err and "video v_x" in err and "c3d_features, other" in err and "--dataset" in err

    folder = tmp_path / "per_video"  # G-TAD's per-video route: dataset <id> in <id>.h5
    folder.mkdir()
    for i, vid in enumerate(("v_p", "v_q")):
        with h5py.File(folder / f"{vid}.h5", "w") as f:
            f[vid] = values(4 + i, 3, i).T  # stored (D, T)
    code, _, err = run("import", "h5", folder, "--layout", "DT", "--out", tmp_path / "c", *common[2:])
    assert code == 0, err
    np.testing.assert_array_equal(load_features(tmp_path / "c", "v_q"), values(5, 3, 1))


def test_thumos_tsn_subsamples_truncates_and_puts_flow_first(tmp_path, run):
    folder = tmp_path / "TSN_pretrain_avepool_allfrms_hdf5"
    folder.mkdir()
    rgb, flow = values(23, 4, 1), values(22, 4, 2)  # flow has one frame fewer, as released
    rgb_short = values(11, 4, 3)
    with h5py.File(folder / "rgb_val.h5", "w") as r, h5py.File(folder / "flow_val.h5", "w") as f:
        r["video_validation_0000001"], f["video_validation_0000001"] = rgb, flow
        r["video_validation_0000002"], f["video_validation_0000002"] = rgb_short, values(14, 4, 4)
    code, out, err = run("import", "thumos-tsn", folder, "--feature-dim", 8, "--out", tmp_path / "f",
                         "--no-progress")
    assert code == 0, err
    first = load_features(tmp_path / "f", "video_validation_0000001")
    # [::5] keeps frames 0,5,10,15,20 of rgb and of flow (both 5 rows), then [flow, rgb]
    np.testing.assert_array_equal(first, np.concatenate([flow[::5], rgb[::5]], axis=1))
    second = load_features(tmp_path / "f", "video_validation_0000002")
    # rgb[::5] has 3 rows (0, 5, 10), flow[::5] has 3 (0, 5, 10): equal; shorter wins in general
    np.testing.assert_array_equal(second, np.concatenate([values(14, 4, 4)[::5][:3], rgb_short[::5]], axis=1))
    entry = read_manifest(tmp_path / "f")["videos"]["video_validation_0000001"]
    # row i centred on frame 5 i at 30 fps: starts (5 i - 2.5) / 30, 5 frames long
    assert entry["snippet_starts"] == pytest.approx([(5 * i - 2.5) / 30 for i in range(5)])
    assert entry["fps"] == 30 and entry["num_frames"] == 23 and entry["feature_dim"] == 8


def test_thumos_tsn_truncates_to_the_shorter_stream(tmp_path, run):
    folder = tmp_path / "tsn"
    folder.mkdir()
    with h5py.File(folder / "rgb_test.h5", "w") as r, h5py.File(folder / "flow_test.h5", "w") as f:
        r["video_test_0000001"], f["video_test_0000001"] = values(30, 2, 1), values(12, 2, 2)
    assert run("import", "thumos-tsn", folder, "--feature-dim", 4, "--out", tmp_path / "f", "--no-progress")[0] == 0
    got = load_features(tmp_path / "f", "video_test_0000001")
    assert got.shape == (3, 4)  # flow[::5] has 3 rows (0, 5, 10), rgb[::5] has 6
    np.testing.assert_array_equal(got[:, 2:], values(30, 2, 1)[[0, 5, 10]])


def test_thumos_tsn_video_in_one_stream_only(tmp_path, run):
    folder = tmp_path / "tsn"
    folder.mkdir()
    with h5py.File(folder / "rgb_val.h5", "w") as r, h5py.File(folder / "flow_val.h5", "w") as f:
        r["a"], f["a"] = values(10, 2, 1), values(9, 2, 1)
        r["b"] = values(10, 2, 1)
    code, _, err = run("import", "thumos-tsn", folder, "--feature-dim", 4, "--out", tmp_path / "f", "--no-progress")
    assert code == 2 and "flow_val.h5" in err and "video b" in err and "no dataset" in err


def test_npy_folder_link_npz_squeeze_and_orientation(tmp_path, run):
    src = tmp_path / "i3d_features"
    src.mkdir()
    np.save(src / "video_test_0000004.npy", values(6, 8, 1))                     # float32 (T, D): linkable
    np.save(src / "video_test_0000007.npy", values(5, 8, 2).astype(np.float16))  # converted, not linked
    np.savez(src / "epic01.npz", feats=values(3, 8, 3))
    common = ("--fps", 30, "--snippet-length", 16, "--stride", 4, "--no-progress")
    code, out, err = run("import", "npy", src, "--layout", "TD", "--link", "--out", tmp_path / "f", *common)
    assert code == 0, err
    assert "1 linked" in out and "2 copied instead" in out
    linked = tmp_path / "f" / "video_test_0000004.npy"
    assert linked.is_symlink() and linked.resolve() == (src / "video_test_0000004.npy").resolve()
    assert not (tmp_path / "f" / "video_test_0000007.npy").is_symlink()
    np.testing.assert_array_equal(load_features(tmp_path / "f", "video_test_0000007"),
                                  values(5, 8, 2).astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(load_features(tmp_path / "f", "epic01"), values(3, 8, 3))
    # ActionFormer's clip centre (4 i + 8) / fps is our start + half a 16-frame snippet
    starts = read_manifest(tmp_path / "f")["videos"]["video_test_0000004"]["snippet_starts"]
    assert [s + 8 / 30 for s in starts] == pytest.approx([(4 * i + 8) / 30 for i in range(6)])

    lgi = tmp_path / "i3d_finetuned"  # LGI stores (L, 1, 1, 1024); --feature-dim alone settles the orientation
    lgi.mkdir()
    np.save(lgi / "AO8RW.npy", values(4, 3, 1).reshape(4, 1, 1, 3))
    np.save(lgi / "BX5YT.npy", values(5, 3, 2).T.copy())  # (D, T)
    code, _, err = run("import", "npy", lgi, "--feature-dim", 3, "--out", tmp_path / "g", *common)
    assert code == 0, err
    np.testing.assert_array_equal(load_features(tmp_path / "g", "AO8RW"), values(4, 3, 1))
    np.testing.assert_array_equal(load_features(tmp_path / "g", "BX5YT"), values(5, 3, 2))


def test_orientation_is_never_guessed(tmp_path, run):
    src = tmp_path / "feats"
    src.mkdir()
    np.save(src / "a.npy", values(4, 4, 1))
    common = ("--fps", 30, "--snippet-length", 8, "--stride", 8, "--no-progress")
    code, _, err = run("import", "npy", src, "--out", tmp_path / "f", *common)
    assert code == 2 and "--layout TD" in err and "orientation" in err
    assert not (tmp_path / "f" / "a.npy").exists()
    code, _, err = run("import", "npy", src, "--feature-dim", 4, "--out", tmp_path / "f", *common)
    assert code == 2 and "both axes have 4 entries" in err and f"{src / 'a.npy'}: video a:" in err


def test_bsn_csv_with_and_without_header(tmp_path, run):
    src = tmp_path / "csv_mean_100"
    src.mkdir()
    a, b = values(100, 5, 1).astype(np.float64), values(100, 5, 2).astype(np.float64)
    with open(src / "v_a.csv", "w", newline="") as f:
        csv.writer(f).writerows([[f"f{c}" for c in range(5)], *a.tolist()])
    with open(src / "v_b.csv", "w", newline="") as f:
        csv.writer(f).writerows(b.tolist())
    anno = tmp_path / "anet_anno_action.json"
    anno.write_text(json.dumps({"v_a": {"duration_second": 20.0, "duration_frame": 500, "feature_frame": 496},
                                "v_b": {"duration_second": 8.0, "duration_frame": 200, "feature_frame": 192}}))
    code, _, err = run("import", "csv", src, "--preset", "gtad-anet-tsn", "--feature-dim", 5, "--video-info", anno,
                       "--out", tmp_path / "f", "--no-progress")
    assert code == 0, err
    np.testing.assert_array_equal(load_features(tmp_path / "f", "v_a"), a.astype(np.float32))
    np.testing.assert_array_equal(load_features(tmp_path / "f", "v_b"), b.astype(np.float32))
    entry = read_manifest(tmp_path / "f")["videos"]["v_a"]
    assert entry["snippet_starts"][50] == pytest.approx(50 * (496 / 500 * 20.0) / 100)

    (src / "v_c.csv").write_text("f0,f1\n1,2\n3,x\n")
    code, _, err = run("import", "csv", src, "--layout", "TD", "--span", "--video-info", anno,
                       "--out", tmp_path / "g", "--no-progress")
    assert code == 2 and f"{src / 'v_c.csv'}: video v_c: line 3: not a number" in err
