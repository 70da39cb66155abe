"""BSPDataModule on tiny real mp4 files whose frames encode (video, frame number) in their colour."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from bsp_lightning.data import BOUNDARY_TYPES, BSPDataModule, NoUsableVideoError
from bsp_lightning.data.sampling import diff_speed_offsets
from bsp_lightning.data.synthesis import change_point_heatmap

CLASSES = ("class_a", "class_b", "class_c")
NUM_FRAMES = 30
_CACHE: dict[str, tuple[Path, dict[str, tuple[int, str]]]] = {}


def video_frames(green: int, num_frames: int = NUM_FRAMES, size: int = 32) -> np.ndarray:
    """Constant-colour frames: red = 4 * frame number, green identifies the video."""
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    frames[..., 0] = (4 * np.arange(num_frames))[:, None, None]
    frames[..., 1] = green
    frames[..., 2] = 100
    return frames


@pytest.fixture
def dataset(tmp_path_factory, mp4_writer) -> tuple[Path, dict[str, tuple[int, str]]]:
    """root/{train,val}/<label>/<id>.mp4; returns the root and video_id -> (green, label)."""
    if "root" not in _CACHE:
        root = tmp_path_factory.mktemp("kinetics")
        videos: dict[str, tuple[int, str]] = {}
        layout = {"train": {c: 2 for c in CLASSES}, "val": {"class_a": 2, "class_b": 1, "class_c": 1}}
        for split, counts in layout.items():
            for label, count in counts.items():
                for k in range(count):
                    video_id = f"{split}_{label}_{k}"
                    green = 20 + 10 * len(videos)
                    mp4_writer(root / split / label / f"{video_id}.mp4", video_frames(green))
                    videos[video_id] = (green, label)
        _CACHE["root"] = (root, videos)
    return _CACHE["root"]


def frame_values(clip: torch.Tensor) -> np.ndarray:
    """(T, C, H, W) constant frames -> (T, 3) colours."""
    assert (clip == clip[:, :, :1, :1]).all()
    return clip[:, :, 0, 0].long().numpy()


def make(root: Path, **kwargs) -> BSPDataModule:
    args = dict(root=str(root), num_frames=8, eps=1, gammas=(0.5, 2.0), frame_stride=2, resolution=16,
                batch_size=4, num_workers=0, samples_per_epoch=24, val_samples=8, seed=3)
    args.update(kwargs)
    dm = BSPDataModule(**args)
    dm.setup("fit")
    return dm


def all_batches(loader) -> list[dict]:
    return list(loader)


def test_bsp_samples_match_equations(dataset):
    root, videos = dataset
    dm = make(root)
    assert dm.num_classes == 4 and dm.num_action_classes == 3 and dm.boundary_types == list(BOUNDARY_TYPES)
    seen = set()
    for batch in all_batches(dm.train_dataloader()):
        assert batch["clip"].dtype == torch.uint8 and batch["clip"].shape == (4, 8, 3, 16, 16)
        assert batch["heatmap"].shape == (4, 8) and batch["heatmap"].dtype == torch.float32
        for b in range(4):
            rgb = frame_values(batch["clip"][b])
            red, green = rgb[:, 0], rgb[:, 1]
            kind = int(batch["label"][b])
            assert kind == int(batch["boundary_type"][b])
            seen.add(kind)
            green1, label1 = videos[batch["video_id"][b]]
            assert int(batch["action_label"][b]) == CLASSES.index(label1)
            cp = float(batch["change_point"][b])
            if kind == 0:  # diff_class, tau=4, eps=1: f1_1..f1_3, (f1_4 + f2_1) / 2, f2_2..f2_5
                green2, label2 = videos[batch["video_id_2"][b]]
                assert label1 != label2
                assert (np.diff(red[:3]) == 8).all() and (np.diff(red[4:]) == 8).all()
                assert (green[:3] == green1).all() and (green[4:] == green2).all()
                assert red[3] == np.floor((red[2] + 8 + red[4] - 8) / 2 + 0.5)
                assert green[3] == np.floor((green1 + green2) / 2 + 0.5)
                assert cp == 4
            elif kind == 1:  # same_class: 4 frames of each of two videos of one class
                green2, label2 = videos[batch["video_id_2"][b]]
                assert label1 == label2 and batch["video_id"][b] != batch["video_id_2"][b]
                assert (green[:4] == green1).all() and (green[4:] == green2).all()
                assert (np.diff(red[:4]) == 8).all() and (np.diff(red[4:]) == 8).all()
                assert cp == 4
            elif kind == 2:  # diff_speed at stride 2
                gamma = float(batch["gamma"][b])
                assert gamma in (0.5, 2.0) and 2 <= cp <= 6 and (green == green1).all()
                np.testing.assert_array_equal((red - red[0]) // 4, diff_speed_offsets(4, int(cp), gamma, 2))
            else:  # same_speed
                assert (np.diff(red) == 8).all() and (green == green1).all() and cp == 0
                assert batch["video_id_2"][b] == ""
            if kind == 3:
                assert (batch["heatmap"][b] == 0).all()
            else:
                np.testing.assert_allclose(batch["heatmap"][b].numpy(), change_point_heatmap(cp, 8, 4))
            assert int(batch["num_skipped"][b]) == 0
    assert seen == {0, 1, 2, 3}


def test_same_seed_same_samples_whatever_num_workers(dataset):
    root, _ = dataset
    serial = make(root, num_workers=0).train_dataloader()
    parallel = make(root, num_workers=2).train_dataloader()
    for a, b in zip(all_batches(serial), all_batches(parallel)):
        for key in ("clip", "label", "change_point", "gamma", "heatmap"):
            assert torch.equal(a[key], b[key]), key
        assert a["video_id"] == b["video_id"]
    loader = make(root, num_workers=0).train_dataloader()
    first = torch.cat([batch["clip"] for batch in loader])
    loader.sampler.set_epoch(1)
    second = torch.cat([batch["clip"] for batch in loader])
    assert not torch.equal(first, second)
    other_seed = torch.cat([batch["clip"] for batch in make(root, seed=4).train_dataloader()])
    assert not torch.equal(first, other_seed)


def test_binary_subset_remaps_labels(dataset):
    root, _ = dataset
    dm = make(root, boundary_types=["diff_speed", "same_speed"])
    assert dm.num_classes == 2
    batches = all_batches(dm.train_dataloader())
    labels = torch.cat([b["label"] for b in batches])
    kinds = torch.cat([b["boundary_type"] for b in batches])
    assert set(labels.tolist()) == {0, 1}
    assert torch.equal(kinds, labels + 2)


def test_action_mode(dataset):
    root, videos = dataset
    dm = make(root, mode="action", num_frames=6)
    assert dm.num_classes == 3
    for batch in all_batches(dm.train_dataloader()):
        assert batch["clip"].shape == (4, 6, 3, 16, 16)
        assert torch.equal(batch["label"], batch["action_label"])
        for b in range(4):
            rgb = frame_values(batch["clip"][b])
            green, label = videos[batch["video_id"][b]]
            assert int(batch["label"][b]) == CLASSES.index(label)
            assert (rgb[:, 1] == green).all() and (np.diff(rgb[:, 0]) == 8).all()
        assert (batch["boundary_type"] == -1).all() and (batch["change_point"] == 0).all()


def test_validation_is_fixed_and_centre_cropped(dataset, mp4_writer, tmp_path):
    root, videos = dataset
    dm = make(root)
    first = all_batches(dm.val_dataloader())
    again = all_batches(make(root).val_dataloader())
    assert sum(len(b["label"]) for b in first) == 8
    for a, b in zip(first, again):
        assert torch.equal(a["clip"], b["clip"]) and a["video_id"] == b["video_id"]
    assert all(v.startswith("val_") for b in first for v in b["video_id"])
    # a centre crop of a frame with a distinct left and right half keeps both halves, unflipped
    frames = video_frames(50, num_frames=20)
    frames[:, :, :16, 2] = 0
    frames[:, :, 16:, 2] = 200
    for label in CLASSES:
        for k in range(2):
            mp4_writer(tmp_path / "val" / label / f"v{label}{k}.mp4", frames)
            mp4_writer(tmp_path / "train" / label / f"t{label}{k}.mp4", frames)
    dm = make(tmp_path, resolution=32)
    clip = dm.val_dataset[0]["clip"]
    assert (clip[:, 2, :, :16] == 0).all() and (clip[:, 2, :, 16:] == 200).all()


def _broken_dataset(root: Path, mp4_writer, keep_good: bool) -> list[str]:
    """One good video per class (when asked) plus each kind of broken file."""
    for label in CLASSES[:2]:
        if keep_good:
            for k in range(4):
                mp4_writer(root / "train" / label / f"good_{label}_{k}.mp4", video_frames(60 + k))
        full = mp4_writer(root / "train" / label / f"truncated_{label}.mp4", video_frames(70))
        data = full.read_bytes()
        full.write_bytes(data[: len(data) // 2])
        (root / "train" / label / f"empty_{label}.mp4").write_bytes(b"")
        (root / "train" / label / f"text_{label}.mp4").write_text("this is not a video\n")
        mp4_writer(root / "train" / label / f"short_{label}.mp4", video_frames(80, num_frames=3))
    return ["truncated", "empty", "text", "short"]


def test_broken_videos_are_skipped_and_counted(tmp_path, mp4_writer, caplog):
    _broken_dataset(tmp_path, mp4_writer, keep_good=True)
    dm = make(tmp_path, val_split=None, samples_per_epoch=32, max_retries=40)
    with caplog.at_level(logging.DEBUG, logger="bsp_lightning.data.datamodule"):
        batches = all_batches(dm.train_dataloader())
    ids = [v for b in batches for v in b["video_id"] + b["video_id_2"] if v]
    assert ids and all(v.startswith("good_") for v in ids)
    skipped = int(sum(b["num_skipped"].sum() for b in batches))
    assert skipped > 0
    skips = [r for r in caplog.records if "skipping video" in r.getMessage()]
    assert len(skips) == skipped
    warned = [r.getMessage() for r in skips if r.levelno == logging.WARNING]
    assert len(warned) == len({m.split(": ")[0] for m in warned}) == 8  # one warning per broken file
    text = "\n".join(warned)
    assert "empty (0 bytes)" in text and "too short" in text and "text_class_" in text and "truncated_class_" in text


def test_skip_count_logged_at_epoch_end(tmp_path, mp4_writer, caplog):
    _broken_dataset(tmp_path, mp4_writer, keep_good=True)
    dm = BSPDataModule(root=str(tmp_path), val_split=None, num_frames=4, gammas=(0.5, 2.0), frame_stride=1,
                       resolution=8, batch_size=8, num_workers=0, samples_per_epoch=16, seed=0, max_retries=40)

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Linear(3, 4)

        def training_step(self, batch, batch_idx):
            x = batch["clip"].float().mean(dim=(1, 3, 4))
            return torch.nn.functional.cross_entropy(self.head(x), batch["label"])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    with caplog.at_level(logging.DEBUG, logger="bsp_lightning.data.datamodule"):
        trainer.fit(Tiny(), datamodule=dm)
    skipped = len([r for r in caplog.records if "skipping video" in r.getMessage()])
    assert skipped > 0
    assert f"epoch 0 (train): skipped {skipped} unreadable or too-short videos" in caplog.text
    assert trainer.callback_metrics["data/skipped_videos_train"] == skipped


def test_all_videos_broken_raises(tmp_path, mp4_writer):
    _broken_dataset(tmp_path, mp4_writer, keep_good=False)
    dm = make(tmp_path, val_split=None, max_retries=5)
    with pytest.raises(NoUsableVideoError, match="no usable video after 6 attempts.*at least 15 frames long"):
        next(iter(dm.train_dataloader()))


def test_prepare_data_generates_toy_default(tmp_path, monkeypatch):
    from bsp_lightning.data import toy

    calls = []

    def small_toy(root):  # the real generator with a tiny configuration
        calls.append(root)
        toy.write_toy_kinetics(Path(root) / toy.KINETICS_DIR, num_classes=3, train_per_class=2, val_per_class=2,
                               num_frames=32, size=32, progress=False)
        return Path(root)

    monkeypatch.setenv("BSP_TOY_ROOT", str(tmp_path / "toy"))
    monkeypatch.setattr(toy, "ensure_toy_data", small_toy)
    dm = BSPDataModule(num_frames=4, frame_stride=1, gammas=(0.5, 2.0), resolution=16, batch_size=2,
                       num_workers=0, samples_per_epoch=4, val_samples=2)
    dm.prepare_data()
    assert calls == [tmp_path / "toy"]
    dm.setup("fit")
    assert dm.num_action_classes == 3
    batch = next(iter(dm.train_dataloader()))
    assert batch["clip"].shape == (2, 4, 3, 16, 16)
    assert len(next(iter(dm.val_dataloader()))["label"]) == 2
    BSPDataModule(root=str(tmp_path / "elsewhere")).prepare_data()  # a named root is never generated
    assert len(calls) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_frames=8, tau=3), "num_frames must be 2 \\* tau"),
        (dict(boundary_types=["diff_class", "cut"]), "boundary_types"),
        (dict(boundary_types=["same_speed", "same_speed"]), "boundary_types"),
        (dict(gammas=(1.0, 2.0)), "gammas"),
        (dict(eps=5), "eps"),
        (dict(change_point_range=(0, 4)), "change_point_range"),
        (dict(gammas=(0.75,), change_point_range=(6, 7)), "same frames as a same-speed clip"),
        (dict(mode="boundary"), "mode"),
    ],
)
def test_invalid_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BSPDataModule(**kwargs)


def test_configurable_from_jsonargparse():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(BSPDataModule, "data")
    cfg = parser.parse_args(["--data.boundary_types", "[diff_speed, same_speed]", "--data.gammas", "[0.5, 3]",
                             "--data.change_point_range", "[2, 5]", "--data.num_frames", "8"])
    dm = BSPDataModule(**cfg.data.as_dict())
    assert dm.boundary_types == ["diff_speed", "same_speed"] and dm.num_classes == 2
    assert dm.gammas == (0.5, 3.0) and dm.change_point_range == (2, 5) and dm.tau == 4


def test_reading_num_action_classes_generates_nothing(tmp_path, monkeypatch):
    from bsp_lightning.data import toy

    monkeypatch.setenv("BSP_TOY_ROOT", str(tmp_path / "toy"))
    monkeypatch.setattr(toy, "ensure_toy_data", lambda *a, **k: pytest.fail("generated the toy dataset"))
    dm = BSPDataModule()
    # the count the default toy dataset will have (write_toy_kinetics' default: every toy action)
    assert dm.num_action_classes == len(toy.TOY_ACTIONS)
    assert dm.num_classes == 4
    assert not (tmp_path / "toy").exists()
