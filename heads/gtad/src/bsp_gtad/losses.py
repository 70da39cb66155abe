"""G-TAD losses as pure functions (``gtad_lib/loss_function.py``, both branches; facts in
``docs/heads/gtad-actionness.md`` §1.5).

* TEM (start and end curves, summed): class-balanced binary log loss over all ``B * T`` entries, positive
  when the target is > 0.5, weights ``0.5 r`` / ``0.5 r / (r - 1)`` with ``r = N / N_pos``, eps ``1e-6``.
* PEM reg (confidence channel 0): squared error on the masked IoU map over the cells > 0.7 plus a random
  subset of the cells in (0.3, 0.7] and in (0, 0.3] (each kept with probability ``N_high / N_mid`` resp.
  ``N_high / N_low``; counts over the batch); cells with IoU 0 are never used; ``0.5 * sum / count``.
* PEM cls (channel 1): balanced log loss, positive when IoU > 0.9, negatives the other valid cells. THUMOS
  adds ``smoothing = 10`` to the positive count and to the entry count ("in case of nan").
* Total: ActivityNet ``TEM + 10 reg + cls``, THUMOS ``TEM + reg + 10 cls`` (the official THUMOS function
  calls the reg term "wcs" and puts the 10 on cls).

The official code returns NaN for a batch without any positive (no IoU > 0.9, no start/end target > 0.5, or
no IoU > 0.7 for reg). Here such a term is replaced by a zero that keeps the graph, and ``gtad_loss`` reports
how many terms were guarded in ``"guarded"`` (the LightningModule counts and logs it).

The official arithmetic is kept in the corner cases too: a batch without any mid (or low) cell makes the
keep-threshold ``1 - N_high / 0 = -inf``, so *every* cell of the map (IoU 0 and invalid cells included) gets
weight one more time.

The random subsampling draws from ``torch.rand`` (seeded by ``seed_everything``) where the official code
draws from ``numpy.random``: same distribution, other draws.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["tem_loss", "pem_reg_loss", "pem_cls_loss", "gtad_loss", "LOSS_WEIGHTS"]

EPS = 1e-6
#: (tem, reg, cls) weights per dataset.
LOSS_WEIGHTS = {"activitynet": (1.0, 10.0, 1.0), "thumos": (1.0, 1.0, 10.0)}


def _balanced_log_loss(pred: Tensor, pos: Tensor, neg: Tensor, num_pos: Tensor, num_entries: Tensor,
                       mean: bool) -> Tensor:
    ratio = num_entries / num_pos
    coef_pos = 0.5 * ratio
    coef_neg = 0.5 * ratio / (ratio - 1)
    terms = coef_pos * torch.log(pred + EPS) * pos + coef_neg * torch.log(1.0 - pred + EPS) * neg
    return -(terms.mean() if mean else terms.sum() / num_entries)


def _guard(value: Tensor, ok: bool, like: Tensor) -> tuple[Tensor, int]:
    if ok and torch.isfinite(value):
        return value, 0
    return like.sum() * 0.0, 1


def tem_loss(pred: Tensor, target: Tensor) -> tuple[Tensor, int]:
    """Balanced log loss of one boundary curve; ``pred``, ``target`` any shape (flattened).

    Returns ``(loss, guarded)`` where ``guarded`` is 1 when there was no positive (official: NaN) and the loss
    was replaced by 0.
    """
    p, g = pred.reshape(-1), target.reshape(-1)
    pos = (g > 0.5).to(p.dtype)
    num_pos = pos.sum()
    loss = _balanced_log_loss(p, pos, 1.0 - pos, num_pos, torch.tensor(float(p.numel()), device=p.device), True)
    return _guard(loss, bool(num_pos > 0) and bool(num_pos < p.numel()), pred)


def pem_reg_loss(pred: Tensor, gt_iou: Tensor, mask: Tensor, generator: torch.Generator | None = None
                 ) -> tuple[Tensor, int]:
    """Sampled squared error on the IoU map. ``pred``, ``gt_iou`` ``(B, D, T)`` (``gt_iou`` already masked),
    ``mask`` ``(D, T)``. Returns ``(loss, guarded)`` (guarded: no cell above 0.7)."""
    high = (gt_iou > 0.7).to(pred.dtype)
    mid = ((gt_iou <= 0.7) & (gt_iou > 0.3)).to(pred.dtype)
    low = ((gt_iou <= 0.3) & (gt_iou > 0.0)).to(pred.dtype) * mask
    num_h, num_m, num_l = high.sum(), mid.sum(), low.sum()
    # Same arithmetic as the official code, edge cases included (num_m = 0 makes the threshold -inf).
    keep_m = (mid * torch.rand(gt_iou.shape, generator=generator, device=gt_iou.device, dtype=pred.dtype)
              > (1.0 - num_h / num_m)).to(pred.dtype)
    keep_l = (low * torch.rand(gt_iou.shape, generator=generator, device=gt_iou.device, dtype=pred.dtype)
              > (1.0 - num_h / num_l)).to(pred.dtype)
    weights = high + keep_m + keep_l
    loss = 0.5 * torch.sum(weights * (pred - gt_iou) ** 2) / torch.sum(weights)
    return _guard(loss, bool(num_h > 0), pred)


def pem_cls_loss(pred: Tensor, gt_iou: Tensor, mask: Tensor, smoothing: float = 0.0) -> tuple[Tensor, int]:
    """Balanced log loss on the IoU map (positive > 0.9). ``smoothing`` = 10 for THUMOS.
    Returns ``(loss, guarded)`` (guarded: no positive cell and no smoothing)."""
    pos = (gt_iou > 0.9).to(pred.dtype)
    neg = (gt_iou <= 0.9).to(pred.dtype) * mask
    num_pos = pos.sum() + smoothing
    num_entries = num_pos + neg.sum() + smoothing
    loss = _balanced_log_loss(pred, pos, neg, num_pos, num_entries, False)
    return _guard(loss, bool(num_pos > 0), pred)


def gtad_loss(
    confidence: Tensor,
    start: Tensor,
    end: Tensor,
    gt_iou: Tensor,
    gt_start: Tensor,
    gt_end: Tensor,
    mask: Tensor,
    weights: tuple[float, float, float] = LOSS_WEIGHTS["activitynet"],
    cls_smoothing: float = 0.0,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """The total G-TAD loss.

    Args:
        confidence: ``(B, 2, D, T)`` (channel 0 reg, channel 1 cls).
        start, end: ``(B, T)`` predicted boundary probabilities; ``gt_start``, ``gt_end`` their targets.
        gt_iou: ``(B, D, T)`` IoU maps (masked here).
        mask: ``(D, T)`` valid cells.
        weights: ``(tem, reg, cls)``, see :data:`LOSS_WEIGHTS`.
        cls_smoothing: 10 for THUMOS, 0 for ActivityNet.

    Returns:
        ``{"loss", "tem", "reg", "cls", "guarded"}`` (``guarded``: number of NaN terms replaced by 0).
    """
    mask = mask.to(confidence.dtype)
    gt_iou = gt_iou.to(confidence.dtype) * mask
    tem_s, g1 = tem_loss(start, gt_start)
    tem_e, g2 = tem_loss(end, gt_end)
    reg, g3 = pem_reg_loss(confidence[:, 0], gt_iou, mask, generator)
    cls, g4 = pem_cls_loss(confidence[:, 1], gt_iou, mask, cls_smoothing)
    tem = tem_s + tem_e
    w_tem, w_reg, w_cls = weights
    loss = w_tem * tem + w_reg * reg + w_cls * cls
    guarded = torch.tensor(float(g1 + g2 + g3 + g4), device=confidence.device)
    return {"loss": loss, "tem": tem.detach(), "reg": reg.detach(), "cls": cls.detach(), "guarded": guarded}
