"""Checkpoints and resumes of the heads: another head's checkpoint is one line; a grounding head's vocabulary is
its checkpoint's at test time; a resumed fit draws the uninterrupted run's training order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint

from bsp_lightning.heads import available_heads
from bsp_lightning.heads.provenance import HEAD_KEY
from bsp_lightning.lightning_cli import main

sys.path.insert(0, str(Path(__file__).parent))
import example_head  # noqa: E402

sys.path.pop(0)

HEADS = available_heads()
SHORT_FIT = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=1", "--trainer.limit_val_batches=1",
             "--logger=none", "--trainer.enable_progress_bar=false"]


def _fit(args: list[str]) -> Path:
    assert main(["fit", *args, *SHORT_FIT]) == 0
    root = Path(next(a.split("=", 1)[1] for a in args if a.startswith("--trainer.default_root_dir=")))
    return root / "checkpoints" / "last.ckpt"


@pytest.mark.skipif(not {"gtad", "tan2d"} <= set(HEADS), reason="needs the gtad and tan2d heads")
def test_a_checkpoint_of_another_head_is_one_line(tmp_path, capsys):
    ckpt = _fit(HEADS["gtad"].make_example(tmp_path / "gtad"))
    record = torch.load(ckpt, map_location="cpu", weights_only=False)[HEAD_KEY]
    assert record["name"] == "gtad" and record["config"] == "gtad_toy"
    capsys.readouterr()
    code = main(["test", *HEADS["tan2d"].make_example(tmp_path / "tan2d"), f"--ckpt_path={ckpt}", "--logger=none"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"bsp-lightning: {ckpt} was trained by head gtad (config gtad_toy); this run is tan2d"


@pytest.mark.skipif("lgi" not in HEADS, reason="needs the lgi head")
def test_lgi_tests_with_the_checkpoint_vocabulary_whatever_the_seed(tmp_path):
    from bsp_lgi.data import LGIDataModule

    args = HEADS["lgi"].make_example(tmp_path)
    data = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("--data.")}
    train = Path(data["--data.annotations"]) / "charades_sta_train.txt"
    videos = sorted({line.split()[0] for line in train.read_text().splitlines() if line.strip()})
    # one word of its own per training video: the hold-out then decides which words are in the vocabulary
    train.write_text(train.read_text().rstrip("\n") + "\n" + "".join(
        f"{v} 0.0 1.0##a person word{k}\n" for k, v in enumerate(videos)))
    ckpt = _fit(args)
    vocabularies = [LGIDataModule(data["--data.features"], data["--data.annotations"], val_fraction=0.25,
                                  train_file="charades_sta_train.txt", seed=seed).vocabulary for seed in (0, 3)]
    assert vocabularies[0] != vocabularies[1]  # another hold-out: other training words, every index shifted
    predictions = []
    for seed in (0, 3):
        root = tmp_path / f"test{seed}"
        assert main(["test", *args, f"--ckpt_path={ckpt}", f"--data.seed={seed}", "--logger=none",
                     f"--trainer.default_root_dir={root}"]) == 0
        predictions.append(json.loads((root / "predictions" / "test.json").read_text()))
    assert predictions[0] == predictions[1]
    stored = torch.load(ckpt, map_location="cpu", weights_only=False)["hyper_parameters"]["data_info"]["vocabulary"]
    assert stored == vocabularies[0]


class _Order(Callback):
    def __init__(self) -> None:
        self.epochs: dict[int, list[str]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.epochs.setdefault(trainer.current_epoch, []).extend(batch["video_id"])


def _example_fit(args: list[str], root: Path, epochs: int, ckpt_path: str | None = None) -> _Order:
    from bsp_lightning.lightning_cli import build_cli

    cli = build_cli([*args, "--data.batch_size=1", "--logger=none"], run=False)
    order = _Order()
    trainer = pl.Trainer(default_root_dir=str(root), max_epochs=epochs, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[order, ModelCheckpoint(dirpath=root / "checkpoints", save_last=True)])
    trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt_path)
    return order


def test_a_resumed_fit_draws_the_uninterrupted_runs_order(tmp_path):
    args = example_head.make_example(tmp_path)
    whole = _example_fit(args, tmp_path / "whole", epochs=3)
    assert whole.epochs[0] != whole.epochs[1] != whole.epochs[2]  # the order changes with the epoch
    _example_fit(args, tmp_path / "cut", epochs=1)
    resumed = _example_fit(args, tmp_path / "cut", epochs=3, ckpt_path=str(tmp_path / "cut" / "checkpoints" / "last.ckpt"))
    assert sorted(resumed.epochs) == [1, 2]
    assert resumed.epochs[1] == whole.epochs[1] and resumed.epochs[2] == whole.epochs[2]
