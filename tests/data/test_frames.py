"""Frame folders as a pre-training source: layouts and name templates, lists, counted skips, fps, decoders."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bsp_lightning.data import BSPDataModule
from bsp_lightning.data.frames import (
    FrameFolderError,
    folder_info,
    fps_of,
    iter_folder_snippets,
    read_fps_table,
    read_images,
)
from bsp_lightning.data.jpeg import ImageDecodeError, decode_image, decode_images, encode_jpeg
from bsp_lightning.data.lists import index_from_list, open_index
from bsp_lightning.video import num_snippets

CLASSES = ("class_a", "class_b", "class_c")


def frame(number: int, green: int, height: int = 32, width: int = 40) -> np.ndarray:
    """A constant frame: red = 4 * number, green names the video."""
    out = np.empty((height, width, 3), dtype=np.uint8)
    out[..., 0], out[..., 1], out[..., 2] = 4 * number, green, 100
    return out


def write_folder(folder: Path, num_frames: int, green: int, template: str = "img_{:05d}.jpg", start: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(num_frames):
        Image.fromarray(frame(k, green)).save(folder / template.format(start + k), quality=95)
    return folder


def colours(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) near-constant JPEG frames -> (T, 3) mean colours."""
    return frames.reshape(len(frames), -1, 3).mean(axis=1)


@pytest.mark.parametrize("template, start", [("img_{:05d}.jpg", 1), ("{:05d}.jpg", 1), ("{:06d}.jpg", 0)])
def test_templates_are_detected_and_frames_numbered_from_the_first_file(tmp_path, template, start):
    folder = write_folder(tmp_path / "v", 12, green=60, template=template, start=start)
    info = folder_info(folder)
    assert (info.template, info.start_index, info.num_frames, info.num_missing) == (template, start, 12, 0)
    assert (info.height, info.width) == (32, 40)
    got = colours(read_images(info, [7, 0, 7]))
    np.testing.assert_allclose(got[:, 0], [28, 0, 28], atol=2)  # red = 4 * frame number
    np.testing.assert_allclose(got[:, 1], 60, atol=2)
    assert read_images(info, [3], short_side=16).shape == (1, 16, 20, 3)


