"""Spatial augmentation shared by every frame of a clip, on uint8 frames.

The crop box is drawn once per clip, as fractions of the frame, and applied to every frame of every
source video of that clip: two sources of a diff-class clip with different frame sizes get the same
relative box. Crop, bilinear resize and flip act on each frame independently, so augmenting the
sources before synthesis equals augmenting the synthesized clip (up to uint8 rounding of the blend);
it is done first because it shrinks the frames the synthesis works on.

Frames stay uint8 throughout: the crop is a view, the resize runs torch's uint8 bilinear kernel on the
channels-last view of the decoded ``(T, H, W, C)`` array (no float copy, no layout copy), and the flip
runs on the small output. Frames decoded one by one go through :func:`crop_frames`, which stacks only the
crop region of each (the same pixels as stacking whole frames, a copy of the crop instead of the frame).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CropBox", "apply_crop", "center_crop_box", "crop_frames", "random_resized_crop_box"]


class CropBox(NamedTuple):
    """A crop as fractions of the frame size, plus a horizontal flip.

    Attributes:
        top: first row, as a fraction of the frame height.
        left: first column, as a fraction of the frame width.
        height: crop height, as a fraction of the frame height.
        width: crop width, as a fraction of the frame width.
        flip: mirror the crop horizontally.
    """

    top: float
    left: float
    height: float
    width: float
    flip: bool = False


def random_resized_crop_box(
    height: int,
    width: int,
    rng: np.random.Generator,
    scale: Sequence[float] = (0.25, 1.0),
    ratio: Sequence[float] = (3 / 4, 4 / 3),
    flip_prob: float = 0.5,
) -> CropBox:
    """Draw an Inception-style random resized crop (area fraction ``scale``, aspect ``ratio``) and a flip.

    As torchvision's ``RandomResizedCrop``: up to 10 tries for a box inside the frame, then a centre
    crop with the aspect ratio clamped into ``ratio``.
    """
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    flip = bool(rng.random() < flip_prob)
    for _ in range(10):
        target_area = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target_area * aspect)))
        h = int(round(math.sqrt(target_area / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return CropBox(top / height, left / width, h / height, w / width, flip)
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return CropBox((height - h) / 2 / height, (width - w) / 2 / width, h / height, w / width, flip)


def center_crop_box(height: int, width: int, size: int) -> CropBox:
    """The centred square of side ``min(height, width, size)``: a plain centre crop of ``size`` pixels
    when the frame is large enough (e.g. short side 256, crop 224), else the largest centred square."""
    side = min(height, width, size)
    top = (height - side) // 2
    left = (width - side) // 2
    return CropBox(top / height, left / width, side / height, side / width, False)


def _pixels(box: CropBox, height: int, width: int) -> tuple[int, int, int, int]:
    h = min(height, max(1, round(box.height * height)))
    w = min(width, max(1, round(box.width * width)))
    top = min(height - h, max(0, round(box.top * height)))
    left = min(width - w, max(0, round(box.left * width)))
    return top, left, h, w


def apply_crop(frames: np.ndarray | torch.Tensor, box: CropBox, size: int) -> torch.Tensor:
    """Crop ``box`` out of every frame, resize it to ``size x size`` (bilinear, antialiased), flip if asked.

    Args:
        frames: uint8 ``(T, H, W, C)`` numpy array or tensor.
        box: the crop, relative to the frame size.
        size: output side in pixels.

    Returns:
        uint8 tensor ``(T, C, size, size)`` (channels-last in memory).
    """
    clip = torch.from_numpy(frames) if isinstance(frames, np.ndarray) else frames
    if clip.ndim != 4:
        raise ValueError(f"frames must be (T, H, W, C), got shape {tuple(clip.shape)}")
    top, left, h, w = _pixels(box, clip.shape[1], clip.shape[2])
    return _resize_flip(clip[:, top : top + h, left : left + w], box.flip, size)


def crop_frames(frames: Sequence[np.ndarray | torch.Tensor], box: CropBox, size: int) -> torch.Tensor:
    """:func:`apply_crop` of the frames stacked, without stacking them whole: only each frame's crop is copied.

    Args:
        frames: uint8 ``(H, W, C)`` arrays or tensors of one size (any strides), in clip order; the same
            object may appear several times.
        box: the crop, relative to the frame size.
        size: output side in pixels.

    Returns:
        uint8 tensor ``(T, C, size, size)`` (channels-last in memory), equal to
        ``apply_crop(np.stack(frames), box, size)``.
    """
    tensors = [torch.from_numpy(f) if isinstance(f, np.ndarray) else f for f in frames]
    if not tensors or any(t.ndim != 3 or t.shape != tensors[0].shape for t in tensors):
        raise ValueError(f"frames must be (H, W, C) of one size, got {[tuple(t.shape) for t in tensors]}")
    top, left, h, w = _pixels(box, tensors[0].shape[0], tensors[0].shape[1])
    return _resize_flip(torch.stack([t[top : top + h, left : left + w] for t in tensors]), box.flip, size)


def _resize_flip(crops: torch.Tensor, flip: bool, size: int) -> torch.Tensor:
    """``(T, h, w, C)`` crops -> ``(T, C, size, size)``, resized and flipped."""
    clip = crops.permute(0, 3, 1, 2)
    if tuple(clip.shape[2:]) != (size, size):
        clip = F.interpolate(clip, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if flip:
        clip = clip.flip(-1)
    return clip
