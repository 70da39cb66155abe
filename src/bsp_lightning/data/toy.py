"""Procedurally generated toy datasets: the embedded default data of bsp-lightning.

Nothing is downloaded: ``bsp-lightning toy-data --out DIR`` draws everything from a seed and writes real
H.264 mp4 files (``libx264``, ``yuv420p``) with PyAV, in the layouts of the real benchmarks::

    DIR/toy-kinetics/{train,val}/<label>/<ytid>_<start:06d>_<end:06d>.mp4    Kinetics folder layout
    DIR/toy-kinetics/{train,val}.csv                                      label,youtube_id,time_start,time_end,split
    DIR/toy-untrimmed/videos/<video_id>.mp4                               untrimmed videos
    DIR/toy-untrimmed/activity_net.json                                   ActivityNet-1.3 ground truth

Every action class (:data:`TOY_ACTIONS`) is a shape of its own colour with its own motion (translation in
a direction, rotation, pulsing scale, orbit, bounce, zigzag) over a noisy textured background that changes
from video to video. Objects move several pixels (or a large angle) per frame, so the speed changes and
class changes that BSP synthesises are visible. Untrimmed videos hold a few instances of one class
separated by background-only stretches, like ActivityNet. As in Kinetics, the CSV's ``time_start`` and
``time_end`` name a 10 s window of a (fictitious) YouTube video, while the clip itself is shorter.

Each dataset folder is written into a temporary folder and renamed into place when complete, so a folder
that exists is complete; ``toy_config.json`` inside it records the parameters, and a second call with the
same parameters does nothing.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import av
import numpy as np
from tqdm.auto import tqdm

from bsp_lightning.utils.cli import HelpFormatter
from bsp_lightning.utils.io import atomic_write_json, atomic_write_text

__all__ = [
    "TOY_ACTIONS",
    "ToyAction",
    "ToyInstance",
    "default_toy_root",
    "ensure_toy_data",
    "main",
    "render_video",
    "write_toy_kinetics",
    "write_toy_untrimmed",
]

logger = logging.getLogger(__name__)

KINETICS_DIR = "toy-kinetics"
UNTRIMMED_DIR = "toy-untrimmed"
CONFIG_FILE = "toy_config.json"
# Rendering in chunks keeps memory flat for long videos; the per-chunk noise seed makes output independent of
# everything but this constant.
_CHUNK = 50
_REFERENCE_SIZE = 64  # motion and sizes below are in pixels of a 64 px frame and scale with the frame size


class ToyAction(NamedTuple):
    """One toy action class.

    Attributes:
        name: class label (with spaces, as Kinetics labels are).
        shape: ``circle``, ``square``, ``triangle``, ``bar``, ``diamond``, ``ring``, ``cross`` or ``ellipse``.
        colour: RGB fill colour.
        motion: ``translate``, ``rotate``, ``pulse``, ``orbit``, ``bounce`` or ``zigzag``.
        speed: pixels per frame (``translate``, ``bounce``, ``zigzag``) or radians per frame (``rotate``,
            ``pulse``, ``orbit``), at 64 px.
        direction: direction of travel in degrees (0 = right, 90 = down) for ``translate``.
        radius: object radius in pixels, at 64 px.
    """

    name: str
    shape: str
    colour: tuple[int, int, int]
    motion: str
    speed: float
    direction: float = 0.0
    radius: float = 9.0


TOY_ACTIONS: tuple[ToyAction, ...] = (
    ToyAction("circle moving right", "circle", (220, 40, 40), "translate", 3.0, 0.0),
    ToyAction("square moving down", "square", (40, 80, 230), "translate", 2.5, 90.0),
    ToyAction("triangle spinning", "triangle", (40, 200, 60), "rotate", 0.25, radius=12.0),
    ToyAction("bar rotating backwards", "bar", (240, 220, 40), "rotate", -0.18, radius=12.0),
    ToyAction("diamond pulsing", "diamond", (220, 40, 220), "pulse", 2 * math.pi / 20, radius=11.0),
    ToyAction("ring orbiting", "ring", (40, 220, 220), "orbit", 0.2, radius=8.0),
    ToyAction("cross bouncing", "cross", (250, 250, 250), "bounce", 3.5, radius=9.0),
    ToyAction("ellipse moving up-left", "ellipse", (250, 140, 20), "translate", 3.5, 225.0),
    ToyAction("dot zigzagging", "circle", (150, 50, 230), "zigzag", 2.5, radius=6.0),
    ToyAction("bar sliding left", "bar", (250, 120, 170), "translate", 4.0, 180.0),
)


class ToyInstance(NamedTuple):
    """An action instance inside a video: frames ``[start, end)`` show ``TOY_ACTIONS[action]``."""

    action: int
    start: int
    end: int


def default_toy_root() -> Path:
    """Folder of the toy datasets: ``$BSP_TOY_ROOT``, else ``~/.cache/bsp-lightning/toy`` (generated here)."""
    env = os.environ.get("BSP_TOY_ROOT")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bsp-lightning" / "toy"


# --------------------------------------------------------------------------------------------- rendering


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


def _write_toy_video(path: Path, num_frames: int, size: int, fps: int, instances: Sequence[ToyInstance],
                     seed: Sequence[int]) -> None:
    chunks = (render_video(num_frames, size, instances, seed, s, min(s + _CHUNK, num_frames))
              for s in range(0, num_frames, _CHUNK))
    _encode(path, chunks, size, fps)


# --------------------------------------------------------------------------------------------- writing


def _check_size(size: int) -> None:
    if size < 16 or size % 2:
        raise ValueError(f"size must be an even number >= 16 (H.264 yuv420p), got {size}")


def _existing(out_dir: Path, config: dict[str, Any], force: bool) -> bool:
    """True when ``out_dir`` already holds this dataset; raises when it holds a different one."""
    if not out_dir.exists():
        return False
    if force:
        return False
    config_path = out_dir / CONFIG_FILE
    try:
        existing = json.loads(config_path.read_text())
    except (OSError, ValueError):
        raise FileExistsError(f"{out_dir}: exists but is not a toy dataset written by bsp-lightning "
                              f"(no readable {CONFIG_FILE}); remove it or use --force") from None
    if existing != config:
        changed = sorted(k for k in set(config) | set(existing) if config.get(k) != existing.get(k))
        raise FileExistsError(f"{out_dir}: exists with other parameters ({', '.join(changed)}); "
                              "use --force to regenerate it")
    logger.info("%s is complete, nothing to do", out_dir)
    return True


def _publish(tmp_dir: Path, out_dir: Path, force: bool) -> None:
    """Rename the finished ``tmp_dir`` onto ``out_dir`` (replacing it when ``force``)."""
    if force and out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, trash / out_dir.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.rename(tmp_dir, out_dir)
    except OSError:
        # Another process (e.g. a second DDP rank) finished first; its copy is identical.
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if not (out_dir / CONFIG_FILE).is_file():
            raise


class _Staging:
    """A temporary sibling folder that is removed unless it was published."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _actions(num_classes: int) -> list[int]:
    if not 2 <= num_classes <= len(TOY_ACTIONS):
        raise ValueError(f"num_classes must be in [2, {len(TOY_ACTIONS)}], got {num_classes}")
    return list(range(num_classes))


