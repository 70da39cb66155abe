"""fast_dev_run fit + test on tiny generated features (ActivityNet and THUMOS layouts); label sources."""

import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from bsp_lightning.evaluation.formats import read_detections
from bsp_lightning.features.store import FeatureStore
from bsp_lightning.heads import DataInfoMismatchError
from bsp_gtad.classifier import ClassScoreError
from bsp_gtad.data import GTADActivityNetData
from bsp_gtad.lightning import GTADModule
from bsp_gtad.thumos import GTADThumosData

TINY_MODEL = dict(hidden_1d=16, hidden_2d=8, hidden_3d=16, inner_points=4, context_points=2, groups=4, width_group=2)


def _trainer(root: Path, **kw) -> pl.Trainer:
    args = dict(fast_dev_run=True, default_root_dir=str(root), logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False)
    args.update(kw)
    return pl.Trainer(**args)


def test_fast_dev_run_activitynet(tiny_anet, tmp_path):
    feats, anno = tiny_anet
    dm = GTADActivityNetData(str(feats), str(anno), batch_size=2, temporal_scale=16, max_duration=16,
                             test_subset="testing")
    model = GTADModule(dm.feature_dim, dm.data_info, **TINY_MODEL)
    trainer = _trainer(tmp_path / "run")
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm)
    written = tmp_path / "run" / "predictions" / "test.json"
    pred = read_detections(written)
    assert set(pred.videos) == {"vid5"} and set(pred.labels) <= {"jump", "run"}
    data = json.loads(written.read_text())
    assert "VideoClassifier" in data["external_data"]["labels"]
    n = len(data["results"]["vid5"])
    assert n % 2 == 0 and n > 0  # every proposal twice (top-2 classes)
    proposals = json.loads((tmp_path / "run" / "predictions" / "test_proposals.json").read_text())
    assert len(proposals["results"]["vid5"]) == n // 2
    assert {"average_mAP", "mAP@0.50", "AR@100", "AUC"} <= set(model.test_results)
    assert all(0 <= v <= 1 for v in model.test_results.values())


def test_class_score_file(tiny_anet, tmp_path):
    feats, anno = tiny_anet
    dm = GTADActivityNetData(str(feats), str(anno), batch_size=2, temporal_scale=16, max_duration=16,
                             test_subset="testing")
    scores = tmp_path / "cls.json"
    scores.write_text(json.dumps({"results": {"vid5": [0.2, 0.7]}, "class": ["jump", "run"]}))
    model = GTADModule(dm.feature_dim, dm.data_info, class_scores=str(scores), **TINY_MODEL)
    _trainer(tmp_path / "run").test(model, datamodule=dm)
    data = json.loads((tmp_path / "run" / "predictions" / "test.json").read_text())
    dets = data["results"]["vid5"]
    half = len(dets) // 2
    assert {d["label"] for d in dets[:half]} == {"run"} and {d["label"] for d in dets[half:]} == {"jump"}
    assert dets[0]["score"] / dets[half]["score"] == pytest.approx(0.7 / 0.2)
    assert str(scores) in data["external_data"]["labels"]
    scores.write_text(json.dumps({"results": {"other": [0.2, 0.7]}, "class": ["jump", "run"]}))
    with pytest.raises(ClassScoreError, match="1 test video"):
        _trainer(tmp_path / "run2").test(model, datamodule=dm)
    scores.write_text(json.dumps({"results": {"v_vid5": [0.2, 0.7]}, "class": ["jump", "swim"]}))
    with pytest.raises(ClassScoreError, match="swim"):
        _trainer(tmp_path / "run3").test(model, datamodule=dm)


