"""G-TAD (Xu et al., CVPR 2020) as a pure PyTorch module: GCNeXt blocks, SGAlign and the 2-D localisation maps.

Everything follows ``gtad_lib/models.py`` of ``frostinassiky/gtad`` (branch ``anet`` @ 3f145d5 for ActivityNet,
``master`` @ 6deb5b1 for THUMOS; facts in ``docs/heads/gtad-actionness.md`` §1.3 and §1.8):

* stem: ``Conv1d(feature_dim -> 256, k=3, pad=1, groups=4)`` + ReLU + GCNeXt; start and end branches (a GCNeXt
  each, then ``Conv1d(256 -> 1)`` + sigmoid) read the stem output; a second GCNeXt feeds SGAlign;
* GCNeXt: temporal stream (1x1, grouped k=3, 1x1 convs) + identity + semantic stream (edge convs over the k=3
  nearest neighbours in feature space, recomputed in every block, max over neighbours), ReLU of the sum;
* SGAlign: for every (start s, duration d) cell with ``s + d < T`` the range ``[s - L/2, s + d + L/2]``
  (``L = d + 1``) is sampled at ``inner_points`` positions of the block output and ``context_points`` positions
  of the mean of each node's 3 nearest neighbours; invalid cells use the box ``[0, 0]`` exactly as the
  original (they matter on THUMOS, whose 3x3 convolutions mix neighbouring cells);
* the official CUDA ``Align1D`` is ``torchvision.ops.roi_align`` on ``(B, C, 1, T)`` with ``aligned=False``,
  ``sampling_ratio=0`` and boxes ``[b, start, 0, end, 0]`` (identical numbers; no custom extension);
* outputs: ``confidence (B, 2, D, T)`` indexed ``[duration, start]``, channel 0 = "reg" (IoU regression),
  channel 1 = "cls"; ``start``/``end`` ``(B, T)``.

Memory: the aligned tensor is ``B*T*D x 256 x 36`` floats (5.9 GB at the ActivityNet config, batch 16). With
``memory_saving=True`` SGAlign and the two leading 1x1 convolutions run per chunk of start positions under
activation checkpointing, so only one chunk's aligned features ever exist (recomputed in backward); the
numbers are those of the plain path (same operations, chunked).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint
from torchvision.ops import roi_align

__all__ = ["knn_indices", "neighbour_features", "GCNeXt", "sgalign_anchors", "align1d", "SGAlign", "GTAD"]


def knn_indices(x: Tensor, k: int = 3) -> Tensor:
    """Indices ``(B, T, k)`` of each node's ``k`` nearest nodes (squared Euclidean distance over channels).

    ``x`` is ``(B, C, T)``. The score is ``-|x_n|^2 + 2 x_m.x_n - |x_m|^2`` in the official operation order
    (so near-ties break the same way); a node is normally its own first neighbour. No gradient flows through
    the indices.
    """
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    sq = torch.sum(x**2, dim=1, keepdim=True)
    score = -sq - inner - sq.transpose(2, 1)
    return score.topk(k=k, dim=-1).indices


def neighbour_features(x: Tensor, idx: Tensor) -> Tensor:
    """Gather neighbours: ``x (B, C, T)``, ``idx (B, T, k)`` -> ``(B, C, T, k)``."""
    b, c, t = x.shape
    k = idx.shape[-1]
    flat = x.transpose(1, 2).reshape(b * t, c)
    base = torch.arange(b, device=x.device).view(b, 1, 1) * t
    return flat[(idx + base).reshape(-1)].view(b, t, k, c).permute(0, 3, 1, 2)


class GCNeXt(nn.Module):
    """One GCNeXt block (``channels -> channels``), ``(B, C, T) -> (B, C, T)``.

    Args:
        channels: C (256 in G-TAD).
        k: neighbours of the semantic graph (3).
        groups: cardinality (32).
        width_group: channels per group (4): the bottleneck width is ``groups * width_group``.
    """

    def __init__(self, channels: int, k: int = 3, groups: int = 32, width_group: int = 4) -> None:
        super().__init__()
        self.k = k
        width = groups * width_group
        self.tconvs = nn.Sequential(
            nn.Conv1d(channels, width, 1), nn.ReLU(),
            nn.Conv1d(width, width, 3, padding=1, groups=groups), nn.ReLU(),
            nn.Conv1d(width, channels, 1),
        )  # fmt: skip
        self.sconvs = nn.Sequential(
            nn.Conv2d(2 * channels, width, 1), nn.ReLU(),
            nn.Conv2d(width, width, 1, groups=groups), nn.ReLU(),
            nn.Conv2d(width, channels, 1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        idx = knn_indices(x, self.k)
        nb = neighbour_features(x, idx)
        # edge feature = (neighbour, centre), not the difference (style 1 of the official graph feature)
        edges = torch.cat((nb, x.unsqueeze(-1).expand_as(nb)), dim=1)
        semantic = self.sconvs(edges).max(dim=-1).values
        return F.relu(self.tconvs(x) + x + semantic)


def sgalign_anchors(temporal_scale: int, max_duration: int, expand_ratio: float = 0.5) -> Tensor:
    """The sampled ranges ``(T * D, 2)`` in snippet-index units, row ``s * D + d`` (start-major, as the official).

    Valid cells (``s + d < T``) sample ``[s - r L, s + d + r L]`` with ``L = d + 1``; invalid ones ``[0, 0]``.
    float64 (cast to the feature dtype when used, as the official float anchors).
    """
    s = torch.arange(temporal_scale, dtype=torch.float64).view(-1, 1).expand(-1, max_duration)
    d = torch.arange(max_duration, dtype=torch.float64).view(1, -1).expand(temporal_scale, -1)
    length = d + 1
    valid = (s + d) < temporal_scale
    lo = torch.where(valid, s - length * expand_ratio, torch.zeros_like(s))
    hi = torch.where(valid, s + d + length * expand_ratio, torch.zeros_like(s))
    return torch.stack((lo, hi), dim=-1).reshape(-1, 2)


def align1d(x: Tensor, ranges: Tensor, points: int) -> Tensor:
    """Official ``Align1D`` (adaptive sampling, spatial scale 1) via ``roi_align``.

    Args:
        x: ``(B, C, T)`` features.
        ranges: ``(B, N, 2)`` ``[start, end]`` per video, snippet-index units.
        points: output points per range.

    Returns:
        ``(B * N, C, points)``, row ``b * N + n``.
    """
    b, n, _ = ranges.shape
    batch = torch.arange(b, device=x.device, dtype=x.dtype).view(b, 1, 1).expand(b, n, 1)
    zero = torch.zeros_like(batch)
    r = ranges.to(x.dtype)
    boxes = torch.cat((batch, r[..., :1], zero, r[..., 1:], zero), dim=-1).reshape(-1, 5)
    out = roi_align(x.unsqueeze(2), boxes, output_size=(1, points), spatial_scale=1.0, sampling_ratio=0,
                    aligned=False)
    return out.squeeze(2)


class SGAlign(nn.Module):
    """Sub-graph alignment: ``(B, C, T) -> (B, C * (inner + context), D, T)``.

    Channel index ``c * P + p`` with the inner points first, then the context points (official layout).
    """

    def __init__(self, temporal_scale: int, max_duration: int, inner_points: int = 32, context_points: int = 4,
                 k: int = 3, expand_ratio: float = 0.5) -> None:
        super().__init__()
        self.temporal_scale, self.max_duration = temporal_scale, max_duration
        self.inner_points, self.context_points, self.k = inner_points, context_points, k
        self.register_buffer("anchors", sgalign_anchors(temporal_scale, max_duration, expand_ratio), persistent=False)

    def context(self, x: Tensor) -> Tensor:
        """Mean of each node's ``k`` nearest neighbours (self included), ``(B, C, T)``."""
        return neighbour_features(x, knn_indices(x, self.k)).mean(dim=-1)

    def aligned(self, x: Tensor, ctx: Tensor, starts: slice | None = None) -> Tensor:
        """Aligned features of the cells with start in ``starts``: ``(B, n_starts, D, C * P)``."""
        starts = starts or slice(0, self.temporal_scale)
        d = self.max_duration
        rows = self.anchors[starts.start * d : starts.stop * d]
        ranges = rows.unsqueeze(0).expand(x.shape[0], -1, -1)
        inner = align1d(x, ranges, self.inner_points)
        outer = align1d(ctx, ranges, self.context_points)
        feat = torch.cat((inner, outer), dim=2)
        return feat.view(x.shape[0], starts.stop - starts.start, d, -1)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.temporal_scale:
            raise ValueError(f"SGAlign expects T = {self.temporal_scale} positions, got {x.shape[-1]}")
        return self.aligned(x, self.context(x)).permute(0, 3, 2, 1)


