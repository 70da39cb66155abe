"""Display geometry of a video stream: the display matrix (rotations, flips) and non-square pixels.

A phone records portrait video as landscape pictures plus a display matrix that tells players to turn
them; anamorphic DVD/broadcast video stores pictures whose pixels are not square. Frames leave this
library as the player shows them: the picture is scaled to square pixels (width times the sample aspect
ratio, as FFmpeg's ``scale=iw*sar:ih``), then turned and mirrored by the display matrix.

The matrix is FFmpeg's ``AV_FRAME_DATA_DISPLAYMATRIX`` (9 ``int32``, 16.16 fixed point, row-major
``[a b u; c d v; x y w]``). Its rotation is libavutil's ``av_display_rotation_get`` (counter-clockwise
degrees); a matrix with a negative determinant also mirrors, and is undone as ``av_display_matrix_flip``
wrote it (horizontal flip after the rotation; a vertical flip is the same as a horizontal flip after a
further 180 degrees). Rotations are rounded to the nearest multiple of 90 degrees.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import av
import numpy as np

__all__ = ["Geometry", "display_transform", "frame_geometry", "orient", "resized_shape"]

_DISPLAYMATRIX = av.sidedata.sidedata.Type.DISPLAYMATRIX


class Geometry(NamedTuple):
    """How the stored pictures of a stream are shown.

    Attributes:
        stored_width, stored_height: size of the first decoded picture, in stored pixels.
        sample_aspect_ratio: width of one stored pixel over its height (1 for square pixels).
        rotation: counter-clockwise degrees (0, 90, 180, 270) applied for display.
        hflip: mirror left-right after the rotation.
    """

    stored_width: int
    stored_height: int
    sample_aspect_ratio: Fraction = Fraction(1)
    rotation: int = 0
    hflip: bool = False

    @property
    def square_size(self) -> tuple[int, int]:
        """``(height, width)`` of the picture at square pixels, before rotation."""
        width = self.stored_width
        if self.sample_aspect_ratio != 1:
            width = max(1, round(self.stored_width * self.sample_aspect_ratio))
        return self.stored_height, width

    @property
    def display_size(self) -> tuple[int, int]:
        """``(height, width)`` of the frames as shown (square pixels, rotation applied)."""
        height, width = self.square_size
        return (width, height) if self.rotation in (90, 270) else (height, width)

    @property
    def transformed(self) -> bool:
        return self.rotation != 0 or self.hflip


def resized_shape(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """Return ``(height, width)`` after scaling the shorter side to ``short_side`` (aspect ratio kept)."""
    if short_side is None:
        return height, width
    if short_side <= 0:
        raise ValueError(f"short_side must be positive, got {short_side}")
    if height <= width:
        return short_side, max(1, round(width * short_side / height))
    return max(1, round(height * short_side / width)), short_side


def display_transform(matrix: np.ndarray | None) -> tuple[int, bool]:
    """``(rotation, hflip)`` of a display matrix (9 ``int32``); ``(0, False)`` for ``None``."""
    if matrix is None:
        return 0, False
    m = np.asarray(matrix, dtype=np.float64).reshape(9)
    a, b, c, d = m[0], m[1], m[3], m[4]
    hflip = a * d - b * c < 0
    if hflip:  # av_display_matrix_flip(hflip) negated the first column
        a, c = -a, -c
    scale_a, scale_b = math.hypot(a, c), math.hypot(b, d)
    if scale_a == 0 or scale_b == 0:
        return 0, False
    degrees = -math.degrees(math.atan2(b / scale_b, a / scale_a))
    return int(round(degrees / 90)) % 4 * 90, bool(hflip)


def frame_geometry(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> Geometry:
    """The :class:`Geometry` of ``stream`` read from its first decoded ``frame``."""
    matrix = None
    side = frame.side_data.get(_DISPLAYMATRIX)
    if side is not None:
        matrix = np.frombuffer(memoryview(side), dtype="<i4")[:9].copy()
    rotation, hflip = display_transform(matrix)
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    sar = Fraction(sar) if sar else Fraction(1)
    if sar <= 0:
        sar = Fraction(1)
    return Geometry(frame.width, frame.height, sar, rotation, hflip)


def scaled_stored_size(geometry: Geometry, short_side: int | None) -> tuple[int, int]:
    """``(height, width)`` to scale a stored picture to, so that after :func:`orient` the frame has the
    display size with the shorter side ``short_side``."""
    height, width = resized_shape(*geometry.display_size, short_side)
    return (width, height) if geometry.rotation in (90, 270) else (height, width)


def orient(rgb: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Turn and mirror one ``(H, W, 3)`` picture (already at its scaled size) for display."""
    if not geometry.transformed:
        return rgb
    out = np.rot90(rgb, k=geometry.rotation // 90) if geometry.rotation else rgb
    if geometry.hflip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)
