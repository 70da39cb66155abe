"""Confusion-matrix reporting for every logger; the run summary and max_time per invocation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from bsp_lightning.callbacks import confusion_matrix_image, format_confusion_matrix, log_confusion_matrix

NAMES = ["diff_class", "same_class", "diff_speed", "same_speed"]
MATRIX = torch.tensor([[5, 1, 0, 0], [2, 3, 0, 1], [0, 0, 6, 0], [0, 1, 2, 3]])


def test_text_table_rows_are_true_classes() -> None:
    lines = format_confusion_matrix(MATRIX, NAMES).splitlines()
    assert lines[0].split("|")[1].split()[:4] == NAMES
    rows = {line.split("|")[0].strip(): [int(c) for c in line.split("|")[1].split()] for line in lines[2:]}
    assert rows == {name: MATRIX[i].tolist() for i, name in enumerate(NAMES)}


def test_every_logger_gets_the_matrix(tmp_path: Path) -> None:
    image = confusion_matrix_image(MATRIX, NAMES, "val/confusion")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3 and image.std() > 0
    csv, tb = CSVLogger(tmp_path, name="csv"), TensorBoardLogger(tmp_path, name="tb")
    trainer = SimpleNamespace(loggers=[csv, tb], current_epoch=3, global_step=42)
    log_confusion_matrix(trainer, MATRIX, NAMES, "val/confusion")
    text = (Path(csv.log_dir) / "confusion" / "val_confusion_epoch003.txt").read_text()
    assert text == format_confusion_matrix(MATRIX, NAMES) + "\n"
    tb.experiment.flush()
    assert any(Path(tb.log_dir).glob("events.out.tfevents.*"))


class _Slow(__import__("pytorch_lightning").LightningModule):
    """One weight; each training step sleeps, so that a wall-clock max_time stops the run after a few steps."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx):
        import time

        time.sleep(0.4)
        return (self.w - batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/loss", (self.w - batch[0]).pow(2).mean())

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(64, 1)), batch_size=1)

    def val_dataloader(self):
        return self.train_dataloader()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(root: Path, ckpt_path: str | None = None):
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from bsp_lightning.callbacks import RunSummary

    trainer = pl.Trainer(max_epochs=5, max_time={"seconds": 2}, check_val_every_n_epoch=2, limit_val_batches=1,
                         default_root_dir=root, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[RunSummary(), ModelCheckpoint(root, save_last=True)])
    trainer.fit(_Slow(), ckpt_path=ckpt_path)
    return trainer


def test_a_run_stopped_by_max_time_says_so_and_resumes_with_the_whole_budget(tmp_path, capsys) -> None:
    first = _fit(tmp_path)
    out = capsys.readouterr().out
    steps = first.global_step
    assert 1 <= steps < 64  # stopped inside the first epoch of 64 steps
    assert "stopped by --trainer.max_time (00:00:02) after" in out and "of 5 epochs" in out
    assert "no validation ran (check_val_every_n_epoch=2)" in out
    # Lightning's Timer alone restores the 2 s already spent and stops after one more step
    second = _fit(tmp_path, ckpt_path=str(tmp_path / "last.ckpt"))
    assert second.global_step - steps >= 2
