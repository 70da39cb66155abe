"""The LGI network (``src/model/LGI.py`` of ``JonghwanMun/LGI4temporalgrounding`` @ ``199e7ab``), pure torch.

Query encoder -> SQAN phrases -> local-global video-text interactions -> temporal-attention regression of
``(t_s, t_e)`` in normalised time. See :mod:`bsp_lgi.blocks` for the blocks and their quirks.

Two points where this module departs from the official code without changing any output:

* the official global-context :class:`~bsp_lgi.blocks.AttentivePooling` has an embedding layer (512 x 512 + 512 =
  262,656 parameters) whose output is discarded (only its weights over the phrases are used); it is not built here,
  so the parameter count is the official one minus 262,656 and DDP needs no ``find_unused_parameters``;
* the per-phrase fusion modules, the per-phrase ResBlocks and the non-local blocks are deep copies of one
  instance, so they **start from identical weights**, as in the official ``_make_modulelist`` (kept on purpose).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from bsp_lgi.blocks import (
    AttentivePooling,
    HadamardFusion,
    NonLocalBlock,
    QueryEncoder,
    ResBlock1D,
    SequentialQueryAttention,
    VideoEmbedding,
)

__all__ = ["LGI", "LocalGlobalInteractions", "AttentionRegressor", "replicate"]

OUTPUT_ACTIVATIONS = ("relu", "sigmoid")


def replicate(module: nn.Module, n: int) -> nn.ModuleList:
    """``n`` deep copies of ``module`` (the first is ``module`` itself): identical initial weights, as the
    official ``LocalGlobalVideoTextInteractions._make_modulelist``.

    Raises:
        ValueError: ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"need at least one copy, got {n}")
    return nn.ModuleList([module] + [copy.deepcopy(module) for _ in range(n - 1)])