class GTAD(nn.Module):
    """The G-TAD network. Input ``(B, feature_dim, T)``; output dict (see the module docstring).

    Args:
        feature_dim: input channels (divisible by ``stem_groups``).
        temporal_scale: T (ActivityNet 100, THUMOS 256).
        max_duration: D (ActivityNet 100, THUMOS 64).
        hidden_1d / hidden_2d / hidden_3d: 256 / 128 / 512 in the official code.
        inner_points / context_points: SGAlign points (ActivityNet 32 / 4, THUMOS 16 / 16).
        kernel_2d / padding_2d: the two middle 2-D convolutions (ActivityNet 1 / 0, THUMOS 3 / 1).
        k, groups, width_group: GCNeXt neighbours and cardinality (3, 32, 4).
        stem_groups: groups of the input convolution (4).
        memory_saving: chunked, checkpointed SGAlign + first two 1x1 convolutions (same numbers).
        chunk_starts: start positions per chunk on the memory-saving path.
    """

    def __init__(
        self,
        feature_dim: int,
        temporal_scale: int = 100,
        max_duration: int = 100,
        hidden_1d: int = 256,
        hidden_2d: int = 128,
        hidden_3d: int = 512,
        inner_points: int = 32,
        context_points: int = 4,
        kernel_2d: int = 1,
        padding_2d: int = 0,
        k: int = 3,
        groups: int = 32,
        width_group: int = 4,
        stem_groups: int = 4,
        memory_saving: bool = False,
        chunk_starts: int = 10,
    ) -> None:
        super().__init__()
        if feature_dim <= 0 or feature_dim % stem_groups:
            raise ValueError(f"feature_dim must be a positive multiple of {stem_groups}, got {feature_dim}")
        if not 0 < max_duration <= temporal_scale:
            raise ValueError(f"max_duration must be in [1, temporal_scale={temporal_scale}], got {max_duration}")
        self.temporal_scale, self.max_duration = temporal_scale, max_duration
        self.memory_saving, self.chunk_starts = memory_saving, chunk_starts
        block = dict(k=k, groups=groups, width_group=width_group)
        self.backbone1 = nn.Sequential(
            nn.Conv1d(feature_dim, hidden_1d, 3, padding=1, groups=stem_groups), nn.ReLU(), GCNeXt(hidden_1d, **block)
        )
        self.regu_s = nn.Sequential(GCNeXt(hidden_1d, **block), nn.Conv1d(hidden_1d, 1, 1), nn.Sigmoid())
        self.regu_e = nn.Sequential(GCNeXt(hidden_1d, **block), nn.Conv1d(hidden_1d, 1, 1), nn.Sigmoid())
        self.backbone2 = GCNeXt(hidden_1d, **block)
        self.goi_align = SGAlign(temporal_scale, max_duration, inner_points, context_points, k=k)
        self.localization = nn.Sequential(
            nn.Conv2d(hidden_1d * (inner_points + context_points), hidden_3d, 1), nn.ReLU(),
            nn.Conv2d(hidden_3d, hidden_2d, 1), nn.ReLU(),
            nn.Conv2d(hidden_2d, hidden_2d, kernel_2d, padding=padding_2d), nn.ReLU(),
            nn.Conv2d(hidden_2d, hidden_2d, kernel_2d, padding=padding_2d), nn.ReLU(),
            nn.Conv2d(hidden_2d, 2, 1), nn.Sigmoid(),
        )  # fmt: skip

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        base = self.backbone1(features)
        graph = self.backbone2(base)
        start = self.regu_s(base).squeeze(1)
        end = self.regu_e(base).squeeze(1)
        if self.memory_saving:
            confidence = self._localize_chunked(graph)
        else:
            confidence = self.localization(self.goi_align(graph))
        return {"confidence": confidence, "start": start, "end": end}

    def _head_1x1(self, x: Tensor, ctx: Tensor, lo: int, hi: int) -> Tensor:
        """SGAlign of starts ``lo..hi-1`` followed by the two leading 1x1 convolutions, ``(B, C2, D, n)``."""
        feat = self.goi_align.aligned(x, ctx, slice(lo, hi))  # (B, n, D, C*P)
        conv1, conv2 = self.localization[0], self.localization[2]
        h = F.relu(F.linear(feat, conv1.weight.flatten(1), conv1.bias))
        h = F.relu(F.linear(h, conv2.weight.flatten(1), conv2.bias))
        return h.permute(0, 3, 2, 1)

    def _localize_chunked(self, graph: Tensor) -> Tensor:
        if graph.shape[-1] != self.temporal_scale:
            raise ValueError(f"SGAlign expects T = {self.temporal_scale} positions, got {graph.shape[-1]}")
        ctx = self.goi_align.context(graph)
        parts = []
        for lo in range(0, self.temporal_scale, self.chunk_starts):
            hi = min(lo + self.chunk_starts, self.temporal_scale)
            if torch.is_grad_enabled():
                parts.append(checkpoint(self._head_1x1, graph, ctx, lo, hi, use_reentrant=False))
            else:
                parts.append(self._head_1x1(graph, ctx, lo, hi))
        return self.localization[4:](torch.cat(parts, dim=-1))
