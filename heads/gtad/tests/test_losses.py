"""Losses computed by hand (docs/heads/gtad-actionness.md §1.5)."""

import math

import pytest
import torch

from bsp_gtad.losses import LOSS_WEIGHTS, gtad_loss, pem_cls_loss, pem_reg_loss, tem_loss

EPS = 1e-6


def test_tem_loss():
    pred = torch.tensor([0.8, 0.2, 0.5, 0.5], dtype=torch.float64)
    loss, guarded = tem_loss(pred, torch.tensor([1.0, 0.0, 0.2, 0.5], dtype=torch.float64))
    # 1 positive of 4: ratio 4, w_pos 2, w_neg 2/3
    expected = -(2 * math.log(0.8 + EPS) + 2 / 3 * (math.log(0.8 + EPS) + 2 * math.log(0.5 + EPS))) / 4
    assert guarded == 0 and loss.item() == pytest.approx(expected, rel=1e-12)
    loss, guarded = tem_loss(pred, torch.zeros(4, dtype=torch.float64))
    assert guarded == 1 and loss.item() == 0.0


def test_pem_cls_loss_and_thumos_smoothing():
    gt = torch.tensor([[[0.95, 0.5], [0.2, 0.0]]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    p = torch.tensor([[[0.7, 0.4], [0.1, 0.9]]], dtype=torch.float64)
    loss, g = pem_cls_loss(p, gt, mask)
    # 1 positive, 2 valid negatives: ratio 3, w_pos 1.5, w_neg 0.75, divided by 3 entries
    expected = -(1.5 * math.log(0.7 + EPS) + 0.75 * (math.log(0.6 + EPS) + math.log(0.9 + EPS))) / 3
    assert g == 0 and loss.item() == pytest.approx(expected, rel=1e-12)
    loss, _ = pem_cls_loss(p, gt, mask, smoothing=10)
    r = 23 / 11  # num_pos 1 + 10, entries 11 + 2 + 10
    wp, wn = 0.5 * r, 0.5 * r / (r - 1)
    expected = -(wp * math.log(0.7 + EPS) + wn * (math.log(0.6 + EPS) + math.log(0.9 + EPS))) / 23
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss, g = pem_cls_loss(p, gt * 0.5, mask)
    assert g == 1 and loss.item() == 0.0  # the official code gives NaN here


def test_pem_reg_loss_keeps_all_when_counts_are_equal():
    gt = torch.tensor([[[0.8, 0.5], [0.2, 0.0]]], dtype=torch.float64)
    p = torch.tensor([[[0.6, 0.1], [0.4, 0.9]]], dtype=torch.float64)
    loss, g = pem_reg_loss(p, gt, torch.ones(2, 2, dtype=torch.float64))
    # one high, one mid, one low: both kept with probability 1; the IoU-0 cell never counts
    expected = 0.5 * ((0.6 - 0.8) ** 2 + (0.1 - 0.5) ** 2 + (0.4 - 0.2) ** 2) / 3
    assert g == 0 and loss.item() == pytest.approx(expected, rel=1e-12)
    _, g = pem_reg_loss(p, gt * 0.5, torch.ones(2, 2, dtype=torch.float64))
    assert g == 1


def test_pem_reg_subsampling_rate():
    torch.manual_seed(0)
    gt = torch.full((1, 100, 100), 0.5, dtype=torch.float64)
    gt[0, :10, :10] = 0.8  # 100 high, 9800 mid: each mid kept with probability 100/9800
    gt[0, 90:, 90:] = 0.2  # 100 low: all kept
    p = torch.zeros_like(gt)
    loss, _ = pem_reg_loss(p, gt, torch.ones(100, 100, dtype=torch.float64))
    # loss = 0.5 (100 * 0.64 + n_mid * 0.25 + 100 * 0.04) / (200 + n_mid) with n_mid ~ 100
    n_mid = (0.5 * (64 + 4) - loss.item() * 200) / (loss.item() - 0.5 * 0.25)
    assert 60 < n_mid < 140


def test_pem_reg_without_low_cells_weights_every_cell():
    # official quirk: no low cell -> ratio inf -> threshold -inf -> every cell (IoU 0 ones too) gets weight
    gt = torch.tensor([[[0.8, 0.5], [0.0, 0.0]]], dtype=torch.float64)
    p = torch.tensor([[[0.6, 0.5], [0.3, 0.1]]], dtype=torch.float64)
    loss, _ = pem_reg_loss(p, gt, torch.ones(2, 2, dtype=torch.float64))
    # weights: high 1 + 1, mid 1 (ratio 1) + 1, zeros 0 + 1
    expected = 0.5 * (2 * 0.2**2 + 0 + 0.3**2 + 0.1**2) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_gtad_loss_weights():
    torch.manual_seed(0)
    conf = torch.rand(2, 2, 4, 4, dtype=torch.float64)
    start, end = torch.rand(2, 4, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64)
    gt_iou = torch.zeros(2, 4, 4, dtype=torch.float64)
    gt_iou[:, 1, 0] = 0.95
    gt_iou[:, 0, 0] = 0.8
    gt_s = torch.tensor([[1.0, 0, 0, 0]] * 2, dtype=torch.float64)
    mask = torch.ones(4, 4, dtype=torch.float64)
    a = gtad_loss(conf, start, end, gt_iou, gt_s, gt_s.flip(1), mask, LOSS_WEIGHTS["activitynet"])
    t = gtad_loss(conf, start, end, gt_iou, gt_s, gt_s.flip(1), mask, LOSS_WEIGHTS["thumos"])
    assert a["loss"].item() == pytest.approx((a["tem"] + 10 * a["reg"] + a["cls"]).item())
    assert t["loss"].item() == pytest.approx((t["tem"] + t["reg"] + 10 * t["cls"]).item())
    assert a["guarded"].item() == 0
    conf.requires_grad_(True)
    g = gtad_loss(conf, start, end, gt_iou * 0.5, gt_s, gt_s.flip(1), mask)
    assert g["guarded"].item() == 2 and g["loss"].requires_grad  # reg and cls guarded, graph kept
