"""Which frames of each source video a synthesized clip needs (paper sec. 3.2, "uniform frame sampling").

Every clip is read at one base rate: ``stride`` video frames between consecutive clip frames, starting
at a random frame of the source (dense uniform sampling, as TSM/SlowFast sample Kinetics clips). All four
boundary types use the same base stride, so that only the synthetic boundary tells them apart, never
the sampling rate itself.

The speed change of equation (3) is applied on the source video's own frames: output frame ``i``
(1-based) sits at clip position ``p_i = i`` up to the change point ``t`` and at ``p_i = t + gamma (i - t)``
after it, and reads video frame ``start + round_half_up(stride (p_i - 1))``, the one rounding rule of
:mod:`bsp_lightning.data.synthesis`. With ``stride = 1`` this is exactly :func:`bsp_lightning.data.synthesis.diff_speed` on the
dense video; with ``stride > 1`` a slow-down (``gamma < 1``) shows the real in-between video frames
instead of repeating clip frames, so frame repetition does not give the boundary away.

All functions return 0-based video frame numbers, ready for :func:`bsp_lightning.video.read_frames`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bsp_lightning.data.synthesis import diff_speed_clip_positions, round_half_up

__all__ = [
    "ClipTooShortError",
    "check_speed_changes_visible",
    "choose_gamma",
    "diff_speed_indices",
    "diff_speed_offsets",
    "diff_speed_span",
    "random_start",
    "uniform_indices",
    "uniform_span",
]


class ClipTooShortError(ValueError):
    """A source video has fewer frames than the requested clip spans."""


def uniform_span(num_samples: int, stride: int) -> int:
    """Number of video frames covered by ``num_samples`` frames taken every ``stride`` frames."""
    if num_samples < 1 or stride < 1:
        raise ValueError(f"num_samples and stride must be >= 1, got {num_samples} and {stride}")
    return (num_samples - 1) * stride + 1


def random_start(num_video_frames: int, span: int, rng: np.random.Generator) -> int:
    """A uniformly random first frame such that ``span`` frames fit in the video.

    Raises:
        ClipTooShortError: the video has fewer than ``span`` frames.
    """
    if num_video_frames < span:
        raise ClipTooShortError(f"video has {num_video_frames} frames, the clip spans {span}")
    return int(rng.integers(0, num_video_frames - span + 1))


def uniform_indices(
    num_video_frames: int, num_samples: int, stride: int, rng: np.random.Generator
) -> np.ndarray:
    """``num_samples`` frames every ``stride`` video frames from a random start (diff/same class, same speed).

    Raises:
        ClipTooShortError: the video is shorter than ``(num_samples - 1) * stride + 1`` frames.
    """
    start = random_start(num_video_frames, uniform_span(num_samples, stride), rng)
    return start + stride * np.arange(num_samples, dtype=np.int64)


def diff_speed_offsets(tau: int, change_point: int, gamma: float, stride: int = 1) -> np.ndarray:
    """Video frame offsets (from the clip's first frame) of the ``2 tau`` frames of a diff-speed clip.

    Output frame ``i`` reads offset ``round_half_up(stride (p_i - 1))`` with ``p_i`` the real-valued position
    of equation (3) (:func:`~bsp_lightning.data.synthesis.diff_speed_clip_positions`); the rounding is
    :func:`~bsp_lightning.data.synthesis.round_half_up`, so ``stride = 1`` gives
    ``diff_speed_positions - 1`` exactly.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    real = diff_speed_clip_positions(tau, change_point, gamma)  # validates the parameters
    return round_half_up(stride * (real - 1))


def diff_speed_span(tau: int, change_point: int, gamma: float, stride: int = 1) -> int:
    """Number of video frames a diff-speed clip covers (first to last frame read, inclusive)."""
    return int(diff_speed_offsets(tau, change_point, gamma, stride)[-1]) + 1


def diff_speed_indices(
    num_video_frames: int,
    tau: int,
    change_point: int,
    gamma: float,
    stride: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The ``2 tau`` video frames of a diff-speed clip (equation 3 at base ``stride``) from a random start.

    Frames may repeat when ``gamma * stride < 1``.

    Raises:
        ClipTooShortError: the video is shorter than :func:`diff_speed_span`.
    """
    offsets = diff_speed_offsets(tau, change_point, gamma, stride)
    return random_start(num_video_frames, int(offsets[-1]) + 1, rng) + offsets


def choose_gamma(
    gammas: Sequence[float],
    num_video_frames: int,
    tau: int,
    change_point: int,
    stride: int,
    rng: np.random.Generator,
) -> float:
    """Draw a speed factor uniformly among those whose clip fits in the video.

    Short videos cannot hold strong speed-ups; they get the factors that fit rather than being skipped.

    Raises:
        ClipTooShortError: no factor fits.
    """
    fitting = [g for g in gammas if diff_speed_span(tau, change_point, g, stride) <= num_video_frames]
    if not fitting:
        need = min(diff_speed_span(tau, change_point, g, stride) for g in gammas)
        raise ClipTooShortError(f"video has {num_video_frames} frames, a diff-speed clip spans at least {need}")
    return float(fitting[int(rng.integers(len(fitting)))])


def check_speed_changes_visible(
    tau: int, change_point_range: tuple[int, int], gammas: Sequence[float], stride: int
) -> None:
    """Refuse settings where a diff-speed clip can equal a same-speed clip (a wrong label).

    Raises:
        ValueError: a ``gamma`` and change point whose frames are those of a same-speed clip.
    """
    same = stride * np.arange(2 * tau)
    for t in range(change_point_range[0], change_point_range[1] + 1):
        for gamma in gammas:
            if np.array_equal(diff_speed_offsets(tau, t, gamma, stride), same):
                raise ValueError(
                    f"gamma={gamma} with change point {t} reads the same frames as a same-speed clip "
                    f"(tau={tau}, frame_stride={stride}); narrow change_point_range or change gammas"
                )