def write_toy_kinetics(
    out_dir: str | os.PathLike,
    seed: int = 0,
    size: int = 64,
    num_classes: int = len(TOY_ACTIONS),
    train_per_class: int = 24,
    val_per_class: int = 6,
    num_frames: int = 60,
    fps: int = 25,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the trimmed toy-kinetics dataset into ``out_dir`` (Kinetics CSV and folder layout).

    Each clip shows one instance of its class for the whole clip. Defaults: 10 classes, 24 train and
    6 val clips per class, 60 frames (2.4 s) at 25 fps, 64x64 px.

    Returns:
        ``out_dir``. Nothing is written when it already holds the same dataset.

    Raises:
        FileExistsError: ``out_dir`` exists with other parameters (and ``force`` is False).
    """
    out_dir = Path(out_dir)
    _check_size(size)
    actions = _actions(num_classes)
    config = {"dataset": KINETICS_DIR, "seed": seed, "size": size, "num_classes": num_classes,
              "train_per_class": train_per_class, "val_per_class": val_per_class, "num_frames": num_frames,
              "fps": fps}
    if _existing(out_dir, config, force):
        return out_dir
    splits = {"train": train_per_class, "val": val_per_class}
    total = num_classes * (train_per_class + val_per_class)
    with _Staging(out_dir) as tmp, tqdm(total=total, desc=KINETICS_DIR, unit="video", disable=not progress) as bar:
        for split_id, (split, per_class) in enumerate(splits.items()):
            rows = io.StringIO()
            writer = csv.writer(rows, lineterminator="\n")
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            for action in actions:
                label = TOY_ACTIONS[action].name
                for i in range(per_class):
                    key = (seed, split_id, action, i)
                    ytid = _youtube_like_id("kinetics", *key)
                    time_start = int(_rng(*key, 3).integers(0, 300))
                    name = f"{ytid}_{time_start:06d}_{time_start + 10:06d}.mp4"
                    path = tmp / split / label / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write_toy_video(path, num_frames, size, fps, [ToyInstance(action, 0, num_frames)], key)
                    writer.writerow([label, ytid, time_start, time_start + 10, split])
                    bar.update()
            atomic_write_text(tmp / f"{split}.csv", rows.getvalue())
        atomic_write_json(tmp / CONFIG_FILE, config)
        _publish(tmp, out_dir, force)
    return out_dir


def _schedule(rng: np.random.Generator, num_frames: int, fps: int, instance_duration: tuple[float, float],
              max_instances: int) -> list[tuple[int, int]]:
    """Frame ranges of 2..max_instances instances with background (>= 1 s, 0.5 s at the ends) around each."""
    lengths = [int(round(rng.uniform(*instance_duration) * fps)) for _ in range(rng.integers(2, max_instances + 1))]
    inner_gap, outer_gap = fps, fps // 2
    while len(lengths) > 1 and sum(lengths) + (len(lengths) - 1) * inner_gap + 2 * outer_gap > num_frames:
        lengths.pop()
    spare = num_frames - sum(lengths) - (len(lengths) - 1) * inner_gap - 2 * outer_gap
    if spare < 0:
        raise ValueError(f"a video of {num_frames} frames cannot hold an instance of {lengths[0]} frames")
    extra = np.floor(rng.dirichlet(np.ones(len(lengths) + 1)) * spare).astype(int)
    ranges, cursor = [], outer_gap + extra[0]
    for k, length in enumerate(lengths):
        ranges.append((int(cursor), int(cursor + length)))
        cursor += length + inner_gap + extra[k + 1]
    return ranges


def write_toy_untrimmed(
    out_dir: str | os.PathLike,
    seed: int = 0,
    size: int = 64,
    num_classes: int = len(TOY_ACTIONS),
    num_videos: int = 12,
    duration: tuple[float, float] = (20.0, 40.0),
    instance_duration: tuple[float, float] = (2.0, 6.0),
    max_instances: int = 4,
    val_fraction: float = 1 / 3,
    fps: int = 25,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Write the untrimmed toy dataset into ``out_dir`` with ActivityNet-1.3 ground truth.

    Each video shows 2..``max_instances`` instances of one class (as most ActivityNet videos do),
    separated by at least 1 s of background. Segments are ``[start_frame / fps, end_frame / fps]`` seconds:
    the object is on screen exactly in the frames whose time lies in ``[start, end)``. The first
    ``round(num_videos * val_fraction)`` ids (in sorted order) form the ``validation`` subset, the rest
    ``training``.

    Returns:
        ``out_dir``. Nothing is written when it already holds the same dataset.

    Raises:
        FileExistsError: ``out_dir`` exists with other parameters (and ``force`` is False).
    """
    out_dir = Path(out_dir)
    _check_size(size)
    actions = _actions(num_classes)
    config = {"dataset": UNTRIMMED_DIR, "seed": seed, "size": size, "num_classes": num_classes,
              "num_videos": num_videos, "duration": list(duration), "instance_duration": list(instance_duration),
              "max_instances": max_instances, "val_fraction": val_fraction, "fps": fps}
    if _existing(out_dir, config, force):
        return out_dir
    video_ids = [_youtube_like_id("untrimmed", seed, i) for i in range(num_videos)]
    num_val = round(num_videos * val_fraction)
    validation = set(sorted(video_ids)[:num_val])
    database: dict[str, Any] = {}
    with _Staging(out_dir) as tmp, tqdm(total=num_videos, desc=UNTRIMMED_DIR, unit="video",
                                        disable=not progress) as bar:
        (tmp / "videos").mkdir()
        for i, video_id in enumerate(video_ids):
            key = (seed, 7, i)
            rng = _rng(*key, 4)
            num_frames = int(round(rng.uniform(*duration) * fps))
            action = actions[int(rng.integers(len(actions)))]
            ranges = _schedule(rng, num_frames, fps, instance_duration, max_instances)
            instances = [ToyInstance(action, s, e) for s, e in ranges]
            _write_toy_video(tmp / "videos" / f"{video_id}.mp4", num_frames, size, fps, instances, key)
            database[video_id] = {
                "subset": "validation" if video_id in validation else "training",
                "duration": round(num_frames / fps, 6),
                "resolution": f"{size}x{size}",
                "url": f"https://www.youtube.com/watch?v={video_id}",
                "annotations": [{"segment": [round(s / fps, 6), round(e / fps, 6)], "label": TOY_ACTIONS[action].name}
                                for s, e in ranges],
            }
            bar.update()
        ground_truth = {"version": "VERSION 1.3", "taxonomy": _taxonomy(actions), "database": database}
        atomic_write_json(tmp / "activity_net.json", ground_truth)
        atomic_write_json(tmp / CONFIG_FILE, config)
        _publish(tmp, out_dir, force)
    return out_dir


def _taxonomy(actions: Sequence[int]) -> list[dict[str, Any]]:
    """ActivityNet taxonomy nodes: a root and one leaf per class."""
    nodes: list[dict[str, Any]] = [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}]
    nodes += [{"nodeId": k + 1, "nodeName": TOY_ACTIONS[a].name, "parentId": 0, "parentName": "Root"}
              for k, a in enumerate(actions)]
    return nodes


