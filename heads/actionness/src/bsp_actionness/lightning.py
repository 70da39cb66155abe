"""``ActionnessModule``: the linear actionness classifier as a :class:`~bsp_lightning.heads.HeadModule`.

Training: BCE with logits over every segment of the batch (mean over segments). Class weighting
(``class_weighting``, a decision; the paper gives none): ``"none"`` (plain BCE, the default) or ``"balanced"``
(``pos_weight = negatives / positives`` of the training segments, computed when fitting starts). AP ranks the
scores, so weighting changes only the optimisation path, not what a perfect classifier scores.

Optimiser (not published): Adam at ``lr`` with ``weight_decay``; ``scheduler: cosine`` decays the rate to 0 over
``max_epochs``. Model selection: lowest ``val/loss`` on the held-out training videos (the heads' default).

``test`` writes ``predictions/test.json`` in the actionness format (video id -> one score per segment, with the
segment/mapping/split protocol under ``_protocol``) and prints ``AP`` (pooled over every test segment: the paper's
number) and ``AP_per_video_mean`` (:func:`bsp_lightning.evaluation.actionness.actionness_ap`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from bsp_lightning.evaluation.actionness import actionness_ap
from bsp_lightning.evaluation.formats import ActionnessScores
from bsp_lightning.heads import HeadModule, InvalidArgumentError

from bsp_actionness.model import LinearActionness

__all__ = ["ActionnessModule"]

WEIGHTINGS = ("none", "balanced")
SCHEDULERS = ("none", "cosine")


class ActionnessModule(HeadModule):
    """Linear classifier on frozen features, one logit per 0.2 s segment.

    Args:
        feature_dim: ``D`` (linked from the data).
        data_info: ``{"protocol": {...}}`` (linked from the data; written with the predictions).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        class_weighting: ``"none"`` or ``"balanced"`` (module docstring).
        scheduler: ``"none"`` or ``"cosine"``.
        **kwargs: old hyper-parameter names of a checkpoint (:mod:`bsp_lightning.legacy`).

    Raises:
        InvalidArgumentError: unknown class weighting or scheduler.
    """

    task = "actionness"
    evaluate_on_validation = True

    def __init__(
        self,
        feature_dim: int = 0,
        data_info: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        class_weighting: str = "none",
        scheduler: str = "none",
        **kwargs: Any,
    ) -> None:
        super().__init__(feature_dim, data_info, lr=lr, weight_decay=weight_decay, **kwargs)
        if class_weighting not in WEIGHTINGS:
            raise InvalidArgumentError(f"class_weighting must be one of {WEIGHTINGS}, got {class_weighting!r}")
        if scheduler not in SCHEDULERS:
            raise InvalidArgumentError(f"scheduler must be one of {SCHEDULERS}, got {scheduler!r}")
        self.class_weighting = class_weighting
        self.scheduler = scheduler
        self.register_buffer("pos_weight", torch.ones(()), persistent=False)
        self.model = self.build_model()

    def build_model(self) -> nn.Module:
        return LinearActionness(self.feature_dim)

    def prediction_metadata(self) -> dict[str, Any] | None:
        """The protocol the data recorded (segments, mapping, split): written under ``_protocol``."""
        return self.data_info.get("protocol")

    def on_fit_start(self) -> None:
        if self.class_weighting == "balanced":
            p = self.trainer.datamodule.positive_fraction()
            self.pos_weight.fill_((1.0 - p) / p if 0.0 < p < 1.0 else 1.0)

    def compute_loss(self, outputs, batch) -> dict[str, torch.Tensor]:
        loss = nn.functional.binary_cross_entropy_with_logits(
            outputs["out"], batch["labels"], pos_weight=self.pos_weight)
        return {"loss": loss}

    def postprocess(self, outputs, batch) -> list[tuple[str, np.ndarray]]:
        scores = torch.sigmoid(outputs["out"].detach().float()).cpu().numpy()
        pieces = np.split(scores, np.cumsum(batch["lengths"])[:-1])
        return list(zip(batch["video_id"], pieces))

    def build_metric(self):
        datamodule = self.trainer.datamodule

        def score(predictions: ActionnessScores) -> dict[str, float]:
            # the test split is built only when the scored videos need it (not at every validation epoch of fit)
            scores, labels = predictions.scores, {}
            for split in ("val", "test"):
                if all(v in labels for v in scores):
                    break
                labels.update(datamodule.dataset(split).labels)
            result = actionness_ap(scores, {v: labels[v] for v in scores})
            return {"AP": result.AP, "AP_per_video_mean": result.AP_per_video_mean}

        return score

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if self.scheduler == "none":
            return {"optimizer": optimizer}
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        return {"optimizer": optimizer,
                "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)}
