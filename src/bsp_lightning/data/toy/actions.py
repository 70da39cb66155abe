"""The toy action classes, the instance record, and the words that describe them in sentences."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["ACTION_WORDS", "SLOW", "FAST", "TOY_ACTIONS", "ToyAction", "ToyInstance", "speed_word"]


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
    """An action instance inside a video: frames ``[start, end)`` show ``TOY_ACTIONS[action]``.

    ``speed`` multiplies the class's speed (1.0 = as the class moves in toy-kinetics); the downstream set
    draws 0.6 or 1.5 so that a sentence can say "slowly" or "quickly" (:func:`speed_word`).
    """

    action: int
    start: int
    end: int
    speed: float = 1.0



#: Speed multipliers of the downstream instances, and the adverbs a sentence uses for them.
SLOW, FAST = 0.6, 1.5


class ActionWords(NamedTuple):
    """How sentences name a class: colour adjective, nouns for the shape, verb phrases for the motion."""

    colour: str
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]


#: One entry per :data:`TOY_ACTIONS` class, in the same order. Synonyms give the sentences some variety.
ACTION_WORDS: tuple[ActionWords, ...] = (
    ActionWords("red", ("circle", "disc"), ("moves right", "travels to the right")),
    ActionWords("blue", ("square", "box"), ("moves down", "falls")),
    ActionWords("green", ("triangle",), ("spins", "turns around")),
    ActionWords("yellow", ("bar", "stick"), ("rotates backwards", "turns anticlockwise")),
    ActionWords("magenta", ("diamond",), ("pulses", "grows and shrinks")),
    ActionWords("cyan", ("ring",), ("orbits", "circles the centre")),
    ActionWords("white", ("cross",), ("bounces", "jumps up and down")),
    ActionWords("orange", ("ellipse", "oval"), ("moves up and left", "drifts to the top left")),
    ActionWords("purple", ("dot",), ("zigzags", "wiggles along")),
    ActionWords("pink", ("bar", "stick"), ("slides left", "moves to the left")),
)


def speed_word(speed: float) -> str:
    """``"slowly"`` below 0.8, ``"quickly"`` above 1.2, else ``""`` (a normal-speed instance)."""
    if speed < 0.8:
        return "slowly"
    if speed > 1.2:
        return "quickly"
    return ""
