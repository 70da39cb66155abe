"""Annotation writers of the toy untrimmed set, each in its benchmark's real file format.

The files are read back by the real loaders (:mod:`bsp_lightning.annotations`), so a head trained on the toy set
goes through exactly the code path of the benchmark:

* ActivityNet-1.3 JSON (``version``, ``taxonomy``, ``database``);
* Charades-STA ``toy_sta_{train,test}.txt`` lines ``vid start end##sentence.`` (one query per instance) and
  ``Charades_v1_{train,test}.csv`` with the Charades columns (``length`` = duration in seconds);
* a CrossTask release folder: ``tasks_primary.txt`` (blocks of five lines and a blank line), ``videos.csv``
  (``task,video_id,url``, no header), ``annotations/<task>_<video>.csv`` (``step,start,end``, 1-based step);
* a GloVe-format text file (``word v1 ... vd`` per line) with seeded random vectors for every token that
  2D-TAN's tokeniser (whitespace split, lower case, punctuation kept) or LGI's (lower case, punctuation
  removed) makes from the toy sentences, so the GloVe path of the grounding heads runs without the real file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import string
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bsp_lightning.data.toy.actions import ACTION_WORDS, COLOURS, SHAPE_WORDS, TOY_ACTIONS, ToyInstance, speed_word
from bsp_lightning.data.toy.render import _rng
from bsp_lightning.data.toy.scene import Appearance, plan_shot
from bsp_lightning.utils.io import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from bsp_lightning.data.toy.untrimmed import ToyVideo

__all__ = [
    "CHARADES_COLUMNS",
    "TASK_ID_BASE",
    "describe",
    "describe_video",
    "toy_tasks",
    "write_activitynet",
    "write_charades_sta",
    "write_crosstask",
    "write_glove",
]

#: Columns of ``Charades_v1_{train,test}.csv``, as in the Charades release.
CHARADES_COLUMNS = ("id", "subject", "scene", "quality", "relevance", "verified", "script", "objects",
                    "descriptions", "actions", "length")
#: Task ``t`` of :func:`toy_tasks` has the CrossTask id ``TASK_ID_BASE + t`` (CrossTask ids are numbers).
TASK_ID_BASE = 90001
_STEPS_PER_TASK = 4

_TEMPLATES = (
    "the {subject} {verb} {speed}{ordinal}.",
    "a {subject} {verb} {speed}{ordinal}.",
    "{speed} the {subject} {verb}{ordinal}.",
    "we see the {subject} as it {verb} {speed}{ordinal}.",
    "the {subject} that we see {verb} {speed}{ordinal}.",
)
_GENERIC_SUBJECTS = ("object", "shape", "thing")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def _seconds(value: float) -> str:
    """Seconds with at most 6 decimals and no trailing zeros (``2.4``, ``13``)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def toy_tasks(num_classes: int) -> list[list[int]]:
    """The CrossTask-like tasks: classes ``0..num_classes-1`` cut in order into ``ceil(n / 4)`` near-equal runs.

    10 classes give ``[[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]``; a task's steps are its classes in this order.
    """
    count = -(-num_classes // _STEPS_PER_TASK)
    return [[int(c) for c in part] for part in np.array_split(np.arange(num_classes), count)]


def describe(instance: ToyInstance, key: Sequence[int], appearance: Appearance | None = None,
             ordinal: int = 0) -> str:
    """A sentence about one instance: its motion and speed, drawn from ``key`` (world v3 rules).

    Args:
        instance: the instance.
        key: integers the template and word choices are drawn from.
        appearance: the actor's appearance when it may be named: only for an actor visible with one appearance
            the whole video (no shot cut), so that colour and shape never localise the moment. ``None``: the
            subject is a generic noun ("object", "shape", "thing").
        ordinal: ``n >= 1`` adds "for the n-th time" (for an instance whose motion and speed occur more than once
            in the video, so that each query names exactly one moment); 0 adds nothing.

    Example: ``"the object spins clockwise slowly."``, ``"a red disc moves right quickly for the second time."``.
    """
    rng = _rng(*key)
    words = ACTION_WORDS[instance.action]
    template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
    verb = words.verbs[int(rng.integers(len(words.verbs)))]
    subject = _GENERIC_SUBJECTS[int(rng.integers(len(_GENERIC_SUBJECTS)))]
    if appearance is not None:
        nouns = SHAPE_WORDS[appearance.shape]
        noun = nouns[int(rng.integers(len(nouns)))]
        subject = (f"{COLOURS[appearance.colour][0]} {noun}", noun, subject)[int(rng.integers(3))]
    nth = f" for the {_ORDINALS[ordinal - 1]} time" if ordinal else ""
    sentence = template.format(subject=subject, verb=verb, speed=speed_word(instance.speed), ordinal=nth)
    return " ".join(sentence.replace(" .", ".").replace(" ,", ",").split())


def describe_video(video: ToyVideo, seed: int) -> list[str]:
    """One sentence per instance of ``video`` (:func:`describe`), in instance order.

    The actor is named by its appearance only when the video has no shot cut; an instance whose motion and
    speed word recur in the video gets its ordinal among them.
    """
    index = int(hashlib.blake2b(video.video_id.encode(), digest_size=4).hexdigest(), 16)
    appearance = plan_shot(video.key, 0).actor if video.key and not video.cuts else None
    signature = [(inst.action, speed_word(inst.speed)) for inst in video.instances]
    sentences = []
    for k, inst in enumerate(video.instances):
        repeated = signature.count(signature[k]) > 1
        ordinal = signature[: k + 1].count(signature[k]) if repeated else 0
        sentences.append(describe(inst, (seed, 8, index, k), appearance, ordinal))
    return sentences


def _times(video: ToyVideo, inst: ToyInstance) -> tuple[float, float]:
    return round(inst.start / video.fps, 6), round(inst.end / video.fps, 6)


def write_activitynet(path: Path, videos: Sequence[ToyVideo], actions: Sequence[int], size: int) -> None:
    """ActivityNet-1.3 ground truth of ``videos`` (the toy ``testing`` subset keeps its annotations)."""
    database = {
        v.video_id: {
            "subset": v.subset,
            "duration": v.duration,
            "resolution": f"{size}x{size}",
            "url": f"https://www.youtube.com/watch?v={v.video_id}",
            "annotations": [{"segment": list(_times(v, inst)), "label": TOY_ACTIONS[inst.action].name}
                            for inst in v.instances],
        }
        for v in videos
    }
    nodes: list[dict[str, Any]] = [{"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None}]
    nodes += [{"nodeId": k + 1, "nodeName": TOY_ACTIONS[a].name, "parentId": 0, "parentName": "Root"}
              for k, a in enumerate(actions)]
    atomic_write_json(path, {"version": "VERSION 1.3", "taxonomy": nodes, "database": database})


def write_charades_sta(folder: Path, videos: Sequence[ToyVideo], seed: int) -> list[str]:
    """``toy_sta_{train,test}.txt`` and ``Charades_v1_{train,test}.csv`` in ``folder``; returns every sentence.

    Train holds the ``training`` and ``validation`` videos; test the ``testing`` ones (the ``validation`` ones
    when there are none). Query lines follow the video order, instances in time order.
    """
    has_test = any(v.subset == "testing" for v in videos)
    test_subset = "testing" if has_test else "validation"
    groups = {"train": [v for v in videos if v.subset != test_subset],
              "test": [v for v in videos if v.subset == test_subset]}
    sentences = []
    for split, members in groups.items():
        lines = []
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(CHARADES_COLUMNS)
        for v in members:
            described = describe_video(v, seed)
            for inst, sentence in zip(v.instances, described):
                start, end = _times(v, inst)
                lines.append(f"{v.video_id} {_seconds(start)} {_seconds(end)}##{sentence}")
            sentences += described
            actions = ";".join(f"c{inst.action:03d} {_times(v, inst)[0]:.2f} {_times(v, inst)[1]:.2f}"
                               for inst in v.instances)
            nouns = ";".join(sorted({plan_shot(v.key, k).actor.shape for k in range(len(v.cuts) + 1)}))
            # Free-text fields with commas and a newline, like the real file, exercise the CSV quoting.
            writer.writerow([v.video_id, "TOY", "Screen", 7, 7, "Yes", " ".join(described), nouns,
                             ";\n".join(described), actions, _seconds(v.duration)])
        atomic_write_text(folder / f"toy_sta_{split}.txt", "".join(line + "\n" for line in lines))
        atomic_write_text(folder / f"Charades_v1_{split}.csv", table.getvalue())
    return sentences


def write_crosstask(folder: Path, videos: Sequence[ToyVideo], tasks: Sequence[Sequence[int]]) -> None:
    """A CrossTask release folder: every toy task is a primary task, every video annotated."""
    blocks = []
    for t, steps in enumerate(tasks):
        names = [TOY_ACTIONS[c].name for c in steps]
        blocks.append(f"{TASK_ID_BASE + t}\nToy task {t + 1}: {names[0]} and more\n"
                      f"https://www.wikihow.com/Toy-Task-{t + 1}\n{len(steps)}\n{','.join(names)}\n\n")
    atomic_write_text(folder / "tasks_primary.txt", "".join(blocks))
    rows = "".join(f"{TASK_ID_BASE + v.task},{v.video_id},https://www.youtube.com/watch?v={v.video_id}\n"
                   for v in videos)
    atomic_write_text(folder / "videos.csv", rows)
    for v in videos:
        steps = tasks[v.task]
        lines = "".join(f"{steps.index(inst.action) + 1},{_seconds(_times(v, inst)[0])},"
                        f"{_seconds(_times(v, inst)[1])}\n" for inst in v.instances)
        atomic_write_text(folder / "annotations" / f"{TASK_ID_BASE + v.task}_{v.video_id}.csv", lines)


def _tokens(sentence: str) -> set[str]:
    whitespace = sentence.lower().split()  # 2D-TAN
    stripped = sentence.lower().translate(str.maketrans("", "", string.punctuation)).split()  # LGI
    return set(whitespace) | set(stripped)


def write_glove(path: Path, sentences: Sequence[str], dim: int, seed: int) -> None:
    """Seeded random vectors (normal, std 0.4, 5 decimals) for every token of ``sentences`` plus ``.``/``,``.

    Words are written in sorted order; the same sentences and seed give the same file.
    """
    vocabulary = sorted(set().union(*map(_tokens, sentences), {".", ","}))
    vectors = _rng(seed, 9).normal(0.0, 0.4, size=(len(vocabulary), dim))
    text = "".join(word + " " + " ".join(f"{x:.5f}" for x in row) + "\n" for word, row in zip(vocabulary, vectors))
    atomic_write_text(path, text)
