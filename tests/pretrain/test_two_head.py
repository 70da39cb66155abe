"""TwoHeadModule: the weighted joint loss against a hand computation, each head scored on its own label."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsp_lightning.module import TwoHeadModule

T, NUM_ACTIONS = 4, 3
TINY = {"arch": "resnet18", "num_segments": T, "dropout": 0.0}


def test_two_head_loss_matches_hand_computation(batch) -> None:
    batch = batch()
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 3.0]])
    label = batch["label"]
    expected = -np.mean([logits[i].log_softmax(0)[label[i]].item() for i in range(2)])
    action_logits = torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 5.0]])
    two = TwoHeadModule(**TINY, num_action_classes=NUM_ACTIONS, bsp_weight=0.3, action_weight=2.0)
    out = two.compute_loss({"boundary": logits, "action": action_logits}, batch)
    ce_a = -np.mean([action_logits[i].log_softmax(0)[batch["action_label"][i]].item() for i in range(2)])
    assert out["loss"].item() == pytest.approx(2.0 * ce_a + 0.3 * expected, rel=1e-6)


def test_two_head_scores_the_action_head_on_action_label():
    module = TwoHeadModule(**TINY, num_action_classes=3)
    boundary = torch.tensor([[3.0, 0, 0, 0], [0.0, 3, 0, 0]])
    action = torch.tensor([[0.0, 0, 3], [0.0, 3, 0]])
    batch = {"label": torch.tensor([0, 0]), "action_label": torch.tensor([2, 0])}
    module.update_metrics(module.val_metrics, {"boundary": boundary, "action": action}, batch)
    result = module.val_metrics.compute()
    assert result["val/acc"].item() == pytest.approx(0.5)  # boundary: 0 right, 1 wrong
    assert result["val/action_acc"].item() == pytest.approx(0.5)  # action: 2 right, 1 vs 0 wrong
    losses = module.compute_loss({"boundary": boundary, "action": action}, batch)
    assert losses["acc_action"].item() == pytest.approx(0.5)
