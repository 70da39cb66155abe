"""Pre-training variants: the targets and metrics each one reads (issue 8, section 5), learning-rate scaling
over 2 gloo processes, and the checkpoint key rule (issue 9, section 4)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from bsp_lightning.data.synthesis import change_point_heatmap
from bsp_lightning.models.checkpoints import clean_key, clean_state_dict
from bsp_lightning.module import BSPModule, ChangePointModule, TwoHeadModule, VanillaModule

T = 4
TINY = {"arch": "resnet18", "num_segments": T, "dropout": 0.0}


def _compute(module, metrics, outputs, batch):
    module.update_metrics(metrics, outputs, batch)
    return {k: v for k, v in metrics.compute().items()}


def test_change_point_peak_is_the_one_based_frame_of_the_heatmap_maximum():
    module = ChangePointModule(**TINY)
    assert isinstance(BSPModule(**TINY, pretext="regression"), ChangePointModule)
    tau = T // 2
    # targets as the DataModule builds them: a clip whose boundary lies after frame mu has its peak at mu
    mus = [1.0, 2.0, 3.0, 0.0]  # the last clip has no boundary (same speed): not scored
    heat = torch.stack([torch.from_numpy(change_point_heatmap(m, T, tau)) if m else torch.zeros(T) for m in mus])
    batch = {"change_point": torch.tensor(mus), "heatmap": heat}
    metrics = module.val_metrics
    result = _compute(module, metrics, {"heatmap": heat}, batch)
    assert result["val/change_point_mae"].item() == 0.0
    metrics.reset()
    shifted = torch.roll(heat, 1, dims=1)  # every peak one frame later: MAE 1 over the 3 scored clips
    shifted[:, 0] = 0
    assert _compute(module, metrics, {"heatmap": shifted}, batch)["val/change_point_mae"].item() == pytest.approx(1.0)


def test_vanilla_trains_and_scores_on_action_label_with_top5():
    module = VanillaModule(**TINY, num_action_classes=7)
    logits = torch.tensor([[5.0, 4, 3, 2, 1, 0, -1], [0.0, 1, 2, 3, 4, 5, 6], [0.0, 0, 9, 0, 0, 0, 0]])
    batch = {"label": torch.tensor([0, 6, 2]), "action_label": torch.tensor([1, 0, 2])}
    loss = module.compute_loss({"action": logits}, batch)
    assert loss["loss"].item() == pytest.approx(F.cross_entropy(logits, batch["action_label"]).item(), rel=1e-6)
    assert loss["loss"].item() != pytest.approx(F.cross_entropy(logits, batch["label"]).item(), rel=1e-3)
    result = _compute(module, module.val_metrics, {"action": logits}, batch)
    # top-1 by hand: predictions 0, 6, 2 vs 1, 0, 2 -> 1 of 3; top-5: class 1 is in the first row's top 5,
    # class 0 is the lowest of row 2 (out), class 2 is row 3's best -> 2 of 3
    assert result["val/acc"].item() == pytest.approx(1 / 3)
    assert result["val/acc_top5"].item() == pytest.approx(2 / 3)


def test_two_head_scores_the_action_head_on_action_label():
    module = TwoHeadModule(**TINY, num_action_classes=3)
    boundary = torch.tensor([[3.0, 0, 0, 0], [0.0, 3, 0, 0]])
    action = torch.tensor([[0.0, 0, 3], [0.0, 3, 0]])
    batch = {"label": torch.tensor([0, 0]), "action_label": torch.tensor([2, 0])}
    result = _compute(module, module.val_metrics, {"boundary": boundary, "action": action}, batch)
    assert result["val/acc"].item() == pytest.approx(0.5)  # boundary: 0 right, 1 wrong
    assert result["val/action_acc"].item() == pytest.approx(0.5)  # action: 2 right, 1 vs 0 wrong
    losses = module.compute_loss({"boundary": boundary, "action": action}, batch)
    assert losses["acc_action"].item() == pytest.approx(0.5)


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


_DDP_SCRIPT = textwrap.dedent('''
    import json, sys
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import DataLoader, Dataset
    from bsp_lightning.module import BSPModule

    class Clips(Dataset):
        def __len__(self):
            return 8
        def __getitem__(self, i):
            return {"clip": torch.zeros(4, 3, 16, 16, dtype=torch.uint8), "label": torch.tensor(i % 4)}

    class Data(pl.LightningDataModule):
        batch_size = 2
        def train_dataloader(self):
            return DataLoader(Clips(), batch_size=self.batch_size)

    class Probe(pl.Callback):
        def on_train_start(self, trainer, pl_module):
            lr = trainer.optimizers[0].param_groups[0]["initial_lr"]
            with open(sys.argv[1] + f".{trainer.global_rank}", "w") as f:
                json.dump({"lr": lr, "world_size": trainer.world_size}, f)

    if __name__ == "__main__":
        torch.set_num_threads(1)
        module = BSPModule(arch="resnet18", num_segments=4, dropout=0.0, lr=0.02, lr_batch_size=128,
                           scheduler="constant")
        trainer = pl.Trainer(accelerator="cpu", devices=2, strategy="ddp", max_steps=1, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                             callbacks=[Probe()])
        trainer.fit(module, datamodule=Data())
''')


def test_learning_rate_scales_with_the_world_size_over_two_gloo_processes(tmp_path: Path):
    script = tmp_path / "ddp_lr.py"
    script.write_text(_DDP_SCRIPT)
    out = tmp_path / "lr"
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    for rank in (0, 1):
        seen = json.loads(Path(f"{out}.{rank}").read_text())
        assert seen["world_size"] == 2
        # 0.02 per 128 clips, 2 clips per process x 2 processes
        assert seen["lr"] == pytest.approx(0.02 * 2 * 2 / 128)
        assert not np.isclose(seen["lr"], 0.02 * 2 / 128)


def test_command_line_checkpoint_loads_for_extraction_in_a_fresh_process(tmp_path: Path):
    # LightningCLI stores `_class_path: bsp_lightning.module.BSPModule`; Lightning refuses it unless that module
    # is imported, so the extraction path must load it without the caller importing bsp_lightning.module
    module = BSPModule(**TINY)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    ckpt = tmp_path / "cli.ckpt"
    trainer.save_checkpoint(ckpt)
    saved = torch.load(ckpt, weights_only=False)
    saved["hyper_parameters"]["_class_path"] = "bsp_lightning.module.BSPModule"
    assert saved["bsp_lightning_class"] == "bsp_lightning.module:BSPModule"  # the stable public name
    torch.save(saved, ckpt)
    code = ("import sys; from bsp_lightning.extract.extractor import load_feature_stream; "
            f"stream, kind = load_feature_stream({str(ckpt)!r}, 4); print(kind, stream.num_features)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["bsp", "512"]
