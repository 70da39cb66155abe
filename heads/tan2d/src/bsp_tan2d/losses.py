"""2D-TAN's loss: binary cross-entropy against the scaled IoU map (official ``lib/models/loss.py``
``bce_rescale_loss``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["scaled_iou_target", "bce_rescale_loss"]


def scaled_iou_target(iou: torch.Tensor, min_iou: float = 0.5, max_iou: float = 1.0, bias: float = 0.0) -> torch.Tensor:
    """``clip((iou - min) (1 - bias) / (max - min) [+ bias where > 0], 0, 1)``, same shape and dtype as ``iou``.

    ``min_iou``/``max_iou`` are 0.5/1.0 for Charades-STA and ActivityNet Captions, 0.3/0.7 for TACoS; the bias
    is 0 in every official config (``LOSS.PARAMS``).
    """
    if max_iou <= min_iou:
        raise ValueError(f"max_iou ({max_iou}) must exceed min_iou ({min_iou})")
    target = (iou - min_iou) * (1 - bias) / (max_iou - min_iou)
    target = torch.where(target > 0, target + bias, target)
    return target.clamp(0.0, 1.0)


def bce_rescale_loss(logits: torch.Tensor, mask: torch.Tensor, iou: torch.Tensor, min_iou: float = 0.5,
                     max_iou: float = 1.0, bias: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss 0-d, scores (B, N, N))`` of logits ``(B, N, N)`` against IoU maps ``(B, N, N)``.

    ``scores = sigmoid(logits) * mask``; the loss is ``BCE(scores, scaled_iou_target(iou))`` summed over the
    valid cells of the whole batch and divided by their number (every cell weighs the same). It is computed
    as the official code does -- sigmoid then ``F.binary_cross_entropy``, whose log is clamped at -100 --
    rather than with logits, so saturated scores give the official values.

    Args:
        mask: ``(N, N)`` or ``(B, N, N)``, bool or 0/1.
    """
    mask = mask.to(logits.dtype).expand_as(logits)
    scores = torch.sigmoid(logits) * mask
    target = scaled_iou_target(iou.to(logits.dtype), min_iou, max_iou, bias)
    loss = F.binary_cross_entropy(scores, target, reduction="none") * mask
    return loss.sum() / mask.sum(), scores
