from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from bsp_lightning.heads import spec as spec_module
from bsp_lightning.heads import HeadSpec, available_heads, head_configs, head_errors, load_head
from bsp_lightning.config_files import configs_main, is_head_config

sys.path.insert(0, str(Path(__file__).parent))
import example_head  # noqa: E402

sys.path.pop(0)


def _entry_points(monkeypatch, eps):
    monkeypatch.setattr(spec_module, "entry_points", lambda group: [e for e in eps if e.group == group])


def test_a_broken_head_is_reported_by_name_and_hides_nothing(monkeypatch) -> None:
    _entry_points(monkeypatch, [
        EntryPoint("example", "example_head:HEAD", spec_module.HEADS_GROUP),
        EntryPoint("broken", "no_such_module_xyz:HEAD", spec_module.HEADS_GROUP),
        EntryPoint("notaspec", "json:dumps", spec_module.HEADS_GROUP),
    ])
    with pytest.warns(UserWarning, match="'broken'"):
        heads = available_heads()
    assert list(heads) == ["example"] and heads["example"] is example_head.HEAD
    errors = head_errors()
    assert set(errors) == {"broken", "notaspec"}
    assert "ModuleNotFoundError" in errors["broken"] and "not a HeadSpec" in errors["notaspec"]
    with pytest.raises(KeyError, match=r"installed: example; broken failed to load"):
        load_head("lgi")
    assert head_configs() == {"example_toy": example_head.CONFIGS / "example_toy.yaml"}


def test_spec_checks_its_fields() -> None:
    with pytest.raises(TypeError, match="HeadModule subclass"):
        HeadSpec("x", object, example_head.ExampleDataModule, ".", "detection")
    with pytest.raises(ValueError, match="task must be one of"):
        HeadSpec("x", example_head.ExampleHead, example_head.ExampleDataModule, ".", "segmentation")


def test_two_heads_shipping_one_config_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="shipped by both head 'a' and head 'b'"):
        head_configs({"a": example_head.HEAD, "b": example_head.HEAD})


def test_configs_command_lists_core_and_head_configs(monkeypatch, capsys) -> None:
    _entry_points(monkeypatch, [EntryPoint("example", "example_head:HEAD", spec_module.HEADS_GROUP)])
    assert configs_main([]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for core in ("toy", "kinetics400_tsm_r18", "kinetics400_tsm_r50"):
        assert lines[core].split()[1] == "core"
    assert lines["toy"].split(None, 2)[2].startswith("The main job")
    assert lines["example_toy"].split()[1] == "example"
    assert "linear video classifier" in lines["example_toy"]
    assert is_head_config(example_head.CONFIGS / "example_toy.yaml")


def test_config_description_drops_a_colon_that_introduces_more_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# BSP on Kinetics, following TSM's recipe:\n# 8 frames at 224 px\nmodel: {}\n")
    assert spec_module.config_description(path) == "BSP on Kinetics, following TSM's recipe"
