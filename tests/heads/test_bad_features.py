"""Bad feature files, for every installed head and the example head: NaN and inf values, 0-snippet files.

A NaN or inf stops ``fit`` with one line naming the file and the first bad snippet (exit 2), or, with
``--data.skip_bad_features true``, is a counted skip; a 0-snippet file is always a counted, named skip.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from bsp_lightning.features.store import FeatureStore
from bsp_lightning.heads import available_heads
from bsp_lightning.lightning_cli import build_cli, main

sys.path.insert(0, str(Path(__file__).parent))
import example_head  # noqa: E402

sys.path.pop(0)

SPECS = {**available_heads(), "example": example_head.HEAD}
SPLITS = ("train", "val", "test")


def _features(args: list[str]) -> Path:
    return Path(next(a.split("=", 1)[1] for a in args if a.startswith("--data.features=")))


def _rewrite(folder: Path, video: str, array: np.ndarray) -> None:
    """Replace one video's features (and its manifest entry), as a user's own feature folder could hold them."""
    store = FeatureStore(folder, create=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["videos"][video]
    starts = entry["snippet_starts"][: array.shape[0]]
    store.write_video(video, array, starts, entry["fps"], entry["num_frames"], entry.get("config_hash", "test"))
    store.write_manifest(manifest["config"])


def _datamodule(args: list[str], *extra: str):
    cli = build_cli([*args, "--trainer.fast_dev_run=true", "--logger=none", *extra], run=False)
    return cli.datamodule


def _first_annotated(dm) -> str:
    """A feature id whose video is annotated in one of the splits (every toy example annotates all)."""
    return dm.features_set.video_ids[0]


def _build_all(dm) -> None:
    for split in SPLITS:
        try:
            dm.dataset(split)
        except ValueError:  # a head without this split in its toy example (e.g. no validation hold-out)
            pass


@pytest.mark.parametrize("name", sorted(SPECS))
def test_nan_features_stop_fit_with_one_line_naming_the_file(name, tmp_path, capsys):
    args = SPECS[name].make_example(tmp_path)
    folder = _features(args)
    for path in sorted(folder.glob("*.npy")):  # every file: whichever is loaded first names itself
        array = np.load(path)
        array[2, 1] = np.nan
        np.save(path, array)
    code = main(["fit", *args, "--trainer.fast_dev_run=true", "--logger=none"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(folder) in err and ".npy: non-finite feature value nan at snippet 2, channel 1" in err


@pytest.mark.parametrize("name", sorted(SPECS))
def test_inf_features_are_a_counted_skip_with_skip_bad_features(name, tmp_path):
    args = SPECS[name].make_example(tmp_path)
    folder = _features(args)
    video = _first_annotated(_datamodule(args))
    array = np.load(folder / f"{video}.npy")
    array[-1, 0] = -np.inf
    _rewrite(folder, video, array)
    dm = _datamodule(args, "--data.skip_bad_features=true")
    _build_all(dm)
    counts = {split: dm.skips.counts(split).get("non_finite_features", 0) for split in SPLITS}
    assert sum(counts.values()) == 1, counts
    split = next(s for s, n in counts.items() if n)
    assert len(dm.unscored_videos[split]) == 1
    assert dm.features_set.resolve(dm.unscored_videos[split][0]) == video
    assert f"snippet {array.shape[0] - 1}, channel 0" in dm.skips.summary(split)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_zero_snippet_file_is_a_counted_named_skip(name, tmp_path):
    args = SPECS[name].make_example(tmp_path)
    folder = _features(args)
    video = _first_annotated(_datamodule(args))
    dim = np.load(folder / f"{video}.npy").shape[1]
    _rewrite(folder, video, np.zeros((0, dim), np.float32))
    dm = _datamodule(args)
    _build_all(dm)
    counts = {split: dm.skips.counts(split).get("empty_features", 0) for split in SPLITS}
    assert sum(counts.values()) == 1, counts
    split = next(s for s, n in counts.items() if n)
    assert "0 snippets" in dm.skips.summary(split) and dm.features_set.resolve(dm.unscored_videos[split][0]) == video


def test_nan_features_read_by_a_loader_worker_are_still_one_line(tmp_path, capsys):
    # a DataLoader worker re-raises with its traceback as the message: the CLI prints the original line only
    args = example_head.make_example(tmp_path)
    path = sorted(_features(args).glob("*.npy"))[0]
    array = np.load(path)
    array[0, 3] = np.inf
    np.save(path, array)
    code = main(["fit", *args, "--trainer.fast_dev_run=true", "--logger=none", "--data.num_workers=1",
                 "--data.batch_size=8"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err == f"bsp-lightning: {path}: non-finite feature value inf at snippet 0, channel 3 (1 of {len(array)} " \
                  "snippets affected)"