def _thumos(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Features (12-d, 8 frames at 25 fps per snippet) and validation/test annotation folders of two videos each."""
    rng = np.random.default_rng(0)
    store = FeatureStore(tmp_path / "feats")
    folders = {}
    for split in ("val", "test"):
        folder = tmp_path / split
        folder.mkdir()
        lines = []
        for i, n in enumerate((40, 13)):
            vid = f"video_{'validation' if split == 'val' else 'test'}_{i:07d}"
            x = rng.normal(size=(n, 12)).astype(np.float32)
            x[4:8] += 2
            store.write_video(vid, x, [k * 0.32 for k in range(n)], 25.0, n * 8, "t")
            lines.append(f"{vid}  {4 * 0.32:.2f} {8 * 0.32:.2f}")
        (folder / f"BaseballPitch_{split}.txt").write_text("\n".join(lines) + "\n")
        folders[split] = folder
    store.write_manifest({"feature_dim": 12, "snippet_length": 8})
    return tmp_path / "feats", folders["val"], folders["test"]


def test_fast_dev_run_thumos(tmp_path):
    feats, val, test = _thumos(tmp_path)
    dm = GTADThumosData(str(feats), str(val), batch_size=2, temporal_scale=16, max_duration=8,
                        test_annotations=str(test), window_stride=8, tail_threshold=3)
    model = GTADModule(dm.feature_dim, dm.data_info, nms_denominator=0.46, top_k=200,
                       max_proposal_seconds=10.0, **dict(TINY_MODEL, kernel_2d=3, padding_2d=1))
    trainer = _trainer(tmp_path / "run", limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    # 40 snippets: windows at 0, 8, 16 (int((40 + 8 - 16) / 8) = 4 -> 0, 8, 16, 24); 13 snippets: one padded window
    assert len(dm.dataset("test")) == 5
    _trainer(tmp_path / "run", fast_dev_run=False).test(model, datamodule=dm)  # every window
    data = json.loads((tmp_path / "run" / "predictions" / "test.json").read_text())
    assert data["version"] == "THUMOS14" and set(data["results"]) == {"video_test_0000000", "video_test_0000001"}
    seg = data["results"]["video_test_0000001"][0]["segment"]
    assert seg[1] <= round(13 * 0.32, 1) and seg == [round(v, 1) for v in seg]  # clipped, then rounded
    assert set(model.test_results) >= {"mAP@0.30", "mAP@0.70", "average_mAP"}


def test_mismatched_scales_are_one_line(tiny_anet, tmp_path):
    # the model takes T and D from the data (data_info); a model built for other data is named at test time
    feats, anno = tiny_anet
    trained = GTADActivityNetData(str(feats), str(anno), batch_size=2, temporal_scale=16, max_duration=16)
    model = GTADModule(trained.feature_dim, trained.data_info, **TINY_MODEL)
    assert model.temporal_scale == 16 and model.mask.shape == (16, 16)
    dm = GTADActivityNetData(str(feats), str(anno), batch_size=2, temporal_scale=32, max_duration=16)
    with pytest.raises(DataInfoMismatchError, match="temporal_scale: 16 in the checkpoint, 32 in the data"):
        _trainer(tmp_path / "run").test(model, datamodule=dm)


def test_a_checkpoint_with_the_old_hyper_parameter_names_loads(tiny_anet, tmp_path, monkeypatch):
    # before data_info was the only data-to-model channel, T, D and the benchmark ("dataset") were model arguments
    from bsp_lightning import legacy

    monkeypatch.setattr(legacy, "_warned", set())
    feats, anno = tiny_anet
    dm = GTADActivityNetData(str(feats), str(anno), batch_size=2, temporal_scale=16, max_duration=16,
                             test_subset="testing")
    model = GTADModule(dm.feature_dim, dm.data_info, **TINY_MODEL)
    trainer = _trainer(tmp_path / "run", fast_dev_run=False, max_epochs=1, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(model, datamodule=dm)
    trainer.save_checkpoint(tmp_path / "new.ckpt")
    state = torch.load(tmp_path / "new.ckpt", map_location="cpu", weights_only=False)
    hparams, info = state["hyper_parameters"], state["hyper_parameters"]["data_info"]
    hparams.update(dataset=info.pop("benchmark"), temporal_scale=info.pop("temporal_scale"),
                   max_duration=info.pop("max_duration"))
    info["dataset"] = "activitynet"
    torch.save(state, tmp_path / "old.ckpt")
    with pytest.warns(FutureWarning, match="temporal_scale"):
        old = GTADModule.load_from_checkpoint(tmp_path / "old.ckpt")
    assert old.data_info == model.data_info and (old.temporal_scale, old.max_duration) == (16, 16)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), old.state_dict().values()))
    # tested through --ckpt_path: the recorded data_info (old names) is compared with the data's, then loaded
    _trainer(tmp_path / "run2").test(model, datamodule=dm, ckpt_path=tmp_path / "old.ckpt")
    with pytest.raises(DataInfoMismatchError, match="max_duration: 16 in the checkpoint, 8 in the data"):
        other = GTADActivityNetData(str(feats), str(anno), temporal_scale=16, max_duration=8, test_subset="testing")
        _trainer(tmp_path / "run3").test(model, datamodule=other, ckpt_path=tmp_path / "old.ckpt")


def test_thumos_test_loop_on_two_processes_repeats_no_window(tmp_path):
    # 5 windows over 2 ranks: a padded sampler would give window 0 twice and merge its proposals twice
    feats, val, test = _thumos(tmp_path)
    dm = GTADThumosData(str(feats), str(val), batch_size=1, temporal_scale=16, max_duration=8,
                        test_annotations=str(test), window_stride=8, tail_threshold=3)
    pl.seed_everything(0)
    model = GTADModule(dm.feature_dim, dm.data_info, nms_denominator=0.46, top_k=200,
                       max_proposal_seconds=10.0, **dict(TINY_MODEL, kernel_2d=3, padding_2d=1))
    assert len(dm.dataset("test")) == 5
    one = _trainer(tmp_path / "one", fast_dev_run=False).test(model, datamodule=dm, verbose=False)[0]
    two = _trainer(tmp_path / "two", fast_dev_run=False, accelerator="cpu", devices=2,
                   strategy="ddp_fork").test(model, datamodule=dm, verbose=False)[0]
    first, second = (json.loads((tmp_path / r / "predictions" / "test.json").read_text()) for r in ("one", "two"))
    assert second == first
    assert all(abs(one[k] - two[k]) <= 1e-9 for k in one) and one.keys() == two.keys()


def test_class_score_file_given_to_test_of_a_run_trained_without_one(tmp_path):
    # `bsp-lightning test ... --model.class_scores FILE --ckpt_path RUN/checkpoints/X.ckpt` on a run trained with the
    # own classifier: Lightning's reload of the checkpoint's hyper-parameters used to drop the file silently
    from bsp_lightning.lightning_cli import main, resolve_checkpoint
    from bsp_gtad.example import make_example

    tiny = [f"--model.init_args.{k}={v}" for k, v in TINY_MODEL.items()]
    args = [*make_example(tmp_path), *tiny, "--data.init_args.temporal_scale=16", "--data.init_args.max_duration=16",
            "--data.init_args.test_subset=testing", "--logger=none", "--trainer.max_epochs=1"]
    assert main(["fit", *args]) == 0
    scores = tmp_path / "cls.json"
    scores.write_text(json.dumps({"results": {"vid5": [0.2, 0.7]}, "class": ["jump", "run"]}))
    best = resolve_checkpoint("best", tmp_path / "run")  # a path, whose hyper-parameters Lightning reloads
    assert main(["test", *args, f"--model.class_scores={scores}", f"--ckpt_path={best}"]) == 0
    data = json.loads((tmp_path / "run" / "predictions" / "test.json").read_text())
    assert str(scores) in data["external_data"]["labels"]
    dets = data["results"]["vid5"]
    half = len(dets) // 2
    assert {d["label"] for d in dets[:half]} == {"run"} and {d["label"] for d in dets[half:]} == {"jump"}
    assert dets[0]["score"] / dets[half]["score"] == pytest.approx(0.7 / 0.2)
