"""BSPModule and its variants: normalisation, losses against hand computations, hooks, a tiny fit each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, Dataset

from bsp_lightning.models.normalize import IMAGENET_MEAN, IMAGENET_STD
from bsp_lightning.module import (
    BSPModule,
    DistillationModule,
    TwoHeadModule,
    VanillaModule,
)

T, SIZE, NUM_ACTIONS = 4, 32, 3
TINY = {"arch": "resnet18", "num_segments": T, "num_action_classes": NUM_ACTIONS, "dropout": 0.0}


@pytest.fixture(autouse=True)
def _one_thread():
    # the test machine is shared: one intra-op thread avoids spin-waiting under contention
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class RandomBoundaryClips(Dataset):
    """Random uint8 clips in the BSPDataModule batch format."""

    def __init__(self, n: int = 8, num_classes: int = 4, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.clips = torch.randint(0, 256, (n, T, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)
        self.labels = torch.randint(0, num_classes, (n,), generator=g)
        self.actions = torch.randint(0, NUM_ACTIONS, (n,), generator=g)
        self.change_points = torch.randint(0, T + 1, (n,), generator=g).float()
        t = torch.arange(1, T + 1).float()
        self.heatmaps = torch.exp(-((t - self.change_points[:, None]) ** 2) / (2 * T / 2))

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {"clip": self.clips[i], "label": self.labels[i], "action_label": self.actions[i],
                "change_point": self.change_points[i], "heatmap": self.heatmaps[i], "video_id": f"v{i}"}


class RandomDataModule(pl.LightningDataModule):
    def __init__(self, batch_size: int = 2, num_classes: int = 4) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_classes = num_classes

    def train_dataloader(self) -> DataLoader:
        return DataLoader(RandomBoundaryClips(8, self.num_classes), batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(RandomBoundaryClips(4, self.num_classes, seed=1), batch_size=self.batch_size)


def _trainer(tmp_path: Path, **kwargs) -> pl.Trainer:
    defaults = dict(accelerator="cpu", devices=1, fast_dev_run=1, logger=False, enable_progress_bar=False,
                    enable_model_summary=False, default_root_dir=tmp_path)
    return pl.Trainer(**{**defaults, **kwargs})


def _batch(seed: int = 0, n: int = 2) -> dict:
    ds = RandomBoundaryClips(n, seed=seed)
    return torch.utils.data.default_collate([ds[i] for i in range(n)])


def test_normalize_matches_imagenet_formula_and_accepts_channels_last() -> None:
    module = BSPModule(**TINY)
    clip = torch.randint(0, 256, (2, T, 3, 8, 8), dtype=torch.uint8)
    expected = (clip.numpy().astype(np.float64) / 255.0 - np.array(IMAGENET_MEAN)[:, None, None]) / np.array(
        IMAGENET_STD
    )[:, None, None]
    out = module.normalize(clip)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-6)
    # pixel 0 -> -mean/std exactly per channel; 255 -> (1-mean)/std
    extremes = torch.tensor([0, 255], dtype=torch.uint8).view(1, 2, 1, 1, 1).expand(1, 2, 3, 1, 1)
    got = module.normalize(extremes)[0, :, :, 0, 0]
    for c in range(3):
        assert got[0, c].item() == pytest.approx(-IMAGENET_MEAN[c] / IMAGENET_STD[c], abs=1e-6)
        assert got[1, c].item() == pytest.approx((1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], abs=1e-6)
    cl = BSPModule(**TINY, channels_last=True).normalize(clip)
    assert cl.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl, out, rtol=0, atol=0)
    with pytest.raises(ValueError, match="N, T, 3, H, W"):
        module.normalize(clip[:, :, :2])


def test_losses_match_hand_computation() -> None:
    batch = _batch()
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 3.0]])
    label = batch["label"]
    expected = -np.mean([logits[i].log_softmax(0)[label[i]].item() for i in range(2)])
    losses = BSPModule(**TINY).compute_loss({"boundary": logits}, batch)
    assert losses["loss"].item() == pytest.approx(expected, rel=1e-6)

    heat = torch.tensor([[0.0, 0.5, 2.0, 1.0], [0.2, 0.2, 0.2, 0.2]])
    diff = (heat - batch["heatmap"]).abs()
    smooth = torch.where(diff < 1, 0.5 * diff**2, diff - 0.5).mean()
    reg = BSPModule(**TINY, pretext="regression").compute_loss({"heatmap": heat}, batch)
    assert reg["loss"].item() == pytest.approx(smooth.item(), rel=1e-6)

    action_logits = torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 5.0]])
    two = TwoHeadModule(**TINY, bsp_weight=0.3, action_weight=2.0)
    out = two.compute_loss({"boundary": logits, "action": action_logits}, batch)
    ce_a = -np.mean([action_logits[i].log_softmax(0)[batch["action_label"][i]].item() for i in range(2)])
    assert out["loss"].item() == pytest.approx(2.0 * ce_a + 0.3 * expected, rel=1e-6)


def test_distillation_loss_matches_hand_computation() -> None:
    module = DistillationModule(**TINY, feature_weight=0.5, vanilla_dim=2, bsp_dim=3)
    h1, h2 = module.heads["projections"].h1, module.heads["projections"].h2
    f_s = torch.randn(2, 512)
    f_v, f_b = torch.randn(2, 2), torch.randn(2, 3)
    batch = _batch()
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


@pytest.mark.parametrize(
    "cls, kwargs",
    [(BSPModule, {}), (BSPModule, {"pretext": "regression"}), (VanillaModule, {}), (TwoHeadModule, {})],
    ids=["classification", "regression", "vanilla", "two_head"],
)
def test_fast_dev_run_each_variant(tmp_path: Path, cls: type[BSPModule], kwargs: dict) -> None:
    module = cls(**TINY, **kwargs)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = _trainer(tmp_path)
    trainer.fit(module, datamodule=RandomDataModule())
    changed = [k for k, v in module.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("backbone.") for k in changed) and any(k.startswith("heads.") for k in changed)
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert "val/loss" in trainer.callback_metrics


def test_validation_logs_per_type_accuracy_and_confusion_matrix(tmp_path: Path) -> None:
    module = BSPModule(**TINY)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0,
                         logger=CSVLogger(tmp_path), enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False)
    trainer.fit(module, datamodule=RandomDataModule())
    metrics = trainer.callback_metrics
    for name in ("diff_class", "same_class", "diff_speed", "same_speed"):
        assert f"val/acc_per_type_{name}" in metrics
    # independent check: run the validation data through the trained model in eval mode
    module.eval()
    ds = RandomBoundaryClips(4, seed=1)
    with torch.no_grad():
        pred = module(module.normalize(ds.clips))["boundary"].argmax(1)
    assert metrics["val/acc"].item() == pytest.approx((pred == ds.labels).float().mean().item())
    table = (Path(trainer.logger.log_dir) / "confusion" / "val_confusion_epoch000.txt").read_text()
    counts = np.array([[int(c) for c in line.split("|")[1].split()] for line in table.splitlines()[2:]])
    expected = np.zeros((4, 4), dtype=int)
    for t, p in zip(ds.labels.tolist(), pred.tolist()):
        expected[t, p] += 1
    np.testing.assert_array_equal(counts, expected)


def test_hooks_are_overridable_in_a_subclass(tmp_path: Path) -> None:
    class MLPHeadModule(BSPModule):
        def build_heads(self):
            d = self.backbone.num_features
            return {"boundary": nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, self.hparams.num_classes))}

        def compute_loss(self, outputs, batch):
            return {"loss": F.cross_entropy(outputs["boundary"], batch["label"], label_smoothing=0.1)}

    module = MLPHeadModule(**TINY)
    assert isinstance(module.heads["boundary"], nn.Sequential)
    _trainer(tmp_path).fit(module, datamodule=RandomDataModule())
    batch = _batch()
    out = module(module.normalize(batch["clip"]))
    assert out["boundary"].shape == (2, 4) and out["features"].shape == (2, 512)


def test_checkpoint_round_trip_builds_the_saved_variant(tmp_path: Path) -> None:
    module = TwoHeadModule(**TINY, bsp_weight=0.25)
    trainer = _trainer(tmp_path)
    trainer.fit(module, datamodule=RandomDataModule())
    trainer.save_checkpoint(tmp_path / "two.ckpt")
    loaded = BSPModule.load_from_checkpoint(tmp_path / "two.ckpt")
    assert type(loaded) is TwoHeadModule and loaded.hparams.bsp_weight == 0.25
    clip = _batch()["clip"]
    features = loaded.extract_features(clip)
    assert features.shape == (2, 512)
    torch.testing.assert_close(features, module.extract_features(clip))
    module.train()
    module.extract_features(clip)
    assert module.training
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        BSPModule.load_from_checkpoint(tmp_path / "missing.ckpt")


def test_distillation_fit_keeps_teachers_frozen(tmp_path: Path) -> None:
    teacher_paths = {}
    for name, cls in (("vanilla", VanillaModule), ("bsp", BSPModule)):
        trainer = _trainer(tmp_path / name)
        trainer.fit(cls(**TINY), datamodule=RandomDataModule())
        teacher_paths[name] = tmp_path / f"{name}.ckpt"
        trainer.save_checkpoint(teacher_paths[name])
    reference = BSPModule.load_from_checkpoint(teacher_paths["bsp"]).backbone.state_dict()

    module = DistillationModule(**TINY, vanilla_checkpoint=str(teacher_paths["vanilla"]),
                                bsp_checkpoint=str(teacher_paths["bsp"]))
    trainer = _trainer(tmp_path / "student", fast_dev_run=2)
    trainer.fit(module, datamodule=RandomDataModule())
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
    torch.testing.assert_close(student.extract_features(_batch()["clip"]), module.extract_features(_batch()["clip"]))


def test_optimiser_follows_tsm_recipe_with_linear_lr_scaling(tmp_path: Path) -> None:
    module = BSPModule(**TINY, lr=0.02, lr_batch_size=128, scheduler="step", lr_steps=(1,), lr_gamma=0.1)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=2, accumulate_grad_batches=2, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         limit_val_batches=0)
    trainer.fit(module, datamodule=RandomDataModule(batch_size=2))
    optimizer = trainer.optimizers[0]
    base = 0.02 * (2 * 1 * 2) / 128
    decay, norm, bias = optimizer.param_groups
    assert isinstance(optimizer, torch.optim.SGD) and decay["momentum"] == 0.9
    assert decay["weight_decay"] == 1e-4 and norm["weight_decay"] == 0 and bias["weight_decay"] == 0
    # 8 clips / (2 x accumulate 2) = 2 steps per epoch; after 2 epochs the step at epoch 1 has applied
    assert decay["initial_lr"] == pytest.approx(base) and bias["initial_lr"] == pytest.approx(2 * base)
    assert decay["lr"] == pytest.approx(base * 0.1)
    n_norm = sum(p.numel() for p in norm["params"])
    assert n_norm == sum(p.numel() for m in module.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())


def test_bf16_mixed_precision_on_cpu(tmp_path: Path) -> None:
    module = BSPModule(**TINY, channels_last=True)
    trainer = _trainer(tmp_path, precision="bf16-mixed")
    trainer.fit(module, datamodule=RandomDataModule())
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert next(module.parameters()).dtype == torch.float32


def test_official_tsm_checkpoint_serves_as_vanilla_teacher(tmp_path: Path) -> None:
    from bsp_lightning.models.tsm import TSMClassifier

    from bsp_lightning.module import load_teacher

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


def test_from_scratch_backbone_starts_every_batchnorm_at_one() -> None:
    # timm zero-initialises the last BatchNorm of each residual branch; TSM's torchvision ResNets do not
    module = BSPModule(**TINY)
    weights = [m.weight for m in module.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(weights) == 20 and all(torch.equal(w, torch.ones_like(w)) for w in weights)