def ensure_toy_data(root: str | os.PathLike | None = None, seed: int = 0, size: int = 64,
                    progress: bool = True) -> Path:
    """Generate the toy datasets under ``root`` (default :func:`default_toy_root`) that are not there yet.

    A dataset folder that exists is complete (it appears by one rename), whatever parameters it was written
    with (e.g. by ``bsp-lightning toy-data --size 32``), and is used as it is. Safe when several processes
    call it at once.

    Returns:
        ``root``.
    """
    root = default_toy_root() if root is None else Path(root)
    if not (root / KINETICS_DIR).exists():
        write_toy_kinetics(root / KINETICS_DIR, seed=seed, size=size, progress=progress)
    if not (root / UNTRIMMED_DIR).exists():
        write_toy_untrimmed(root / UNTRIMMED_DIR, seed=seed, size=size, progress=progress)
    return root


# --------------------------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning toy-data",
        description="Generate the procedural toy datasets (nothing is downloaded): toy-kinetics (trimmed clips, "
                    "Kinetics CSV and folder layout) and toy-untrimmed (long videos with ActivityNet-1.3 ground "
                    "truth). Existing complete datasets with the same parameters are left as they are.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: $BSP_TOY_ROOT or ~/.cache/bsp-lightning/toy)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same videos")
    parser.add_argument("--size", type=int, default=64, help="frame height and width in pixels (even)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate of every video")
    parser.add_argument("--num-classes", type=int, default=len(TOY_ACTIONS),
                        help=f"number of action classes (2..{len(TOY_ACTIONS)})")
    parser.add_argument("--train-per-class", type=int, default=24, help="toy-kinetics train clips per class")
    parser.add_argument("--val-per-class", type=int, default=6, help="toy-kinetics val clips per class")
    parser.add_argument("--clip-frames", type=int, default=60, help="frames per toy-kinetics clip")
    parser.add_argument("--untrimmed-videos", type=int, default=12, help="number of toy-untrimmed videos")
    parser.add_argument("--only", choices=(KINETICS_DIR, UNTRIMMED_DIR), default=None,
                        help="write only one of the two datasets")
    parser.add_argument("--force", action="store_true", help="regenerate even if the datasets exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``bsp-lightning toy-data``: write the toy datasets; returns the exit code."""
    args = _parser().parse_args(argv)
    out = default_toy_root() if args.out is None else args.out
    started = time.perf_counter()
    try:
        if args.only in (None, KINETICS_DIR):
            write_toy_kinetics(out / KINETICS_DIR, seed=args.seed, size=args.size, num_classes=args.num_classes,
                               train_per_class=args.train_per_class, val_per_class=args.val_per_class,
                               num_frames=args.clip_frames, fps=args.fps, force=args.force,
                               progress=not args.quiet)
        if args.only in (None, UNTRIMMED_DIR):
            write_toy_untrimmed(out / UNTRIMMED_DIR, seed=args.seed, size=args.size, num_classes=args.num_classes,
                                num_videos=args.untrimmed_videos, fps=args.fps, force=args.force,
                                progress=not args.quiet)
    except (ValueError, FileExistsError, OSError) as err:
        print(f"bsp-lightning toy-data: error: {err}", file=sys.stderr)
        return 2
    print(f"toy datasets in {out} ({time.perf_counter() - started:.1f} s)")
    return 0
