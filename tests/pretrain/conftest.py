"""Shared pieces of the pre-training tests: random uint8 clips in the BSPDataModule batch format, a DataModule of
them, a one-batch Trainer, one thread per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

T, SIZE, NUM_ACTIONS = 4, 32, 3


@pytest.fixture(autouse=True)
def _one_thread():
    # the test machine is shared: one intra-op thread avoids spin-waiting under contention
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class RandomBoundaryClips(Dataset):
    """Random uint8 clips in the BSPDataModule batch format."""

    def __init__(self, n: int = 8, num_classes: int = 4, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.clips = torch.randint(0, 256, (n, T, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)
        self.labels = torch.randint(0, num_classes, (n,), generator=g)
        self.actions = torch.randint(0, NUM_ACTIONS, (n,), generator=g)
        self.change_points = torch.randint(0, T + 1, (n,), generator=g).float()
        t = torch.arange(1, T + 1).float()
        self.heatmaps = torch.exp(-((t - self.change_points[:, None]) ** 2) / (2 * T / 2))

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {"clip": self.clips[i], "label": self.labels[i], "action_label": self.actions[i],
                "change_point": self.change_points[i], "heatmap": self.heatmaps[i], "video_id": f"v{i}"}


class RandomDataModule(pl.LightningDataModule):
    def __init__(self, batch_size: int = 2, num_classes: int = 4) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_classes = num_classes

    def train_dataloader(self) -> DataLoader:
        return DataLoader(RandomBoundaryClips(8, self.num_classes), batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(RandomBoundaryClips(4, self.num_classes, seed=1), batch_size=self.batch_size)


def _trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    defaults = dict(accelerator="cpu", devices=1, fast_dev_run=1, logger=False, enable_progress_bar=False,
                    enable_model_summary=False, default_root_dir=tmp_path)
    return pl.Trainer(**{**defaults, **kwargs})


def _batch(seed: int = 0, n: int = 2) -> dict:
    ds = RandomBoundaryClips(n, seed=seed)
    return torch.utils.data.default_collate([ds[i] for i in range(n)])


def _save(module: pl.LightningModule, path: Path) -> Path:
    """A checkpoint of ``module`` as a Trainer writes it, without training."""
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return path


@pytest.fixture
def clips() -> type[RandomBoundaryClips]:
    return RandomBoundaryClips


@pytest.fixture
def data() -> type[RandomDataModule]:
    """``data(batch_size=2, num_classes=4)``: 8 training and 4 validation clips."""
    return RandomDataModule


@pytest.fixture
def trainer() -> Callable[..., pl.Trainer]:
    """``trainer(tmp_path, **overrides)``: CPU, ``fast_dev_run=1``, no logger or progress bar."""
    return _trainer


@pytest.fixture
def batch() -> Callable[..., dict]:
    """``batch(seed=0, n=2)``: one collated batch of random clips."""
    return _batch


@pytest.fixture
def save() -> Callable[[pl.LightningModule, Path], Path]:
    """``save(module, path)``: the checkpoint a Trainer writes for ``module`` (no training)."""
    return _save
