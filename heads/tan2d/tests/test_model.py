"""The network: the conv variant's receptive field, the mask-count normalisation, shapes, the text read-out."""

import numpy as np
import pytest
import torch

from bsp_tan2d.maps import map_mask
from bsp_tan2d.model import TAN2D, MapConv, SparseMap, TextEncoder, mask_count_weights


@pytest.mark.parametrize("num_clips,scales", [(16, [16]), (32, [16, 8])])
def test_conv_map_receptive_field_is_the_cell(num_clips, scales):
    torch.manual_seed(0)
    prop = SparseMap(num_clips, scales, "conv", channels=2).double()
    for conv in prop.convs:  # positive weights: no path can cancel or vanish below the threshold
        torch.nn.init.uniform_(conv.weight, 0.5, 1.0)
    x = torch.randn(1, 2, num_clips, dtype=torch.float64)
    with torch.no_grad():
        base = prop(x)[0, 0]
        depends = np.zeros((num_clips, num_clips, num_clips), dtype=bool)  # clip, a, b
        for clip in range(num_clips):
            moved = x.clone()
            moved[0, :, clip] += 1.0
            depends[clip] = ((prop(moved)[0, 0] - base).abs() > 1e-9).numpy()
    mask = map_mask(num_clips, scales)
    for a in range(num_clips):
        for b in range(num_clips):
            expected = np.zeros(num_clips, bool)
            if mask[a, b]:
                expected[a : b + 1] = True
            np.testing.assert_array_equal(depends[:, a, b], expected, err_msg=f"cell {(a, b)}")


def test_conv_map_has_no_nonlinearity():
    torch.manual_seed(0)
    prop = SparseMap(16, [16], "conv", channels=3).double()
    for conv in prop.convs:
        torch.nn.init.zeros_(conv.bias)
    x, y = torch.randn(2, 1, 3, 16, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(prop(x - 2 * y), prop(x) - 2 * prop(y))


def test_mask_count_weights_by_hand():
    mask = torch.tensor([[1, 1, 1], [0, 1, 1], [0, 0, 1]], dtype=torch.bool)
    grown, weight = mask_count_weights(mask, 3, padding=1)
    counts = np.array([[3, 5, 4], [3, 6, 5], [1, 3, 3]], dtype=np.float32)
    np.testing.assert_allclose(weight.numpy(), 1 / counts, rtol=1e-7)
    assert grown.all()
    # an empty window gives weight 0 and leaves the cell out of the next mask
    grown, weight = mask_count_weights(torch.tensor([[1, 0, 0, 0]] * 4, dtype=torch.bool).T, 3, padding=1)
    assert weight[3, 3] == 0 and not grown[3, 3] and weight[0, 0] == 0.5  # (0, 0), (0, 1)


def test_map_conv_layer_is_mean_over_valid_window():
    # all-ones kernel, zero bias: layer output = mean of the input over the valid cells of its window
    mask = torch.as_tensor(map_mask(5, [5]))
    net = MapConv(mask, hidden=1, kernel=3, num_layers=1, padding=1)
    torch.nn.init.ones_(net.convs[0].weight)
    torch.nn.init.zeros_(net.convs[0].bias)
    x = torch.rand(5, 5) + 0.1
    x = x * mask
    with torch.no_grad():
        out = net(x[None, None])[0, 0]
    for i in range(5):
        for j in range(5):
            window = [(r, c) for r in range(i - 1, i + 2) for c in range(j - 1, j + 2)
                      if 0 <= r < 5 and 0 <= c < 5 and mask[r, c]]
            expected = float(np.mean([x[r, c] for r, c in window])) if window else 0.0
            assert out[i, j].item() == pytest.approx(expected, rel=1e-6)


def test_map_conv_mask_grows_layer_by_layer():
    mask = torch.as_tensor(map_mask(4, [4]))
    net = MapConv(mask, hidden=1, kernel=3, num_layers=2, padding=2)
    grown = (torch.nn.functional.conv2d(mask.float()[None, None], torch.ones(1, 1, 3, 3), padding=2)[0, 0] > 0)
    assert grown.shape == (6, 6) and grown.sum() > mask.sum()
    counts = torch.nn.functional.conv2d(grown.float()[None, None], torch.ones(1, 1, 3, 3))[0, 0]
    torch.testing.assert_close(net.weight_1, torch.where(counts > 0, 1 / counts, torch.zeros_like(counts)))
    with pytest.raises(ValueError, match="padding"):
        MapConv(mask, hidden=1, kernel=3, num_layers=2, padding=1)


def test_text_encoder_reads_last_real_token():
    torch.manual_seed(0)
    enc = TextEncoder(4, 6, 2)
    words = torch.randn(1, 5, 4)
    with torch.no_grad():
        short = enc(words[:, :3], torch.tensor([3]))
        padded = enc(torch.cat([words[:, :3], torch.zeros(1, 2, 4)], 1), torch.tensor([3]))
        garbage = enc(words, torch.tensor([3]))
    torch.testing.assert_close(short, padded)
    torch.testing.assert_close(short, garbage)


@pytest.mark.parametrize("variant", ["conv", "pool"])
def test_tan2d_shapes_and_mask(variant):
    torch.manual_seed(0)
    net = TAN2D(12, num_sample_clips=32, num_clips=8, num_scale_layers=[8], map_variant=variant, hidden=16,
                word_dim=5, text_hidden=8, text_layers=1, map_kernel=3, map_layers=2, map_padding=2)
    logits = net(torch.randn(2, 32, 12), torch.randn(2, 4, 5), torch.tensor([4, 2]))
    assert logits.shape == (2, 8, 8)
    assert (logits[:, ~net.mask] == 0).all()
    logits.sum().backward()
    with pytest.raises(ValueError, match="multiple"):
        TAN2D(12, num_sample_clips=30, num_clips=8)
