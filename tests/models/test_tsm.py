"""TSM: the shift against a slow reference and hand-checked values, the backbone against a manual forward."""

from __future__ import annotations

import pytest
import timm
import torch
from torch import nn
from torch.nn import functional as F

from bsp_lightning.models.tsm import (
    TSM,
    TemporalShift,
    load_imagenet_weights,
    shifted_block_indices,
    temporal_shift,
)


def slow_shift(x: torch.Tensor, num_segments: int, shift_div: int) -> torch.Tensor:
    """Frame-by-frame reading of the official rule: each output frame gathers its three channel groups."""
    nt, c = x.shape[:2]
    fold = c // shift_div
    out = torch.zeros_like(x)
    for i in range(nt):
        t = i % num_segments
        if t + 1 < num_segments:  # channels [0, fold) come from the next frame of the same clip
            out[i, :fold] = x[i + 1, :fold]
        if t >= 1:  # channels [fold, 2 fold) come from the previous frame of the same clip
            out[i, fold : 2 * fold] = x[i - 1, fold : 2 * fold]
        out[i, 2 * fold :] = x[i, 2 * fold :]
    return out


def test_shift_hand_checked_values() -> None:
    # value = 100 * clip + 10 * frame + channel; C=8, shift_div=4 -> fold 2
    n, t, c = 2, 3, 8
    x = torch.tensor(
        [[[100.0 * i + 10 * f + ch for ch in range(c)] for f in range(t)] for i in range(n)]
    ).view(n * t, c, 1, 1)
    out = temporal_shift(x, num_segments=3, shift_div=4).view(n, t, c)
    # channels 0, 1 take frame t+1; the last frame is zero
    assert out[0, :, 0].tolist() == [10.0, 20.0, 0.0]
    assert out[1, :, 1].tolist() == [111.0, 121.0, 0.0]
    # channels 2, 3 take frame t-1; the first frame is zero (no wrap, no value from clip 0)
    assert out[0, :, 2].tolist() == [0.0, 2.0, 12.0]
    assert out[1, :, 3].tolist() == [0.0, 103.0, 113.0]
    # the rest is unchanged
    assert out[1, :, 4:].tolist() == x.view(n, t, c)[1, :, 4:].tolist()


@pytest.mark.parametrize(("c", "shift_div", "t"), [(16, 8, 8), (10, 8, 4), (9, 3, 5), (7, 8, 3), (8, 8, 1)])
def test_shift_matches_slow_reference(c: int, shift_div: int, t: int) -> None:
    x = torch.randn(3 * t, c, 2, 3)
    torch.testing.assert_close(temporal_shift(x, t, shift_div), slow_shift(x, t, shift_div), rtol=0, atol=0)


def test_shift_gradient_matches_reference() -> None:
    x = torch.randn(2 * 4, 16, 3, 3, requires_grad=True)
    w = torch.randn(2 * 4, 16, 3, 3)
    (g,) = torch.autograd.grad((temporal_shift(x, 4, 8) * w).sum(), x)
    (g_ref,) = torch.autograd.grad((slow_shift(x, 4, 8) * w).sum(), x)
    torch.testing.assert_close(g, g_ref, rtol=0, atol=0)


def test_shift_keeps_channels_last_and_rejects_bad_shapes() -> None:
    x = torch.randn(2 * 4, 16, 5, 6)
    out = temporal_shift(x.contiguous(memory_format=torch.channels_last), 4)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, temporal_shift(x, 4), rtol=0, atol=0)
    with pytest.raises(ValueError, match="multiple of num_segments"):
        temporal_shift(torch.randn(7, 8, 2, 2), 4)
    with pytest.raises(ValueError, match="expects"):
        temporal_shift(torch.randn(8, 8, 2), 4)


def test_shift_under_bf16_autocast() -> None:
    x = torch.randn(2 * 4, 16, 3, 3).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = TemporalShift(nn.Identity(), 4, 8)(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, slow_shift(x, 4, 8), rtol=0, atol=0)


def test_official_blockres_rule() -> None:
    assert shifted_block_indices((2, 2, 2, 2)) == [[0, 1]] * 4
    # ResNet-101: the official code shifts every other block in every stage
    assert shifted_block_indices((3, 4, 23, 3)) == [[0, 2], [0, 2], list(range(0, 23, 2)), [0, 2]]


