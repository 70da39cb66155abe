"""The head contract, run over every installed head and the example head (timm's ``test_models.py`` style)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from bsp_lightning.heads import FeatureDataModule, HeadModule, HeadSpec, available_heads, head_errors
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
    assert data_cls.rsplit(".", 1)[1] == SPECS[name].datamodule.__name__


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
