"""TSM's optimisation recipe: parameter groups and the learning-rate schedule (a factor per step).

Official code (mit-han-lab/temporal-shift-module, ``main.py`` / ``TSN.get_optim_policies``): conv and linear
weights decay; biases get twice the learning rate and no decay; normalisation layers get no decay. The
learning rate is given per ``lr_batch_size`` clips and scaled linearly by the effective batch
(:meth:`~bsp_lightning.pretrain.base.BSPModule.scaled_lr`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

__all__ = ["lr_factor", "tsm_parameter_groups"]

SCHEDULERS = ("cosine", "step", "constant")


def tsm_parameter_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict[str, Any]]:
    """Optimiser groups: decayed weights (``lr``), normalisation layers (``lr``, no decay), biases
    (``2 lr``, no decay); parameters without gradients are left out, and so are empty groups."""
    decay, no_decay_norm, biases = [], [], []
    for module in model.modules():
        is_norm = isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm))
        for pname, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            if is_norm:
                no_decay_norm.append(p)
            elif pname == "bias":
                biases.append(p)
            else:
                decay.append(p)
    groups = [
        {"params": decay, "lr": lr, "weight_decay": weight_decay},
        {"params": no_decay_norm, "lr": lr, "weight_decay": 0.0},
        {"params": biases, "lr": 2 * lr, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def lr_factor(
    scheduler: str,
    total_steps: float,
    batches_per_epoch: float,
    accumulate: int,
    warmup_epochs: float,
    lr_steps: Sequence[int],
    lr_gamma: float,
) -> Callable[[int], float]:
    """The learning-rate multiplier of optimiser step ``step`` (for ``torch.optim.lr_scheduler.LambdaLR``).

    Linear warm-up over ``warmup_epochs`` (fractional allowed), then ``"cosine"`` (to 0 at ``total_steps``),
    ``"step"`` (times ``lr_gamma`` at each epoch of ``lr_steps``) or ``"constant"``.

    Args:
        total_steps: optimiser steps of the run (``trainer.estimated_stepping_batches``; may be inf).
        batches_per_epoch: training batches per epoch (may be inf).
        accumulate: batches per optimiser step.

    Raises:
        ValueError: unknown scheduler, or a cosine schedule without a finite length.
    """
    if scheduler not in SCHEDULERS:
        raise ValueError(f"BSPModule: scheduler must be 'cosine', 'step' or 'constant', got {scheduler!r}")
    if scheduler == "cosine" and math.isinf(total_steps):
        raise ValueError("BSPModule: the cosine schedule needs trainer.max_epochs or trainer.max_steps")
    total = max(1, int(min(total_steps, 2**62)))
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / accumulate)) if math.isfinite(batches_per_epoch) else total
    warmup_steps = int(round(warmup_epochs * steps_per_epoch))
    milestones = [int(e) * steps_per_epoch for e in lr_steps]

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        if scheduler == "cosine":
            progress = (step - warmup_steps) / max(1, total - warmup_steps)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        if scheduler == "step":
            return lr_gamma ** sum(step >= m for m in milestones)
        return 1.0

    return factor
