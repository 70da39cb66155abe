"""toy-untrimmed: long videos with a few action instances, annotated in the formats of four benchmarks.

::

    DIR/videos/<video_id>.mp4                 the untrimmed videos (one feature extraction serves every head)
    DIR/activity_net.json                     ActivityNet-1.3 ground truth (detection: G-TAD)
    DIR/toy_sta_{train,test}.txt              Charades-STA queries (grounding: 2D-TAN, LGI)
    DIR/Charades_v1_{train,test}.csv          Charades-style video table with the ``length`` column
    DIR/crosstask_release/                    CrossTask release folder (step localisation: actionness)
    DIR/glove.toy.<dim>d.txt                  GloVe-format vectors of every word of the toy sentences
    DIR/splits.json                           {"train", "val", "test"}: the split by video
    DIR/boundaries.json                       {video_id: [{"time", "frame", "kind"}]}: every annotated boundary

Toy world v3 (:mod:`.scene`, :mod:`.schedule`): the actor is on screen the whole video and idles outside its
instances; the videos contain the boundary kinds BSP synthesises as real annotated boundaries (motion changes,
same-class shot cuts, speed changes), listed per video in ``boundaries.json`` and counted per split in
``toy_config.json`` (``boundary_counts``).

Two layouts (``layout``):

* ``"single"`` (the set before stage 3, the function's default): every video shows 2..``max_instances``
  instances of one class, as most ActivityNet videos do;
* ``"tasks"`` (the ``bsp-lightning toy-data`` default): the classes are grouped into CrossTask-like tasks
  (:func:`~bsp_lightning.data.toy.formats.toy_tasks`); a video belongs to one task and shows 1..3 of its steps in
  the task's order, each slow or fast, and every sentence query names one instance by its motion and speed.

The split is by video: in sorted id order the first ``round(n * val_fraction)`` ids are ``validation``, the
next ``round(n * test_fraction)`` ``testing``, the rest ``training`` (ActivityNet subset names). Unlike the real
ActivityNet ``testing`` subset, the toy one is annotated, so heads can be scored on it. Charades-STA train holds
the training and validation videos (the grounding heads hold out their own validation videos, as on the real
data); its test file holds the testing videos, or the validation videos when there are none.

Segments are ``[start_frame / fps, end_frame / fps]`` seconds: the actor performs the class motion exactly in the
frames whose time lies in ``[start, end)``. ``frame_step`` > 1 makes every written frame advance the scene by that
many toy-kinetics frames: the toy pre-training config samples clips with ``frame_stride: 2``, so with
``frame_step=2`` consecutive frames of an untrimmed video (what feature extraction reads) move as much as the
frames the backbone was trained on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from tqdm.auto import tqdm

from bsp_lightning.data.toy.actions import TOY_ACTIONS, TOY_DATA_VERSION, ToyInstance
from bsp_lightning.data.toy.formats import (
    toy_tasks,
    write_activitynet,
    write_charades_sta,
    write_crosstask,
    write_glove,
)
from bsp_lightning.data.toy.render import _youtube_like_id, write_toy_video
from bsp_lightning.data.toy.schedule import ToyBoundary, count_boundaries, plan_video
from bsp_lightning.data.toy.storage import (
    CONFIG_FILE,
    UNTRIMMED_DIR,
    Staging,
    action_indices,
    check_size,
    existing_dataset,
    publish,
)
from bsp_lightning.utils.io import atomic_write_json

__all__ = ["LAYOUTS", "ToyVideo", "UNTRIMMED_PRESET", "write_toy_untrimmed"]

LAYOUTS = ("single", "tasks")

#: The downstream set written by ``bsp-lightning toy-data`` and :func:`~bsp_lightning.data.toy.ensure_toy_data`:
#: 300 videos of 10-30 s at 10 fps (about 60,000 frames), split 60/20/20.
UNTRIMMED_PRESET: dict[str, Any] = {
    "num_videos": 300,
    "duration": (10.0, 30.0),
    "instance_duration": (2.0, 6.0),
    "max_instances": 4,
    "val_fraction": 0.2,
    "test_fraction": 0.2,
    "fps": 10,
    "layout": "tasks",
    "frame_step": 2,
}


class ToyVideo(NamedTuple):
    """One generated untrimmed video: what every annotation writer needs.

    Attributes:
        video_id: 11-character YouTube-like id (never starts with ``v_`` or ``-``).
        subset: ``"training"``, ``"validation"`` or ``"testing"``.
        num_frames: frames in the file; ``duration = num_frames / fps`` seconds.
        fps: frame rate.
        instances: the action instances, in time order (frames; ``speed`` is the instance's own factor).
        task: index into :func:`~bsp_lightning.data.toy.formats.toy_tasks`.
        cuts: first frame of each shot after the first.
        boundaries: the annotated boundaries (:class:`~bsp_lightning.data.toy.schedule.ToyBoundary`).
        key: the integers its pixels are drawn from (:func:`~bsp_lightning.data.toy.render.render_video`).
    """

    video_id: str
    subset: str
    num_frames: int
    fps: int
    instances: tuple[ToyInstance, ...]
    task: int
    cuts: tuple[int, ...] = ()
    boundaries: tuple[ToyBoundary, ...] = ()
    key: tuple[int, ...] = ()

    @property
    def duration(self) -> float:
        return round(self.num_frames / self.fps, 6)


def _subsets(video_ids: list[str], val_fraction: float, test_fraction: float) -> dict[str, str]:
    if not (0 <= val_fraction and 0 <= test_fraction and val_fraction + test_fraction <= 1):
        raise ValueError(f"val_fraction and test_fraction must be >= 0 with a sum <= 1, got "
                         f"{val_fraction} and {test_fraction}")
    ordered = sorted(video_ids)
    num_val = round(len(ordered) * val_fraction)
    num_test = min(round(len(ordered) * test_fraction), len(ordered) - num_val)
    subset = {v: "training" for v in ordered}
    subset.update({v: "validation" for v in ordered[:num_val]})
    subset.update({v: "testing" for v in ordered[num_val : num_val + num_test]})
    return subset


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
    test_fraction: float = 0.0,
    layout: str = "single",
    frame_step: int = 1,
    glove_dim: int = 300,
) -> Path:
    """Write the untrimmed toy dataset into ``out_dir`` (layout and annotation files: module docstring).

    The defaults are the small set of stage 1-2 (12 videos of one class each); ``bsp-lightning toy-data`` writes
    :data:`UNTRIMMED_PRESET`. Everything is drawn from ``seed``: video ``i`` from the key ``(seed, 7, i)``.

    Args:
        out_dir: dataset folder (written in a sibling staging folder, renamed into place when complete).
        size: frame height and width (even, >= 16).
        num_classes: the first ``num_classes`` toy actions are used.
        num_videos: number of videos.
        duration: range of video durations, seconds.
        instance_duration: range of instance durations, seconds.
        max_instances: at most this many instances per video (at least 2, fewer when they do not fit).
        val_fraction: share of videos in the ``validation`` subset.
        fps: frame rate of the files.
        force: regenerate even if ``out_dir`` holds a dataset.
        progress: show a progress bar.
        test_fraction: share of videos in the ``testing`` subset.
        layout: ``"single"`` or ``"tasks"`` (module docstring).
        frame_step: toy-kinetics frames the scene advances per written frame.
        glove_dim: dimension of the toy GloVe vectors.

    Returns:
        ``out_dir``. Nothing is written when it already holds the same dataset.

    Raises:
        FileExistsError: ``out_dir`` exists with other parameters (and ``force`` is False).
        ValueError: bad size, class count, fractions, layout or frame step.
    """
    out_dir = Path(out_dir)
    check_size(size)
    actions = action_indices(num_classes)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if frame_step < 1:
        raise ValueError(f"frame_step must be >= 1, got {frame_step}")
    config = {"dataset": UNTRIMMED_DIR, "version": TOY_DATA_VERSION, "seed": seed, "size": size,
              "num_classes": num_classes,
              "num_videos": num_videos, "duration": list(duration), "instance_duration": list(instance_duration),
              "max_instances": max_instances, "val_fraction": val_fraction, "fps": fps,
              "test_fraction": test_fraction, "layout": layout, "frame_step": frame_step, "glove_dim": glove_dim}
    if existing_dataset(out_dir, config, force):
        return out_dir
    replace = force or out_dir.exists()  # forced, or a dataset of an older toy world version
    video_ids = [_youtube_like_id("untrimmed", seed, i) for i in range(num_videos)]
    subsets = _subsets(video_ids, val_fraction, test_fraction)
    tasks = toy_tasks(num_classes)
    videos: list[ToyVideo] = []
    with Staging(out_dir) as tmp, tqdm(total=num_videos, desc=UNTRIMMED_DIR, unit="video",
                                       disable=not progress) as bar:
        (tmp / "videos").mkdir()
        for i, video_id in enumerate(video_ids):
            key = (seed, 7, i)
            plan = plan_video(key, actions, tasks, layout, fps, duration, instance_duration, max_instances)
            write_toy_video(tmp / "videos" / f"{video_id}.mp4", plan.num_frames, size, fps, plan.instances, key,
                            cuts=plan.cuts, frame_step=frame_step)
            videos.append(ToyVideo(video_id, subsets[video_id], plan.num_frames, fps, plan.instances, plan.task,
                                   plan.cuts, plan.boundaries, key))
            bar.update()
        write_activitynet(tmp / "activity_net.json", videos, actions, size)
        sentences = write_charades_sta(tmp, videos, seed)
        write_crosstask(tmp / "crosstask_release", videos, tasks)
        write_glove(tmp / f"glove.toy.{glove_dim}d.txt", sentences, glove_dim, seed)
        split_names = {"training": "train", "validation": "val", "testing": "test"}
        splits = {name: sorted(v.video_id for v in videos if v.subset == subset)
                  for subset, name in split_names.items()}
        atomic_write_json(tmp / "splits.json", splits)
        atomic_write_json(tmp / "boundaries.json", {
            v.video_id: [{"time": round(b.frame / fps, 6), "frame": b.frame, "kind": b.kind} for b in v.boundaries]
            for v in videos})
        counts = {name: count_boundaries([v for v in videos if v.subset == subset])
                  for subset, name in split_names.items()}
        atomic_write_json(tmp / CONFIG_FILE, {**config, "boundary_counts": counts})
        publish(tmp, out_dir, replace)
    return out_dir
