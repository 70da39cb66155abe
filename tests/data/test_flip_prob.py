"""``BSPDataModule(flip_prob=...)``: the training flip can be switched off (the toy world's mirror-image classes)."""

from __future__ import annotations

import numpy as np
import pytest

from bsp_lightning.data import BSPDataModule
from bsp_lightning.data.toy import write_toy_kinetics


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_toy_kinetics(tmp_path_factory.mktemp("toy") / "toy-kinetics", size=32, num_classes=2,
                              train_per_class=2, val_per_class=1, num_frames=12, progress=False)


@pytest.mark.parametrize("flip_prob, expected", [(0.0, {False}), (1.0, {True}), (0.5, {False, True})])
def test_flip_prob_reaches_the_training_crops(root, flip_prob, expected):
    dm = BSPDataModule(root=str(root), mode="action", num_frames=4, resolution=16, flip_prob=flip_prob,
                       samples_per_epoch=4, num_workers=0, val_split=None)
    dm.setup("fit")
    dataset = dm.train_dataloader().dataset
    frames = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    flips = {dataset._box(frames, np.random.default_rng(seed)).flip for seed in range(40)}
    assert flips == expected


def test_flip_prob_outside_0_1_is_refused(root):
    with pytest.raises(ValueError, match="flip_prob"):
        BSPDataModule(root=str(root), flip_prob=1.5)
