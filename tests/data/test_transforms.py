"""One crop box and flip for every frame of every source, on uint8 frames."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bsp_lightning.data.transforms import CropBox, apply_crop, center_crop_box, crop_frames, random_resized_crop_box


def test_center_crop_is_a_plain_crop():
    frames = np.random.default_rng(0).integers(0, 256, (3, 12, 16, 3), dtype=np.uint8)
    box = center_crop_box(12, 16, 8)
    out = apply_crop(frames, box, 8)
    assert out.dtype == torch.uint8 and out.shape == (3, 3, 8, 8)
    np.testing.assert_array_equal(out.permute(0, 2, 3, 1).numpy(), frames[:, 2:10, 4:12])


def test_center_crop_of_small_frames_takes_largest_square_then_resizes():
    frames = np.random.default_rng(0).integers(0, 256, (2, 6, 10, 3), dtype=np.uint8)
    box = center_crop_box(6, 10, 8)
    assert box == CropBox(0.0, 0.2, 1.0, 0.6, False)
    out = apply_crop(frames, box, 8)
    ref = F.interpolate(torch.from_numpy(frames[:, :, 2:8]).permute(0, 3, 1, 2).float(), size=(8, 8),
                        mode="bilinear", align_corners=False, antialias=True)
    assert out.shape == (2, 3, 8, 8)
    assert (out.float() - ref).abs().max() <= 1.0  # uint8 kernel vs float reference: rounding only


def test_flip_and_same_box_for_every_frame():
    frames = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    out = apply_crop(frames, CropBox(0.25, 0.0, 0.5, 0.5, flip=True), 4)
    expected = frames[:, 2:6, 0:4, :][:, :, ::-1].transpose(0, 3, 1, 2)  # rows 2-5, columns 3..0
    np.testing.assert_array_equal(out.numpy(), expected)


def test_relative_box_maps_onto_sources_of_other_sizes():
    box = CropBox(0.25, 0.5, 0.5, 0.25, False)
    small = np.arange(8 * 8, dtype=np.uint8).reshape(1, 8, 8, 1)
    large = np.arange(16 * 16, dtype=np.uint8).reshape(1, 16, 16, 1)
    np.testing.assert_array_equal(apply_crop(small, box, 2)[0, 0].numpy(),
                                  apply_crop(small[:, 2:6, 4:6], CropBox(0, 0, 1, 1), 2)[0, 0].numpy())
    np.testing.assert_array_equal(apply_crop(large, box, 4)[0, 0].numpy(),
                                  apply_crop(large[:, 4:12, 8:12], CropBox(0, 0, 1, 1), 4)[0, 0].numpy())


def test_random_resized_crop_box_within_bounds_and_seeded():
    boxes = [random_resized_crop_box(96, 128, np.random.default_rng(s)) for s in range(100)]
    for b in boxes:
        assert 0 <= b.top and b.top + b.height <= 1 + 1e-9
        assert 0 <= b.left and b.left + b.width <= 1 + 1e-9
        assert 0.25 - 0.02 <= b.height * b.width <= 1.0 + 1e-9
    assert {b.flip for b in boxes} == {True, False}
    assert boxes[3] == random_resized_crop_box(96, 128, np.random.default_rng(3))


def test_crop_frames_equals_cropping_the_stacked_frames():
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (20, 30, 3), dtype=np.uint8) for _ in range(3)]
    order = [frames[0], frames[1], frames[1], frames[2]]  # a repeated frame, as a slowed-down clip has
    for box, size in ((CropBox(0.1, 0.2, 0.5, 0.6, True), 8), (CropBox(0.0, 0.0, 1.0, 1.0), 16),
                      (CropBox(0.25, 0.1, 0.4, 0.5), 10)):
        stacked = np.stack(order)
        top, left = round(box.top * 20), round(box.left * 30)
        h, w = round(box.height * 20), round(box.width * 30)
        reference = F.interpolate(torch.from_numpy(stacked[:, top:top + h, left:left + w]).permute(0, 3, 1, 2)
                                  .float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if box.flip:
            reference = reference.flip(-1)
        out = crop_frames(order, box, size)
        assert out.shape == (4, 3, size, size) and out.dtype == torch.uint8
        assert out.is_contiguous(memory_format=torch.channels_last)
        np.testing.assert_array_equal(out.numpy(), apply_crop(stacked, box, size).numpy())
        assert (out.float() - reference).abs().max() <= 1  # uint8 kernel against float, rounding only
    with np.testing.assert_raises(ValueError):
        crop_frames([frames[0], frames[0][:10]], CropBox(0, 0, 1, 1), 4)
