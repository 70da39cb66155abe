"""BSPModule: normalisation, the loss against a hand computation, hooks, metrics, a tiny fit of each variant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.loggers import CSVLogger
from torch import nn

from bsp_lightning.models.normalize import IMAGENET_MEAN, IMAGENET_STD
from bsp_lightning.module import BSPModule, ChangePointModule, TwoHeadModule, VanillaModule

T, SIZE, NUM_ACTIONS = 4, 32, 3
TINY = {"arch": "resnet18", "num_segments": T, "num_action_classes": NUM_ACTIONS, "dropout": 0.0}


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


def test_classification_loss_matches_hand_computation(batch) -> None:
    batch = batch()
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 3.0]])
    label = batch["label"]
    expected = -np.mean([logits[i].log_softmax(0)[label[i]].item() for i in range(2)])
    losses = BSPModule(**TINY).compute_loss({"boundary": logits}, batch)
    assert losses["loss"].item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "cls, kwargs",
    [(BSPModule, {}), (ChangePointModule, {}), (VanillaModule, {}), (TwoHeadModule, {})],
    ids=["classification", "regression", "vanilla", "two_head"],
)
def test_fast_dev_run_each_variant(tmp_path: Path, cls: type[BSPModule], kwargs: dict, data, trainer) -> None:
    module = cls(**TINY, **kwargs)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    trainer = trainer(tmp_path)
    trainer.fit(module, datamodule=data())
    changed = [k for k, v in module.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("backbone.") for k in changed) and any(k.startswith("heads.") for k in changed)
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert "val/loss" in trainer.callback_metrics


def test_validation_logs_per_type_accuracy_and_confusion_matrix(tmp_path: Path, data, clips) -> None:
    module = BSPModule(**TINY)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0,
                         logger=CSVLogger(tmp_path), enable_progress_bar=False, enable_model_summary=False,
                         enable_checkpointing=False)
    trainer.fit(module, datamodule=data())
    metrics = trainer.callback_metrics
    for name in ("diff_class", "same_class", "diff_speed", "same_speed"):
        assert f"val/acc_per_type_{name}" in metrics
    # independent check: run the validation data through the trained model in eval mode
    module.eval()
    ds = clips(4, seed=1)
    with torch.no_grad():
        pred = module(module.normalize(ds.clips))["boundary"].argmax(1)
    assert metrics["val/acc"].item() == pytest.approx((pred == ds.labels).float().mean().item())
    table = (Path(trainer.logger.log_dir) / "confusion" / "val_confusion_epoch000.txt").read_text()
    counts = np.array([[int(c) for c in line.split("|")[1].split()] for line in table.splitlines()[2:]])
    expected = np.zeros((4, 4), dtype=int)
    for t, p in zip(ds.labels.tolist(), pred.tolist()):
        expected[t, p] += 1
    np.testing.assert_array_equal(counts, expected)


def test_hooks_are_overridable_in_a_subclass(tmp_path: Path, data, trainer, batch) -> None:
    class MLPHeadModule(BSPModule):
        def build_heads(self):
            d = self.backbone.num_features
            return {"boundary": nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, self.hparams.num_classes))}

        def compute_loss(self, outputs, batch):
            return {"loss": F.cross_entropy(outputs["boundary"], batch["label"], label_smoothing=0.1)}

    module = MLPHeadModule(**TINY)
    assert isinstance(module.heads["boundary"], nn.Sequential)
    trainer(tmp_path).fit(module, datamodule=data())
    batch = batch()
    out = module(module.normalize(batch["clip"]))
    assert out["boundary"].shape == (2, 4) and out["features"].shape == (2, 512)


def test_bf16_mixed_precision_on_cpu(tmp_path: Path, data, trainer) -> None:
    module = BSPModule(**TINY, channels_last=True)
    trainer = trainer(tmp_path, precision="bf16-mixed")
    trainer.fit(module, datamodule=data())
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    assert next(module.parameters()).dtype == torch.float32


def test_from_scratch_backbone_starts_every_batchnorm_at_one() -> None:
    # timm zero-initialises the last BatchNorm of each residual branch; TSM's torchvision ResNets do not
    module = BSPModule(**TINY)
    weights = [m.weight for m in module.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(weights) == 20 and all(torch.equal(w, torch.ones_like(w)) for w in weights)
