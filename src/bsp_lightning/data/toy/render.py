"""Rendering and encoding of the toy videos (world v3): the scene of :mod:`.scene` drawn over noisy textures.

Every object is a shape of :data:`~bsp_lightning.data.toy.actions.SHAPES` in a colour of
:data:`~bsp_lightning.data.toy.actions.COLOURS`, shaded along its own axis so that rotation is visible even for
symmetric shapes. The actor is drawn over the distractors. Objects move several pixels (or a large angle) per
frame during an action and a quarter of a pixel when idle, so the motion and speed changes that BSP synthesises
are visible, while no single frame tells the class.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from bsp_lightning.data.toy.actions import COLOURS, ToyInstance
from bsp_lightning.data.toy.scene import (
    REFERENCE_SIZE,
    Appearance,
    Track,
    actor_track,
    distractor_track,
    plan_shot,
    shot_index,
    shot_starts,
)

__all__ = ["render_video", "write_toy_video"]

# Rendering in chunks keeps memory flat for long videos; the per-chunk noise seed makes output independent of
# everything but this constant.
_CHUNK = 50


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(list(key))


def _youtube_like_id(*key: Any) -> str:
    """A deterministic 11-character id in YouTube's alphabet."""
    digest = hashlib.blake2b("/".join(map(str, key)).encode(), digest_size=9).digest()
    text = base64.urlsafe_b64encode(digest).decode()[:11]
    # A leading '-' reads as a command-line option and a leading 'v_' as ActivityNet's feature-file prefix.
    first = "abcdefghijklmnopqrstuvwxyz"[digest[-1] % 26]
    return first + text[1:] if text[0] in "-_v" else text


