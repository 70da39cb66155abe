"""The toy action classes, the appearance pools every class shares, the instance record, and the sentence words.

Toy world v3 (:data:`TOY_DATA_VERSION`): **a class is a motion.** Shape and colour are drawn per instance (per
shot in the untrimmed videos) from :data:`SHAPES` and :data:`COLOURS`, which every class shares, so no class can
be told from a single frame: only the motion over several frames says which class it is, as in Kinetics, where
a class is what people do, not what they wear.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = [
    "ACTION_WORDS",
    "COLOURS",
    "FAST",
    "IDLE_SPEED",
    "SHAPES",
    "SHAPE_WORDS",
    "SLOW",
    "TOY_ACTIONS",
    "TOY_DATA_VERSION",
    "ToyAction",
    "ToyInstance",
    "speed_word",
]

#: Version of the toy world. Every dataset records it in ``toy_config.json``; a dataset of another version is
#: regenerated (v1: each class had its own shape and colour, objects were on screen only during actions; v2: shapes
#: without a marker, orbits of 0.2 rad and zigzags of 0.35 rad per frame, which the frames could not always tell
#: apart, see :data:`TOY_ACTIONS`).
TOY_DATA_VERSION = 3


class ToyAction(NamedTuple):
    """One toy action class: a motion pattern, whatever object performs it.

    Attributes:
        name: class label (with spaces, as Kinetics labels are).
        motion: ``translate``, ``rotate``, ``pulse``, ``orbit``, ``bounce`` or ``zigzag``.
        speed: pixels per frame (``translate``, ``bounce``, ``zigzag``) or radians per frame (``rotate``,
            ``pulse``, ``orbit``) at speed factor 1, at 64 px.
        direction: direction of travel in degrees (0 = right, 90 = down) for ``translate``.
    """

    name: str
    motion: str
    speed: float
    direction: float = 0.0


#: The ten classes. Every class must be decidable from the frames the backbone sees (8 frames, 2 scene frames
#: apart, at speed factors 0.6-1.5 times a jitter of 0.85-1.15, so 0.51-1.73 x the class speed):
#:
#: * a spin turns at most 2 x 1.73 x 0.35 = 1.2 rad between sampled frames; every shape carries a dark marker off
#:   its centre (:mod:`.render`), so its orientation repeats only after a full turn and a spin cannot seem to turn
#:   the other way (in world v2 a square or a cross looked the same after a quarter turn, and a vanilla backbone
#:   confused the two spins in 18 of 70 validation clips);
#: * the 8 frames span 14 scene frames, in which an orbit covers at least 14 x 0.51 x 0.35 = 2.5 rad of its circle,
#:   so it is never a short arc that looks like a straight move (v2: 0.2 rad per frame, 1.4 rad; 11 of 34 orbits
#:   were taken for straight moves);
#: * a zigzag (:mod:`.scene`) completes at least two thirds of a wiggle in a clip (v2: 0.4 of one; 7 of 28
#:   zigzags were taken for moving right).
TOY_ACTIONS: tuple[ToyAction, ...] = (
    ToyAction("moving right", "translate", 3.0, 0.0),
    ToyAction("moving down", "translate", 2.5, 90.0),
    ToyAction("spinning clockwise", "rotate", 0.35),
    ToyAction("spinning anticlockwise", "rotate", -0.35),
    ToyAction("pulsing", "pulse", 2 * math.pi / 16),
    ToyAction("orbiting", "orbit", 0.35),
    ToyAction("bouncing", "bounce", 3.0),
    ToyAction("moving up-left", "translate", 3.0, 225.0),
    ToyAction("zigzagging", "zigzag", 2.5),
    ToyAction("moving left", "translate", 3.5, 180.0),
)

#: Outside its instances an actor idles: it drifts this many pixels per frame (at 64 px), in a direction drawn
#: anew for each idle stretch. Distractor objects idle the whole video. The slowest class motion (moving down,
#: slowly) is 6x faster.
IDLE_SPEED = 0.25

#: Shapes every class draws from (one per instance or shot). The circle has a notch and the ring a gap, so that no
#: shape is rotation-symmetric and spinning is visible whatever the shape.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "bar", "diamond", "ring", "cross", "ellipse")

#: Colours every class draws from: name (for sentences) and RGB.
COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (220, 40, 40)),
    ("blue", (40, 80, 230)),
    ("green", (40, 200, 60)),
    ("yellow", (240, 220, 40)),
    ("magenta", (220, 40, 220)),
    ("cyan", (40, 220, 220)),
    ("white", (250, 250, 250)),
    ("orange", (250, 140, 20)),
    ("purple", (150, 50, 230)),
    ("pink", (250, 120, 170)),
)

#: Nouns a sentence may use for each shape of :data:`SHAPES`.
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "circle": ("disc", "pie"),
    "square": ("square", "box"),
    "triangle": ("triangle",),
    "bar": ("bar", "stick"),
    "diamond": ("diamond",),
    "ring": ("ring", "horseshoe"),
    "cross": ("cross",),
    "ellipse": ("ellipse", "oval"),
}


class ToyInstance(NamedTuple):
    """An action instance inside a video: frames ``[start, end)`` show the actor performing ``TOY_ACTIONS[action]``.

    ``speed`` multiplies the class's speed (1.0 = the class's own speed); the downstream set draws 0.6 or 1.5
    so that a sentence can say "slowly" or "quickly" (:func:`speed_word`).
    """

    action: int
    start: int
    end: int
    speed: float = 1.0


#: Speed multipliers of the downstream instances, and the adverbs a sentence uses for them.
SLOW, FAST = 0.6, 1.5


class ActionWords(NamedTuple):
    """How sentences name a class: verb phrases for its motion (never its shape or colour)."""

    verbs: tuple[str, ...]


#: One entry per :data:`TOY_ACTIONS` class, in the same order. Synonyms give the sentences some variety.
ACTION_WORDS: tuple[ActionWords, ...] = (
    ActionWords(("moves right", "travels to the right")),
    ActionWords(("moves down", "falls")),
    ActionWords(("spins clockwise", "turns clockwise")),
    ActionWords(("spins anticlockwise", "turns anticlockwise")),
    ActionWords(("pulses", "grows and shrinks")),
    ActionWords(("orbits", "goes round in circles")),
    ActionWords(("bounces", "jumps up and down")),
    ActionWords(("moves up and left", "drifts to the top left")),
    ActionWords(("zigzags", "wiggles along")),
    ActionWords(("moves left", "slides to the left")),
)


def speed_word(speed: float) -> str:
    """``"slowly"`` below 0.8, ``"quickly"`` above 1.2, else ``""`` (a normal-speed instance)."""
    if speed < 0.8:
        return "slowly"
    if speed > 1.2:
        return "quickly"
    return ""
