"""What happens in a toy-untrimmed video (world v3): its instances, shot cuts and annotated boundaries.

The untrimmed videos contain, as real annotated boundaries, the boundary kinds BSP synthesises (Sec. 3.2):

* **motion change** of the same object: ``idle_to_action`` (an instance starts after idling),
  ``action_to_idle`` (it ends and the actor idles), ``action_to_action`` (action A turns directly into action B,
  the paper's diff-class boundary);
* ``same_class_cut``: two instances of one class back to back, separated by a shot cut (new background, actor
  position and appearance), as in ActivityNet (the paper's same-class boundary);
* ``speed_change``: one motion changes from slow to fast or fast to slow, which splits it into two instances
  of the same class (the paper's diff-speed boundary).

A video has 2..``max_instances`` instances (fewer when they do not fit); the actor idles for at least 1 s between
instances joined by idling and at least 0.5 s at both ends, so the video's ends are never boundaries.

``"tasks"`` layout: the video belongs to a task (:func:`~bsp_lightning.data.toy.formats.toy_tasks`) and shows 1..3
of its steps in the task's order; a step is one instance or a run of them joined by cuts or speed changes, and
consecutive steps are joined by idling or directly. ``"single"`` layout: every instance is of one class, joined
by idling, cuts or speed changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bsp_lightning.data.toy.actions import FAST, SLOW, ToyInstance

__all__ = ["BOUNDARY_GROUPS", "BOUNDARY_KINDS", "ToyBoundary", "VideoPlan", "count_boundaries", "plan_video"]

BOUNDARY_KINDS = ("idle_to_action", "action_to_idle", "action_to_action", "same_class_cut", "speed_change")
#: Boundary kind -> the group the study reports it in (the paper's three boundary concepts).
BOUNDARY_GROUPS = {"idle_to_action": "motion_change", "action_to_idle": "motion_change",
                   "action_to_action": "motion_change", "same_class_cut": "same_class_cut",
                   "speed_change": "speed_change"}
_JOIN_KIND = {"idle": None, "direct": "action_to_action", "cut": "same_class_cut", "speed": "speed_change"}


class ToyBoundary(NamedTuple):
    """An annotated boundary: the first frame after it, and its kind (:data:`BOUNDARY_KINDS`)."""

    frame: int
    kind: str


class VideoPlan(NamedTuple):
    """A video's frames, instances (time order), shot cuts (first frame of each new shot), boundaries, task."""

    num_frames: int
    instances: tuple[ToyInstance, ...]
    cuts: tuple[int, ...]
    boundaries: tuple[ToyBoundary, ...]
    task: int


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _classes_and_joins(rng: np.random.Generator, n: int, layout: str, actions: Sequence[int],
                       tasks: Sequence[Sequence[int]]) -> tuple[list[int], list[str], int]:
    if layout == "single":
        action = actions[int(rng.integers(len(actions)))]
        task = next(t for t, steps in enumerate(tasks) if action in steps)
        joins = [str(j) for j in rng.choice(["idle", "cut", "speed"], size=n - 1)]
        return [action] * n, joins, task
    task = int(rng.integers(len(tasks)))
    steps = tasks[task]
    m = int(rng.integers(1, min(len(steps), n, 3) + 1))
    chosen = sorted(int(c) for c in rng.choice(len(steps), size=m, replace=False))
    counts = 1 + rng.multinomial(n - m, [1 / m] * m)
    classes, joins = [], []
    for j, (step, count) in enumerate(zip(chosen, counts)):
        if j:
            joins.append(str(rng.choice(["idle", "direct"])))
        classes += [steps[step]] * int(count)
        joins += [str(rng.choice(["cut", "speed"])) for _ in range(int(count) - 1)]
    return classes, joins, task


def plan_video(key: Sequence[int], actions: Sequence[int], tasks: Sequence[Sequence[int]], layout: str, fps: int,
               duration: tuple[float, float], instance_duration: tuple[float, float],
               max_instances: int) -> VideoPlan:
    """Draw one video's plan from ``key`` alone (module docstring).

    Raises:
        ValueError: the video is too short for one instance with its idle margins.
    """
    rng = _rng(*key, 4)
    num_frames = int(round(rng.uniform(*duration) * fps))
    n = int(rng.integers(2, max(max_instances, 2) + 1))
    classes, joins, task = _classes_and_joins(rng, n, layout, actions, tasks)
    speeds = [float(rng.choice([SLOW, FAST]))]
    for join in joins:
        speeds.append((FAST if speeds[-1] == SLOW else SLOW) if join == "speed" else float(rng.choice([SLOW, FAST])))
    lengths = [int(round(rng.uniform(*instance_duration) * fps)) for _ in classes]
    inner_gap, outer_gap = fps, fps // 2

    def needed() -> int:
        return sum(lengths) + inner_gap * sum(j == "idle" for j in joins) + 2 * outer_gap

    while len(lengths) > 1 and needed() > num_frames:
        lengths.pop(), classes.pop(), speeds.pop(), joins.pop()
    spare = num_frames - needed()
    if spare < 0:
        raise ValueError(f"a video of {num_frames} frames cannot hold an instance of {lengths[0]} frames")
    idle_gaps = sum(j == "idle" for j in joins)
    extra = np.floor(rng.dirichlet(np.ones(idle_gaps + 2)) * spare).astype(int)
    instances, cuts, boundaries = [], [], []
    cursor, gap = outer_gap + int(extra[0]), 1
    for k, (action, length, speed) in enumerate(zip(classes, lengths, speeds)):
        join = joins[k - 1] if k else "idle"
        if join == "idle":
            boundaries.append(ToyBoundary(cursor, "idle_to_action"))
        else:
            boundaries.append(ToyBoundary(cursor, _JOIN_KIND[join]))
            if join == "cut":
                cuts.append(cursor)
        instances.append(ToyInstance(action, cursor, cursor + length, speed))
        cursor += length
        if k + 1 == len(classes) or joins[k] == "idle":
            boundaries.append(ToyBoundary(cursor, "action_to_idle"))
        if k + 1 < len(classes) and joins[k] == "idle":
            cursor += inner_gap + int(extra[gap])
            gap += 1
    return VideoPlan(num_frames, tuple(instances), tuple(cuts), tuple(boundaries), task)


def count_boundaries(plans: Sequence[VideoPlan]) -> dict[str, int]:
    """Number of boundaries of each kind (:data:`BOUNDARY_KINDS`, every kind present) over ``plans``."""
    counts = dict.fromkeys(BOUNDARY_KINDS, 0)
    for plan in plans:
        for boundary in plan.boundaries:
            counts[boundary.kind] += 1
    return counts