def randomise_bn(model: nn.Module) -> nn.Module:
    """timm zero-initialises the last BN of each block, which would hide the residual branch (and the shift)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.0)
            m.bias.data.normal_(0.0, 0.1)
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


def _manual_forward(plain: nn.Module, x: torch.Tensor, t: int, place: str) -> torch.Tensor:
    """A plain timm ResNet-18 run block by block, applying the slow shift where the official code does."""
    x = plain.maxpool(plain.act1(plain.bn1(plain.conv1(x))))
    for stage in (plain.layer1, plain.layer2, plain.layer3, plain.layer4):
        for block in stage:
            if place == "block":
                x = slow_shift(x, t, 8)
            shortcut = x if block.downsample is None else block.downsample(x)
            y = slow_shift(x, t, 8) if place == "blockres" else x
            y = F.relu(block.bn1(block.conv1(y)))
            y = block.bn2(block.conv2(y))
            x = F.relu(y + shortcut)
    return x.mean(dim=(2, 3))


@pytest.mark.parametrize("place", ["blockres", "block", "none"])
def test_tsm_resnet18_matches_manual_forward(place: str) -> None:
    torch.manual_seed(0)
    model = randomise_bn(TSM("resnet18", num_segments=4, shift_place=place)).eval()
    plain = timm.create_model("resnet18", pretrained=False, num_classes=0).eval()
    plain.load_state_dict({k.replace(".net.", "."): v for k, v in model.base_model.state_dict().items()})
    x = torch.randn(2, 4, 3, 16, 16)
    with torch.no_grad():
        frames = model.forward_frames(x)
        expected = _manual_forward(plain, x.flatten(0, 1), 4, place).view(2, 4, -1)
        clip = model(x)
    assert frames.shape == (2, 4, 512) and model.num_features == 512
    torch.testing.assert_close(frames, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(clip, expected.mean(1), rtol=1e-5, atol=1e-5)


def test_tsm_clips_do_not_mix_and_channels_last() -> None:
    torch.manual_seed(0)
    model = randomise_bn(TSM("resnet18", num_segments=4)).eval()
    x = torch.randn(2, 4, 3, 16, 16)
    y = x.clone()
    y[1] = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        a, b = model.forward_frames(x), model.forward_frames(y)
        torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
        assert not torch.allclose(a[1], b[1])
        # frame 0 sees frame 1 through the shift
        z = x.clone()
        z[0, 1] += 1
        assert (model.forward_frames(z)[0, 0] - a[0, 0]).abs().max() > 1e-3
        # channels-last frames and weights give the same features
        x_cl = x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
        model_cl = model.to(memory_format=torch.channels_last)
        torch.testing.assert_close(model_cl.forward_frames(x_cl), a, rtol=1e-4, atol=1e-4)


def test_tsm_num_segments() -> None:
    model = TSM("resnet18", num_segments=2).eval()
    assert sum(isinstance(m, TemporalShift) for m in model.modules()) == 8
    with torch.no_grad():
        assert model(torch.randn(1, 2, 3, 16, 16)).shape == (1, 512)
        with pytest.raises(ValueError, match="num_segments=2 but got clips of 3 frames"):
            model(torch.randn(1, 3, 3, 16, 16))
        model.set_num_segments(3)
        assert model.forward_frames(torch.randn(1, 3, 3, 16, 16)).shape == (1, 3, 512)
    assert all(m.num_segments == 3 for m in model.modules() if isinstance(m, TemporalShift))


def test_tsm_rejects_bad_arch_and_place() -> None:
    with pytest.raises(ValueError, match="not a timm ResNet"):
        TSM("mobilenetv3_small_050")
    with pytest.raises(ValueError, match="unknown timm architecture"):
        TSM("resnet_does_not_exist")
    with pytest.raises(ValueError, match="shift_place"):
        TSM("resnet18", shift_place="residual")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_imagenet_weights_from_local_file(tmp_path, suffix: str) -> None:
    torch.manual_seed(1)
    plain = timm.create_model("resnet18", pretrained=False)  # with its 1000-way fc, as released
    path = tmp_path / f"resnet18{suffix}"
    state = {k: v.contiguous() for k, v in plain.state_dict().items()}
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, path)
    model = TSM("resnet18", num_segments=2, pretrained=str(path))
    loaded = model.base_model.state_dict()
    torch.testing.assert_close(loaded["layer3.1.conv1.net.weight"], state["layer3.1.conv1.weight"])
    torch.testing.assert_close(loaded["layer4.0.downsample.1.running_var"], state["layer4.0.downsample.1.running_var"])
    torch.testing.assert_close(loaded["conv1.weight"], state["conv1.weight"])


def test_imagenet_weights_errors(tmp_path) -> None:
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        TSM("resnet18", pretrained=missing)
    model = TSM("resnet18", num_segments=2)
    state = {k.replace(".net.", "."): v for k, v in model.base_model.state_dict().items()}
    path = tmp_path / "r18.pth"
    renamed = dict(state)
    renamed["layer1.0.conv_one.weight"] = renamed.pop("layer1.0.conv1.weight")
    torch.save(renamed, path)
    with pytest.raises(
        ValueError,
        match=r"r18\.pth: keys do not match a timm/torchvision resnet18: missing \['layer1.0.conv1.weight'\], "
        r"unexpected \['layer1.0.conv_one.weight'\]",
    ):
        load_imagenet_weights(model, path)
    state["layer2.0.conv1.weight"] = torch.zeros(3, 3, 3, 3)
    with pytest.raises(ValueError, match=r"ImageNet state dict: shape mismatch for 1 tensors, e.g. layer2.0.conv1"):
        load_imagenet_weights(model, state)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pth: cannot read"):
        load_imagenet_weights(model, garbage)
