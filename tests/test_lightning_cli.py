"""`bsp-lightning fit|validate|test|predict`: packaged configs, links, resume, loggers, DDP on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from bsp_lightning.data.toy import write_toy_kinetics
from bsp_lightning.config_files import packaged_configs, resolve_config
from bsp_lightning.lightning_cli import build_cli, main
from bsp_lightning.module import BSPModule, TwoHeadModule, VanillaModule

NUM_TOY_CLASSES = 3


@pytest.fixture(autouse=True)
def _one_thread():
    # the test machine is shared: one intra-op thread avoids spin-waiting under contention
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy") / "toy-kinetics"
    return write_toy_kinetics(root, size=32, num_classes=NUM_TOY_CLASSES, train_per_class=3, val_per_class=2,
                              num_frames=24, progress=False)


def _tiny(toy_root: Path, tmp_path: Path) -> list[str]:
    return [
        f"--data.root={toy_root}", "--data.resolution=32", "--data.batch_size=2", "--data.num_workers=0",
        "--data.samples_per_epoch=4", "--data.val_samples=2", "--trainer.max_time=null",
        "--trainer.check_val_every_n_epoch=1",
        f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.log_every_n_steps=1", "--logger=csv",
    ]


def test_packaged_configs_resolve_and_parse(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert {"toy", "kinetics400_tsm_r18", "kinetics400_tsm_r50"} <= set(packaged_configs())
    assert resolve_config("toy") == str(packaged_configs()["toy"])
    own = tmp_path / "mine.yaml"
    own.write_text("trainer:\n  max_epochs: 3\n")
    assert resolve_config(str(own)) == str(own)
    for name, arch in (("toy", "resnet18"), ("kinetics400_tsm_r18", "resnet18"), ("kinetics400_tsm_r50", "resnet50")):
        assert main(["fit", "--config", name, "--print_config"]) == 0
        printed = yaml.safe_load(capsys.readouterr().out)
        assert printed["model"]["class_path"] == "bsp_lightning.module.BSPModule"
        assert printed["model"]["init_args"]["arch"] == arch
    # no --config: the toy config
    assert main(["fit", "--print_config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"]["resolution"] == 32
    assert main(["fit", "--config", "no_such_config"]) == 2
    assert "no_such_config: no such config file" in capsys.readouterr().err


def test_fit_then_resume_from_last_checkpoint(toy_root: Path, tmp_path: Path) -> None:
    tiny = _tiny(toy_root, tmp_path)
    assert main(["fit", *tiny, "--trainer.max_epochs=1"]) == 0
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    first = torch.load(last, weights_only=False)
    assert first["global_step"] == 2
    assert (tmp_path / "run" / "csv" / "version_0" / "confusion" / "val_confusion_epoch000.txt").is_file()

    assert main(["fit", *tiny, "--trainer.max_epochs=2", "--ckpt_path=last"]) == 0
    resumed = torch.load(last, weights_only=False)
    assert resumed["global_step"] == 4  # continued from step 2, not restarted
    # the model's label spaces were linked from the data
    assert resumed["hyper_parameters"]["num_classes"] == 4
    assert resumed["hyper_parameters"]["num_action_classes"] == NUM_TOY_CLASSES
    assert resumed["hyper_parameters"]["class_names"] == ["diff_class", "same_class", "diff_speed", "same_speed"]
    model = BSPModule.load_from_checkpoint(last)
    assert model.extract_features(torch.zeros(1, 8, 3, 32, 32, dtype=torch.uint8)).shape == (1, 512)

    assert main(["validate", *tiny, f"--ckpt_path={last}"]) == 0
    # test and predict score the validation split's fixed samples
    assert main(["test", *tiny, f"--ckpt_path={last}"]) == 0
    assert main(["predict", *tiny, f"--ckpt_path={last}"]) == 0


@pytest.mark.parametrize(
    "model, extra, cls",
    [("TwoHeadModule", ["--model.bsp_weight=0.5", "--data.boundary_types=[diff_speed, same_speed]"], TwoHeadModule),
     ("VanillaModule", ["--data.mode=action"], VanillaModule)],
)
def test_model_variants_and_links(toy_root: Path, tmp_path: Path, model: str, extra: list[str], cls: type) -> None:
    cli = build_cli(["--config", resolve_config("toy"), *_tiny(toy_root, tmp_path), "--model", model, *extra,
                     "--trainer.fast_dev_run=1"], run=False)
    assert type(cli.model) is cls
    hp = cli.model.hparams
    assert hp.num_action_classes == NUM_TOY_CLASSES and hp.num_segments == 8
    if cls is TwoHeadModule:
        assert hp.num_classes == 2 and hp.class_names == ["diff_speed", "same_speed"] and hp.bsp_weight == 0.5
    else:
        assert hp.class_names is None
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert torch.isfinite(cli.trainer.callback_metrics["train/loss"])


def test_bf16_channels_last_and_compile_flags_reach_the_module(toy_root: Path, tmp_path: Path) -> None:
    cli = build_cli(["--config", resolve_config("toy"), *_tiny(toy_root, tmp_path), "--trainer.precision=bf16-mixed",
                     "--model.channels_last=true", "--model.compile=true", "--trainer.fast_dev_run=1"], run=False)
    assert cli.trainer.precision == "bf16-mixed"
    assert cli.model.hparams.channels_last and cli.model.hparams.compile
    cli.model.configure_model()
    conv = cli.model.backbone.base_model.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    # compiled in place: the checkpoint keys do not change
    assert all("_orig_mod" not in k for k in cli.model.state_dict())


def test_ddp_two_cpu_processes_with_gloo(toy_root: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "bsp_lightning.cli", "fit", *_tiny(toy_root, tmp_path), "--trainer.max_epochs=1",
           "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp", "--logger=none"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "MEMBER: 1/2" in log and "MEMBER: 2/2" in log
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    # 4 samples per epoch split over 2 processes at batch 2: one step each
    assert ckpt["global_step"] == 1


def _future_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, FutureWarning)]


def test_pretext_of_an_older_config_or_command_line_picks_the_class_through_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bsp_lightning import legacy

    monkeypatch.setattr(legacy, "_warned", set())
    old = tmp_path / "old.yaml"
    config = yaml.safe_load(Path(resolve_config("toy")).read_text())
    config["model"]["init_args"]["pretext"] = "regression"  # as configs said before ChangePointModule
    old.write_text(yaml.safe_dump(config))
    with pytest.warns(FutureWarning) as record:
        assert main(["fit", "--config", str(old), "--print_config"]) == 0
    assert len(_future_warnings(record)) == 1 and "pretext='regression'" in _future_warnings(record)[0]
    model = yaml.safe_load(capsys.readouterr().out)["model"]
    assert model["class_path"] == "bsp_lightning.pretrain.changepoint.ChangePointModule"
    assert "pretext" not in model["init_args"] and model["init_args"]["lr"] == config["model"]["init_args"]["lr"]
    # the flag; the value the class implies is dropped, another one is a one-line error
    with pytest.warns(FutureWarning, match="pretext='classification'"):
        assert main(["fit", "--model.pretext", "classification", "--print_config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["model"]["class_path"] == "bsp_lightning.module.BSPModule"
    assert main(["fit", "--model", "VanillaModule", "--model.init_args.pretext=regression", "--print_config"]) == 2
    err = capsys.readouterr().err
    assert "VanillaModule: pretext='regression' is not possible" in err and len(err.strip().splitlines()) == 1


def test_validate_a_checkpoint_of_an_older_version_through_the_table(
        toy_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # LightningCLI reads the model's hyper-parameters back from --ckpt_path: an older checkpoint says BSPModule
    # with pretext regression under the old class key
    import pytorch_lightning as pl

    from bsp_lightning import legacy
    from bsp_lightning.module import ChangePointModule

    monkeypatch.setattr(legacy, "_warned", set())
    module = ChangePointModule(arch="resnet18", num_segments=8, num_action_classes=NUM_TOY_CLASSES)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, weights_only=False)
    saved["hyper_parameters"].pop("_class_path")
    saved["hyper_parameters"]["pretext"] = "regression"
    saved["bsp_lightning_class"] = "bsp_lightning.module:BSPModule"
    torch.save(saved, path)
    with pytest.warns(FutureWarning, match="pretext='regression'"):
        cli = build_cli(["validate", *_tiny(toy_root, tmp_path), f"--ckpt_path={path}"])
    assert type(cli.model) is ChangePointModule
    assert "val/change_point_mae" in cli.trainer.callback_metrics