def _background_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour texture plus fixed grain, ``float32 (size, size, 3)`` in 0..255."""
    coarse = rng.uniform(0.0, 1.0, size=(6, 6, 3))
    grid = np.linspace(0, 5, size)
    lo = np.floor(grid).astype(int).clip(0, 4)
    w = (grid - lo)[:, None]
    interp = np.zeros((size, 6))
    interp[np.arange(size), lo] = 1 - w[:, 0]
    interp[np.arange(size), lo + 1] = w[:, 0]
    smooth = np.einsum("yi,ijc,xj->yxc", interp, coarse, interp)
    # Mostly grey so that the saturated objects stand out, with some colour to vary between videos.
    smooth = 0.6 * smooth.mean(axis=2, keepdims=True) + 0.4 * smooth
    brightness = rng.uniform(70, 110)
    grain = rng.normal(0.0, 10.0, size=(size, size, 1))
    return (brightness + 90.0 * smooth + grain).astype(np.float32)


#: The marker: centre on the object's axis and radius (in object radii), and its shade (the fill is 0.4-1.0).
_MARKER_AT, _MARKER_RADIUS, _MARKER_SHADE = 0.5, 0.3, 0.1


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    au, av_ = np.abs(u), np.abs(v)
    if shape == "circle":
        # a notch (a quarter of the disc, pointing along the object's axis) makes its rotation visible
        return (u * u + v * v <= 1.0) & ~((u > 0) & (av_ < u))
    if shape == "square":
        return np.maximum(au, av_) <= 0.85
    if shape == "triangle":
        return (v <= 0.6) & (v >= 1.8 * au - 1.0)
    if shape == "bar":
        return (au <= 1.1) & (av_ <= 0.35)
    if shape == "diamond":
        return au + av_ <= 1.0
    if shape == "ring":
        # open on one side (a horseshoe), so that its rotation is visible
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= 0.3) & ~((u > 0) & (av_ < 0.45))
    if shape == "cross":
        return ((au <= 0.3) & (av_ <= 1.0)) | ((av_ <= 0.3) & (au <= 1.0))
    if shape == "ellipse":
        return (u / 1.2) ** 2 + (v / 0.6) ** 2 <= 1.0
    raise ValueError(f"unknown shape {shape!r}")


def _draw(frames: np.ndarray, look: Appearance, track: Track, size: int) -> None:
    """Composite one object onto ``frames`` (float32 ``(T, H, W, 3)``) in place, all frames at once."""
    px = size / REFERENCE_SIZE
    cx, cy = track.x * px, track.y * px
    coords = np.arange(size, dtype=np.float32) + 0.5
    # Toroidal offsets: objects leaving one side come back on the other, so they are always visible.
    dx = np.mod(coords[None, None, :] - cx[:, None, None] + size / 2, size) - size / 2
    dy = np.mod(coords[None, :, None] - cy[:, None, None] + size / 2, size) - size / 2
    radius = (look.radius * px * track.scale)[:, None, None]
    cos, sin = np.cos(track.angle)[:, None, None], np.sin(track.angle)[:, None, None]
    u = (dx * cos + dy * sin) / radius
    v = (dy * cos - dx * sin) / radius
    mask = _shape_mask(look.shape, u, v)
    # Shading along the object's own axis makes rotation visible even for symmetric shapes.
    shade = 0.4 + 0.6 * np.clip((u + 1.0) / 2.0, 0.0, 1.0)
    colour = np.asarray(COLOURS[look.colour][1], dtype=np.float32) * look.brightness
    # A dark marker off the centre, along the object's axis: a shape with rotational symmetry (square, cross)
    # would otherwise look the same after a quarter or half turn, and a spin could seem to turn the other way.
    # (The notched circle and the open ring carry it in their notch, where it adds nothing.)
    shade = np.where((u - _MARKER_AT) ** 2 + v * v <= _MARKER_RADIUS**2, _MARKER_SHADE, shade)
    fill = shade[..., None] * colour
    frames[mask] = fill[mask]


def _take(track: Track, rows: np.ndarray) -> Track:
    return Track(*(part[rows] for part in track))


def render_video(
    num_frames: int,
    size: int,
    instances: Sequence[ToyInstance],
    seed: Sequence[int],
    start: int = 0,
    stop: int | None = None,
    draw_objects: bool = True,
    cuts: Sequence[int] = (),
    frame_step: float = 1.0,
    distractors: bool = True,
) -> np.ndarray:
    """Render frames ``[start, stop)`` of a toy video, ``uint8 (T, size, size, 3)`` RGB.

    Args:
        num_frames: length of the whole video.
        size: frame height and width in pixels.
        instances: the actor's action instances; it idles outside them (:mod:`.scene`).
        seed: integers that identify the video; the same seed gives the same frames.
        start: first frame to render.
        stop: end of the range (default: ``num_frames``). Any range gives the same frames as rendering the
            whole video and slicing it.
        draw_objects: False renders the backgrounds alone (used to check what the objects do).
        cuts: frames where a new shot starts (new background, actor appearance and position, distractors).
        frame_step: scene frames per written frame (motion per written frame scales with it).
        distractors: draw each shot's idle distractors (the untrimmed videos); False for toy-kinetics clips.
    """
    stop = num_frames if stop is None else stop
    seed = [int(s) for s in seed]
    cuts = sorted(c for c in cuts if 0 < c < num_frames)
    starts = shot_starts(cuts)
    shots = [plan_shot(seed, k) for k in range(len(starts))]
    if not distractors:
        shots = [shot._replace(distractors=()) for shot in shots]
    textures: dict[int, np.ndarray] = {}
    actor = actor_track(num_frames, instances, seed, cuts, frame_step) if draw_objects else None
    out = np.empty((stop - start, size, size, 3), dtype=np.uint8)
    for chunk_start in range(start - start % _CHUNK, stop, _CHUNK):
        chunk_stop = min(chunk_start + _CHUNK, num_frames)
        t = np.arange(chunk_start, chunk_stop)
        shot_of = shot_index(t, cuts)
        frames = np.empty((len(t), size, size, 3), dtype=np.float32)
        sigma = np.empty(len(t), dtype=np.float32)
        for k in np.unique(shot_of):
            if k not in textures:
                textures[k] = _background_texture(_rng(*seed, 10, int(k)), size)
            frames[shot_of == k] = textures[k]
            sigma[shot_of == k] = shots[k].noise
        # Per-frame sensor noise (luma only): a new pattern every frame, its level fixed within a shot.
        noise = _rng(*seed, 14, chunk_start).standard_normal(size=(len(t), size, size, 1)).astype(np.float32)
        frames += noise * sigma[:, None, None, None]
        if draw_objects:
            for k in np.unique(shot_of):
                rows = np.flatnonzero(shot_of == k)
                sub = frames[rows]
                for distractor in shots[k].distractors:
                    _draw(sub, distractor[0], distractor_track(distractor, t[rows], starts[k], frame_step), size)
                _draw(sub, shots[k].actor, _take(actor, t[rows]), size)
                frames[rows] = sub
        lo, hi = max(start, chunk_start), min(stop, chunk_stop)
        out[lo - start : hi - start] = np.clip(frames[lo - chunk_start : hi - chunk_start], 0, 255)
    return out


def _encode(path: Path, chunks: Iterator[np.ndarray], size: int, fps: int) -> None:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.width = stream.height = size
        stream.options = {"preset": "veryfast", "crf": "18"}
        stream.codec_context.thread_count = 1  # x264's output depends on its thread count: fixed for determinism
        for chunk in chunks:
            for frame in chunk:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def write_toy_video(path: Path, num_frames: int, size: int, fps: int, instances: Sequence[ToyInstance],
                    seed: Sequence[int], cuts: Sequence[int] = (), frame_step: float = 1.0,
                    distractors: bool = True) -> None:
    """Render (:func:`render_video`) and encode one toy video to ``path`` (H.264 yuv420p mp4)."""
    chunks = (render_video(num_frames, size, instances, seed, s, min(s + _CHUNK, num_frames), cuts=cuts,
                           frame_step=frame_step, distractors=distractors)
              for s in range(0, num_frames, _CHUNK))
    _encode(path, chunks, size, fps)

