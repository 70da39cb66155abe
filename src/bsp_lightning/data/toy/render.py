"""Rendering and encoding of the toy videos: closed-form object tracks over a noisy textured background.

Every action class (:data:`~bsp_lightning.data.toy.actions.TOY_ACTIONS`) is a shape of its own colour with its
own motion (translation in a direction, rotation, pulsing scale, orbit, bounce, zigzag) over a noisy textured
background that changes from video to video. Objects move several pixels (or a large angle) per frame, so the
speed changes and class changes that BSP synthesises are visible. Motion is defined per frame, so a video
written at another frame rate shows the same motion per frame.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from bsp_lightning.data.toy.actions import TOY_ACTIONS, ToyAction, ToyInstance

__all__ = ["render_video", "write_toy_video"]

# Rendering in chunks keeps memory flat for long videos; the per-chunk noise seed makes output independent of
# everything but this constant.
_CHUNK = 50
_REFERENCE_SIZE = 64  # motion and sizes below are in pixels of a 64 px frame and scale with the frame size


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


def _instance_params(rng: np.random.Generator, action: ToyAction, size: int) -> dict[str, float]:
    """Per-instance randomness: start position, speed and size jitter, phase, colour jitter."""
    margin = 0.25 * size
    return {
        "x0": rng.uniform(margin, size - margin),
        "y0": rng.uniform(margin, size - margin),
        "speed": rng.uniform(0.85, 1.15),
        "radius": rng.uniform(0.85, 1.15),
        "angle": rng.uniform(-0.3, 0.3),
        "phase": rng.uniform(0, 2 * math.pi),
        "colour": rng.uniform(0.85, 1.0),
    }


def _track(action: ToyAction, p: dict[str, float], t: np.ndarray, size: int):
    """Closed-form object state at frames ``t`` (relative to the instance start): centre, angle, scale."""
    px = size / _REFERENCE_SIZE
    speed = action.speed * p["speed"]
    zeros = np.zeros_like(t)
    cx, cy = p["x0"] + zeros, p["y0"] + zeros
    angle, scale = p["angle"] + zeros, 1.0 + zeros
    if action.motion == "translate":
        direction = math.radians(action.direction)
        cx = p["x0"] + speed * px * math.cos(direction) * t
        cy = p["y0"] + speed * px * math.sin(direction) * t
        angle = zeros + math.radians(action.direction) + p["angle"]
    elif action.motion == "rotate":
        angle = p["angle"] + p["phase"] + speed * t
    elif action.motion == "pulse":
        scale = 1.0 + 0.5 * np.sin(speed * t + p["phase"])
    elif action.motion == "orbit":
        orbit = 14.0 * px
        cx = size / 2 + orbit * np.cos(speed * t + p["phase"])
        cy = size / 2 + orbit * np.sin(speed * t + p["phase"])
    elif action.motion == "bounce":
        # Triangle wave: up and down over 32 px at a constant speed.
        span = 32.0 * px
        travel = speed * px * t + p["phase"] / (2 * math.pi) * 2 * span
        cy = size / 2 - span / 2 + np.abs(np.mod(travel, 2 * span) - span)
    elif action.motion == "zigzag":
        cx = p["x0"] + speed * px * t
        cy = size / 2 + 14.0 * px * np.sin(0.35 * p["speed"] * t + p["phase"])
    else:
        raise ValueError(f"unknown motion {action.motion!r}")
    return cx, cy, angle, scale


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    au, av_ = np.abs(u), np.abs(v)
    if shape == "circle":
        return u * u + v * v <= 1.0
    if shape == "square":
        return np.maximum(au, av_) <= 0.85
    if shape == "triangle":
        return (v <= 0.6) & (v >= 1.8 * au - 1.0)
    if shape == "bar":
        return (au <= 1.1) & (av_ <= 0.35)
    if shape == "diamond":
        return au + av_ <= 1.0
    if shape == "ring":
        r2 = u * u + v * v
        return (r2 <= 1.0) & (r2 >= 0.3)
    if shape == "cross":
        return ((au <= 0.3) & (av_ <= 1.0)) | ((av_ <= 0.3) & (au <= 1.0))
    if shape == "ellipse":
        return (u / 1.2) ** 2 + (v / 0.6) ** 2 <= 1.0
    raise ValueError(f"unknown shape {shape!r}")


def _draw(frames: np.ndarray, action: ToyAction, p: dict[str, float], t: np.ndarray, size: int) -> None:
    """Composite the object onto ``frames`` (float32 ``(T, H, W, 3)``) in place, all frames at once."""
    cx, cy, angle, scale = _track(action, p, t, size)
    coords = np.arange(size, dtype=np.float32) + 0.5
    # Toroidal offsets: objects leaving one side come back on the other, so they are always visible.
    dx = np.mod(coords[None, None, :] - cx[:, None, None] + size / 2, size) - size / 2
    dy = np.mod(coords[None, :, None] - cy[:, None, None] + size / 2, size) - size / 2
    radius = (action.radius * p["radius"] * size / _REFERENCE_SIZE * scale)[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (dx * cos + dy * sin) / radius
    v = (dy * cos - dx * sin) / radius
    mask = _shape_mask(action.shape, u, v)
    # Shading along the object's own axis makes rotation visible even for symmetric shapes.
    shade = 0.65 + 0.35 * np.clip((u + 1.0) / 2.0, 0.0, 1.0)
    colour = np.asarray(action.colour, dtype=np.float32) * p["colour"]
    fill = shade[..., None] * colour
    frames[mask] = fill[mask]


def render_video(
    num_frames: int,
    size: int,
    instances: Sequence[ToyInstance],
    seed: Sequence[int],
    start: int = 0,
    stop: int | None = None,
    draw_objects: bool = True,
) -> np.ndarray:
    """Render frames ``[start, stop)`` of a toy video, ``uint8 (T, size, size, 3)`` RGB.

    Args:
        num_frames: length of the whole video.
        size: frame height and width in pixels.
        instances: the action instances (frames outside every instance show only the background).
        seed: integers that identify the video; the same seed gives the same frames.
        start: first frame to render.
        stop: end of the range (default: ``num_frames``). Any range gives the same frames as rendering the
            whole video and slicing it.
        draw_objects: False renders the background alone (used to check where objects appear).
    """
    stop = num_frames if stop is None else stop
    seed = [int(s) for s in seed]
    texture = _background_texture(_rng(*seed, 0), size)
    params = [_instance_params(_rng(*seed, 1, k), TOY_ACTIONS[inst.action], size) for k, inst in enumerate(instances)]
    # The instance's own speed factor scales the per-instance jitter (x 1.0 leaves old videos bit-identical).
    params = [dict(p, speed=p["speed"] * float(inst.speed)) for p, inst in zip(params, instances)]
    out = np.empty((stop - start, size, size, 3), dtype=np.uint8)
    for chunk_start in range(start - start % _CHUNK, stop, _CHUNK):
        chunk_stop = min(chunk_start + _CHUNK, num_frames)
        frames = np.repeat(texture[None], chunk_stop - chunk_start, axis=0)
        # Per-frame sensor noise (luma only): a new pattern every frame, seeded per chunk.
        noise = _rng(*seed, 2, chunk_start).normal(0.0, 5.0, size=(chunk_stop - chunk_start, size, size, 1))
        frames += noise.astype(np.float32)
        t = np.arange(chunk_start, chunk_stop)
        if draw_objects:
            for inst, p in zip(instances, params):
                inside = (t >= inst.start) & (t < inst.end)
                if inside.any():
                    sub = frames[inside]
                    _draw(sub, TOY_ACTIONS[inst.action], p, (t[inside] - inst.start).astype(np.float32), size)
                    frames[inside] = sub
        lo, hi = max(start, chunk_start), min(stop, chunk_stop)
        out[lo - start : hi - start] = np.clip(frames[lo - chunk_start : hi - chunk_start], 0, 255)
    return out


def _encode(path: Path, chunks: Iterator[np.ndarray], size: int, fps: int) -> None:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.width = stream.height = size
        stream.options = {"preset": "veryfast", "crf": "20"}
        stream.codec_context.thread_count = 1  # x264's output depends on its thread count: fixed for determinism
        for chunk in chunks:
            for frame in chunk:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def write_toy_video(path: Path, num_frames: int, size: int, fps: int, instances: Sequence[ToyInstance],
                    seed: Sequence[int]) -> None:
    """Render and encode one toy video to ``path`` (H.264 yuv420p mp4)."""
    chunks = (render_video(num_frames, size, instances, seed, s, min(s + _CHUNK, num_frames))
              for s in range(0, num_frames, _CHUNK))
    _encode(path, chunks, size, fps)