class LocalGlobalInteractions(nn.Module):
    """Local-global video-text interactions (``LocalGlobalVideoTextInteractions``; LGI-paper Sec. 3.4).

    Per phrase ``n``: Hadamard fusion with the segments, then one ResBlock (local context). Then the phrase-weighted
    sum ``R = sum_n c_n M_n`` with ``c = softmax_n(w . tanh(W e_n))`` (global attentive pooling over phrases,
    no mask) and ``num_nl_blocks`` non-local blocks (global context).
    """

    def __init__(self, num_phrases: int = 3, dim: int = 512, kernel_size: int = 15, num_nl_blocks: int = 2,
                 num_heads: int = 4, att_hidden_dim: int = 256, nl_dropout: float = 0.0) -> None:
        super().__init__()
        self.num_phrases = num_phrases
        self.fusion = replicate(HadamardFusion(dim, dim, dim), num_phrases)
        self.local = replicate(ResBlock1D(dim, kernel_size), num_phrases)
        self.phrase_pool = AttentivePooling(dim, att_hidden_dim, embed_dim=None)
        self.global_blocks = replicate(NonLocalBlock(dim, dim, num_heads, nl_dropout), num_nl_blocks) \
            if num_nl_blocks > 0 else nn.ModuleList()

    def forward(self, segments: torch.Tensor, segment_mask: torch.Tensor, phrases: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``segments (B, T, d)``, ``segment_mask (B, T)``, ``phrases (B, N, d)`` ->
        ``(semantics-aware segments R (B, T, d), phrase weights c (B, N))``.

        Raises:
            ValueError: ``phrases`` has a number of phrases other than ``num_phrases``.
        """
        if phrases.size(1) != self.num_phrases:
            raise ValueError(f"expected {self.num_phrases} phrase features, got {phrases.size(1)}")
        B, T, _ = segments.shape
        local = [
            self.local[n](self.fusion[n](segments, phrases[:, n].unsqueeze(1).expand(B, T, -1)))
            for n in range(self.num_phrases)
        ]
        phrase_weights = self.phrase_pool.weights(phrases)
        fused = (phrase_weights.view(B, -1, 1, 1) * torch.stack(local, dim=1)).sum(dim=1)
        for block in self.global_blocks:
            fused, _ = block(fused, segment_mask)
        return fused, phrase_weights


class AttentionRegressor(nn.Module):
    """Temporal-attention-based regression (``AttentionLocRegressor``; LGI-paper eq. 13-15).

    ``o = softmax_i(w . tanh(W R_i))`` over real segments, ``v = Linear(sum_i o_i R_i)``, then
    ``(t_s, t_e) = act(Linear(ReLU(Linear(v))))`` with ``act`` ReLU on Charades-STA and sigmoid on ActivityNet
    Captions (the official code picks it by dataset name).
    """

    def __init__(self, dim: int = 512, att_hidden_dim: int = 256, hidden_dim: int = 512,
                 output_activation: str = "relu") -> None:
        super().__init__()
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of {OUTPUT_ACTIVATIONS}, got {output_activation!r}")
        self.attention = AttentivePooling(dim, att_hidden_dim, embed_dim=dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2),
                                 nn.ReLU() if output_activation == "relu" else nn.Sigmoid())

    def forward(self, segments: torch.Tensor, segment_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``segments (B, T, d)``, ``segment_mask (B, T)`` -> ``(loc (B, 2) normalised, weights o (B, T),
        pre-activation of loc (B, 2))``."""
        pooled, weights = self.attention(segments, segment_mask)
        logits = self.mlp[:-1](pooled)
        return self.mlp[-1](logits), weights, logits


class LGI(nn.Module):
    """The whole LGI network.

    Args:
        vocab_size: vocabulary size (Charades-STA train: 1,140).
        feature_dim: snippet feature width ``D``.
        num_segments: ``T`` (128), the position-table size.
        dim: the common width ``d`` (512 = 2 x 256 BiLSTM units).
        word_dim: word embedding width (300). lstm_layers: 2. lstm_dropout: 0.5.
        num_phrases: ``N`` (Charades 3, ActivityNet Captions 5); 1 skips SQAN and uses the sentence feature
            (the official LGI-SQAN ablation).
        att_hidden_dim: every attention's hidden width (256).
        kernel_size: local ResBlock kernel (15).
        num_nl_blocks / num_heads: global non-local blocks (Charades 2 x 4 heads, ActivityNet Captions 1 x 1).
        regression_hidden_dim: 512. output_activation: ``"relu"`` (Charades) or ``"sigmoid"`` (ActivityNet).
        dropout: video and position embedding dropout (0.5).
    """

    def __init__(self, vocab_size: int, feature_dim: int, num_segments: int = 128, dim: int = 512,
                 word_dim: int = 300, lstm_layers: int = 2, lstm_dropout: float = 0.5, num_phrases: int = 3,
                 att_hidden_dim: int = 256, kernel_size: int = 15, num_nl_blocks: int = 2, num_heads: int = 4,
                 regression_hidden_dim: int = 512, output_activation: str = "relu", dropout: float = 0.5) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"dim must be even (two LSTM directions), got {dim}")
        if vocab_size < 2 or feature_dim < 1:
            raise ValueError(f"need vocab_size >= 2 and feature_dim >= 1, got {vocab_size}, {feature_dim}")
        self.num_phrases = num_phrases
        self.query_encoder = QueryEncoder(vocab_size, word_dim, dim // 2, lstm_layers, lstm_dropout)
        self.video_embedding = VideoEmbedding(feature_dim, dim, num_segments, dropout)
        self.sqan = SequentialQueryAttention(num_phrases, dim, att_hidden_dim) if num_phrases > 1 else None
        self.interactions = LocalGlobalInteractions(num_phrases, dim, kernel_size, num_nl_blocks, num_heads,
                                                    att_hidden_dim)
        self.regressor = AttentionRegressor(dim, att_hidden_dim, regression_hidden_dim, output_activation)

    def forward(self, features: torch.Tensor, segment_mask: torch.Tensor, words: torch.Tensor,
                word_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Localise each query in its video.

        Args:
            features: float32 ``(B, T, D)`` sampled segment features, zero rows after the real ones.
            segment_mask: ``(B, T)``, 1 on real segments.
            words: int64 ``(B, L)`` word indices (0 = padding). word_mask: ``(B, L)``, 1 on real words.

        Returns:
            ``{"loc": (B, 2) normalised (t_s, t_e), not clipped or ordered; "temporal_attention": (B, T) o;
            "phrase_attention": (B, N, L) SQAN weights (``None`` when ``num_phrases == 1``);
            "phrase_weights": (B, N) c; "loc_logits": (B, 2) loc before the output activation}``.
        """
        word_feats, sentence = self.query_encoder(words, word_mask)
        segments = self.video_embedding(features, segment_mask)
        if self.sqan is not None:
            phrases, phrase_attention = self.sqan(sentence, word_feats, word_mask)
        else:
            phrases, phrase_attention = sentence.unsqueeze(1), None
        fused, phrase_weights = self.interactions(segments, segment_mask, phrases)
        loc, temporal_attention, loc_logits = self.regressor(fused, segment_mask)
        return {"loc": loc, "temporal_attention": temporal_attention, "phrase_attention": phrase_attention,
                "phrase_weights": phrase_weights, "loc_logits": loc_logits}
