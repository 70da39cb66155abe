"""LGI's building blocks in pure torch (no Lightning), exact to the official code.

Source: ``JonghwanMun/LGI4temporalgrounding`` @ ``199e7ab``, ``src/model/building_blocks.py`` (class names in each
docstring), paper: Mun et al., "Local-Global Video-Text Interactions for Temporal Grounding", CVPR 2020
(eq. numbers below). Shapes: ``B`` batch, ``L`` words, ``T`` segments (128), ``N`` phrases, ``d`` 512.
Masks are float or bool tensors with 1 on real words / segments and 0 on padding.

Quirks of the official code kept here on purpose (``docs/heads/tan2d-lgi.md`` §2):

* the position embedding goes through ReLU and Dropout(0.5), and its dropout mask is drawn once per batch
  (the ``(1, T, d)`` table is dropped out before it is expanded), so every video of a batch shares it;
* the fusion has three ReLUs that eq. 8 does not show;
* the local ResBlock does not mask padded segments;
* the non-local block scales by ``sqrt(d / heads)``, masks padded *keys* only, and has no LayerNorm;
* masked logits are filled with ``-1e9`` (not ``-inf``), so a fully padded row degenerates to uniform weights.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG_INF = -1e9  # the official fill value of masked logits

__all__ = [
    "QueryEncoder",
    "VideoEmbedding",
    "WordAttention",
    "SequentialQueryAttention",
    "HadamardFusion",
    "ResBlock1D",
    "NonLocalBlock",
    "AttentivePooling",
]


class QueryEncoder(nn.Module):
    """Word embedding + BiLSTM on packed sequences (``QuerySequenceEncoder``, LGI-paper Sec. 3.2).

    Args:
        vocab_size: rows of the embedding table (``<PAD>`` = 0, ``<UNK>`` = 1, ...).
        embedding_dim: 300 (the official setting; learned from scratch unless initialised by the caller).
        hidden_dim: LSTM units per direction (256, so word features are ``2 * 256 = 512``-d).
        num_layers: 2. dropout: between LSTM layers, 0.5.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 300, hidden_dim: int = 256, num_layers: int = 2,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers, batch_first=True, dropout=dropout,
                           bidirectional=True)

    def forward(self, words: torch.Tensor, word_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode queries.

        Args:
            words: int64 ``(B, L)`` word indices, padded with 0 after the last real word.
            word_mask: ``(B, L)``, 1 on real words; every query needs at least one (the data module ensures it).

        Returns:
            ``(word_feats (B, L, 2h), sentence (B, 2h))``: word features are zero on padding (pad_packed_sequence);
            the sentence feature is ``[forward state at the last real word ; backward state at word 0]``.
        """
        length = word_mask.sum(1).long()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(words), length.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.rnn(packed)
        word_feats, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=words.size(1))
        half = word_feats.size(2) // 2
        last = (length - 1).view(-1, 1, 1).expand(-1, 1, half)
        forward_last = word_feats[:, :, :half].gather(1, last).squeeze(1)
        backward_first = word_feats[:, 0, half:]
        return word_feats, torch.cat([forward_last, backward_first], dim=1)


class VideoEmbedding(nn.Module):
    """Segment embedding with an absolute position embedding (``VideoEmbeddingWithPosition``).

    ``S = Dropout(ReLU(Linear(x))) * mask`` plus ``P = Dropout(ReLU(Embedding(position))) * mask``.

    Args:
        feature_dim: input width ``D`` (official I3D: 1024; BSP two-stream R50: 4096).
        dim: output width (512). num_positions: rows of the position table (128 = the segment count).
        dropout: 0.5 on both branches.
    """

    def __init__(self, feature_dim: int, dim: int = 512, num_positions: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        self.segment = nn.Sequential(nn.Linear(feature_dim, dim), nn.ReLU(), nn.Dropout(dropout))
        self.position = nn.Sequential(nn.Embedding(num_positions, dim), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, features: torch.Tensor, segment_mask: torch.Tensor) -> torch.Tensor:
        """``features (B, T, D)``, ``segment_mask (B, T)`` -> ``(B, T, dim)``, zero on padded segments.

        Raises:
            IndexError (from the embedding): ``T`` larger than ``num_positions``.
        """
        mask = segment_mask.float().unsqueeze(2)
        emb = self.segment(features) * mask
        positions = torch.arange(features.size(1), device=features.device).unsqueeze(0)
        # one (1, T, dim) draw expanded over the batch: the official per-batch dropout mask
        return emb + self.position(positions) * mask


class WordAttention(nn.Module):
    """Additive attention of a key over word features (``Attention``; LGI-paper eq. 5-6), all layers with bias.

    ``alpha_l = w . tanh(W_k key + W_f w_l)``, ``-1e9`` on padded words, softmax over words.
    """

    def __init__(self, key_dim: int = 512, feature_dim: int = 512, hidden_dim: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.key2att = nn.Linear(key_dim, hidden_dim)
        self.feat2att = nn.Linear(feature_dim, hidden_dim)
        self.to_alpha = nn.Linear(hidden_dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, key: torch.Tensor, feats: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``key (B, K)``, ``feats (B, L, D)``, ``mask (B, L)`` -> ``(attended (B, D), weights (B, L))``."""
        logits = self.to_alpha(torch.tanh(self.feat2att(feats) + self.key2att(key).unsqueeze(1))).squeeze(2)
        if mask is not None:
            logits = logits.masked_fill(mask.float().eq(0), NEG_INF)
        weights = self.drop(F.softmax(logits, dim=1))
        return torch.bmm(weights.unsqueeze(1), feats).squeeze(1), weights


class SequentialQueryAttention(nn.Module):
    """SQAN (``SequentialQueryAttention``; LGI-paper eq. 4-7): ``N`` phrase features from one query.

    ``g_n = ReLU(W_g [W_q^(n) q ; e_(n-1)])`` with ``e_0 = 0``; ``e_n`` = attention of ``g_n`` over the words.
    ``W_q^(n)`` is one Linear per step, ``W_g`` and the attention are shared across steps.

    Args:
        num_phrases: ``N`` (Charades 3, ActivityNet Captions 5). dim: query width (512).
        hidden_dim: attention width (256). dropout: on the attention weights (0 officially).
    """

    def __init__(self, num_phrases: int = 3, dim: int = 512, hidden_dim: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_phrases = num_phrases
        self.global_emb = nn.ModuleList([nn.Linear(dim, dim) for _ in range(num_phrases)])
        self.guide_emb = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU())
        self.attention = WordAttention(dim, dim, hidden_dim, dropout)

    def forward(self, sentence: torch.Tensor, word_feats: torch.Tensor, word_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``sentence (B, d)``, ``word_feats (B, L, d)``, ``word_mask (B, L)`` ->
        ``(phrases (B, N, d), weights (B, N, L))``; padded words get weight 0 (``exp(-1e9)``)."""
        previous = word_feats.new_zeros(word_feats.size(0), word_feats.size(2))
        phrases, weights = [], []
        for n in range(self.num_phrases):
            guide = self.guide_emb(torch.cat([self.global_emb[n](sentence), previous], dim=1))
            previous, w = self.attention(guide, word_feats, word_mask)
            phrases.append(previous)
            weights.append(w)
        return torch.stack(phrases, dim=1), torch.stack(weights, dim=1)


class HadamardFusion(nn.Module):
    """Segment-level fusion (``HadamardProduct``; LGI-paper eq. 8 plus the code's three ReLUs):
    ``ReLU(W_m(ReLU(W_s s) * ReLU(W_e e)))``."""

    def __init__(self, segment_dim: int = 512, query_dim: int = 512, dim: int = 512) -> None:
        super().__init__()
        self.fc_1 = nn.Linear(segment_dim, dim)
        self.fc_2 = nn.Linear(query_dim, dim)
        self.fc_3 = nn.Linear(dim, dim)

    def forward(self, segments: torch.Tensor, phrase: torch.Tensor) -> torch.Tensor:
        """``segments (B, T, d)``, ``phrase (B, T, d)`` (one phrase expanded over time) -> ``(B, T, d)``."""
        return torch.relu(self.fc_3(torch.relu(self.fc_1(segments)) * torch.relu(self.fc_2(phrase))))


class ResBlock1D(nn.Module):
    """Local context (``ResBlock1D`` with one ``basic_block``, no downsampling; LGI-paper eq. 10).

    ``ReLU(x + BN(Conv(ReLU(BN(Conv(x))))))`` with bias-free Conv1d of kernel ``k``, padding ``k // 2``.
    Padded segments are not masked (as officially); the config's ``res_block_1d_hdim`` is unused there too.
    """

    def __init__(self, dim: int = 512, kernel_size: int = 15) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.block = nn.Sequential(
            nn.Conv1d(dim, dim, kernel_size, 1, pad, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True),
            nn.Conv1d(dim, dim, kernel_size, 1, pad, bias=False), nn.BatchNorm1d(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d)`` -> ``(B, T, d)`` (convolves over ``T``)."""
        x = x.transpose(1, 2)
        return F.relu(self.block(x) + x).transpose(1, 2)


class NonLocalBlock(nn.Module):
    """Multi-head non-local block (``NonLocalBlock`` without the unused local mask; LGI-paper eq. 11-12).

    ``k = W_k x`` (``v_lin``), ``[q ; v] = W_c x`` (``c_lin``, width ``2 * out_dim``); per head ``h``:
    ``softmax_j(k_i . q_j / sqrt(out_dim / heads))`` with ``-1e9`` where segment ``j`` is padding, times ``v``;
    output ``x + concat_h``. Dropout (0 officially) is applied to the input and the output.

    Args:
        dim: input width (512). out_dim: 512 (must equal ``dim`` for the residual). num_heads: 4 (Charades),
        1 (ActivityNet Captions). dropout: 0. bias: True.
    """

    def __init__(self, dim: int = 512, out_dim: int = 512, num_heads: int = 4, dropout: float = 0.0,
                 bias: bool = True) -> None:
        super().__init__()
        if out_dim % num_heads:
            raise ValueError(f"out_dim {out_dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = (out_dim // num_heads) ** 0.5
        self.c_lin = nn.Linear(dim, 2 * out_dim, bias=bias)
        self.v_lin = nn.Linear(dim, out_dim, bias=bias)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, segment_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, d)``, ``segment_mask (B, T)`` -> ``(x + attended (B, T, d), weights (B, heads, T, T))``."""
        B, T, _ = x.shape
        k = self.v_lin(self.drop(x))
        q, v = self.c_lin(self.drop(x)).chunk(2, dim=2)
        heads = self.num_heads
        k = k.view(B, T, heads, -1).transpose(1, 2)  # (B, h, T, d/h)
        q = q.view(B, T, heads, -1).transpose(1, 2)
        v = v.view(B, T, heads, -1).transpose(1, 2)
        logits = k @ q.transpose(2, 3) / self.scale  # (B, h, T_i, T_j)
        logits = logits.masked_fill(segment_mask.float().eq(0).view(B, 1, 1, T), NEG_INF)
        weights = F.softmax(logits, dim=3)
        relation = (weights @ v).transpose(1, 2).reshape(B, T, -1)
        return self.drop(x + relation), weights


class AttentivePooling(nn.Module):
    """Single-glimpse attentive pooling (``AttentivePooling`` with ``att_n = 1``; LGI-paper eq. 9 and 13-14).

    ``o = softmax(w . tanh(W x_i))`` (no biases, ``-1e9`` on masked positions), pooled ``sum_i o_i x_i``,
    then ``Linear(dim, embed_dim)`` when ``embed_dim`` is set (the official ``att_use_embedding``, default on).

    Args:
        dim: input width (512). hidden_dim: 256. embed_dim: output embedding width, or ``None`` for no embedding.
    """

    def __init__(self, dim: int = 512, hidden_dim: int = 256, embed_dim: int | None = 512) -> None:
        super().__init__()
        self.feat2att = nn.Linear(dim, hidden_dim, bias=False)
        self.to_alpha = nn.Linear(hidden_dim, 1, bias=False)
        self.fc = nn.Linear(dim, embed_dim) if embed_dim else None

    def weights(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x (B, A, d)``, ``mask (B, A)`` -> softmax weights ``(B, A)``."""
        logits = self.to_alpha(torch.tanh(self.feat2att(x))).squeeze(2)
        if mask is not None:
            logits = logits.masked_fill(mask.float().eq(0), NEG_INF)
        return F.softmax(logits, dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, A, d)``, ``mask (B, A)`` -> ``(pooled (B, embed_dim or d), weights (B, A))``."""
        w = self.weights(x, mask)
        pooled = torch.bmm(w.unsqueeze(1), x).squeeze(1)
        return (self.fc(pooled) if self.fc is not None else pooled), w
