"""Pretext, action and distillation heads: shapes and values against hand computations."""

from __future__ import annotations

import pytest
import torch

from bsp_lightning.models.pretext_heads import ActionHead, ChangePointHead, ClassificationHead, DistillationProjections


def test_classification_head_is_dropout_then_linear() -> None:
    torch.manual_seed(0)
    head = ClassificationHead(6, num_classes=4, dropout=0.5)
    assert head.fc.bias.abs().max() == 0 and head.fc.weight.std() < 0.01  # TSM new_fc initialisation
    x = torch.randn(3, 6)
    head.eval()
    torch.testing.assert_close(head(x), x @ head.fc.weight.T + head.fc.bias)
    square = ClassificationHead(4, num_classes=4, dropout=0.5).train()
    with torch.no_grad():
        square.fc.weight.copy_(torch.eye(4))
    # dropout acts on the features in training: each is zeroed or scaled by 1 / (1 - 0.5)
    assert square(torch.ones(1000, 4)).unique().tolist() == [0.0, 2.0]


def test_action_head_equals_average_of_per_frame_logits() -> None:
    torch.manual_seed(0)
    head = ActionHead(8, num_classes=5).eval()
    frames = torch.randn(2, 4, 8)
    per_frame = head(frames.flatten(0, 1)).view(2, 4, 5).mean(1)
    torch.testing.assert_close(head(frames.mean(1)), per_frame, rtol=1e-6, atol=1e-6)


def test_change_point_head_pointwise() -> None:
    head = ChangePointHead(3, dropout=0.0)
    with torch.no_grad():
        head.conv.weight.copy_(torch.tensor([[[1.0], [2.0], [-1.0]]]))
        head.conv.bias.fill_(0.5)
    frames = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [2.0, 2.0, 2.0]]])  # (1, T=3, D=3)
    assert head(frames).tolist() == [[1.5, 1.5, 4.5]]


def test_change_point_head_temporal_kernel() -> None:
    head = ChangePointHead(1, dropout=0.0, kernel_size=3)
    with torch.no_grad():
        head.conv.weight.copy_(torch.tensor([[[1.0, 10.0, 100.0]]]))
        head.conv.bias.zero_()
    frames = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]])
    # r_t = x_{t-1} + 10 x_t + 100 x_{t+1}, zero padding at the ends
    assert head(frames).tolist() == [[210.0, 321.0, 432.0, 43.0]]
    with pytest.raises(ValueError, match="odd"):
        ChangePointHead(4, kernel_size=2)
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        head(torch.zeros(2, 4))


def test_distillation_projections_and_matching_loss() -> None:
    proj = DistillationProjections(student_dim=2, vanilla_dim=2, bsp_dim=1)
    with torch.no_grad():
        proj.h1.weight.copy_(torch.eye(2))
        proj.h1.bias.zero_()
        proj.h2.weight.copy_(torch.tensor([[1.0, 1.0]]))
        proj.h2.bias.fill_(1.0)
    f_s = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    f_v = torch.tensor([[1.0, 0.0], [3.0, -1.0]])
    f_b = torch.tensor([[4.0], [0.0]])
    h1, h2 = proj(f_s)
    assert h1.tolist() == f_s.tolist() and h2.tolist() == [[4.0], [0.0]]
    # ||f_v - h1||^2 per sample: [4, 9] -> mean 6.5 ; ||f_b - h2||^2: [0, 0]
    assert proj.matching_loss(f_s, f_v, f_b).item() == pytest.approx(6.5)
    # frame features: a pointwise (1x1) projection on the last dimension
    frames = torch.randn(2, 3, 2)
    torch.testing.assert_close(proj(frames)[1], frames.sum(-1, keepdim=True) + 1.0)
