"""What every format shares: ``v_`` ids, bad input (one line naming file and video), --skip-bad, resuming, timing
from side files, and the refusal to mix imported with extracted features."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStore, load_features, read_manifest

GRID = ("--fps", 25, "--snippet-length", 8, "--stride", 8)


def values(n: int, d: int, seed: int) -> np.ndarray:
    return (seed * 1000 + np.arange(n)[:, None] * 10 + np.arange(d)[None, :] / 100).astype(np.float32)


@pytest.fixture
def release(tmp_path):
    """Three videos in one h5 file, ids with ``v_``."""
    src = tmp_path / "release.h5"
    with h5py.File(src, "w") as f:
        for i, vid in enumerate(("v_a", "v_b", "v_c")):
            f[vid] = values(4 + i, 3, i)
    return src


@pytest.mark.parametrize("rule,ids", [("keep", ["v_a", "v_b", "v_c"]), ("strip", ["a", "b", "c"]),
                                      ("add", ["v_a", "v_b", "v_c"])])
def test_v_prefix_rules(tmp_path, run, release, rule, ids):
    code, _, err = run("import", "h5", release, "--layout", "TD", *GRID, "--v-prefix", rule, "--out",
                       tmp_path / "f", "--no-progress")
    assert code == 0, err
    assert sorted(read_manifest(tmp_path / "f")["videos"]) == ids
    np.testing.assert_array_equal(load_features(tmp_path / "f", ids[1]), values(5, 3, 1))


def test_v_prefix_added_to_ids_without_it(tmp_path, run):
    src = tmp_path / "tsp_features"
    src.mkdir()
    np.save(src / "abc.npy", values(2, 3, 0))
    np.save(src / "v_def.npy", values(2, 3, 1))
    assert run("import", "npy", src, "--layout", "TD", *GRID, "--v-prefix", "add", "--out", tmp_path / "f",
               "--no-progress")[0] == 0
    assert sorted(read_manifest(tmp_path / "f")["videos"]) == ["v_abc", "v_def"]
    np.save(src / "def.npy", values(2, 3, 2))  # strip would make two videos 'def'
    code, _, err = run("import", "npy", src, "--layout", "TD", *GRID, "--v-prefix", "strip", "--out",
                       tmp_path / "g", "--no-progress")
    assert code == 2 and "becomes 'def'" in err


@pytest.mark.parametrize("bad,message", [
    ("nan", "1 non-finite value(s), first at row 2, column 1 (nan)"),
    ("width", "width 4, but v_a has 3"),
    ("missing", "no dataset v_b/c3d_features (datasets there: other)"),
])
def test_bad_input_is_one_line_naming_file_and_video(tmp_path, run, bad, message):
    src = tmp_path / "release.h5"
    with h5py.File(src, "w") as f:
        f["v_a/c3d_features"] = values(4, 3, 0)
        b = values(5, 4 if bad == "width" else 3, 1)
        if bad == "nan":
            b[2, 1] = np.nan
        f["v_b/" + ("other" if bad == "missing" else "c3d_features")] = b
        f["v_c/c3d_features"] = values(6, 3, 2)
    args = ("import", "h5", src, "--dataset", "c3d_features", "--layout", "TD", *GRID, "--no-progress")
    code, out, err = run(*args, "--out", tmp_path / "f")
    assert code == 2 and out == ""
    assert err.startswith(f"bsp-lightning features import: {src}") and err.endswith(f": video v_b: {message}\n")
    assert err.count("\n") == 1
    code, out, err = run(*args, "--out", tmp_path / "g", "--skip-bad")
    assert code == 1 and "2 video(s) written" in out and "1 failed" in out
    entries = read_manifest(tmp_path / "g")["videos"]
    assert entries["v_b"]["status"] == "failed" and message in entries["v_b"]["reason"]
    assert not (tmp_path / "g" / "v_b.npy").exists() and entries["v_c"]["status"] == "ok"


def test_a_value_beyond_float32_is_non_finite_after_the_cast(tmp_path, run):
    src = tmp_path / "f64"
    src.mkdir()
    big = values(3, 2, 0).astype(np.float64)
    big[1, 0] = 1e300
    np.save(src / "x.npy", big)
    code, _, err = run("import", "npy", src, "--layout", "TD", *GRID, "--out", tmp_path / "f", "--no-progress")
    assert code == 2 and "video x: 1 non-finite value(s), first at row 1, column 0 (inf)" in err


def test_rerun_skips_done_videos_and_redoes_changed_sources(tmp_path, run, release):
    args = ("import", "h5", release, "--layout", "TD", "--snippet-length", 8, "--stride", 8, "--out", tmp_path / "f")
    code, out, err = run(*args, "--fps", 25)
    assert code == 0 and "3 video(s) written" in out and "video" in err  # the progress bar counts videos
    mtime = (tmp_path / "f" / "v_a.npy").stat().st_mtime_ns
    code, out, _ = run(*args, "--fps", 25, "--no-progress")
    assert code == 0 and "0 video(s) written, 3 already done" in out
    assert (tmp_path / "f" / "v_a.npy").stat().st_mtime_ns == mtime
    with h5py.File(release, "a") as f:  # the source changed: everything in it is read again
        del f["v_a"]
        f["v_a"] = values(4, 3, 9)
    os.utime(release, ns=(mtime + 10**9, mtime + 10**9))
    code, out, _ = run(*args, "--fps", 25, "--no-progress")
    assert code == 0 and "3 video(s) written, 0 already done" in out
    np.testing.assert_array_equal(load_features(tmp_path / "f", "v_a"), values(4, 3, 9))
    code, out, _ = run(*args, "--fps", 30, "--no-progress")  # other settings: redone
    assert "3 video(s) written" in out
    assert read_manifest(tmp_path / "f")["videos"]["v_b"]["snippet_starts"][1] == pytest.approx(8 / 30)


def test_an_interrupted_import_leaves_complete_files_and_resumes(tmp_path, run, release, monkeypatch):
    from bsp_lightning.features import store as store_module

    calls = []
    original = store_module.FeatureStore.write_video

    def dies_on_second(self, video_id, *a, **k):
        calls.append(video_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, video_id, *a, **k)

    monkeypatch.setattr(store_module.FeatureStore, "write_video", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        run("import", "h5", release, "--layout", "TD", *GRID, "--out", tmp_path / "f", "--no-progress")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "f").iterdir() if not p.name.startswith(".")) == ["v_a.npy"]
    code, out, _ = run("import", "h5", release, "--layout", "TD", *GRID, "--out", tmp_path / "f", "--no-progress")
    assert code == 0 and "2 video(s) written, 1 already done" in out
    assert sorted(read_manifest(tmp_path / "f")["videos"]) == ["v_a", "v_b", "v_c"]


def test_per_video_fps_and_durations_from_side_files(tmp_path, run):
    src = tmp_path / "i3d_features"
    src.mkdir()
    np.save(src / "video_test_0000001.npy", values(10, 2, 0))
    np.save(src / "video_test_0000002.npy", values(10, 2, 1))
    info = tmp_path / "thumos14.json"  # ActionFormer: per-video fps in the annotation json
    info.write_text(json.dumps({"database": {"video_test_0000001": {"duration": 12.0, "fps": 30.0},
                                             "video_test_0000002": {"duration": 10.0, "fps": 25.0}}}))
    code, _, err = run("import", "npy", src, "--preset", "actionformer-thumos-i3d", "--feature-dim", 2,
                       "--video-info", info, "--out", tmp_path / "f", "--no-progress")
    assert code == 0, err
    videos = read_manifest(tmp_path / "f")["videos"]
    assert videos["video_test_0000002"]["snippet_starts"][3] == pytest.approx(12 / 25)
    assert videos["video_test_0000002"]["fps"] == 25 and videos["video_test_0000002"]["num_frames"] == 250
    assert videos["video_test_0000001"]["num_frames"] == 360
    config = read_manifest(tmp_path / "f")["config"]
    assert (config["snippet_length"], config["stride"], config["fps"]) == (16, 4, None)

    code, _, err = run("import", "npy", src, "--preset", "actionformer-thumos-i3d", "--feature-dim", 2,
                       "--out", tmp_path / "g", "--no-progress")
    assert code == 2 and "video video_test_0000001: no fps" in err


def test_span_without_durations_and_a_video_missing_from_them(tmp_path, run, release):
    code, _, err = run("import", "h5", release, "--preset", "tan2d-charades-vgg", "--out", tmp_path / "f")
    assert code == 2 and "--video-info" in err and "Charades_v1_train.csv" in err
    lengths = tmp_path / "Charades_v1_test.csv"
    lengths.write_text('id,script,length\nv_a,"a, quoted\nscript",30.5\nv_b,x,12\n')
    code, _, err = run("import", "h5", release, "--layout", "TD", "--span", "--video-info", lengths, "--out",
                       tmp_path / "f", "--no-progress")
    assert code == 2 and f"{release}[v_c]: video v_c: no duration in --video-info" in err
    code, out, _ = run("import", "h5", release, "--layout", "TD", "--span", "--video-info", lengths, "--out",
                       tmp_path / "f", "--no-progress", "--skip-bad")
    # the stopped run left v_a and v_b complete: the re-run resumes and records v_c as failed
    assert code == 1 and "0 video(s) written, 2 already done, 1 failed" in out
    entry = read_manifest(tmp_path / "f")["videos"]["v_a"]
    assert entry["snippet_starts"] == pytest.approx([0, 30.5 / 4, 61 / 4, 91.5 / 4])


def test_settings_errors(tmp_path, run, release):
    code, _, err = run("import", "npy", release, "--preset", "gtad-anet-tsn", "--out", tmp_path / "f")
    assert code == 2 and "--preset gtad-anet-tsn is for format h5 or csv, not npy" in err
    code, _, err = run("import", "h5", release, "--layout", "TD", "--fps", 30, "--out", tmp_path / "f")
    assert code == 2 and "give --snippet-length and --stride" in err
    code, _, err = run("import", "h5", tmp_path / "nope.h5", "--layout", "TD", *GRID, "--out", tmp_path / "f")
    assert code == 2 and err == f"bsp-lightning features import: {tmp_path / 'nope.h5'}: not found\n"
    (tmp_path / "text.h5").write_text("not hdf5")
    code, _, err = run("import", "h5", tmp_path / "text.h5", "--layout", "TD", *GRID, "--out", tmp_path / "f")
    assert code == 2 and "not a readable HDF5 file" in err and err.count("\n") == 1


def test_refuses_to_import_into_an_extracted_folder(tmp_path, run, release):
    store = FeatureStore(tmp_path / "extracted")
    store.write_video("v_a", values(2, 3, 0), [0.0, 0.32], 25.0, 16, "h")
    store.write_manifest({"snippet_length": 8, "stride": 8, "feature_dim": 3, "checkpoints": []}, "h")
    code, _, err = run("import", "h5", release, "--layout", "TD", *GRID, "--out", tmp_path / "extracted")
    assert code == 2 and "holds extracted (not imported) features" in err
