"""Checkpoint file I/O: the key rule, reading a file once, telling the kinds apart; and models/ as the floor that
imports nothing above it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from bsp_lightning.models.checkpoints import clean_key, clean_state_dict, inspect_checkpoint
from bsp_lightning.module import BSPModule

T = 4
TINY = {"arch": "resnet18", "num_segments": T, "dropout": 0.0}
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key, clean", [
    ("module.layer1.0.conv1.weight", "layer1.0.conv1.weight"),
    ("_orig_mod.layer1.0.conv1.weight", "layer1.0.conv1.weight"),
    ("module._orig_mod.fc.bias", "fc.bias"),
    ("_orig_mod.module.fc.bias", "fc.bias"),
    ("module.module._orig_mod.module.fc.bias", "fc.bias"),
    ("backbone._orig_mod.base_model.conv1.weight", "backbone.base_model.conv1.weight"),
    ("heads.module_x.weight", "heads.module_x.weight"),
])
def test_checkpoint_key_prefixes_in_any_order(key, clean):
    assert clean_key(key) == clean


def test_colliding_keys_are_an_error():
    with pytest.raises(ValueError, match="both clean to 'fc.bias'"):
        clean_state_dict({"fc.bias": torch.zeros(1), "module.fc.bias": torch.zeros(1)}, "x.pth")


def test_compiled_and_wrapped_weights_load_everywhere(tmp_path: Path):
    from bsp_lightning.models import TSM, TSMClassifier, load_imagenet_weights, load_official_tsm

    torch.manual_seed(0)
    official = TSMClassifier(num_classes=3, arch="resnet18", num_segments=T).eval()
    path = tmp_path / "tsm.pth"
    torch.save({"state_dict": {f"_orig_mod.module.{k}": v for k, v in official.state_dict().items()}}, path)
    loaded = load_official_tsm(path, num_segments=T)
    x = torch.randn(1, T, 3, 32, 32)
    torch.testing.assert_close(loaded(x), official(x))

    imagenet = {f"module._orig_mod.{k}": v for k, v in official.base_model.state_dict().items()}
    backbone = TSM("resnet18", T)
    load_imagenet_weights(backbone, {k.replace(".net.", "."): v for k, v in imagenet.items()})
    torch.testing.assert_close(backbone.base_model.conv1.weight, official.base_model.conv1.weight)

    module = BSPModule(**TINY)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    ckpt = tmp_path / "compiled.ckpt"
    trainer.save_checkpoint(ckpt)
    saved = torch.load(ckpt, weights_only=False)
    saved["state_dict"] = {k.replace("backbone.", "backbone._orig_mod.", 1): v for k, v in saved["state_dict"].items()}
    torch.save(saved, ckpt)
    again = BSPModule.load_from_checkpoint(ckpt)
    clip = torch.randint(0, 256, (1, T, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(again.extract_features(clip), module.extract_features(clip))


def test_inspect_reads_once_and_tells_the_kinds(tmp_path: Path, monkeypatch):
    lightning = tmp_path / "a.ckpt"
    torch.save({"pytorch-lightning_version": "2.6.0", "state_dict": {}, "hyper_parameters": {"num_segments": 4}},
               lightning)
    official = tmp_path / "b.pth"
    torch.save({"state_dict": {"module.new_fc.weight": torch.zeros(2, 2)}, "arch": "resnet18"}, official)
    legacy_pickle = tmp_path / "c.pth"  # the pre-1.6 format (a pickle, not a zip): read without memory-mapping
    torch.save({"hyper_parameters": {}}, legacy_pickle, _use_new_zipfile_serialization=False)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a[0]) or real_load(*a, **k))
    infos = [inspect_checkpoint(p) for p in (lightning, official, legacy_pickle)]
    assert [i.kind for i in infos] == ["bsp", "official_tsm", "bsp"]
    assert calls == [lightning, official, legacy_pickle]  # one unpickling each
    assert infos[0].section("hyper_parameters") == {"num_segments": 4} and infos[1].section("nothing") == {}
    assert infos[1].sha256 == __import__("hashlib").sha256(official.read_bytes()).hexdigest()


def test_an_unreadable_file_is_described_not_raised(tmp_path: Path):
    (tmp_path / "junk.pth").write_bytes(b"junk")
    info = inspect_checkpoint(tmp_path / "junk.pth")
    assert (info.kind, info.obj) == ("official_tsm", None) and "not a PyTorch file at all" in info.error
    (tmp_path / "cut.ckpt").write_bytes(b"PK\x03\x04 and then nothing")
    assert "not a readable PyTorch checkpoint" in inspect_checkpoint(tmp_path / "cut.ckpt").error
    with pytest.raises(FileNotFoundError, match="nope.ckpt: checkpoint not found"):
        inspect_checkpoint(tmp_path / "nope.ckpt")


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "benchmarks" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_imports_nothing_above_it_and_the_pretraining_modules_form_no_circle():
    graph = _import_graph()
    edges = graph.import_edges(ROOT / "src" / "bsp_lightning")
    floor = ("bsp_lightning.models", "bsp_lightning.utils", "bsp_lightning.legacy")
    upward = sorted((a, b) for a, b in edges if a.startswith("bsp_lightning.models") and not b.startswith(floor))
    assert upward == []
    circles = graph.circles(edges)
    assert not [c for c in circles if any(m.startswith(("bsp_lightning.models", "bsp_lightning.pretrain",
                                                        "bsp_lightning.module", "bsp_lightning.extract"))
                                          for m in c)]
    # the script finds a circle when there is one: a lazy import back up is one
    edges[("bsp_lightning.models.checkpoints", "bsp_lightning.module")] = "lazy"
    assert any("bsp_lightning.models.checkpoints" in c for c in graph.circles(edges))
