"""The actionness classifier: one linear layer on frozen snippet features (pure torch, no Lightning).

BSP Sec. 4.1 and Table 3 ("Linear clf. [80]"): a linear classifier on frozen features scores each 0.2 s segment;
``docs/heads/gtad-actionness.md`` §2.4 point 5: ``nn.Linear(D, 1)``, sigmoid / BCE. No hyper-parameter is
published; the optimiser and schedule are in :mod:`bsp_actionness.lightning` and the configs.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LinearActionness"]


class LinearActionness(nn.Module):
    """``nn.Linear(feature_dim, 1)``: segment features ``(N, D)`` float32 -> actionness logits ``(N,)``.

    Weights and bias start at zero (a decision; see the comment in ``__init__``).

    Args:
        feature_dim: ``D``.

    Raises:
        ValueError: ``feature_dim < 1``.
    """

    def __init__(self, feature_dim: int) -> None:
        super().__init__()
        if feature_dim < 1:
            raise ValueError(f"feature_dim must be >= 1, got {feature_dim}")
        self.linear = nn.Linear(feature_dim, 1)
        # Logistic regression is convex: start from zero so that the result does not depend on an init draw.
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features).squeeze(-1)
