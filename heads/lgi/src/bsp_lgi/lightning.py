"""``LGIModule``: LGI as a :class:`bsp_lightning.heads.HeadModule` (task ``"grounding"``).

Protocol (docs/heads/tan2d-lgi.md §2; official ``src/experiment/train.py``, ``abstract_network.py`` @ ``199e7ab``):
Adam at 4e-4, no weight decay, no scheduler, no gradient clipping; one prediction per query, ``[t_s d, t_e d]``
seconds without clipping or reordering (``t_s > t_e`` scores IoU 0); R@1 at IoU 0.3/0.5/0.7 and mIoU under the
``lgi`` convention of :mod:`bsp_lightning.evaluation.grounding` (``IoU >= m``, raw ground truth). The official code
keeps the epoch with the best *test* R1@0.5; here the validation split (a seeded hold-out of training videos) is
scored every epoch (``val/R@1,IoU=0.5``) and the packaged configs select the checkpoint on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn as nn
from pytorch_lightning.utilities import rank_zero_warn

from bsp_lightning.evaluation.grounding import grounding_metrics
from bsp_lightning.heads import HeadModule
from bsp_lgi.losses import lgi_losses
from bsp_lgi.model import LGI

__all__ = ["LGIModule", "IOU_THRESHOLDS", "SELECTION_METRIC"]

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
SELECTION_METRIC = "R@1,IoU=0.5"


class LGIModule(HeadModule):
    """LGI for video grounding.

    Args:
        feature_dim / data_info: linked from :class:`bsp_lgi.data.LGIDataModule` (``data_info`` holds the
            ``vocabulary``, ``num_segments`` and ``benchmark``; checked against the data at test time).
        lr: 4e-4. weight_decay: 0.
        num_phrases, num_nl_blocks, num_heads, output_activation, kernel_size, dim, word_dim, att_hidden_dim,
            regression_hidden_dim, lstm_layers, lstm_dropout, dropout: :class:`bsp_lgi.model.LGI`.
        tag_weight: 1.0. dqa_weight: 1.0. dqa_lambda: Charades 0.3, ActivityNet Captions 0.2.
        glove: optional path of a local GloVe file (``bsp_lightning.text.load_glove``) to initialise the word
            embeddings (trainable; words not in GloVe get zeros, as the official ``load_glove``). Off by default:
            the official setting learns them from scratch (LGI issue #16). The file is read in
            :meth:`setup` when fitting starts (a missing file is one line naming it); test and predict use the
            checkpoint's embeddings and never read it.
        **kwargs: old hyper-parameter names of a checkpoint (:mod:`bsp_lightning.legacy`).
    """

    task = "grounding"
    evaluate_on_validation = True

    def __init__(self, feature_dim: int = 0, data_info: dict[str, Any] | None = None, lr: float = 4e-4,
                 weight_decay: float = 0.0, num_phrases: int = 3, num_nl_blocks: int = 2, num_heads: int = 4,
                 output_activation: str = "relu", kernel_size: int = 15, dim: int = 512, word_dim: int = 300,
                 att_hidden_dim: int = 256, regression_hidden_dim: int = 512, lstm_layers: int = 2,
                 lstm_dropout: float = 0.5, dropout: float = 0.5, tag_weight: float = 1.0, dqa_weight: float = 1.0,
                 dqa_lambda: float = 0.3, glove: str | None = None, **kwargs: Any) -> None:
        super().__init__(feature_dim, data_info, lr=lr, weight_decay=weight_decay, **kwargs)
        self.model = self.build_model()
        self._glove_loaded = False
        self._active_counts = torch.zeros(2)  # training queries with a positive boundary pre-activation, this epoch

    @property
    def vocabulary(self) -> list[str]:
        return list(self.data_info.get("vocabulary") or [])

    def build_model(self) -> nn.Module:
        """:class:`bsp_lgi.model.LGI` sized from ``feature_dim`` and ``data_info``.

        Raises:
            ValueError: no feature width or no vocabulary (the model is built by ``bsp-lightning fit``, which
                links both from the DataModule).
        """
        hp = self.hparams
        if self.feature_dim < 1 or len(self.vocabulary) < 2:
            raise ValueError("LGIModule needs feature_dim and data_info['vocabulary'] (linked from LGIDataModule "
                             f"by bsp-lightning fit); got feature_dim={self.feature_dim}, "
                             f"{len(self.vocabulary)} vocabulary words")
        return LGI(len(self.vocabulary), self.feature_dim, int(self.data_info.get("num_segments", 128)), hp.dim,
                   hp.word_dim, hp.lstm_layers, hp.lstm_dropout, hp.num_phrases, hp.att_hidden_dim, hp.kernel_size,
                   hp.num_nl_blocks, hp.num_heads, hp.regression_hidden_dim, hp.output_activation, hp.dropout)

    def load_glove_embeddings(self) -> None:
        """Initialise the word embeddings from ``glove`` (once; a no-op without it).

        Raises:
            GloveError: the file is missing or malformed (its path and line). ValueError: its vectors are not
                ``word_dim``-d.
        """
        if not self.hparams.glove or self._glove_loaded:
            return
        from bsp_lightning.text import load_glove

        path = self.hparams.glove
        glove = load_glove(path)
        table = self.model.query_encoder.embedding.weight
        if glove.dim != table.size(1):
            raise ValueError(f"{path}: GloVe vectors are {glove.dim}-d but word_dim is {table.size(1)}")
        vectors = torch.zeros_like(table)
        known = torch.tensor([w in glove.vocab for w in self.vocabulary])
        rows = glove.vectors[glove.vocab.encode([w for w in self.vocabulary])]
        vectors[known] = torch.from_numpy(rows[known.numpy()]).to(vectors.dtype)
        with torch.no_grad():
            table.copy_(vectors.to(table.device))
        self._glove_loaded = True

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit":  # a resumed fit then loads the checkpoint's embeddings over these
            self.load_glove_embeddings()

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return self.model(batch["features"], batch["segment_mask"], batch["words"], batch["word_mask"])

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The LGI losses, plus ``active_start`` / ``active_end``: the fraction of queries whose boundary output is
        above 0 before a ReLU output (logged, not optimised; see :meth:`on_train_epoch_end`)."""
        hp = self.hparams
        losses = lgi_losses(outputs, batch["start"], batch["end"], batch["attention_mask"], hp.tag_weight,
                            hp.dqa_weight, hp.dqa_lambda)
        if hp.output_activation == "relu" and outputs.get("loc_logits") is not None:
            active = (outputs["loc_logits"].detach() > 0).float()
            losses["active_start"], losses["active_end"] = active.mean(0)
            if self.training:
                self._active_counts += active.sum(0).cpu()
        return losses

    def on_train_epoch_start(self) -> None:
        self._active_counts = torch.zeros(2)

    def on_train_epoch_end(self) -> None:
        """Warn when a boundary's ReLU output was 0 for every training query of the epoch.

        A quirk of the official Charades head (ReLU on the regression output): a boundary whose pre-activation is
        negative for every input gets no gradient from the regression loss and can stay at 0 for good. Whether it
        happens depends on the initialisation and the features (seen on generated data with the official config at
        seed 0; on random 1024-d input, 6 of 8 seeds start with a boundary negative on a whole batch of 16).
        """
        dead = [name for name, n in zip(("start", "end"), self._active_counts) if n == 0]
        if dead and self.hparams.output_activation == "relu":
            rank_zero_warn(f"LGI: the ReLU output of the {' and '.join(dead)} boundary was 0 for every training "
                           f"query of epoch {self.current_epoch} (no gradient reaches it: the official head's quirk); "
                           "another seed_everything or --model.output_activation sigmoid avoids it")

    def postprocess(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One grounding record per query: the single predicted moment in seconds, ``t x duration``, as is."""
        loc = outputs["loc"].detach().double().cpu()
        duration = batch["duration"].double().cpu()
        seconds = (loc * duration.unsqueeze(1)).tolist()
        gt = batch["gt"].double().cpu().tolist()
        return [{"video": v, "duration": float(d), "query": q, "gt": g, "predictions": [s], "index": int(i)}
                for v, d, q, g, s, i in zip(batch["video"], duration.tolist(), batch["query"], gt, seconds,
                                            batch["index"].tolist())]

    def build_metric(self) -> Callable[[list[dict[str, Any]]], dict[str, float]]:
        """R@1 at IoU 0.3/0.5/0.7 and mIoU, ``lgi`` convention."""
        def metric(records: list[dict[str, Any]]) -> dict[str, float]:
            return grounding_metrics([r["predictions"] for r in records], [r["gt"] for r in records],
                                     recall_at=(1,), iou_thresholds=IOU_THRESHOLDS, convention="lgi")
        return metric

    def configure_optimizers(self) -> Any:
        """Adam(lr, betas (0.9, 0.999), weight decay), no scheduler (official ``scheduler_type: ""``)."""
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
