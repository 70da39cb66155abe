"""The three LGI losses on cases computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from bsp_lgi.losses import dqa_loss, lgi_losses, regression_loss, tag_loss


def test_dqa_two_phrases_by_hand():
    # query 1: phrases attend to [0.5, 0.5, 0] and [1, 0, 0]  (the third word is padding: weight 0)
    #   A A^T = [[0.5, 0.5], [0.5, 1.0]];  minus 0.3 I -> [[0.2, 0.5], [0.5, 0.7]];  squares: 0.04+0.25+0.25+0.49 = 1.03
    # query 2: [0, 1, 0] and [0, 0, 1]: A A^T = I; minus 0.3 I -> 0.7 I: squares 0.49 + 0.49 = 0.98
    attw = torch.tensor([[[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]],
                         [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    assert dqa_loss(attw, lam=0.3).item() == pytest.approx((1.03 + 0.98) / 2)
    assert dqa_loss(attw, lam=0.3, weight=2.0).item() == pytest.approx(1.03 + 0.98)
    # the official value: squared Frobenius norm of (A A^T - lambda I), averaged
    ref = torch.linalg.matrix_norm(attw @ attw.transpose(1, 2) - 0.3 * torch.eye(2), "fro").pow(2).mean()
    assert dqa_loss(attw).item() == pytest.approx(ref.item())


def test_dqa_gradient_defined_at_the_optimum():
    attw = torch.tensor([[[math.sqrt(0.3), 0.0], [0.0, math.sqrt(0.3)]]], requires_grad=True)
    loss = dqa_loss(attw, lam=0.3)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-12) and torch.isfinite(attw.grad).all()


def test_tag_loss_by_hand():
    o = torch.tensor([[0.5, 0.25, 0.25, 0.0], [0.1, 0.2, 0.3, 0.4]])
    m = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    # query 1: -(log 0.5 + log 0.25) / 2 ; query 2: -log 0.4
    expected = (-(math.log(0.5 + 1e-8) + math.log(0.25 + 1e-8)) / 2 - math.log(0.4 + 1e-8)) / 2
    assert tag_loss(o, m).item() == pytest.approx(expected, rel=1e-6)
    # a target on a padded position (o = 0) costs -log(1e-8) = 18.42: the official quirk
    assert tag_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])).item() == pytest.approx(18.4207, rel=1e-4)


def test_regression_loss_smooth_l1_unclipped():
    loc = torch.tensor([[0.1, 0.9], [0.0, 0.5]])
    start = torch.tensor([0.3, 0.0])
    end = torch.tensor([0.8, 2.0])  # an end past the video (target 2.0) is not clipped
    # start: 0.5*0.2^2 = 0.02 and 0 -> mean 0.01; end: 0.5*0.1^2 = 0.005 and |1.5|-0.5 = 1.0 -> mean 0.5025
    assert regression_loss(loc, start, end).item() == pytest.approx(0.01 + 0.5025)


def test_total_is_the_sum_and_switches():
    out = {"loc": torch.tensor([[0.1, 0.9]]), "temporal_attention": torch.tensor([[0.5, 0.5]]),
           "phrase_attention": torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])}
    start, end, mask = torch.tensor([0.1]), torch.tensor([0.9]), torch.tensor([[1.0, 0.0]])
    losses = lgi_losses(out, start, end, mask)
    assert set(losses) == {"loss", "reg", "tag", "dqa"}
    assert losses["loss"].item() == pytest.approx(0.0 + -math.log(0.5 + 1e-8) + 2 * 0.49)
    assert set(lgi_losses(out, start, end, mask, tag_weight=0, dqa_weight=0)) == {"loss", "reg"}
    assert "dqa" not in lgi_losses({**out, "phrase_attention": None}, start, end, mask)
