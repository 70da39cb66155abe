"""One epoch of BSP pre-training on frame shards, recording what each process trained on (run by test_multinode.py).

Under torchrun every process writes ``OUT/rank<global rank>.json``: the clips of each of its batches, the world
size and the learning rate the optimiser used. Run plainly it is one process.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch import nn

from bsp_lightning.data import BSPDataModule
from bsp_lightning.module import BSPModule


class MeanColour(nn.Module):
    """A tiny backbone: the mean colour of each frame, averaged over time, through one linear layer."""

    num_features = 4

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(1, 3, 4)))


class TinyBSP(BSPModule):
    def build_backbone(self) -> nn.Module:
        return MeanColour()


class Record(pl.Callback):
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.lr: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches.append(list(batch["video_id"]))
        self.lr = trainer.optimizers[0].param_groups[0]["lr"]


def fit_once(store: str, out: str, batch_size: int, nodes: int = 1, devices: int = 1) -> Path:
    """Fit one epoch; returns the file this process wrote."""
    torch.set_num_threads(1)
    pl.seed_everything(0, verbose=False)
    data = BSPDataModule(root=store, source="shards", val_split=None, num_frames=4, gammas=(0.5, 2.0),
                         frame_stride=1, resolution=8, batch_size=batch_size, num_workers=0, streams=4, seed=3)
    model = TinyBSP(num_segments=4, lr=0.02, lr_batch_size=128, scheduler="constant", optimizer="sgd")
    record = Record()
    trainer = pl.Trainer(accelerator="cpu", num_nodes=nodes, devices=devices,
                         strategy="ddp" if nodes * devices > 1 else "auto", max_epochs=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[record], default_root_dir=out)
    trainer.fit(model, datamodule=data)
    path = Path(out) / f"rank{trainer.global_rank}.json"
    path.write_text(json.dumps({"batches": record.batches, "lr": record.lr, "world_size": trainer.world_size,
                                "node_rank": trainer.node_rank}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--devices", type=int, default=1)
    args = parser.parse_args()
    fit_once(args.store, args.out, args.batch_size, args.nodes, args.devices)


if __name__ == "__main__":
    main()
