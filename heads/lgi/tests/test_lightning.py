"""LGIModule through the head CLI: registration, a fast_dev_run, postprocessing and the metric."""

from __future__ import annotations

import json

import pytest
import torch

from bsp_lightning.heads import available_heads, head_configs
from bsp_lightning.lightning_cli import main
from bsp_lgi import HEAD
from bsp_lgi.lightning import LGIModule

VOCAB = ["<PAD>", "<UNK>", "<S>", "<E>", "door", "opens", "person"]


def test_registered_with_three_configs():
    assert available_heads()["lgi"] is HEAD
    assert HEAD.task == "grounding"
    configs = head_configs()
    assert {"lgi_charades", "lgi_anet_captions", "lgi_toy"} <= set(configs)
    for name in ("lgi_charades", "lgi_anet_captions", "lgi_toy"):
        assert configs[name].read_text().startswith("# ")


def _args(data, *extra):
    return ["--config", "lgi_toy", "--data.features", str(data["features"]),
            "--data.annotations", str(data["annotations"]), "--data.train_file", "charades_sta_train.txt",
            "--data.test_files", "charades_sta_test.txt", "--data.batch_size", "4",
            "--trainer.default_root_dir", str(data["root"] / "run"), "--logger", "none", *extra]


def test_fast_dev_run(grounding_data):
    assert main(["fit", *_args(grounding_data, "--trainer.fast_dev_run", "true")]) == 0
    split = json.loads((grounding_data["root"] / "run" / "split.json").read_text())
    assert len(split["val"]) == 2 and len(split["train"]) == 14


def test_missing_glove_file_is_one_line_and_exit_2(grounding_data, capsys):
    # LGIModule reads --model.glove in setup, when fitting starts: the GloVe error itself, one line
    absent = grounding_data["root"] / "absent" / "glove.6B.300d.txt"
    assert main(["fit", *_args(grounding_data, "--model.glove", str(absent))]) == 2
    err = capsys.readouterr().err
    assert f"{absent}: GloVe file not found" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_postprocess_seconds_unclipped_and_metric():
    module = LGIModule(feature_dim=6, data_info={"vocabulary": VOCAB, "num_segments": 12}, dim=16, word_dim=8,
                       att_hidden_dim=8, regression_hidden_dim=16, kernel_size=3, num_phrases=2, num_heads=2)
    outputs = {"loc": torch.tensor([[0.2, 0.6], [0.9, 1.2], [0.5, 0.1]])}
    batch = {"duration": torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64), "video": ["a", "b", "c"],
             "query": ["q1", "q2", "q3"], "gt": torch.tensor([[2.0, 5.0], [18.0, 22.0], [3.0, 15.0]]),
             "index": torch.tensor([0, 1, 2])}
    items = module.postprocess(outputs, batch)
    preds = [it["predictions"][0] for it in items]
    assert preds[0] == pytest.approx([2.0, 6.0])
    assert preds[1] == pytest.approx([18.0, 24.0])  # past the 20 s video: kept
    assert preds[2] == pytest.approx([15.0, 3.0])   # reversed: kept, scores IoU 0
    records = module.merge_predictions(items)
    metrics = module.build_metric()(records)
    # IoU: [2,6] vs [2,5] = 3/4; [18,24] vs [18,22] = 4/6; reversed = 0
    assert metrics["R@1,IoU=0.3"] == pytest.approx(2 / 3) and metrics["R@1,IoU=0.7"] == pytest.approx(1 / 3)
    assert metrics["mIoU"] == pytest.approx((0.75 + 4 / 6) / 3)
    assert list(metrics) == ["R@1,IoU=0.3", "R@1,IoU=0.5", "R@1,IoU=0.7", "mIoU"]


def test_module_without_data_info_explains():
    with pytest.raises(ValueError, match="linked from LGIDataModule"):
        LGIModule(feature_dim=6)


def test_glove_initialisation_known_words_copied_unknown_zero(tmp_path):
    glove = tmp_path / "tiny.8d.txt"
    glove.write_text("door " + " ".join(["0.5"] * 8) + "\nperson " + " ".join(["-1.25"] * 8) + "\nzebra "
                     + " ".join(["3"] * 8) + "\n")
    module = LGIModule(feature_dim=6, data_info={"vocabulary": VOCAB, "num_segments": 12}, dim=16, word_dim=8,
                       att_hidden_dim=8, regression_hidden_dim=16, kernel_size=3, num_phrases=2, num_heads=2,
                       glove=str(glove))
    module.setup("fit")  # the file is read when fitting starts
    table = module.model.query_encoder.embedding.weight
    assert table.requires_grad
    torch.testing.assert_close(table[VOCAB.index("door")], torch.full((8,), 0.5))
    torch.testing.assert_close(table[VOCAB.index("person")], torch.full((8,), -1.25))
    for word in ("<PAD>", "<UNK>", "opens"):
        assert (table[VOCAB.index(word)] == 0).all()


def test_dead_relu_output_is_logged_and_warned():
    module = LGIModule(feature_dim=6, data_info={"vocabulary": VOCAB, "num_segments": 12}, dim=16, word_dim=8,
                       att_hidden_dim=8, regression_hidden_dim=16, kernel_size=3, num_phrases=2, num_heads=2)
    with torch.no_grad():
        module.model.regressor.mlp[2].bias.copy_(torch.tensor([100.0, -100.0]))  # start always on, end always off
    B, T = 3, 12
    batch = {"features": torch.randn(B, T, 6), "segment_mask": torch.ones(B, T),
             "words": torch.tensor([[4, 5, 6], [5, 6, 0], [6, 0, 0]]), "start": torch.zeros(B), "end": torch.ones(B),
             "attention_mask": torch.ones(B, T)}
    batch["word_mask"] = (batch["words"] > 0).float()
    module.train()
    module.on_train_epoch_start()
    losses = module.compute_loss(module(batch), batch)
    assert losses["active_start"].item() == 1.0 and losses["active_end"].item() == 0.0
    assert (module(batch)["loc"][:, 1] == 0).all()
    with pytest.warns(UserWarning, match="end boundary was 0 for every training query"):
        module.on_train_epoch_end()


def test_a_checkpoint_with_the_old_hyper_parameter_names_loads(grounding_data, tmp_path, monkeypatch):
    # data_info said "dataset" before the one spelling "benchmark"
    from bsp_lightning import legacy

    monkeypatch.setattr(legacy, "_warned", set())
    assert main(["fit", *_args(grounding_data, "--trainer.max_epochs=1")]) == 0
    run = grounding_data["root"] / "run"
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    state["hyper_parameters"]["data_info"]["dataset"] = state["hyper_parameters"]["data_info"].pop("benchmark")
    torch.save(state, tmp_path / "old.ckpt")
    with pytest.warns(FutureWarning, match="dataset"):
        old = LGIModule.load_from_checkpoint(tmp_path / "old.ckpt")
    assert old.data_info["benchmark"] == "charades" and "dataset" not in old.data_info
    assert main(["test", *_args(grounding_data), f"--ckpt_path={tmp_path / 'old.ckpt'}"]) == 0
    assert (run / "predictions" / "test.json").is_file()
