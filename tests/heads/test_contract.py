"""The head contract, run over every installed head and the example head (timm's ``test_models.py`` style)."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
import yaml

from bsp_lightning.heads import FeatureDataModule, HeadModule, HeadSpec, available_heads, head_errors
from bsp_lightning.legacy import import_class
from bsp_lightning.lightning_cli import HeadLightningCLI, build_cli, main

sys.path.insert(0, str(Path(__file__).parent))
import example_head  # noqa: E402

sys.path.pop(0)

SPECS = {**available_heads(), "example": example_head.HEAD}


def test_no_installed_head_is_broken() -> None:
    assert head_errors() == {}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_types(name: str) -> None:
    spec = SPECS[name]
    assert isinstance(spec, HeadSpec) and spec.name == name
    assert issubclass(spec.module, HeadModule) and issubclass(spec.datamodule, FeatureDataModule)
    assert spec.module.task == spec.task
    assert spec.config_files(), f"head {name} ships no config"
    assert callable(spec.make_example), f"head {name} has no make_example for this test"
    assert spec.primary_metric, f"head {name} names no primary metric"


@pytest.mark.parametrize(
    "name,config", sorted((n, c) for n, s in SPECS.items() for c in s.config_files()), ids=lambda v: str(v)
)
def test_every_config_parses(name: str, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = SPECS[name].config_files()[config]
    assert path.read_text().startswith("#"), f"{path}: the first line must be a '# description' comment"
    assert main(["fit", "--config", str(path), "--print_config"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    model_cls = printed["model"]["class_path"]
    data_cls = printed["data"]["class_path"]
    assert model_cls.rsplit(".", 1)[1] == SPECS[name].module.__name__
    # a head may have one DataModule class per benchmark, all subclasses of its spec's
    assert issubclass(import_class(data_cls), SPECS[name].datamodule)


def _parameters(cls: type, stop: type) -> set[str]:
    """Every constructor parameter of ``cls`` and of its bases up to ``stop`` (what ``**kwargs`` forwards)."""
    names = set()
    for klass in cls.__mro__[: cls.__mro__.index(stop) + 1]:
        if "__init__" in vars(klass):
            names |= {p.name for p in inspect.signature(klass.__init__).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"}
    return names


@pytest.mark.parametrize(
    "name,config", sorted((n, c) for n, s in SPECS.items() for c in s.config_files()), ids=lambda v: str(v)
)
def test_help_shows_every_option_of_the_class_and_its_bases(name: str, config: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # subclasses take their own arguments and pass the base's on with **kwargs: jsonargparse must still list them
    path = SPECS[name].config_files()[config]
    printed = yaml.safe_load(path.read_text())
    for section, stop in (("model", HeadModule), ("data", FeatureDataModule)):
        cls = import_class(printed[section]["class_path"])
        assert main(["fit", "--config", str(path), f"--{section}.help", printed[section]["class_path"]]) == 0
        shown = capsys.readouterr().out
        expected = _parameters(cls, stop) - ({"feature_dim", "data_info"} if section == "model" else set())
        missing = [p for p in sorted(expected)
                   if f"--{section}.{p} " not in shown and f"--{section}.{p}\n" not in shown]
        assert not missing, f"{cls.__name__}: --{section}.help does not show {missing}"


def _reader(task: str):
    from bsp_lightning.evaluation import formats

    return {"detection": formats.read_detections, "grounding": formats.read_grounding,
            "actionness": formats.read_actionness}[task]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_fast_dev_run_fit_then_test(name: str, tmp_path: Path) -> None:
    spec = SPECS[name]
    args = spec.make_example(tmp_path)
    cli = build_cli([*args, "--trainer.fast_dev_run=true", "--logger=none"], run=False)
    assert isinstance(cli, HeadLightningCLI)
    assert isinstance(cli.model, spec.module) and isinstance(cli.datamodule, spec.datamodule)
    assert cli.model.feature_dim == cli.datamodule.feature_dim > 0
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.test(cli.model, datamodule=cli.datamodule)
    written = Path(cli.trainer.default_root_dir) / "predictions" / "test.json"
    assert written.is_file()
    predictions = _reader(spec.task)(written)
    assert predictions is not None
    assert cli.model.test_results and all(0.0 <= v <= 1.0 for v in cli.model.test_results.values())
    assert spec.primary_metric in cli.model.test_results, f"{spec.primary_metric} is not among {cli.model.test_results}"