def test_missing_and_corrupt_images_are_errors_naming_the_file(tmp_path):
    folder = write_folder(tmp_path / "v", 10, green=60)
    (folder / "img_00004.jpg").unlink()
    data = (folder / "img_00006.jpg").read_bytes()
    (folder / "img_00006.jpg").write_bytes(data[: len(data) // 2])
    info = folder_info(folder)
    assert info.num_frames == 10 and info.num_missing == 1  # the count spans the highest number
    read_images(info, [0, 1, 2, 4, 6])
    with pytest.raises(FrameFolderError, match=r"img_00004.jpg is missing \(frame 3 of 10\)"):
        read_images(info, [3])
    with pytest.raises(FrameFolderError, match=r"img_00006.jpg: cannot decode"):
        read_images(info, [5])
    with pytest.raises(FrameFolderError, match="frame 10 requested but the folder has 10 frames"):
        read_images(info, [10])
    with pytest.raises(FrameFolderError, match="no image named like"):
        folder_info(tmp_path)


def test_decoders_agree_and_draft_mode_resizes_in_the_decoder():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:96]
    smooth = np.stack([x * 2, y * 3, (x + y)], axis=-1).astype(np.uint8)
    data = encode_jpeg(np.clip(smooth + rng.integers(0, 8, smooth.shape), 0, 255).astype(np.uint8), 95)
    reference = np.asarray(Image.open(__import__("io").BytesIO(data)).convert("RGB"), dtype=np.float64)
    for decoder in ("pil", "torchvision", "auto"):
        full = decode_image(data, None, None, decoder).astype(np.float64)
        assert np.abs(full - reference).max() <= 2, decoder
    # half size: libjpeg's DCT scaling (PIL draft) and full decode + antialiased resize give close pictures
    half = [decode_image(data, (32, 48), (64, 96), d).astype(np.float64) for d in ("pil", "torchvision")]
    assert half[0].shape == half[1].shape == (32, 48, 3)
    assert np.abs(half[0] - half[1]).mean() < 3
    with pytest.raises(ImageDecodeError, match="cannot decode"):
        decode_image(data[: len(data) // 2], None, None, "torchvision")
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_image(b"", None)


def test_folder_snippets_follow_the_video_rule(tmp_path):
    info = folder_info(write_folder(tmp_path / "v", 11, green=60))
    snippets = list(iter_folder_snippets(info, snippet_length=4, stride=3))
    assert len(snippets) == num_snippets(11, 4, 3) == 4  # ceil((11 - 4) / 3) + 1
    assert [s.start_frame for s in snippets] == [0, 3, 6, 9] and [s.num_real for s in snippets] == [4, 4, 4, 2]
    last = list(iter_folder_snippets(info, snippet_length=4, stride=4))[-1]
    assert last.start_frame == 8 and last.num_real == 3
    np.testing.assert_allclose(colours(last.frames)[:, 0], [32, 36, 40, 40], atol=2)  # padded with the last frame


def test_fps_from_a_number_or_a_side_file(tmp_path):
    assert read_fps_table(30) == 30.0 and read_fps_table("29.97") == 29.97 and read_fps_table(None) is None
    (tmp_path / "fps.json").write_text(json.dumps({"a": 25, "b": 30}))
    (tmp_path / "fps.csv").write_text("video_id,fps\na,25\nb,29.97\n")
    assert fps_of(read_fps_table(tmp_path / "fps.json"), "a") == 25.0
    assert fps_of(read_fps_table(tmp_path / "fps.csv"), "b") == 29.97 and fps_of(read_fps_table(30), "x") == 30.0
    (tmp_path / "bad.csv").write_text("name,rate\na,25\n")
    with pytest.raises(ValueError, match="bad.csv: an fps CSV needs a header"):
        read_fps_table(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="does not exist"):
        read_fps_table(tmp_path / "missing.json")


def _dataset(root: Path) -> dict[str, tuple[int, str]]:
    """root/{train,val}/<label>/<id>/img_00001.jpg... (20 frames); returns id -> (green, label)."""
    videos = {}
    for split, count in (("train", 2), ("val", 1)):
        for label in CLASSES:
            for k in range(count + (split == "val" and label == "class_a")):
                video_id = f"{split}_{label}_{k}"
                green = 20 + 20 * len(videos)
                write_folder(root / split / label / video_id, 20, green)
                videos[video_id] = (green, label)
    return videos


def test_datamodule_reads_frame_folders_by_layout_csv_and_list(tmp_path):
    videos = _dataset(tmp_path)
    dm = BSPDataModule(root=str(tmp_path), source="frames", num_frames=8, gammas=(0.5, 2.0), resolution=16,
                       batch_size=4, num_workers=0, samples_per_epoch=16, val_samples=4, seed=1)
    dm.setup("fit")
    assert dm.num_action_classes == 3 and dm.train_index.kind == "frames"
    kinds = set()
    for batch in dm.train_dataloader():
        assert batch["clip"].shape == (4, 8, 3, 16, 16) and int(batch["num_skipped"].sum()) == 0
        for b in range(4):
            rgb = batch["clip"][b].float().mean(dim=(2, 3)).numpy()
            green, label = videos[batch["video_id"][b]]
            kinds.add(int(batch["label"][b]))
            if int(batch["label"][b]) == 3:  # same speed: frames every 2, red steps of 8
                np.testing.assert_allclose(np.diff(rgb[:, 0]), 8, atol=2)
                np.testing.assert_allclose(rgb[:, 1], green, atol=2)
    assert kinds == {0, 1, 2, 3}
    # a Kinetics CSV names the folders (flat split folder), and a TSM list names them with a wrong count
    flat = tmp_path / "flat"
    write_folder(flat / "train" / "abc_000001_000011", 20, 30)
    write_folder(flat / "train" / "xyz_000002_000012", 20, 40)
    (flat / "train.csv").write_text("label,youtube_id,time_start,time_end,split\n"
                                    "a,abc,1,11,train\nb,xyz,2,12,train\nb,gone,3,13,train\n")
    index = open_index(flat, None, "train", "frames")
    assert [(r.video_id, r.label, Path(r.path).name) for r in index] == [
        ("abc_000001_000011", "a", "abc_000001_000011"), ("xyz_000002_000012", "b", "xyz_000002_000012")]
    (tmp_path / "train_list.txt").write_text("train/class_a/train_class_a_0 300 0\n"
                                             "train/class_b/train_class_b_1 300 2\n")
    listed = index_from_list(tmp_path, tmp_path / "train_list.txt", kind="frames")
    assert [(r.video_id, r.label_index) for r in listed] == [("train_class_a_0", 0), ("train_class_b_1", 2)]
    assert listed.classes == ["0", "1", "2"]
    assert folder_info(listed[0].path).num_frames == 20  # from the folder, not the list's 300
    (tmp_path / "bad_list.txt").write_text("train/class_a/train_class_a_0 three\n")
    with pytest.raises(ValueError, match="bad_list.txt: line 1"):
        index_from_list(tmp_path, tmp_path / "bad_list.txt")


def test_a_corrupt_jpeg_is_a_counted_skip(tmp_path, caplog):
    _dataset(tmp_path)
    bad = tmp_path / "train" / "class_b" / "train_class_b_0"
    for k in range(2, 21):  # the first image stays whole: the folder lists fine, its frames do not decode
        data = (bad / f"img_{k:05d}.jpg").read_bytes()
        (bad / f"img_{k:05d}.jpg").write_bytes(data[: len(data) // 2])
    dm = BSPDataModule(root=str(tmp_path), source="frames", val_split=None, num_frames=8, gammas=(0.5, 2.0),
                       resolution=16, batch_size=8, num_workers=0, samples_per_epoch=32, seed=0, max_retries=40)
    dm.setup("fit")
    with caplog.at_level(logging.DEBUG, logger="bsp_lightning.data.datamodule"):
        batches = list(dm.train_dataloader())
    skipped = int(sum(b["num_skipped"].sum() for b in batches))
    skips = [r for r in caplog.records if "skipping video" in r.getMessage()]
    assert skipped > 0 and len(skips) == skipped
    assert all("train_class_b_0" in r.getMessage() and "cannot decode" in r.getMessage() for r in skips)
    assert sum(r.levelno == logging.WARNING for r in skips) == 1  # one warning for the folder, then debug
    assert all(v != "train_class_b_0" for b in batches for v in b["video_id"] + b["video_id_2"])


def test_decode_images_gives_the_pictures_of_decode_image_and_names_the_bad_one():
    rng = np.random.default_rng(1)
    pictures = [rng.integers(0, 256, (32, 48, 3), dtype=np.uint8) for _ in range(3)]
    data = [encode_jpeg(p, 90) for p in pictures]
    for decoder in ("auto", "torchvision", "pil"):
        for size in (None, (24, 36), (16, 24)):
            many = decode_images(data, size, (32, 48), decoder)
            assert len(many) == 3
            for one, d in zip(many, data):
                np.testing.assert_array_equal(one, decode_image(d, size, (32, 48), decoder))
    reference = np.asarray(Image.open(__import__("io").BytesIO(data[2])).convert("RGB"), dtype=np.float64)
    assert np.abs(decode_images(data)[2].astype(np.float64) - reference).max() <= 2
    with pytest.raises(ImageDecodeError, match="cannot decode"):
        decode_images([data[0], data[1][: len(data[1]) // 2], data[2]], None, None, "torchvision")
    with pytest.raises(ImageDecodeError, match="empty"):
        decode_images([data[0], b""])
