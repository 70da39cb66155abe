"""The toy scene (world v3): shots, appearances, and the closed-form tracks of the actor and the distractors.

A video is a sequence of **shots**: the first starts at frame 0, each other one at a cut. Within a shot the
background texture, its brightness and the sensor-noise level stay the same, and the **actor** keeps its
appearance and moves continuously: outside its instances it idles (a slow drift, :data:`~.actions.IDLE_SPEED`,
in a direction drawn anew for each idle stretch), inside an instance it performs the instance's class motion,
starting from wherever it is. Zero to two **distractors** idle for the whole shot (untrimmed videos only:
a toy-kinetics clip shows its action alone). At a cut everything is drawn
anew: background, actor appearance and position, distractors (the paper's same-class boundary: two shots of one
action, Sec. 3.2 (2)).

Positions are in pixels of a 64 px frame (:data:`REFERENCE_SIZE`) and scale with the frame size; the world wraps
around at the edges, so objects are always on screen. Motion is defined per *scene* frame: ``frame_step``
scene frames pass per written frame, so a video written at a lower frame rate moves as much per frame as the
frames the backbone was trained on.

Random draws are keyed by integers (``seed`` of the video, then a namespace): shot ``s`` from ``(*seed, 11, s)``,
its texture from ``(*seed, 10, s)``, instance ``k`` from ``(*seed, 12, k)``, the ``i``-th idle stretch from
``(*seed, 13, i)``. Any frame range of a video is therefore rendered the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bsp_lightning.data.toy.actions import COLOURS, IDLE_SPEED, SHAPES, TOY_ACTIONS, ToyInstance

__all__ = ["REFERENCE_SIZE", "Appearance", "Shot", "Track", "actor_track", "distractor_track", "plan_shot",
           "shot_index", "shot_starts"]

REFERENCE_SIZE = 64
_ORBIT_RADIUS = 12.0
_BOUNCE_SPAN = 20.0
_ZIGZAG_AMPLITUDE = 10.0
_ZIGZAG_RATE = 0.6  # radians per scene frame at speed factor 1: 14 x 0.51 x 0.6 = 4.3 rad at least per clip


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


class Appearance(NamedTuple):
    """What an object looks like: a shape of :data:`~.actions.SHAPES`, a colour index into
    :data:`~.actions.COLOURS`, a radius in pixels at 64 px, and a brightness factor of the colour."""

    shape: str
    colour: int
    radius: float
    brightness: float


class Shot(NamedTuple):
    """One shot's draws: the actor's appearance and starting state, the distractors, the background level.

    Attributes:
        actor: the actor's appearance.
        start: actor's position ``(x, y)`` at the first frame of the shot (pixels at 64 px) and its angle (rad).
        distractors: per distractor ``(appearance, x, y, angle, drift direction in rad)``.
        noise: standard deviation of the per-frame sensor noise (grey levels).
    """

    actor: Appearance
    start: tuple[float, float, float]
    distractors: tuple[tuple[Appearance, float, float, float, float], ...]
    noise: float


class Track(NamedTuple):
    """Per-frame state of an object: centre ``x``, ``y`` (pixels at 64 px), ``angle`` (rad), ``scale``."""

    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    scale: np.ndarray


def _appearance(rng: np.random.Generator) -> Appearance:
    return Appearance(SHAPES[int(rng.integers(len(SHAPES)))], int(rng.integers(len(COLOURS))),
                      float(rng.uniform(8.0, 12.0)), float(rng.uniform(0.85, 1.0)))


def plan_shot(seed: Sequence[int], shot: int) -> Shot:
    """The draws of shot ``shot`` of the video ``seed`` (module docstring)."""
    rng = _rng(*seed, 11, shot)
    actor = _appearance(rng)
    start = (float(rng.uniform(0, REFERENCE_SIZE)), float(rng.uniform(0, REFERENCE_SIZE)),
             float(rng.uniform(-math.pi, math.pi)))
    distractors = []
    for _ in range(int(rng.integers(0, 3))):
        distractors.append((_appearance(rng), float(rng.uniform(0, REFERENCE_SIZE)),
                            float(rng.uniform(0, REFERENCE_SIZE)), float(rng.uniform(-math.pi, math.pi)),
                            float(rng.uniform(0, 2 * math.pi))))
    return Shot(actor, start, tuple(distractors), float(rng.uniform(3.0, 5.0)))


def shot_index(frames: np.ndarray | int, cuts: Sequence[int]) -> np.ndarray:
    """Shot of each frame: the number of cuts at or before it."""
    return np.searchsorted(np.asarray(sorted(cuts), dtype=np.int64), frames, side="right")


def _runs(instances: Sequence[ToyInstance], cuts: Sequence[int]) -> list[list[int]]:
    """Instances grouped into motion runs: an instance that starts where the previous one of the same class ends,
    in the same shot, continues its motion at another speed (a speed change, not a new motion)."""
    runs: list[list[int]] = []
    order = sorted(range(len(instances)), key=lambda k: instances[k].start)
    for k in order:
        prev = instances[runs[-1][-1]] if runs else None
        inst = instances[k]
        if prev is not None and prev.end == inst.start and prev.action == inst.action and inst.start not in cuts:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def _motion(action_index: int, key: Sequence[int], k: int, state: tuple[float, float, float, float],
            progress: np.ndarray) -> Track:
    """The class motion of the run that starts with instance ``k``, from ``state``.

    ``progress`` is the scene time scaled by the speed factor, per frame (0 at the run's start), so a speed
    change only changes how fast the same motion advances.
    """
    action = TOY_ACTIONS[action_index]
    rng = _rng(*key, 12, k)
    phase = float(rng.uniform(0, 2 * math.pi))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    x0, y0, a0, s0 = state
    u = action.speed * progress
    x, y = np.full_like(u, x0), np.full_like(u, y0)
    angle, scale = np.full_like(u, a0), np.full_like(u, s0)
    if action.motion == "translate":
        d = math.radians(action.direction)
        x, y = x0 + math.cos(d) * u, y0 + math.sin(d) * u
    elif action.motion == "rotate":
        angle = a0 + u
    elif action.motion == "pulse":
        # starts at the current scale, so the object does not jump when the pulsing begins
        start = math.asin(float(np.clip((s0 - 1.0) / 0.5, -1.0, 1.0)))
        scale = 1.0 + 0.5 * np.sin(u + start)
    elif action.motion == "orbit":
        cx, cy = x0 - _ORBIT_RADIUS * math.cos(phase), y0 - _ORBIT_RADIUS * math.sin(phase)
        x, y = cx + _ORBIT_RADIUS * np.cos(phase + sign * u), cy + _ORBIT_RADIUS * np.sin(phase + sign * u)
    elif action.motion == "bounce":
        travel = np.mod(u, 2 * _BOUNCE_SPAN)
        y = y0 - sign * (_BOUNCE_SPAN - np.abs(travel - _BOUNCE_SPAN))
    elif action.motion == "zigzag":
        x = x0 + u
        y = y0 + sign * _ZIGZAG_AMPLITUDE * np.sin(_ZIGZAG_RATE * progress)
    else:
        raise ValueError(f"unknown motion {action.motion!r}")
    return Track(x, y, angle, scale)


def _idle(key: Sequence[int], stretch: int, state: tuple[float, float, float, float], tau: np.ndarray) -> Track:
    direction = float(_rng(*key, 13, stretch).uniform(0, 2 * math.pi))
    x0, y0, a0, s0 = state
    return Track(x0 + IDLE_SPEED * math.cos(direction) * tau, y0 + IDLE_SPEED * math.sin(direction) * tau,
                 np.full_like(tau, a0), np.full_like(tau, s0))


def actor_track(num_frames: int, instances: Sequence[ToyInstance], seed: Sequence[int], cuts: Sequence[int] = (),
                frame_step: float = 1.0) -> Track:
    """The actor's state at every frame of a video (module docstring).

    Args:
        num_frames: frames of the video.
        instances: the actor's instances (non-overlapping); it idles outside them.
        seed: the video's key.
        cuts: frames where a new shot starts.
        frame_step: scene frames per written frame.

    Returns:
        a :class:`Track` of ``(num_frames,)`` float64 arrays.
    """
    cuts = sorted(c for c in cuts if 0 < c < num_frames)
    runs = _runs(instances, cuts)
    run_of = {instances[r[0]].start: r for r in runs}
    edges = sorted({0, num_frames, *cuts, *(instances[r[0]].start for r in runs),
                    *(instances[r[-1]].end for r in runs)})
    edges = [e for e in edges if 0 <= e <= num_frames]
    out = Track(*(np.zeros(num_frames) for _ in range(4)))
    state = (0.0, 0.0, 0.0, 1.0)
    stretches = 0
    for first, stop in zip(edges, edges[1:]):
        if first == 0 or first in cuts:
            x0, y0, a0 = plan_shot(seed, int(shot_index(first, cuts))).start
            state = (x0, y0, a0, 1.0)
        run = run_of.get(first)
        if run is not None:
            factor = np.zeros(stop - first)
            jitter = float(_rng(*seed, 12, run[0], 1).uniform(0.85, 1.15))
            for k in run:
                lo, hi = instances[k].start - first, instances[k].end - first
                factor[max(lo, 0):max(min(hi, stop - first), 0)] = jitter * instances[k].speed * frame_step
            progress = np.concatenate([[0.0], np.cumsum(factor)])
            track = _motion(instances[run[0]].action, seed, run[0], state, progress)
        else:
            track = _idle(seed, stretches, state, np.arange(stop - first + 1, dtype=np.float64) * frame_step)
            stretches += 1
        for full, part in zip(out, track):
            full[first:stop] = part[:-1]
        state = (float(track.x[-1]), float(track.y[-1]), float(track.angle[-1]), float(track.scale[-1]))
    return out


def distractor_track(distractor: tuple[Appearance, float, float, float, float], frames: np.ndarray,
                     shot_start: int, frame_step: float = 1.0) -> Track:
    """A distractor's state at ``frames`` of its shot (which starts at ``shot_start``): it idles throughout."""
    _, x0, y0, angle, direction = distractor
    tau = (np.asarray(frames, dtype=np.float64) - shot_start) * frame_step
    return Track(x0 + IDLE_SPEED * math.cos(direction) * tau, y0 + IDLE_SPEED * math.sin(direction) * tau,
                 np.full_like(tau, angle), np.ones_like(tau))


def shot_starts(cuts: Sequence[int]) -> list[int]:
    """First frame of each shot."""
    return [0, *sorted(cuts)]
