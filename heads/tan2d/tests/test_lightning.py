"""The LightningModule: a fast_dev_run fit + test from the packaged toy config, GloVe errors, the learned option."""

from pathlib import Path

import numpy as np
import pytest
import torch

from bsp_lightning.evaluation.formats import read_grounding
from bsp_lightning.lightning_cli import build_cli
from bsp_lightning.text import GloveError
from bsp_tan2d import HEAD
from bsp_tan2d.example import make_example
from bsp_tan2d.lightning import NegatedLossPlateau, Tan2dModule

SMALL = dict(feature_dim=6, data_info={"num_sample_clips": 16}, num_clips=8, num_scale_layers=[8], hidden=8,
             word_dim=4, text_hidden=8, text_layers=1, map_kernel=3, map_layers=2, map_padding=2)


def test_fast_dev_run_fit_then_test(tmp_path):
    args = make_example(tmp_path)
    cli = build_cli([*args, "--trainer.fast_dev_run=true", "--logger=none"], run=False)
    assert isinstance(cli.model, HEAD.module) and cli.model.feature_dim == 16
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    cli.trainer.test(cli.model, datamodule=cli.datamodule)
    records = read_grounding(tmp_path / "run" / "predictions" / "test.json")
    assert len(records) == 8 and all(len(r["predictions"]) == 5 for r in records)
    assert set(cli.model.test_results) == {f"R@{n},IoU={m}" for n in (1, 5) for m in (0.3, 0.5, 0.7)} | {"mIoU"}
    assert (tmp_path / "run" / "split.json").is_file()
    # GloVe rows never go into the checkpoint
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert not any("glove" in k or "embedding" in k for k in state["state_dict"])


def test_packaged_toy_config_reads_the_toy_file_names(tmp_path, capsys):
    # toy-untrimmed names its Charades-STA files toy_sta_{train,test}.txt: `--config tan2d_toy` reads them as it is
    from bsp_lightning.data.toy.grounding_example import write_grounding_example
    from bsp_lightning.lightning_cli import main

    paths = write_grounding_example(tmp_path)
    for split in ("train", "test"):
        (paths["annotations"] / f"charades_sta_{split}.txt").rename(paths["annotations"] / f"toy_sta_{split}.txt")
    args = ["--config", "tan2d_toy", f"--data.features={paths['features']}", f"--data.annotations={paths['annotations']}",
            "--data.val_fraction=0.25", f"--trainer.default_root_dir={tmp_path / 'run'}", "--logger=none"]
    assert main(["fit", *args, "--trainer.fast_dev_run=true"]) == 0, capsys.readouterr().err
    # a GloVe file given to the learned embedding is not silently ignored
    assert main(["fit", *args, "--trainer.fast_dev_run=true", f"--model.glove={paths['glove']}"]) == 2
    err = capsys.readouterr().err
    assert "--model.word_embedding is 'learned'" in err and len(err.strip().splitlines()) == 1
    # a value the module's __init__ rejects: its message, one line, not jsonargparse's wrapped traceback
    assert main(["fit", *args, "--model.word_embedding=bogus"]) == 2
    err = capsys.readouterr().err
    assert "word_embedding must be 'glove' or 'learned'" in err and len(err.strip().splitlines()) == 1


def test_glove_required_and_bad_glove_line(tmp_path):
    with pytest.raises(GloveError, match="glove.6B.300d.txt"):
        Tan2dModule(**SMALL).setup("fit")
    bad = tmp_path / "glove.txt"
    bad.write_text("the 0.1 0.2 0.3 0.4\nperson 0.1 x 0.3 0.4\n")
    with pytest.raises(GloveError, match=r"glove.txt:2"):
        Tan2dModule(glove=str(bad), **SMALL).setup("fit")
    bad.write_text("the 0.1 0.2 0.3\n")
    with pytest.raises(GloveError, match="3-d vectors"):
        Tan2dModule(glove=str(bad), **SMALL).embed([["the"]])


def test_glove_lookup_and_unknown_words(tmp_path):
    glove = tmp_path / "glove.txt"
    glove.write_text("the 1 2 3 4\nperson 5 6 7 8\n")
    module = Tan2dModule(glove=str(glove), **SMALL)
    words, lengths = module.embed([["the", "person"], ["door."]])
    assert lengths.tolist() == [2, 1]
    np.testing.assert_array_equal(words.numpy(), [[[1, 2, 3, 4], [5, 6, 7, 8]], [[0, 0, 0, 0], [0, 0, 0, 0]]])
    assert sum(p.numel() for p in module.parameters()) == sum(p.numel() for p in module.model.parameters())


def test_learned_embedding_option():
    small = dict(SMALL, data_info={"num_sample_clips": 16, "vocabulary": ["door", "person"]})
    module = Tan2dModule(word_embedding="learned", **small)
    words, _ = module.embed([["person", "zebra"]])
    assert words.requires_grad and module.vocab.index("zebra") == 1
    with pytest.raises(ValueError, match="word_embedding"):
        Tan2dModule(word_embedding="bert", **SMALL)


def test_negated_plateau_counts_a_rising_loss_as_progress():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = NegatedLossPlateau(opt, mode="min", factor=0.5, patience=1)
    for loss in (1.0, 2.0, 3.0, 4.0):  # rising: never a plateau under the official rule
        sched.step(loss)
    assert opt.param_groups[0]["lr"] == 1.0
    for loss in (3.0, 3.0):
        sched.step(loss)
    assert opt.param_groups[0]["lr"] == 0.5


def test_a_checkpoint_with_the_old_hyper_parameter_names_loads(tmp_path, monkeypatch):
    # num_sample_clips was a model argument (and repeated in the data) before data_info carried it
    from bsp_lightning import legacy
    from bsp_lightning.lightning_cli import main

    monkeypatch.setattr(legacy, "_warned", set())
    args = [*make_example(tmp_path), "--logger=none", "--data.batch_size=4"]
    assert main(["fit", *args, "--trainer.max_epochs=1"]) == 0
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert state["hyper_parameters"]["_class_path"] == "bsp_tan2d.lightning.Tan2dModule"  # built by the CLI
    state["hyper_parameters"]["num_sample_clips"] = state["hyper_parameters"]["data_info"].pop("num_sample_clips")
    torch.save(state, tmp_path / "old.ckpt")
    with pytest.warns(FutureWarning, match="num_sample_clips"):
        old = Tan2dModule.load_from_checkpoint(tmp_path / "old.ckpt")
    assert old.num_sample_clips == 64 and old.data_info["num_sample_clips"] == 64
    assert main(["test", *args, f"--ckpt_path={tmp_path / 'old.ckpt'}"]) == 0
    records = read_grounding(tmp_path / "run" / "predictions" / "test.json")
    assert len(records) == 8
