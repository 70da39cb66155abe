"""Frozen backbones from checkpoints: an official TSM file as a distillation teacher."""

from __future__ import annotations

from pathlib import Path

import torch

from bsp_lightning.models.tsm import TSMClassifier
from bsp_lightning.pretrain.frozen import load_teacher

T, SIZE = 4, 32


def test_official_tsm_checkpoint_serves_as_vanilla_teacher(tmp_path: Path) -> None:
    torch.manual_seed(0)
    official = TSMClassifier(num_classes=5, arch="resnet18", num_segments=T).eval()
    path = tmp_path / "TSM_kinetics_RGB_resnet18_shift8_blockres_avg_segment4_e50.pth"
    state = {f"module.{k}": v for k, v in official.state_dict().items()}
    torch.save({"epoch": 50, "arch": "resnet18", "state_dict": state, "best_prec1": 70.0}, path)
    teacher = load_teacher(path, num_segments=T)
    assert teacher.method == "features" and teacher.num_features == 512
    x = torch.randn(2, T, 3, SIZE, SIZE)
    torch.testing.assert_close(teacher(x), official.features(x))
    teacher.train()
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
