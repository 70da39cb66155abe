"""GCNeXt and SGAlign against slow reference loops; the memory-saving path against the plain one."""

import math

import numpy as np
import pytest
import torch

from bsp_gtad.model import GCNeXt, GTAD, SGAlign, sgalign_anchors


def _nearest(x: np.ndarray, i: int, k: int) -> list[int]:
    """The k nearest nodes of node i by squared distance (x is (C, T)), slow loop."""
    dist = [float(np.sum((x[:, i] - x[:, j]) ** 2)) for j in range(x.shape[1])]
    return sorted(range(x.shape[1]), key=lambda j: dist[j])[:k]


def test_gcnext_against_reference_loop():
    torch.manual_seed(0)
    block = GCNeXt(8, k=3, groups=2, width_group=2).double()
    x = torch.randn(2, 8, 7, dtype=torch.float64)
    out = block(x)
    ref = torch.zeros_like(out)
    with torch.no_grad():
        temporal = block.tconvs(x)
        for b in range(2):
            xb = x[b].numpy()
            for i in range(7):
                edge_out = []
                for j in _nearest(xb, i, 3):
                    edge = torch.cat((x[b, :, j], x[b, :, i])).view(1, 16, 1, 1)  # (neighbour, centre)
                    edge_out.append(block.sconvs(edge).view(-1))
                semantic = torch.stack(edge_out).max(dim=0).values
                ref[b, :, i] = torch.relu(temporal[b, :, i] + x[b, :, i] + semantic)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


def _temporal_reference(block: GCNeXt, x: torch.Tensor) -> torch.Tensor:
    """The temporal stream written out: 1x1, grouped k=3 with zero padding, 1x1 (one video)."""
    c1, c2, c3 = block.tconvs[0], block.tconvs[2], block.tconvs[4]
    h = torch.relu(torch.einsum("oc,ct->ot", c1.weight[:, :, 0], x) + c1.bias[:, None])
    width, t = h.shape
    g = c2.groups
    per = width // g
    h2 = torch.zeros_like(h)
    for o in range(width):
        grp = o // per
        for ti in range(t):
            acc = c2.bias[o].clone()
            for kk, dt in enumerate((-1, 0, 1)):
                if 0 <= ti + dt < t:
                    acc = acc + (c2.weight[o, :, kk] * h[grp * per : (grp + 1) * per, ti + dt]).sum()
            h2[o, ti] = acc
    return torch.einsum("oc,ct->ot", c3.weight[:, :, 0], torch.relu(h2)) + c3.bias[:, None]


def test_gcnext_temporal_stream():
    torch.manual_seed(1)
    block = GCNeXt(4, groups=2, width_group=2).double()
    x = torch.randn(1, 4, 5, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(block.tconvs(x)[0], _temporal_reference(block, x[0]), rtol=0, atol=1e-12)


def _align1d_reference(x: np.ndarray, lo: float, hi: float, points: int) -> np.ndarray:
    """Line-by-line port of the official Align1D CUDA kernel semantics (docs/heads/gtad-actionness.md §1.3)."""
    c, t = x.shape
    width = max(hi - lo, 1.0)
    bin_size = width / points
    grid = math.ceil(width / points)
    out = np.zeros((c, points))
    for p in range(points):
        acc = np.zeros(c)
        for i in range(grid):
            pos = lo + p * bin_size + (i + 0.5) * bin_size / grid
            if pos < -1.0 or pos > t:
                continue  # contributes 0 but still counts in the average
            pos = max(pos, 0.0)
            low = int(pos)
            if low >= t - 1:
                high = low = t - 1
                pos = float(low)
            else:
                high = low + 1
            frac = pos - low
            acc += (1 - frac) * x[:, low] + frac * x[:, high]
        out[:, p] = acc / grid
    return out


@pytest.mark.parametrize("inner,context", [(4, 2), (3, 3)])
def test_sgalign_against_reference_loop(inner, context):
    torch.manual_seed(2)
    t, d, c = 9, 6, 3
    x = torch.randn(2, c, t, dtype=torch.float64)
    layer = SGAlign(t, d, inner, context)
    out = layer(x).numpy()
    assert out.shape == (2, c * (inner + context), d, t)
    anchors = sgalign_anchors(t, d).numpy()
    for b in range(2):
        xb = x[b].numpy()
        ctx = np.stack([xb[:, _nearest(xb, i, 3)].mean(axis=1) for i in range(t)], axis=1)
        for s in range(t):
            for dd in range(d):
                lo, hi = anchors[s * d + dd]
                if s + dd < t:
                    length = dd + 1
                    assert (lo, hi) == (s - 0.5 * length, s + dd + 0.5 * length)
                else:
                    assert (lo, hi) == (0.0, 0.0)
                ref = np.concatenate((_align1d_reference(xb, lo, hi, inner), _align1d_reference(ctx, lo, hi, context)),
                                     axis=1)
                np.testing.assert_allclose(out[b, :, dd, s], ref.reshape(-1), rtol=0, atol=1e-12)


def _tiny(**kw):
    args = dict(feature_dim=8, temporal_scale=12, max_duration=12, hidden_1d=16, hidden_2d=8, hidden_3d=12,
                inner_points=4, context_points=2, groups=4, width_group=2)
    args.update(kw)
    return GTAD(**args).double()


@pytest.mark.parametrize("kw", [{}, dict(max_duration=5, kernel_2d=3, padding_2d=1, chunk_starts=5)])
def test_memory_saving_equals_plain(kw):
    torch.manual_seed(3)
    model = _tiny(**kw)
    x = torch.randn(2, 8, 12, dtype=torch.float64, requires_grad=True)
    grads = []
    outputs = []
    for saving in (False, True):
        model.memory_saving = saving
        model.zero_grad()
        x.grad = None
        out = model(x)
        (out["confidence"].pow(2).sum() + out["start"].sum() + out["end"].sum()).backward()
        outputs.append(out)
        grads.append([x.grad.clone()] + [p.grad.clone() for p in model.parameters()])
    for key in outputs[0]:
        torch.testing.assert_close(outputs[0][key], outputs[1][key], rtol=0, atol=1e-12)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    with torch.no_grad():
        model.memory_saving = True
        torch.testing.assert_close(model(x)["confidence"], outputs[0]["confidence"], rtol=0, atol=1e-12)


def test_shapes_and_parameter_count():
    model = _tiny(max_duration=5, kernel_2d=3, padding_2d=1)
    out = model(torch.randn(3, 8, 12, dtype=torch.float64))
    assert out["confidence"].shape == (3, 2, 5, 12)
    assert out["start"].shape == out["end"].shape == (3, 12)
    # the official ActivityNet model (400-d input) has 5,563,268 parameters
    assert sum(p.numel() for p in GTAD(400).parameters()) == 5_563_268
    with pytest.raises(ValueError, match="multiple of 4"):
        GTAD(10)
