"""Official TSM checkpoints: an independent re-implementation of the official TSN/TSM model as reference.

The reference below is written from the official code's structure (``ops/models.py``, ``ops/temporal_shift.py``
and torchvision's ResNet): the shift with ``zeros_like``, ``TemporalShift`` wrapping ``conv1`` as ``.net``
("blockres") or the whole block ("block"), ``fc`` replaced by dropout, ``new_fc`` per frame, then the average.
Its randomly initialised state dict, with random BatchNorm statistics, is saved as the official files are.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from bsp_lightning.models import OfficialCheckpointError, TSMClassifier
from bsp_lightning.models import load_official_tsm
from bsp_lightning.models.tsm import TemporalShift


class RefShift(nn.Module):
    def __init__(self, net: nn.Module, n_segment: int, n_div: int = 8) -> None:
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.size()
        x = x.view(nt // self.n_segment, self.n_segment, c, h, w)
        fold = c // self.fold_div
        out = torch.zeros_like(x)
        out[:, :-1, :fold] = x[:, 1:, :fold]
        out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
        out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
        return self.net(out.view(nt, c, h, w))


class RefBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # torchvision v1.5: stride on 3x3
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class RefResNet(nn.Module):
    def __init__(self, block: type, layers: list[int]) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, 1000)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class RefTSN(nn.Module):
    """The official TSN(..., is_shift=True) for RGB with avg consensus."""

    def __init__(self, depth: int, num_class: int, num_segments: int, place: str, dropout: float = 0.5) -> None:
        super().__init__()
        block, layers = {18: (RefBasicBlock, [2, 2, 2, 2]), 50: (RefBottleneck, [3, 4, 6, 3])}[depth]
        self.num_segments = num_segments
        self.base_model = RefResNet(block, layers)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            blocks = list(getattr(self.base_model, name).children())
            for i, b in enumerate(blocks):
                if place == "blockres":
                    b.conv1 = RefShift(b.conv1, num_segments)
                else:
                    blocks[i] = RefShift(b, num_segments)
            setattr(self.base_model, name, nn.Sequential(*blocks))
        feature_dim = self.base_model.fc.in_features
        if dropout == 0:
            self.base_model.fc = nn.Linear(feature_dim, num_class)
            self.new_fc = None
        else:
            self.base_model.fc = nn.Dropout(p=dropout)
            self.new_fc = nn.Linear(feature_dim, num_class)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.data.uniform_(0.5, 1.0)
                m.bias.data.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        fc = self.new_fc if self.new_fc is not None else self.base_model.fc
        fc.weight.data.normal_(0.0, 0.1)
        fc.bias.data.normal_(0.0, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base_out = self.base_model(x.view((-1, 3) + x.size()[-2:]))
        if self.new_fc is not None:
            base_out = self.new_fc(base_out)
        return base_out.view((-1, self.num_segments) + base_out.size()[1:]).mean(dim=1)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        fc, self.base_model.fc = self.base_model.fc, nn.Identity()
        try:
            out = self.base_model(x.view((-1, 3) + x.size()[-2:]))
        finally:
            self.base_model.fc = fc
        return out.view((-1, self.num_segments) + out.size()[1:]).mean(dim=1)


def released(ref: nn.Module, arch: str) -> dict:
    """The layout of the released files: DataParallel keys inside {'epoch','arch','state_dict','best_prec1'}."""
    state = {"module." + k: v for k, v in ref.state_dict().items()}
    return {"epoch": 50, "arch": arch, "state_dict": state, "best_prec1": 70.6}


@pytest.fixture(scope="module")
def ref18() -> RefTSN:
    torch.manual_seed(0)
    return RefTSN(18, num_class=7, num_segments=8, place="blockres").eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(2, 8, 3, 32, 32)


@pytest.fixture(scope="module")
def small_clip() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(1, 8, 3, 16, 16)


def check_outputs(model: TSMClassifier, ref: RefTSN, x: torch.Tensor) -> None:
    with torch.no_grad():
        expected = ref(x)
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model.features(x), ref.pooled(x), rtol=1e-5, atol=1e-5)
    assert not model.training


def test_released_file_resnet18(tmp_path, ref18: RefTSN, clip: torch.Tensor) -> None:
    path = tmp_path / "TSM_kinetics_RGB_resnet18_shift8_blockres_avg_segment8_e50.pth"
    torch.save(released(ref18, "resnet18"), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # names agree with the arguments: no warning
        model = load_official_tsm(path, num_segments=8)
    assert model.arch == "resnet18" and model.num_classes == 7 and model.shift_place == "blockres"
    assert model.num_features == 512
    check_outputs(model, ref18, clip)


def test_plain_state_dict_and_loaded_object(tmp_path, ref18: RefTSN, small_clip: torch.Tensor) -> None:
    path = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in ref18.state_dict().items()}, str(path))
    check_outputs(load_official_tsm(path), ref18, small_clip)
    check_outputs(load_official_tsm(released(ref18, "resnet18")), ref18, small_clip)


def test_resnet50_blockres(small_clip: torch.Tensor) -> None:
    torch.manual_seed(2)
    ref = RefTSN(50, num_class=5, num_segments=8, place="blockres").eval()
    model = load_official_tsm(released(ref, "resnet50"))
    assert model.arch == "resnet50" and model.num_features == 2048
    assert sum(isinstance(m, TemporalShift) for m in model.modules()) == 16
    check_outputs(model, ref, small_clip)


def test_block_place_and_no_dropout_classifier(small_clip: torch.Tensor) -> None:
    torch.manual_seed(3)
    ref = RefTSN(18, num_class=3, num_segments=4, place="block", dropout=0.0).eval()
    state = {k: v for k, v in ref.state_dict().items()}
    assert "base_model.fc.weight" in state and "base_model.layer1.0.net.conv1.weight" in state
    model = load_official_tsm(state, num_segments=4)
    assert model.shift_place == "block"
    with torch.no_grad():
        x = small_clip[:, :4].contiguous()
        torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)


def test_segment_count_mismatch_warns_and_uses_the_given_count(
    tmp_path, ref18: RefTSN, small_clip: torch.Tensor
) -> None:
    path = tmp_path / "TSM_kinetics_RGB_resnet18_shift8_blockres_avg_segment8_e50.pth"
    torch.save(released(ref18, "resnet18"), path)
    with pytest.warns(UserWarning, match="trained with 8 segments, loading with num_segments=4"):
        model = load_official_tsm(path, num_segments=4)
    ref18.num_segments = 4
    for m in ref18.modules():
        if isinstance(m, RefShift):
            m.n_segment = 4
    try:
        with torch.no_grad():
            x = small_clip[:, :4].contiguous()
            torch.testing.assert_close(model(x), ref18(x), rtol=1e-5, atol=1e-5)
    finally:
        ref18.num_segments = 8
        for m in ref18.modules():
            if isinstance(m, RefShift):
                m.n_segment = 8


def test_unrecognised_layouts(tmp_path, ref18: RefTSN) -> None:
    state = dict(released(ref18, "resnet18")["state_dict"])
    state["module.base_model.layer2.0.nl.g.weight"] = torch.zeros(1)
    path = tmp_path / "TSM_nl.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(OfficialCheckpointError, match=r"TSM_nl\.pth: keys do not match .*layer2\.0\.nl\.g\.weight"):
        load_official_tsm(path)

    other = {"backbone.conv1.weight": torch.zeros(1), "head.weight": torch.zeros(1)}
    with pytest.raises(OfficialCheckpointError, match=r"unexpected keys \['backbone.conv1.weight'"):
        load_official_tsm(other)
    with pytest.raises(OfficialCheckpointError, match="shift_place='block' given"):
        load_official_tsm(released(ref18, "resnet18"), shift_place="block")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_official_tsm(tmp_path / "missing.pth")
