"""Decoding and encoding the still images of frame folders and frame shards (JPEG, PNG).

Two decoders, both on libjpeg-turbo, measured on 2 shared CPU cores for 340x256 quality-90 JPEG frames
(``benchmarks/kinetics_layouts.py`` prints them next to each other; CPU time per frame):

- ``torchvision.io.decode_jpeg`` decodes the full picture fastest (0.37 ms against PIL's 0.57 ms at
  short side 256);
- PIL's ``Image.draft`` lets libjpeg scale by 1/2, 1/4 or 1/8 inside the inverse DCT, so a picture wanted at
  half its size or less decodes faster there (0.36 ms against 0.51 ms for torchvision's decode then resize,
  short side 128).

``decoder="auto"`` therefore takes PIL with draft mode when the wanted size is at most half the stored
one, torchvision otherwise; PNG always goes through PIL. The last step to the exact size is a bilinear,
antialiased resize (PIL's ``BILINEAR`` or ``torch.nn.functional.interpolate(antialias=True)``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

__all__ = ["DECODERS", "ImageDecodeError", "decode_image", "decode_images", "encode_jpeg", "image_size",
           "preload_decoders", "resize_rgb"]

DECODERS = ("auto", "pil", "torchvision")
Decoder = Literal["auto", "pil", "torchvision"]
_JPEG_MAGIC = b"\xff\xd8"


class ImageDecodeError(ValueError):
    """An image that cannot be decoded (missing, truncated, not an image); the message says why."""


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(height, width)`` of an image file, read from its header only.

    Raises:
        ImageDecodeError: the file is missing or not an image.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageDecodeError(f"cannot read the image header ({err})") from None
    return height, width


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``uint8 (H, W, 3)`` resized to ``size`` = ``(height, width)`` (bilinear, antialiased)."""
    if rgb.shape[:2] == size:
        return rgb
    chw = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
    out = F.interpolate(chw, size=size, mode="bilinear", align_corners=False, antialias=True)
    return out[0].permute(1, 2, 0).numpy()


def _decode_pil(data: bytes | memoryview, size: tuple[int, int] | None) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        if size is not None and image.format == "JPEG":
            image.draft("RGB", (size[1], size[0]))  # libjpeg scales by 1/2^k, never below the wanted size
        rgb = image.convert("RGB")
    if size is not None and rgb.size != (size[1], size[0]):
        rgb = rgb.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(rgb)


def preload_decoders() -> None:
    """Import the torchvision decoder now: DataLoader workers forked afterwards do not import it again (about
    a CPU-second each, at every epoch for workers that do not persist)."""
    import torchvision.io  # noqa: F401


def _decode_torchvision(data: bytes | memoryview, size: tuple[int, int] | None) -> np.ndarray:
    from torchvision.io import ImageReadMode, decode_jpeg

    return _hwc(decode_jpeg(_encoded(data), mode=ImageReadMode.RGB), size)


def _encoded(data: bytes | memoryview) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)  # writable: torch warns about read-only buffers


def _hwc(chw: torch.Tensor, size: tuple[int, int] | None) -> np.ndarray:
    if size is not None and tuple(chw.shape[1:]) != size:
        chw = F.interpolate(chw[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    return chw.permute(1, 2, 0).numpy()  # a view; the caller's stack makes it contiguous


def decode_image(
    data: bytes | memoryview,
    size: tuple[int, int] | None = None,
    stored_size: tuple[int, int] | None = None,
    decoder: Decoder = "auto",
) -> np.ndarray:
    """Decode one encoded image to ``uint8 (H, W, 3)`` RGB, resized to ``size`` when given.

    Args:
        data: the encoded file (JPEG or PNG).
        size: ``(height, width)`` wanted; None keeps the stored size.
        stored_size: ``(height, width)`` of the stored picture, when known (lets ``"auto"`` choose without
            parsing the header).
        decoder: ``"auto"`` (see the module docstring), ``"pil"`` or ``"torchvision"`` (JPEG only).

    Raises:
        ImageDecodeError: empty, truncated or non-image data.
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    if len(data) == 0:
        raise ImageDecodeError("empty file (0 bytes)")
    is_jpeg = bytes(data[:2]) == _JPEG_MAGIC
    if decoder == "auto":
        downscale = size is not None and stored_size is not None and 2 * size[0] <= stored_size[0]
        decoder = "torchvision" if is_jpeg and not downscale else "pil"
    try:
        if decoder == "torchvision":
            if not is_jpeg:
                raise ImageDecodeError("not a JPEG file (the torchvision decoder reads JPEG only)")
            return _decode_torchvision(data, size)
        return _decode_pil(data, size)
    except ImageDecodeError:
        raise
    except (OSError, ValueError, RuntimeError, SyntaxError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "decode_jpeg" in message:  # torchvision prefixes its C++ source location
            message = message.rsplit(",", 1)[-1].strip()
        raise ImageDecodeError(f"cannot decode ({message})") from None


def decode_images(
    data: Sequence[bytes | memoryview],
    size: tuple[int, int] | None = None,
    stored_size: tuple[int, int] | None = None,
    decoder: Decoder = "auto",
) -> list[np.ndarray]:
    """:func:`decode_image` of several images of one stored size, in order (the same pixels).

    When torchvision decodes them (JPEG, see the module docstring), one ``torchvision.io.decode_jpeg`` call takes
    the whole list: its per-call checks and deprecation warning are paid once, not per image (0.39 against
    0.41 ms CPU per 340x256 frame, lists of 8, 2 shared cores).

    Raises:
        ImageDecodeError: as :func:`decode_image`, for the first image that does not decode.
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    downscale = size is not None and stored_size is not None and 2 * size[0] <= stored_size[0]
    one_by_one = decoder == "pil" or (decoder == "auto" and downscale) or len(data) < 2
    if one_by_one or not all(len(d) > 0 and bytes(d[:2]) == _JPEG_MAGIC for d in data):
        return [decode_image(d, size, stored_size, decoder) for d in data]
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        chws = decode_jpeg([_encoded(d) for d in data], mode=ImageReadMode.RGB)
    except (RuntimeError, ValueError):  # one by one: the error names what is wrong with the first bad image
        return [decode_image(d, size, stored_size, decoder) for d in data]
    return [_hwc(chw, size) for chw in chws]


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of a ``uint8 (H, W, 3)`` RGB picture at ``quality`` (PIL: 4:2:0 chroma, as ffmpeg's mjpeg
    writes frame folders; PIL encodes a 340x256 picture in 0.38 ms, torchvision's ``encode_jpeg`` in 0.72 ms)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in [1, 100], got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()
