"""Loading BSPModule checkpoints: the saved variant is rebuilt, from Python or the command line, and checkpoints of
older versions (old class key, ``pretext``, moved classes) load through the table of old names with one warning."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from bsp_lightning import legacy
from bsp_lightning.models.checkpoints import inspect_checkpoint
from bsp_lightning.module import BSPModule, ChangePointModule, TwoHeadModule, VanillaModule
from bsp_lightning.pretrain.restore import saved_class

T, SIZE, NUM_ACTIONS = 4, 32, 3
TINY = {"arch": "resnet18", "num_segments": T, "num_action_classes": NUM_ACTIONS, "dropout": 0.0}


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Each old name warns once per process: start from none warned."""
    monkeypatch.setattr(legacy, "_warned", set())


def test_checkpoint_round_trip_builds_the_saved_variant(tmp_path: Path, data, trainer, batch) -> None:
    module = TwoHeadModule(**TINY, bsp_weight=0.25)
    trainer = trainer(tmp_path)
    trainer.fit(module, datamodule=data())
    trainer.save_checkpoint(tmp_path / "two.ckpt")
    loaded = BSPModule.load_from_checkpoint(tmp_path / "two.ckpt")
    assert type(loaded) is TwoHeadModule and loaded.hparams.bsp_weight == 0.25
    clip = batch()["clip"]
    features = loaded.extract_features(clip)
    assert features.shape == (2, 512)
    torch.testing.assert_close(features, module.extract_features(clip))
    module.train()
    module.extract_features(clip)
    assert module.training
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        BSPModule.load_from_checkpoint(tmp_path / "missing.ckpt")


def test_command_line_checkpoint_loads_for_extraction_in_a_fresh_process(tmp_path: Path, save):
    # LightningCLI stores `_class_path: bsp_lightning.module.BSPModule`; Lightning refuses it unless that module
    # is imported, so the extraction path must load it without the caller importing bsp_lightning.module
    ckpt = save(BSPModule(**TINY), tmp_path / "cli.ckpt")
    saved = torch.load(ckpt, weights_only=False)
    # a module built in Python records its class where LightningCLI records it
    assert saved["hyper_parameters"]["_class_path"] == "bsp_lightning.pretrain.base.BSPModule"
    assert "bsp_lightning_class" not in saved
    saved["hyper_parameters"]["_class_path"] = "bsp_lightning.module.BSPModule"
    torch.save(saved, ckpt)
    code = ("import sys; from bsp_lightning.extract.extractor import load_feature_stream; "
            f"stream, kind = load_feature_stream({str(ckpt)!r}, 4); print(kind, stream.num_features)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["bsp", "512"]


def _as_old(path: Path, class_key: str | None = None, **hparams) -> Path:
    """Rewrite a checkpoint as an older version wrote it: the class under the old key (or not at all), the
    given hyper-parameters (``pretext``...) recorded, no `_class_path` unless given."""
    saved = torch.load(path, weights_only=False)
    saved["hyper_parameters"].pop("_class_path")
    if class_key is not None:
        saved["bsp_lightning_class"] = class_key
    saved["hyper_parameters"].update(hparams)
    torch.save(saved, path)
    return path


@pytest.mark.parametrize("saved_as, old, expected", [
    (TwoHeadModule, {"class_key": "bsp_lightning.module:TwoHeadModule", "pretext": "classification"}, TwoHeadModule),
    (BSPModule, {"class_key": "bsp_lightning.module:BSPModule", "pretext": "regression"}, ChangePointModule),
    (BSPModule, {"pretext": "regression"}, ChangePointModule),  # no class recorded at all
    (BSPModule, {"_class_path": "bsp_lightning.module.BSPModule", "pretext": "regression",
                 "_instantiator": "pytorch_lightning.cli.instantiate_module"}, ChangePointModule),  # LightningCLI
], ids=["class_key", "class_key_regression", "no_class", "command_line"])
def test_checkpoint_of_an_older_version_loads_its_class_with_one_warning(
        tmp_path, save, batch, fresh_warnings, saved_as, old, expected):
    # ChangePointModule's weights fit in a BSPModule checkpoint but for the head: save the expected class and
    # rewrite its checkpoint as the older version wrote it
    module = (expected if saved_as is BSPModule else saved_as)(**TINY)
    path = _as_old(save(module, tmp_path / "old.ckpt"), **old)
    with pytest.warns(FutureWarning) as record:
        loaded = BSPModule.load_from_checkpoint(path)
    assert len([w for w in record if issubclass(w.category, FutureWarning)]) == 1
    assert "pretext" in str(record[0].message)
    assert type(loaded) is expected and "pretext" not in loaded.hparams
    clip = batch()["clip"]
    torch.testing.assert_close(loaded.extract_features(clip), module.extract_features(clip))
    # the same file again in this process: silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert saved_class(inspect_checkpoint(path), BSPModule) is expected


def test_a_moved_class_loads_through_the_table(tmp_path, save, fresh_warnings, monkeypatch):
    monkeypatch.setitem(legacy.CLASS_PATHS, "bsp_lightning.pretrain.old_place.VanillaModule",
                        "bsp_lightning.pretrain.vanilla.VanillaModule")
    path = _as_old(save(VanillaModule(**TINY), tmp_path / "v.ckpt"),
                   class_key="bsp_lightning.pretrain.old_place:VanillaModule")
    with pytest.warns(FutureWarning, match="old_place.VanillaModule"):
        assert type(BSPModule.load_from_checkpoint(path)) is VanillaModule


def test_a_removed_argument_with_another_meaning_is_an_error_naming_the_file(tmp_path, save, fresh_warnings):
    # only BSPModule itself became ChangePointModule; a VanillaModule never had a regression pretext
    path = _as_old(save(VanillaModule(**TINY), tmp_path / "v.ckpt"), class_key="bsp_lightning.module:VanillaModule",
                   pretext="regression")
    with pytest.raises(TypeError, match=r"v.ckpt: VanillaModule: pretext='regression' is not possible"):
        BSPModule.load_from_checkpoint(path)
    with pytest.raises(TypeError, match="holds a VanillaModule, which is not a TwoHeadModule"):
        TwoHeadModule.load_from_checkpoint(save(VanillaModule(**TINY), tmp_path / "w.ckpt"))
