"""toy-kinetics: trimmed clips of one action each, in the Kinetics CSV and folder layout.

::

    DIR/{train,val}/<label>/<ytid>_<start:06d>_<end:06d>.mp4
    DIR/{train,val}.csv          label,youtube_id,time_start,time_end,split

As in Kinetics, the CSV's ``time_start`` and ``time_end`` name a 10 s window of a (fictitious) YouTube video,
while the clip itself is shorter.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from tqdm.auto import tqdm

from bsp_lightning.data.toy.actions import TOY_ACTIONS, ToyInstance
from bsp_lightning.data.toy.render import _rng, _youtube_like_id, write_toy_video
from bsp_lightning.data.toy.storage import (
    CONFIG_FILE,
    KINETICS_DIR,
    Staging,
    action_indices,
    check_size,
    existing_dataset,
    publish,
)
from bsp_lightning.utils.io import atomic_write_json, atomic_write_text

__all__ = ["write_toy_kinetics"]


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
    check_size(size)
    actions = action_indices(num_classes)
    config = {"dataset": KINETICS_DIR, "seed": seed, "size": size, "num_classes": num_classes,
              "train_per_class": train_per_class, "val_per_class": val_per_class, "num_frames": num_frames,
              "fps": fps}
    if existing_dataset(out_dir, config, force):
        return out_dir
    splits = {"train": train_per_class, "val": val_per_class}
    total = num_classes * (train_per_class + val_per_class)
    with Staging(out_dir) as tmp, tqdm(total=total, desc=KINETICS_DIR, unit="video", disable=not progress) as bar:
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
                    write_toy_video(path, num_frames, size, fps, [ToyInstance(action, 0, num_frames)], key)
                    writer.writerow([label, ytid, time_start, time_start + 10, split])
                    bar.update()
            atomic_write_text(tmp / f"{split}.csv", rows.getvalue())
        atomic_write_json(tmp / CONFIG_FILE, config)
        publish(tmp, out_dir, force)
    return out_dir
