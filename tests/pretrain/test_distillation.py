"""DistillationModule: the loss against a hand computation; teachers frozen during a fit, left out of checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bsp_lightning.module import BSPModule, DistillationModule, VanillaModule

T, SIZE, NUM_ACTIONS = 4, 32, 3
TINY = {"arch": "resnet18", "num_segments": T, "num_action_classes": NUM_ACTIONS, "dropout": 0.0}


def test_distillation_loss_matches_hand_computation(batch) -> None:
    module = DistillationModule(**TINY, feature_weight=0.5, vanilla_dim=2, bsp_dim=3)
    h1, h2 = module.heads["projections"].h1, module.heads["projections"].h2
    f_s = torch.randn(2, 512)
    f_v, f_b = torch.randn(2, 2), torch.randn(2, 3)
    batch = batch()
    logits = torch.randn(2, NUM_ACTIONS)
    out = module.compute_loss({"features": f_s, "action": logits, "vanilla_target": f_v, "bsp_target": f_b}, batch)
    with torch.no_grad():
        p1 = f_s @ h1.weight.T + h1.bias
        p2 = f_s @ h2.weight.T + h2.bias
    lv = np.mean([float(((f_v[i] - p1[i]) ** 2).sum()) for i in range(2)])
    lb = np.mean([float(((f_b[i] - p2[i]) ** 2).sum()) for i in range(2)])
    ce = F.cross_entropy(logits, batch["action_label"]).item()
    assert out["loss_vanilla"].item() == pytest.approx(lv, rel=1e-5)
    assert out["loss_bsp"].item() == pytest.approx(lb, rel=1e-5)
    assert out["loss"].item() == pytest.approx(0.5 * (lv + lb) + ce, rel=1e-5)


def test_distillation_fit_keeps_teachers_frozen(tmp_path: Path, data, trainer, batch) -> None:
    make_trainer, make_batch = trainer, batch
    teacher_paths = {}
    for name, cls in (("vanilla", VanillaModule), ("bsp", BSPModule)):
        trainer = make_trainer(tmp_path / name)
        trainer.fit(cls(**TINY), datamodule=data())
        teacher_paths[name] = tmp_path / f"{name}.ckpt"
        trainer.save_checkpoint(teacher_paths[name])
    reference = BSPModule.load_from_checkpoint(teacher_paths["bsp"]).backbone.state_dict()

    module = DistillationModule(**TINY, vanilla_checkpoint=str(teacher_paths["vanilla"]),
                                bsp_checkpoint=str(teacher_paths["bsp"]))
    trainer = make_trainer(tmp_path / "student", fast_dev_run=2)
    trainer.fit(module, datamodule=data())
    assert not module.bsp_teacher.training and not module.vanilla_teacher.training
    assert not any(p.requires_grad for p in module.bsp_teacher.parameters())
    # BatchNorm running statistics and weights of the teacher did not move
    for k, v in module.bsp_teacher.net.state_dict().items():
        torch.testing.assert_close(v, reference[k], rtol=0, atol=0)
    assert trainer.callback_metrics["train/loss_vanilla"] > 0

    trainer.save_checkpoint(tmp_path / "student.ckpt")
    saved = torch.load(tmp_path / "student.ckpt", weights_only=False)
    assert not any(k.startswith(("vanilla_teacher", "bsp_teacher")) for k in saved["state_dict"])
    Path(teacher_paths["bsp"]).unlink()  # the student loads for extraction without its teachers
    student = BSPModule.load_from_checkpoint(tmp_path / "student.ckpt")
    assert type(student) is DistillationModule
    torch.testing.assert_close(student.extract_features(make_batch()["clip"]),
                               module.extract_features(make_batch()["clip"]))
