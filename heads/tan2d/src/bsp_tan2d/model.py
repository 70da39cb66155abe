"""The 2D-TAN network in pure torch (official ``lib/models/tan.py`` and its modules; no Lightning here).

Shapes (B = batch, T = 256 resampled snippets, D = feature dim, H = hidden 512, N = map side, L = words):

* :class:`FrameAvgPool`: ``(B, T, D)`` -> ``(B, H, N)``: 1x1 Conv1d, ReLU, AvgPool1d(T / N)
  (``frame_modules/frame_pool.py``).
* :class:`SparseMap`: ``(B, H, N)`` -> ``(B, H, N, N)``: the pool variant (1-D max-pools) or the conv variant
  (Conv1d steps with no nonlinearity in between), cells of :func:`bsp_tan2d.maps.map_steps`, 0 elsewhere
  (``prop_modules/sparse.py``).
* :class:`TextEncoder`: ``(B, L, 300)`` word vectors + lengths -> ``(B, H)``: a unidirectional LSTM read at
  the last real token (``fusion_modules/base_fusion.py``).
* :class:`Fusion`: ``normalize(Linear(text) * Conv2d_1x1(map), dim=1) * mask`` (``base_fusion.py``).
* :class:`MapConv`: the temporal adjacent network; all padding in the first layer; after each conv a ReLU
  and a multiplication by ``1 / count``, count = valid cells of the (growing) mask in the receptive field
  (``map_modules/map_conv.py``, ``map_modules/__init__.py`` ``get_padded_mask_and_weight``).
* :class:`TAN2D`: all of it plus a 1x1 prediction conv times the map mask -> logits ``(B, N, N)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bsp_tan2d.maps import map_mask, map_steps

__all__ = ["FrameAvgPool", "SparseMap", "TextEncoder", "Fusion", "MapConv", "TAN2D", "mask_count_weights"]


class FrameAvgPool(nn.Module):
    """``(B, T, D)`` float32 -> ``(B, hidden, T // stride)``: 1x1 Conv1d D -> hidden, ReLU, AvgPool1d(stride)."""

    def __init__(self, input_dim: int, hidden: int = 512, stride: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv1d(input_dim, hidden, 1, 1)
        self.pool = nn.AvgPool1d(stride, stride)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.conv(features.transpose(1, 2))))


