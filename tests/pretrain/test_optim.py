"""TSM's optimiser recipe: parameter groups, the step schedule, linear lr scaling, also over 2 gloo processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from bsp_lightning.module import BSPModule

T, SIZE, NUM_ACTIONS = 4, 32, 3
TINY = {"arch": "resnet18", "num_segments": T, "num_action_classes": NUM_ACTIONS, "dropout": 0.0}


def test_optimiser_follows_tsm_recipe_with_linear_lr_scaling(tmp_path: Path, data) -> None:
    module = BSPModule(**TINY, lr=0.02, lr_batch_size=128, scheduler="step", lr_steps=(1,), lr_gamma=0.1)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=2, accumulate_grad_batches=2, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0)
    trainer.fit(module, datamodule=data(batch_size=2))
    optimizer = trainer.optimizers[0]
    base = 0.02 * (2 * 1 * 2) / 128
    decay, norm, bias = optimizer.param_groups
    assert isinstance(optimizer, torch.optim.SGD) and decay["momentum"] == 0.9
    assert decay["weight_decay"] == 1e-4 and norm["weight_decay"] == 0 and bias["weight_decay"] == 0
    # 8 clips / (2 x accumulate 2) = 2 steps per epoch; after 2 epochs the step at epoch 1 has applied
    assert decay["initial_lr"] == pytest.approx(base) and bias["initial_lr"] == pytest.approx(2 * base)
    assert decay["lr"] == pytest.approx(base * 0.1)
    n_norm = sum(p.numel() for p in norm["params"])
    assert n_norm == sum(p.numel() for m in module.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())


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
    for rank in (0, 1):
        seen = json.loads(Path(f"{out}.{rank}").read_text())
        assert seen["world_size"] == 2
        # 0.02 per 128 clips, 2 clips per process x 2 processes
        assert seen["lr"] == pytest.approx(0.02 * 2 * 2 / 128)
        assert not np.isclose(seen["lr"], 0.02 * 2 / 128)
