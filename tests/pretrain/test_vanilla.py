"""VanillaModule: trained and scored on the action label, with top-5."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bsp_lightning.module import VanillaModule

T = 4
TINY = {"arch": "resnet18", "num_segments": T, "dropout": 0.0}


def test_vanilla_trains_and_scores_on_action_label_with_top5():
    module = VanillaModule(**TINY, num_action_classes=7)
    logits = torch.tensor([[5.0, 4, 3, 2, 1, 0, -1], [0.0, 1, 2, 3, 4, 5, 6], [0.0, 0, 9, 0, 0, 0, 0]])
    batch = {"label": torch.tensor([0, 6, 2]), "action_label": torch.tensor([1, 0, 2])}
    loss = module.compute_loss({"action": logits}, batch)
    assert loss["loss"].item() == pytest.approx(F.cross_entropy(logits, batch["action_label"]).item(), rel=1e-6)
    assert loss["loss"].item() != pytest.approx(F.cross_entropy(logits, batch["label"]).item(), rel=1e-3)
    module.update_metrics(module.val_metrics, {"action": logits}, batch)
    result = module.val_metrics.compute()
    # top-1 by hand: predictions 0, 6, 2 vs 1, 0, 2 -> 1 of 3; top-5: class 1 is in the first row's top 5,
    # class 0 is the lowest of row 2 (out), class 2 is row 3's best -> 2 of 3
    assert result["val/acc"].item() == pytest.approx(1 / 3)
    assert result["val/acc_top5"].item() == pytest.approx(2 / 3)
