"""``Tan2dModule``: 2D-TAN as a bsp-lightning head (task ``"grounding"``).

Training follows the official ``moment_localization/train.py``: Adam (lr 1e-4, betas (0.9, 0.999), no weight
decay), gradient clipping at L2 norm 10 (``trainer.gradient_clip_val`` in the configs), batch 32, and where a
validation split exists in the official config (ActivityNet Captions; TACoS pool) ``ReduceLROnPlateau(factor 0.8,
patience 20)`` stepped each epoch -- with the official quirk that it is stepped on ``-val_loss`` in mode
``"min"``, so a *rising* validation loss counts as progress (:class:`NegatedLossPlateau`). Charades-STA
(``NO_VAL``) trains at a constant rate. The official code evaluates every ``int(#train / 32)`` iterations, a
little less than an epoch; here once per epoch.

Words: 2D-TAN's frozen ``glove.6B.300d`` vectors (``--model.glove PATH``; unknown words get the zero row), read
from a memory-mapped cache on the CPU and never stored in checkpoints, as the official lookup in the dataset.
``word_embedding="learned"`` trains an embedding over the training file's tokens instead, for users without
GloVe: **not the paper's setting**.

Test: scores ``sigmoid(logits) * mask`` ranked over the upper triangle, moments ``[a, b + 1] / N * duration``,
NMS at ``nms_threshold`` keeping 5 (:mod:`bsp_tan2d.inference`), R@{1,5} at IoU {0.3, 0.5, 0.7} and mIoU under
the ``"2dtan"`` convention (strict ``>`` against the ground truth clipped to the video).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from bsp_lightning.evaluation.grounding import grounding_metrics
from bsp_lightning.heads import HeadModule, InvalidArgumentError
from bsp_lightning.text import GloveError, Vocabulary, load_glove
from bsp_lightning.text.glove import HOW_TO_GET
from bsp_tan2d.inference import predict_moments
from bsp_tan2d.losses import bce_rescale_loss
from bsp_tan2d.maps import iou_target_map
from bsp_tan2d.model import TAN2D

__all__ = ["Tan2dModule", "NegatedLossPlateau"]


class NegatedLossPlateau(ReduceLROnPlateau):
    """``ReduceLROnPlateau`` stepped on the negated metric: the official ``scheduler.step(-val_loss)`` in mode
    ``"min"`` (``moment_localization/train.py``), thresholds included."""

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        super().step(-float(metrics))


class Tan2dModule(HeadModule):
    """2D-TAN (AAAI 2020) for temporal grounding; every default is the official Charades-STA conv config.

    Args:
        feature_dim: ``D`` of the features (linked from the DataModule).
        data_info: ``{"num_sample_clips": T, "vocabulary": [...]}`` from the DataModule (the vocabulary is used by
            ``word_embedding="learned"`` only).
        lr, weight_decay: Adam's (1e-4, 0).
        glove: path of ``glove.6B.300d.txt`` (or its ``.zip``/``.gz``/folder); required with
            ``word_embedding="glove"``.
        word_embedding: ``"glove"`` (frozen, the paper's) or ``"learned"`` (trained from scratch over the
            training tokens; not the paper's setting).
        num_clips: map side ``N`` (16 / 64 / 128).
        num_scale_layers, map_variant: the sparse map (``[16]``, ``"conv"`` or ``"pool"``).
        hidden, word_dim, text_hidden, text_layers: widths (512, 300, 512, 3).
        map_kernel, map_layers, map_padding: the temporal adjacent network (5, 8, 16 on Charades-STA).
        min_iou, max_iou, iou_bias: the target scaling (0.5, 1.0, 0; TACoS 0.3, 0.7).
        nms_threshold: ``TEST.NMS_THRESH`` (0.5 conv, 0.45 pool on Charades-STA).
        top_k: moments kept per query (``max(TEST.RECALL)`` = 5).
        recall_at, iou_thresholds: the reported R@n,IoU=m.
        lr_plateau: the official ReduceLROnPlateau on ``-val_loss`` (configs with an official validation split).
        plateau_factor, plateau_patience: 0.8, 20.
        evaluate_on_validation: score the validation split each epoch (``val/R@1,IoU=0.5`` selects the epoch).
        **kwargs: old hyper-parameter names of a checkpoint (:mod:`bsp_lightning.legacy`).

    Raises:
        InvalidArgumentError: an unknown ``word_embedding``. ValueError: ``data_info`` without
        ``num_sample_clips``. The GloVe file is read in :meth:`setup` (:meth:`load_words`).
    """

    task = "grounding"

    def __init__(self, feature_dim: int = 0, data_info: dict[str, Any] | None = None, lr: float = 1e-4,
                 weight_decay: float = 0.0, glove: str | None = None, word_embedding: str = "glove",
                 num_clips: int = 16, num_scale_layers: Sequence[int] = (16,),
                 map_variant: str = "conv", hidden: int = 512, word_dim: int = 300, text_hidden: int = 512,
                 text_layers: int = 3, map_kernel: int = 5, map_layers: int = 8, map_padding: int = 16,
                 min_iou: float = 0.5, max_iou: float = 1.0, iou_bias: float = 0.0, nms_threshold: float = 0.5,
                 top_k: int = 5, recall_at: Sequence[int] = (1, 5),
                 iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7), lr_plateau: bool = False,
                 plateau_factor: float = 0.8, plateau_patience: int = 20,
                 evaluate_on_validation: bool = True, **kwargs: Any) -> None:
        super().__init__(feature_dim, data_info, lr=lr, weight_decay=weight_decay, **kwargs)
        if "num_sample_clips" not in self.data_info:
            raise ValueError("2D-TAN: data_info lacks num_sample_clips (linked from Tan2dDataModule by bsp-lightning "
                             "fit; in Python: data_info={'num_sample_clips': 256, ...})")
        self.num_sample_clips = int(self.data_info["num_sample_clips"])
        self.evaluate_on_validation = evaluate_on_validation
        self.num_clips = int(num_clips)
        self._glove_vectors: np.ndarray | None = None
        self.embedding: nn.Embedding | None = None
        self.vocab: Vocabulary | None = None
        if word_embedding == "glove":
            pass  # read in setup(): raised here, jsonargparse would bury a missing file under a config error
        elif word_embedding == "learned":
            words = ["<pad>", "<unk>"] + [w for w in self.data_info.get("vocabulary", []) if w not in ("<pad>", "<unk>")]
            self.vocab = Vocabulary(words, unk_index=1)
            self.embedding = nn.Embedding(len(words), word_dim, padding_idx=0)
        else:
            raise InvalidArgumentError(f"word_embedding must be 'glove' or 'learned', got {word_embedding!r}")
        self.model = self.build_model()

    def load_words(self) -> None:
        """Read the GloVe vectors (``word_embedding="glove"``) unless done; called by :meth:`setup` and
        :meth:`embed`.

        Raises:
            GloveError: ``glove`` not given (the message says which file to get), missing or malformed (file and
                line), or its vectors are not ``word_dim``-d; or given with ``word_embedding="learned"``, which
                would silently ignore it.
        """
        h = self.hparams
        if h.word_embedding == "learned" and h.glove:
            raise GloveError(h.glove, "given, but --model.word_embedding is 'learned', which would ignore it: add "
                                      "--model.word_embedding glove (and --model.word_dim to the file's width, 300 for "
                                      "glove.6B.300d), or drop --model.glove")
        if self.vocab is not None:
            return
        if not h.glove:
            raise GloveError(None, f"2D-TAN needs GloVe word vectors: pass --model.glove PATH ({HOW_TO_GET}); "
                                   "--model.word_embedding learned trains embeddings instead (not the paper's)")
        vectors = load_glove(h.glove)
        if vectors.dim != h.word_dim:
            raise GloveError(h.glove, f"{vectors.dim}-d vectors, but --model.word_dim is {h.word_dim} (2D-TAN: 300)")
        self.vocab = vectors.vocab
        self._glove_vectors = vectors.vectors

    def setup(self, stage: str) -> None:
        super().setup(stage)
        self.load_words()

    def build_model(self) -> TAN2D:
        h = self.hparams
        return TAN2D(self.feature_dim, self.num_sample_clips, h.num_clips, list(h.num_scale_layers), h.map_variant,
                     h.hidden, h.word_dim, h.text_hidden, h.text_layers, h.map_kernel, h.map_layers, h.map_padding)

    # --- forward and loss -----------------------------------------------------------------------------------

    def embed(self, tokens: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(words (B, L, word_dim) float32, lengths (B,) int64)`` of tokenised queries, zero-padded."""
        self.load_words()
        lengths = [len(t) for t in tokens]
        if min(lengths) < 1:
            raise ValueError("a query without tokens reached the model (the DataModule skips them)")
        pad = self.vocab.unk_index if self.embedding is None else 0
        index = np.full((len(tokens), max(lengths)), pad, dtype=np.int64)
        for i, t in enumerate(tokens):
            index[i, : len(t)] = self.vocab.encode(t)
        if self.embedding is None:
            words = torch.from_numpy(np.ascontiguousarray(self._glove_vectors[index])).to(self.device)
        else:
            words = self.embedding(torch.from_numpy(index).to(self.device))
        return words, torch.tensor(lengths, dtype=torch.int64, device=self.device)

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        words, lengths = self.embed(batch["tokens"])
        return {"logits": self.model(batch["features"], words, lengths)}

    def target_maps(self, batch: Mapping[str, Any]) -> torch.Tensor:
        """``(B, N, N)`` IoU maps of the batch's ground truths (:func:`bsp_tan2d.maps.iou_target_map`)."""
        gt = batch["gt"].detach().cpu().double().numpy()
        durations = batch["duration"].detach().cpu().double().numpy()
        maps = np.stack([iou_target_map(s, e, d, self.num_clips) for (s, e), d in zip(gt, durations)])
        return torch.from_numpy(maps).float().to(self.device)

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        h = self.hparams
        loss, _ = bce_rescale_loss(outputs["logits"], self.model.mask, self.target_maps(batch), h.min_iou,
                                   h.max_iou, h.iou_bias)
        return {"loss": loss}

    # --- predictions --------------------------------------------------------------------------------------

    def postprocess(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> list[dict[str, Any]]:
        scores = (torch.sigmoid(outputs["logits"]) * self.model.mask).detach().float().cpu().numpy()
        gt = batch["gt"].detach().cpu().double().numpy()
        items = []
        for i, duration in enumerate(batch["duration"].tolist()):
            items.append({
                "video": batch["video"][i],
                "duration": float(duration),
                "query": batch["query"][i],
                "gt": [float(gt[i, 0]), float(gt[i, 1])],
                "predictions": predict_moments(scores[i], float(duration), self.hparams.nms_threshold,
                                               self.hparams.top_k),
                "index": int(batch["index"][i]),
            })
        return items

    def build_metric(self) -> Callable[[list[dict[str, Any]]], dict[str, float]]:
        h = self.hparams

        def metric(records: list[dict[str, Any]]) -> dict[str, float]:
            return grounding_metrics([np.asarray(r["predictions"], dtype=np.float64).reshape(-1, 2) for r in records],
                                     [r["gt"] for r in records], tuple(h.recall_at), tuple(h.iou_thresholds),
                                     convention="2dtan", nms_threshold=h.nms_threshold)

        return metric

    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=self.lr, betas=(0.9, 0.999), weight_decay=self.weight_decay)
        if not self.hparams.lr_plateau:
            return {"optimizer": optimizer}
        scheduler = NegatedLossPlateau(optimizer, mode="min", factor=self.hparams.plateau_factor,
                                       patience=self.hparams.plateau_patience)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss", "interval": "epoch"}}
