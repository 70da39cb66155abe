"""ChangePointModule: the smooth-L1 heatmap loss and the change-point metric against hand computations."""

from __future__ import annotations

import pytest
import torch

from bsp_lightning.data.synthesis import change_point_heatmap
from bsp_lightning.module import ChangePointModule

T = 4
TINY = {"arch": "resnet18", "num_segments": T, "dropout": 0.0}


def _compute(module, metrics, outputs, batch):
    module.update_metrics(metrics, outputs, batch)
    return {k: v for k, v in metrics.compute().items()}


def test_regression_loss_matches_hand_computation(batch) -> None:
    batch = batch()
    heat = torch.tensor([[0.0, 0.5, 2.0, 1.0], [0.2, 0.2, 0.2, 0.2]])
    diff = (heat - batch["heatmap"]).abs()
    smooth = torch.where(diff < 1, 0.5 * diff**2, diff - 0.5).mean()
    reg = ChangePointModule(**TINY, num_action_classes=3).compute_loss({"heatmap": heat}, batch)
    assert reg["loss"].item() == pytest.approx(smooth.item(), rel=1e-6)


def test_change_point_peak_is_the_one_based_frame_of_the_heatmap_maximum():
    module = ChangePointModule(**TINY)
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
