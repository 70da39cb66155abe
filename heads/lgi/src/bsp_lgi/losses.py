"""LGI's three losses (``TGRegressionCriterion``, ``TAGLoss``, ``DQALoss`` and ``MultipleCriterions`` in the official
``src/model/building_blocks.py`` @ ``199e7ab``; LGI-paper eq. 16-19). Total = L_reg + w_tag L_tag + L_dqa
(``dqa_weight`` is inside :func:`dqa_loss`, as officially); Charades-STA: w_tag = 1, w_dqa = 1, lambda = 0.3.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["regression_loss", "tag_loss", "dqa_loss", "lgi_losses"]

TAG_EPS = 1e-8  # the official epsilon inside log(o + eps)


def regression_loss(loc: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """``SmoothL1(t_s, s/d) + SmoothL1(t_e, e/d)``, each PyTorch's default (beta 1, mean over the batch).

    Args:
        loc: ``(B, 2)`` predicted normalised boundaries. start, end: ``(B,)`` normalised targets, *not clipped*
            (they may exceed 1 or be reversed: the official loader keeps every annotation as it is).
    """
    return F.smooth_l1_loss(loc[:, 0], start) + F.smooth_l1_loss(loc[:, 1], end)


def tag_loss(temporal_attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Temporal attention guidance: mean over the batch of ``-sum_i m_i log(o_i + 1e-8) / sum_i m_i``.

    Args:
        temporal_attention: ``(B, T)`` the regressor's weights ``o``.
        mask: ``(B, T)`` float targets from :func:`bsp_lgi.data.attention_mask`. Where the target covers padded
            segments (end past the video on a short video), ``o`` there is ~0 and the term is ~18.4 per position:
            the official behaviour, kept. A row without any 1 gives NaN, as officially (the mask rule always
            sets at least one position when ``start <= end`` and ``start`` is not negative).
    """
    per_query = (-mask * torch.log(temporal_attention + TAG_EPS)).sum(1) / mask.sum(1)
    return per_query.mean(0)


def dqa_loss(phrase_attention: torch.Tensor, lam: float = 0.3, weight: float = 1.0) -> torch.Tensor:
    """Distinct query attention: ``weight`` x mean over the batch of ``||A A^T - lam I||_F^2``.

    Computed as the sum of squares (the official code squares a Frobenius norm: the same value, without the norm's
    undefined gradient at zero).

    Args:
        phrase_attention: ``(B, N, L)`` SQAN weights ``A`` (zero on padded words).
        lam: lambda (Charades 0.3, ActivityNet Captions 0.2). weight: the official ``dqa_weight`` (1.0).
    """
    n = phrase_attention.size(1)
    eye = torch.eye(n, dtype=phrase_attention.dtype, device=phrase_attention.device) * lam
    gram = torch.bmm(phrase_attention, phrase_attention.transpose(1, 2)) - eye
    return weight * gram.pow(2).sum(dim=(1, 2)).mean()


def lgi_losses(outputs: dict[str, torch.Tensor], start: torch.Tensor, end: torch.Tensor,
               attention_mask: torch.Tensor, tag_weight: float = 1.0, dqa_weight: float = 1.0,
               dqa_lambda: float = 0.3) -> dict[str, torch.Tensor]:
    """All terms and their sum.

    Args:
        outputs: :meth:`bsp_lgi.model.LGI.forward`'s dict. start, end: ``(B,)`` normalised targets.
        attention_mask: ``(B, T)`` TAG targets. tag_weight / dqa_weight: 0 switches a term off (the
            official ``use_*_loss`` flags); the DQA term is also off without SQAN (one phrase).

    Returns:
        ``{"loss", "reg", "tag" (if on), "dqa" (if on)}``.
    """
    out = {"reg": regression_loss(outputs["loc"], start, end)}
    total = out["reg"]
    if tag_weight:
        out["tag"] = tag_weight * tag_loss(outputs["temporal_attention"], attention_mask)
        total = total + out["tag"]
    if dqa_weight and outputs.get("phrase_attention") is not None:
        out["dqa"] = dqa_loss(outputs["phrase_attention"], dqa_lambda, dqa_weight)
        total = total + out["dqa"]
    out["loss"] = total
    return out
