"""Confusion-matrix reporting for every logger."""

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