class SparseMap(nn.Module):
    """The sparse 2D temporal map of ``(B, C, N)`` clip features -> ``(B, C, N, N)``.

    Args:
        num_clips: ``N``.
        num_scale_layers: the official ``NUM_SCALE_LAYERS`` (``[16]`` Charades, ``[16, 8, 8]`` ActivityNet
            Captions, ``[16, 8, 8, 8]`` TACoS).
        variant: ``"pool"`` (``SparsePropMaxPool``: cell = max over its clips) or ``"conv"``
            (``SparsePropConv``: Conv1d C -> C per step, kernel 1 / 2 / 3 as the pool's, no nonlinearity).
        channels: ``C`` (conv variant only).

    The mask (``(N, N)`` bool buffer ``mask``) marks the filled cells.
    """

    def __init__(self, num_clips: int, num_scale_layers: Sequence[int] = (16,), variant: str = "conv",
                 channels: int = 512) -> None:
        super().__init__()
        if variant not in ("pool", "conv"):
            raise ValueError(f"map variant must be 'pool' or 'conv', got {variant!r}")
        self.num_clips = int(num_clips)
        self.variant = variant
        self.steps = map_steps(self.num_clips, num_scale_layers)
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, s.kernel, s.stride) for s in self.steps
        ) if variant == "conv" else None
        cells = torch.cat([torch.as_tensor(s.starts * self.num_clips + s.ends) for s in self.steps])
        self.register_buffer("cells", cells, persistent=False)
        self.register_buffer("mask", torch.as_tensor(map_mask(self.num_clips, num_scale_layers)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, num_clips = x.shape
        if num_clips != self.num_clips:
            raise ValueError(f"SparseMap built for {self.num_clips} clips got {num_clips}")
        values = []
        for i, step in enumerate(self.steps):
            if self.convs is not None:
                x = self.convs[i](x)
            else:
                x = F.max_pool1d(x, step.kernel, step.stride)
            values.append(x[:, :, : step.count])
        out = x.new_zeros(batch, channels, num_clips * num_clips)
        out[:, :, self.cells] = torch.cat(values, dim=2)
        return out.view(batch, channels, num_clips, num_clips)


class TextEncoder(nn.Module):
    """``(B, L, word_dim)`` word vectors (zero-padded) and ``(B,)`` lengths -> ``(B, hidden)``.

    An ``nn.LSTM(word_dim, hidden, num_layers, batch_first=True)`` over the padded batch (no packing, as the
    official code), read at index ``length - 1``; the LSTM is unidirectional, so padding after the last word
    cannot reach it.
    """

    def __init__(self, word_dim: int = 300, hidden: int = 512, num_layers: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(word_dim, hidden, num_layers=num_layers, batch_first=True)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = self.lstm(words)[0]
        index = (lengths.to(out.device).long() - 1).clamp(min=0)
        return out[torch.arange(out.shape[0], device=out.device), index]


class Fusion(nn.Module):
    """``normalize(Linear(text)[:, :, None, None] * Conv2d_1x1(map), dim=1) * mask`` -> ``(B, H, N, N)``."""

    def __init__(self, text_dim: int = 512, hidden: int = 512) -> None:
        super().__init__()
        self.text_linear = nn.Linear(text_dim, hidden)
        self.map_conv = nn.Conv2d(hidden, hidden, 1, 1)

    def forward(self, text: torch.Tensor, map_h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        fused = self.text_linear(text)[:, :, None, None] * self.map_conv(map_h)
        return F.normalize(fused, dim=1) * mask


def mask_count_weights(mask: torch.Tensor, kernel: int, padding: int = 0, stride: int = 1,
                       dilation: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(next_mask bool, weight float)`` of one map-conv layer, both ``(N', N')``, for a ``(N, N)`` mask.

    ``count = round(conv2d(mask, ones(k, k)))`` with the layer's stride, padding and dilation; ``weight`` is
    ``1 / count`` where ``count > 0`` else 0, and ``next_mask = count > 0`` (it grows layer by layer)
    (official ``get_padded_mask_and_weight``).
    """
    ones = torch.ones(1, 1, kernel, kernel, dtype=torch.float32, device=mask.device)
    count = torch.round(F.conv2d(mask.float()[None, None], ones, stride=stride, padding=padding,
                                 dilation=dilation))[0, 0]
    weight = torch.where(count > 0, 1.0 / count.clamp(min=1), torch.zeros_like(count))
    return count > 0, weight


class MapConv(nn.Module):
    """The temporal adjacent network: ``num_layers`` Conv2d(hidden, hidden, kernel), padding only in layer 1.

    ``forward(x (B, H, N, N)) -> (B, H, N, N)``: ``x = relu(conv(x)) * weight_l`` per layer, the weights of
    :func:`mask_count_weights` chained from the map mask. ``padding`` must give an ``N x N`` output:
    ``2 * padding == (kernel - 1) * num_layers`` (16 in every official config).
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 512, kernel: int = 5, num_layers: int = 8,
                 padding: int = 16) -> None:
        super().__init__()
        if 2 * padding != (kernel - 1) * num_layers:
            raise ValueError(
                f"map conv padding {padding} with {num_layers} layers of kernel {kernel} does not keep the map "
                f"size (need 2 * padding == (kernel - 1) * num_layers)"
            )
        self.convs = nn.ModuleList(
            nn.Conv2d(hidden, hidden, kernel, 1, padding if i == 0 else 0) for i in range(num_layers)
        )
        current = mask.bool()
        for i, conv in enumerate(self.convs):
            current, weight = mask_count_weights(current, kernel, conv.padding[0])
            self.register_buffer(f"weight_{i}", weight, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x)) * getattr(self, f"weight_{i}")
        return x


class TAN2D(nn.Module):
    """2D-TAN: ``forward(features (B, T, D), words (B, L, word_dim), lengths (B,)) -> logits (B, N, N)``.

    Logits are 0 outside the map mask (``self.mask``, ``(N, N)`` bool); scores are ``sigmoid(logits) * mask``.

    Args:
        input_dim: ``D`` of the (L2-normalised, resampled) snippet features.
        num_sample_clips: ``T`` (256 in every official config).
        num_clips: ``N`` (16 Charades-STA, 64 ActivityNet Captions, 128 TACoS); ``T`` must be a multiple.
        num_scale_layers, map_variant: of :class:`SparseMap`.
        hidden: every channel width (512).
        word_dim, text_hidden, text_layers: of :class:`TextEncoder` (300, 512, 3).
        map_kernel, map_layers, map_padding: of :class:`MapConv` (5/8/16 Charades and TACoS, 9/4/16 ANet).
    """

    def __init__(self, input_dim: int, num_sample_clips: int = 256, num_clips: int = 16,
                 num_scale_layers: Sequence[int] = (16,), map_variant: str = "conv", hidden: int = 512,
                 word_dim: int = 300, text_hidden: int = 512, text_layers: int = 3, map_kernel: int = 5,
                 map_layers: int = 8, map_padding: int = 16) -> None:
        super().__init__()
        if input_dim < 1:
            raise ValueError(f"input_dim must be >= 1, got {input_dim}")
        if num_sample_clips % num_clips:
            raise ValueError(f"num_sample_clips {num_sample_clips} is not a multiple of num_clips {num_clips}")
        self.frame = FrameAvgPool(input_dim, hidden, num_sample_clips // num_clips)
        self.prop = SparseMap(num_clips, num_scale_layers, map_variant, hidden)
        self.text = TextEncoder(word_dim, text_hidden, text_layers)
        self.fusion = Fusion(text_hidden, hidden)
        self.map_conv = MapConv(self.prop.mask, hidden, map_kernel, map_layers, map_padding)
        self.pred = nn.Conv2d(hidden, 1, 1, 1)

    @property
    def mask(self) -> torch.Tensor:
        return self.prop.mask

    def forward(self, features: torch.Tensor, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = self.prop.mask.to(features.dtype)
        map_h = self.prop(self.frame(features))
        fused = self.fusion(self.text(words, lengths), map_h, mask)
        return (self.pred(self.map_conv(fused)) * mask)[:, 0]
