"""Old spellings of the heads' configs and options still work (with a FutureWarning), through the table of old
names: G-TAD's ``dataset`` flag (now a DataModule class) and its model-side ``temporal_scale``/``max_duration``
(now ``data_info``), 2D-TAN's ``dataset``, ``test_file``, ``holdout_fraction`` and model ``num_sample_clips``,
LGI's ``dataset``."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from bsp_lightning import legacy
from bsp_lightning.heads import load_head
from bsp_lightning.lightning_cli import build_cli, main


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(legacy, "_warned", set())


def _old_gtad_config(tmp_path: Path, benchmark: str, subsets: bool = True) -> Path:
    """``gtad_toy`` as it was written before a benchmark became a class."""
    config = yaml.safe_load((load_head("gtad").config_files()["gtad_toy"]).read_text())
    config["model"]["init_args"].update(dataset=benchmark, temporal_scale=32, max_duration=32)
    init = dict(config["data"]["init_args"], dataset=benchmark)
    if benchmark == "thumos" or not subsets:  # the old THUMOS config names no subset (defaults: accepted, warned)
        init.update(train_subset="training", val_subset="validation")
        del init["test_subset"]
    config["data"] = {"class_path": "bsp_gtad.data.GTADDataModule", "init_args": init}
    path = tmp_path / f"old_{benchmark}_{subsets}.yaml"
    path.write_text("# an old G-TAD config\n" + yaml.safe_dump(config))
    return path


def test_an_old_gtad_config_builds_the_benchmark_class(tmp_path: Path) -> None:
    args = load_head("gtad").make_example(tmp_path)
    old = _old_gtad_config(tmp_path, "activitynet")
    with pytest.warns(FutureWarning) as record:
        cli = build_cli(["--config", str(old), *args[2:], "--logger=none"], run=False)
    messages = " ".join(str(w.message) for w in record)
    assert "GTADDataModule" in messages and "data_info['temporal_scale']" in messages
    assert type(cli.datamodule).__name__ == "GTADActivityNetData"
    assert cli.model.data_info["benchmark"] == "activitynet" and cli.model.temporal_scale == 32
    # the flag value that chose THUMOS chooses the THUMOS class (config and command line alike)
    thumos = _old_gtad_config(tmp_path, "thumos")
    with pytest.warns(FutureWarning):
        assert main(["fit", "--config", str(thumos), *args[2:], "--print_config"]) == 0
    plain = _old_gtad_config(tmp_path, "activitynet", subsets=False)
    cli = build_cli(["--config", str(plain), *args[2:], "--data.dataset=thumos", "--logger=none"], run=False)
    assert type(cli.datamodule).__name__ == "GTADThumosData"


def test_old_tan2d_and_lgi_options(tmp_path: Path) -> None:
    args = load_head("tan2d").make_example(tmp_path / "t")
    renamed = [a.replace("--data.val_fraction", "--data.holdout_fraction")
               .replace("--data.test_files", "--data.test_file") for a in args]
    assert renamed != args
    with pytest.warns(FutureWarning) as record:
        cli = build_cli([*renamed, "--data.dataset=charades", "--model.num_sample_clips=64", "--logger=none"],
                        run=False)
    assert {"holdout_fraction", "test_file", "dataset", "num_sample_clips"} <= {
        name for w in record for name in ("holdout_fraction", "test_file", "dataset", "num_sample_clips")
        if name in str(w.message)}
    dm = cli.datamodule
    assert (dm.val_fraction, dm.benchmark, dm.files["test"]) == (0.25, "charades", ["charades_sta_test.txt"])
    assert cli.model.num_sample_clips == dm.num_sample_clips == 64  # the data's value: the model option went
    args = load_head("lgi").make_example(tmp_path / "l")
    with pytest.warns(FutureWarning, match="dataset"):
        cli = build_cli([*args, "--data.dataset=charades", "--logger=none"], run=False)
    assert cli.datamodule.benchmark == "charades" and cli.model.data_info["benchmark"] == "charades"


def test_current_names_do_not_warn(tmp_path: Path) -> None:
    args = load_head("gtad").make_example(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        build_cli([*args, "--logger=none"], run=False)
