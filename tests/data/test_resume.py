"""A resumed pre-training run (`fit --ckpt_path last`) sees the data order of an uninterrupted run: the next
epochs after an end-of-epoch checkpoint, and the rest of the epoch after a mid-epoch one (videos and shards).

With DataLoader workers, Lightning's first iterator of a resumed run used to prefetch epoch 0's samples
before it told the sampler the epoch: the resumed epoch repeated epoch 0 (the first assertion fails so).
"""

from __future__ import annotations

import warnings

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from bsp_lightning.data import BSPDataModule


class Recorder(pl.Callback):
    """The clips of every training batch, per epoch."""

    def __init__(self) -> None:
        self.seen: dict[int, list[list[str]]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen.setdefault(trainer.current_epoch, []).append(list(batch["video_id"]))


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.head = torch.nn.Linear(3, 4)

    def training_step(self, batch, batch_idx):
        x = batch["clip"].float().mean(dim=(1, 3, 4))
        return torch.nn.functional.cross_entropy(self.head(x), batch["label"])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(make_data, folder, max_epochs: int, max_steps: int = -1, ckpt_path=None) -> dict[int, list[list[str]]]:
    recorder = Recorder()
    checkpoint = ModelCheckpoint(dirpath=folder, save_last=True, every_n_train_steps=1)
    trainer = pl.Trainer(max_epochs=max_epochs, max_steps=max_steps, accelerator="cpu", logger=False,
                         callbacks=[recorder, checkpoint], enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0, num_sanity_val_steps=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pl.utilities.warnings.PossibleUserWarning)  # "dataloader is not resumable"
        warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers|log_every_n_steps).*")
        trainer.fit(Tiny(), datamodule=make_data(), ckpt_path=ckpt_path)
    return recorder.seen


@pytest.mark.parametrize("source", ["videos", "shards"])
def test_resumed_run_sees_the_data_order_of_an_uninterrupted_run(source, kinetics_videos, packed, tmp_path):
    root = kinetics_videos if source == "videos" else packed["jpeg"]

    def make_data() -> BSPDataModule:
        return BSPDataModule(root=str(root), source=source, val_split=None, num_frames=4, gammas=(0.5, 2.0),
                             frame_stride=1, resolution=8, batch_size=4, num_workers=2, samples_per_epoch=12, seed=7)

    whole = fit(make_data, tmp_path / "whole", max_epochs=3)
    steps = len(whole[0])  # shards with 2 workers: 2 streams of 6 clips, 1 batch of 4 each
    assert [len(whole[e]) for e in range(3)] == [3 if source == "videos" else 2] * 3
    assert whole[0] != whole[1] != whole[2]
    # stopped at the end of epoch 0, resumed from last.ckpt: epochs 1 and 2 as in the uninterrupted run
    fit(make_data, tmp_path / "a", max_epochs=1)
    resumed = fit(make_data, tmp_path / "a", max_epochs=3, ckpt_path=str(tmp_path / "a" / "last.ckpt"))
    assert resumed == {1: whole[1], 2: whole[2]}
    # stopped after the first batch of epoch 1 (a mid-epoch checkpoint): the rest of epoch 1, then epoch 2
    fit(make_data, tmp_path / "b", max_epochs=3, max_steps=steps + 1)
    resumed = fit(make_data, tmp_path / "b", max_epochs=3, ckpt_path=str(tmp_path / "b" / "last.ckpt"))
    assert resumed == {1: whole[1][1:], 2: whole[2]}
