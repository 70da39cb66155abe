"""`bsp-lightning fit|test` on a head: composed configs, linked feature width, --ckpt_path best in a new run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import yaml

from bsp_lightning.lightning_cli import HeadLightningCLI, build_cli, main, resolve_checkpoint

sys.path.insert(0, str(Path(__file__).parent))
import example_head  # noqa: E402

sys.path.pop(0)


def test_a_data_yaml_composes_with_a_model_yaml(tmp_path: Path) -> None:
    args = example_head.make_example(tmp_path)
    full = yaml.safe_load((example_head.CONFIGS / "example_toy.yaml").read_text())
    data_yaml, model_yaml = tmp_path / "data.yaml", tmp_path / "model.yaml"
    data_yaml.write_text(yaml.safe_dump({"data": full["data"], "trainer": full["trainer"]}))
    model_yaml.write_text(yaml.safe_dump({"model": {**full["model"], "init_args": {"lr": 0.5}}}))
    cli = build_cli(["--config", str(data_yaml), "--config", str(model_yaml), *args[2:], "--logger=none"], run=False)
    assert isinstance(cli, HeadLightningCLI)
    assert cli.model.lr == 0.5 and cli.datamodule.batch_size == 2
    assert cli.model.feature_dim == 8 and cli.model.hparams.data_info == {"classes": ["jump", "run"]}


def test_fit_then_test_best_checkpoint_in_a_new_process_state(tmp_path: Path) -> None:
    args = example_head.make_example(tmp_path)
    assert main(["fit", *args]) == 0
    root = tmp_path / "run"
    best = resolve_checkpoint("best", root)
    assert Path(best).parent == root / "checkpoints" and Path(best).name != "last.ckpt"
    state = torch.load(best, map_location="cpu", weights_only=False)
    assert state["hyper_parameters"]["feature_dim"] == 8
    assert main(["test", *args, "--ckpt_path", "best"]) == 0
    written = json.loads((root / "predictions" / "test.json").read_text())
    assert set(written) == {"version", "results", "external_data"}
    assert set(written["results"]) == {"vid4", "vid5"}
    # the two test videos are one of each class and the features separate them: the top class is right
    assert [d["label"] for d in written["results"]["vid4"]][0] == "jump"
    assert [d["label"] for d in written["results"]["vid5"]][0] == "run"


def test_repeated_data_features_is_two_stream(tmp_path: Path) -> None:
    # jsonargparse keeps only the last of a repeated option: the CLI must not silently train on one stream
    args = example_head.make_example(tmp_path)
    second = [f"--data.features={tmp_path / 'features'}", "--logger=none"]
    cli = build_cli([*args, *second], run=False)
    assert cli.model.feature_dim == 16 and len(cli.datamodule.features) == 2
    spaced = [*args[:2], "--data.features", str(tmp_path / "features"), *args[3:], *second]
    assert build_cli(spaced, run=False).model.feature_dim == 16


def test_ckpt_path_best_and_last_follow_the_newest_fit_in_the_same_folder(tmp_path: Path) -> None:
    # a second fit in the same default_root_dir writes last-v1.ckpt: best/last must not be the first run's
    args = example_head.make_example(tmp_path)
    assert main(["fit", *args, "--logger=none"]) == 0
    first_best = resolve_checkpoint("best", tmp_path / "run")
    assert main(["fit", *args, "--logger=none", "--trainer.max_epochs=1"]) == 0
    folder = tmp_path / "run" / "checkpoints"
    assert (folder / "last-v1.ckpt").is_file()
    assert resolve_checkpoint("last", tmp_path / "run") == str(folder / "last-v1.ckpt")
    epochs = {name: torch.load(folder / name, map_location="cpu", weights_only=False)["epoch"]
              for name in ("last.ckpt", "last-v1.ckpt")}
    assert epochs == {"last.ckpt": 2, "last-v1.ckpt": 0}
    second_best = resolve_checkpoint("best", tmp_path / "run")
    assert second_best != first_best
    assert torch.load(second_best, map_location="cpu", weights_only=False)["epoch"] == 0


def test_ckpt_path_best_without_a_run_is_one_line(tmp_path: Path, capsys) -> None:
    args = example_head.make_example(tmp_path)
    assert main(["test", *args, "--ckpt_path", "best"]) == 2
    err = capsys.readouterr().err
    assert "last.ckpt: no checkpoint of a finished run" in err and "Traceback" not in err


def test_test_without_ckpt_path_is_one_line_and_keeps_the_predictions(tmp_path: Path, capsys) -> None:
    # a new process would test a freshly initialised model and replace the trained run's predictions/test.json
    args = example_head.make_example(tmp_path)
    assert main(["fit", *args, "--logger=none"]) == 0
    assert main(["test", *args, "--logger=none", "--ckpt_path=best"]) == 0
    written = (tmp_path / "run" / "predictions" / "test.json").read_text()
    capsys.readouterr()
    for stage in ("test", "validate", "predict"):
        assert main([stage, *args, "--logger=none"]) == 2
        err = capsys.readouterr().err
        assert f"{stage} needs --ckpt_path" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "run" / "predictions" / "test.json").read_text() == written


def test_missing_or_unknown_class_options_are_one_line(tmp_path: Path, capsys) -> None:
    # jsonargparse's own report is ~70 lines (usage, then a union-validation dump) with the cause near the end
    args = example_head.make_example(tmp_path)
    without_annotations = [a for a in args if not a.startswith("--data.annotations")]
    for argv, expected in (
        ([*without_annotations, "--logger=none"], "required: --data.annotations"),
        ([*args, "--logger=none", "--model.lrr=0.1"], "Option 'lrr' is not accepted"),
    ):
        assert main(["fit", *argv]) == 2
        err = capsys.readouterr().err
        assert expected in err and ("ExampleHead" in err or "ExampleDataModule" in err)
        assert len(err.strip().splitlines()) == 1, err


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    args = example_head.make_example(tmp_path)
    features = tmp_path / "features"
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text((features / "manifest.json").read_text().replace('"v_vid', '"x_vid'))
    for override, expected in (
        (f"--data.features={tmp_path / 'absent'}", "feature folder does not exist"),
        (f"--data.features={other}", "no annotated train video has features"),
    ):
        assert main(["fit", *args, override, "--logger=none"]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_test_on_other_data_than_the_checkpoints_is_one_line(tmp_path: Path, capsys) -> None:
    # data_info (here the class names) is recorded in the checkpoint and compared before the weights are loaded
    args = example_head.make_example(tmp_path)
    assert main(["fit", *args, "--logger=none", "--trainer.max_epochs=1"]) == 0
    annotations = tmp_path / "anet.json"
    annotations.write_text(annotations.read_text().replace('"run"', '"walk"'))
    capsys.readouterr()
    assert main(["test", *args, "--logger=none", "--ckpt_path=last"]) == 2
    err = capsys.readouterr().err
    assert "the data is not what the model was trained on: classes: 2 entries in the checkpoint, 2 entries in the " \
           "data (first difference at 0: 'jump' vs 'jump')" not in err
    assert "classes: 2 entries in the checkpoint, 2 entries in the data (first difference at 1: 'run' vs 'walk')" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_model_argument_on_the_command_line_wins_over_the_checkpoint(tmp_path: Path) -> None:
    # Lightning rebuilds the model from --ckpt_path's hyper-parameters: a typed --model.* value was silently dropped
    args = [*example_head.make_example(tmp_path), "--logger=none", "--trainer.max_epochs=1"]
    assert main(["fit", *args, "--model.lr=0.5"]) == 0
    ckpt = f"--ckpt_path={resolve_checkpoint('best', tmp_path / 'run')}"  # a path: Lightning reloads its hparams
    # not typed: the checkpoint's 0.5, not the config file's 0.05
    assert build_cli(["test", *args, ckpt]).model.hparams.lr == 0.5
    assert build_cli(["test", *args, ckpt, "--model.lr=0.25"]).model.hparams.lr == 0.25
    assert build_cli(["test", *args, ckpt, "--model.init_args.lr", "0.125"]).model.hparams.lr == 0.125
    assert build_cli(["test", *args, "--ckpt_path=best", "--model.lr=0.25"]).model.hparams.lr == 0.25


def test_explicit_model_arguments_are_those_typed() -> None:
    from bsp_lightning.lightning_cli import explicit_model_arguments

    args = ["--config", "x.yaml", "--model.lr=1", "--model.init_args.top_k", "5", "--model", "Other",
            "--model.class_path=a.B", "--model.help", "--data.lr=2", "--model.init_args.class_scores=f.json", "lr"]
    assert explicit_model_arguments(args) == {"lr", "top_k", "class_scores"}
