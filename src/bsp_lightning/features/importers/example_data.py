"""Tiny synthetic stand-ins for the feature releases, in their real layouts and under their real file names.

``bsp-lightning features example`` writes one of these, then runs a reproduction recipe's own commands on it, so
each recipe of the heads' READMEs is executed end to end without the real (tens of GB) files. Features are noise
plus, inside each annotated instance, a direction that depends on its label, so a few epochs already learn
something; the numbers say nothing about the real benchmarks.

Every writer takes the folder the recipe's commands run in and writes the paths those commands name.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["write_charades", "write_crosstask", "write_gtad_anet", "write_gtad_thumos"]

ANET_CLASSES = ("jumping", "running")
THUMOS_CLASSES = ("BaseballPitch", "Billiards")
ACTIONS = ("opening", "closing", "eating", "running")
_WORDS = ("a", "person", "is", "the", "door") + ACTIONS


@dataclass
class _Video:
    video_id: str
    duration: float
    subset: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)


def _videos(rng: np.random.Generator, ids: list[str], subsets: list[str], labels: tuple[str, ...],
            duration: tuple[float, float]) -> list[_Video]:
    out = []
    for vid, subset in zip(ids, subsets):
        video = _Video(vid, round(float(rng.uniform(*duration)), 2), subset)
        for k, (lo, hi) in enumerate(((0.1, 0.4), (0.55, 0.9))):
            a, b = sorted(rng.uniform(lo, hi, size=2) * video.duration)
            video.segments.append((round(float(a), 1), round(float(max(b, a + 1.0)), 1),
                                   labels[int(rng.integers(len(labels)))]))
        out.append(video)
    return out


def _rows(rng: np.random.Generator, video: _Video, times: np.ndarray, dim: int, labels: tuple[str, ...],
          directions: np.ndarray) -> np.ndarray:
    """float32 ``(len(times), dim)``: noise, plus the label's direction where ``times`` fall in a segment."""
    rows = rng.normal(scale=0.3, size=(len(times), dim)).astype(np.float32)
    for start, end, label in video.segments:
        rows[(times >= start) & (times < end)] += directions[labels.index(label)]
    return rows


def _h5(path: Path):
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    return h5py.File(path, "w")


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


def write_gtad_anet(root: str | Path, csv_tables: bool = False, seed: int = 0) -> None:
    """G-TAD ActivityNet: ``data/activitynet_feature_cuhk/csv_mean_100.hdf5`` (or ``csv_mean_100/v_<id>.csv``),
    ``data/activitynet_annotations/video_info_new.csv`` and ``anet_anno_action.json``,
    ``activity_net.v1-3.min.json`` (ids without ``v_``) and ``cuhk_val_simp_share.json`` (class scores).

    Ten videos of 20-40 s: six ``training``, two ``validation``, two ``testing`` (the toy config tests on
    ``testing``); 100 rows of 400 channels over the feature-covered span, as BSN rescaled them.
    """
    root, rng = Path(root), np.random.default_rng(seed)
    subsets = ["training"] * 6 + ["validation"] * 2 + ["testing"] * 2
    videos = _videos(rng, [f"anet{i:02d}" for i in range(10)], subsets, ANET_CLASSES, (20.0, 40.0))
    directions = rng.normal(size=(len(ANET_CLASSES), 400)).astype(np.float32)
    feature_dir = root / "data" / "activitynet_feature_cuhk"
    info_rows, anno, database, scores = [], {}, {}, {}
    h5 = None if csv_tables else _h5(feature_dir / "csv_mean_100.hdf5")
    for video in videos:
        frames = int(round(video.duration * 30))
        feature_frames = frames - frames % 16
        covered = feature_frames / frames * video.duration
        rows = _rows(rng, video, np.arange(100) * covered / 100, 400, ANET_CLASSES, directions)
        key = f"v_{video.video_id}"
        if h5 is not None:
            h5.create_dataset(key, data=rows)
        else:
            (feature_dir / "csv_mean_100").mkdir(parents=True, exist_ok=True)
            with open(feature_dir / "csv_mean_100" / f"{key}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow([f"f{c}" for c in range(400)])
                writer.writerows(rows.tolist())
        info_rows.append([key, frames, video.duration, 30.0, 30.0, video.subset, feature_frames])
        segments = [{"segment": [s, e], "label": label} for s, e, label in video.segments]
        anno[key] = {"duration_second": video.duration, "duration_frame": frames, "feature_frame": feature_frames,
                     "subset": video.subset, "annotations": segments}
        database[video.video_id] = {"subset": video.subset, "duration": video.duration, "url": "",
                                    "annotations": segments}
        present = {label for _, _, label in video.segments}
        scores[video.video_id] = [0.9 if c in present else 0.1 for c in ANET_CLASSES]
    if h5 is not None:
        h5.close()
    info = root / "data" / "activitynet_annotations"
    info.mkdir(parents=True, exist_ok=True)
    with open(info / "video_info_new.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["video", "numFrame", "seconds", "fps", "rfps", "subset", "featureFrame"])
        writer.writerows(info_rows)
    _write_json(info / "anet_anno_action.json", anno)
    _write_json(root / "activity_net.v1-3.min.json", {"version": "VERSION 1.3", "database": database})
    _write_json(root / "cuhk_val_simp_share.json", {"results": scores, "class": list(ANET_CLASSES)})


def write_gtad_thumos(root: str | Path, seed: int = 0) -> None:
    """G-TAD THUMOS-14: ``data/thumos_feature/TSN_pretrain_avepool_allfrms_hdf5/{rgb,flow}_{val,test}.h5``
    (per-frame ``(frames, 1024)`` rows at 30 fps, flow one row shorter) and the official annotation folders
    ``TH14_Temporal_annotations_validation/annotation`` and ``TH14_Temporal_Annotations_Test/annotations/annotation``
    (``<Class>_{val,test}.txt``). Four validation (training) and two test videos of 12-20 s.
    """
    root, rng = Path(root), np.random.default_rng(seed)
    ids = [f"video_validation_{i:07d}" for i in range(1, 5)] + [f"video_test_{i:07d}" for i in range(1, 3)]
    videos = _videos(rng, ids, ["val"] * 4 + ["test"] * 2, THUMOS_CLASSES, (12.0, 20.0))
    directions = rng.normal(size=(len(THUMOS_CLASSES), 1024)).astype(np.float32)
    folder = root / "data" / "thumos_feature" / "TSN_pretrain_avepool_allfrms_hdf5"
    files = {(stream, split): _h5(folder / f"{stream}_{split}.h5") for stream in ("rgb", "flow")
             for split in ("val", "test")}
    lines: dict[tuple[str, str], list[str]] = {}
    for video in videos:
        frames = int(video.duration * 30)
        times = np.arange(frames) / 30.0
        files["rgb", video.subset].create_dataset(video.video_id, data=_rows(
            rng, video, times, 1024, THUMOS_CLASSES, directions))
        files["flow", video.subset].create_dataset(video.video_id, data=_rows(
            rng, video, times[:-1], 1024, THUMOS_CLASSES, directions))
        for start, end, label in video.segments:
            lines.setdefault((label, video.subset), []).append(f"{video.video_id} {start:.1f} {end:.1f}\n")
    for h5 in files.values():
        h5.close()
    folders = {"val": root / "TH14_Temporal_annotations_validation" / "annotation",
               "test": root / "TH14_Temporal_Annotations_Test" / "annotations" / "annotation"}
    for (label, split), text in lines.items():
        folders[split].mkdir(parents=True, exist_ok=True)
        (folders[split] / f"{label}_{split}.txt").write_text("".join(text))


def write_charades(root: str | Path, release: str, seed: int = 0) -> None:
    """Charades-STA for the grounding heads, with the features of ``release``:

    * ``"vgg"`` (2D-TAN): ``data/Charades-STA/vgg_rgb_features.hdf5`` (one ``(L, 4096)`` dataset per video), the
      annotations ``data/Charades-STA/charades_sta_{train,test}.txt`` + ``Charades_v1_{train,test}.csv``, and a
      ``glove.6B.300d.txt`` holding only the example's words;
    * ``"i3d"`` (LGI): ``data/charades/features/i3d_finetuned/<vid>.npy`` stored ``(L, 1, 1, 1024)`` (squeezed on
      import, as LGI's loader does) and the annotations under ``data/charades/annotations``.

    Twelve videos of 20-40 s (eight train, four test), two queries each ("a person is <action> the door.").
    """
    root, rng = Path(root), np.random.default_rng(seed)
    dim = 4096 if release == "vgg" else 1024
    ids = [f"CH{i:03d}" for i in range(12)]
    videos = _videos(rng, ids, ["train"] * 8 + ["test"] * 4, ACTIONS, (20.0, 40.0))
    directions = rng.normal(size=(len(ACTIONS), dim)).astype(np.float32)
    annotations = root / "data" / ("Charades-STA" if release == "vgg" else "charades/annotations")
    annotations.mkdir(parents=True, exist_ok=True)
    h5 = _h5(annotations / "vgg_rgb_features.hdf5") if release == "vgg" else None
    npy = root / "data" / "charades" / "features" / "i3d_finetuned"
    lines: dict[str, list[str]] = {"train": [], "test": []}
    lengths: dict[str, list[tuple[str, float]]] = {"train": [], "test": []}
    for video in videos:
        rows = int(video.duration * 2)  # the releases' strides are unpublished: any length the heads resample
        features = _rows(rng, video, (np.arange(rows) + 0.5) * video.duration / rows, dim, ACTIONS, directions)
        if h5 is not None:
            h5.create_dataset(video.video_id, data=features)
        else:
            npy.mkdir(parents=True, exist_ok=True)
            np.save(npy / f"{video.video_id}.npy", features.reshape(rows, 1, 1, dim))
        for start, end, action in video.segments:
            lines[video.subset].append(f"{video.video_id} {start:.1f} {end:.1f}##a person is {action} the door.\n")
        lengths[video.subset].append((video.video_id, video.duration))
    if h5 is not None:
        h5.close()
    for split in ("train", "test"):
        (annotations / f"charades_sta_{split}.txt").write_text("".join(lines[split]))
        with open(annotations / f"Charades_v1_{split}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "subject", "scene", "quality", "relevance", "verified", "script", "objects",
                             "descriptions", "actions", "length"])
            writer.writerows([vid, "S", "Kitchen", 6, 7, "Yes", "", "door", "", "", f"{d:.2f}"]
                             for vid, d in lengths[split])
    if release == "vgg":
        vectors = rng.normal(size=(len(_WORDS), 300))
        (root / "glove.6B.300d.txt").write_text(
            "".join(f"{w} {' '.join(f'{v:.4f}' for v in vec)}\n" for w, vec in zip(_WORDS, vectors)))


def write_crosstask(root: str | Path, seed: int = 0) -> None:
    """CrossTask: ``crosstask_release/`` (``tasks_primary.txt``, ``videos.csv``, ``annotations/<task>_<video>.csv``)
    and ``crosstask_features/<video>.npy``, one 3,200-d row per second as released. Two tasks of three steps,
    sixteen videos of 20-40 s, two or three step instances each.
    """
    from bsp_lightning.data.toy import ToyInstance, ToyVideo
    from bsp_lightning.data.toy.formats import write_crosstask as write_release

    root, rng = Path(root), np.random.default_rng(seed)
    tasks = [[0, 1, 2], [3, 4, 5]]
    directions = rng.normal(size=(6, 3200)).astype(np.float32)
    features = root / "crosstask_features"
    features.mkdir(parents=True, exist_ok=True)
    videos = []
    for i in range(16):
        seconds = int(rng.integers(20, 41))
        task = i % 2
        edges = np.sort(rng.choice(np.arange(1, seconds - 1), size=4, replace=False))
        instances = tuple(ToyInstance(int(tasks[task][k]), int(a) * 10, int(b) * 10)
                          for k, (a, b) in enumerate(zip(edges[::2], edges[1::2])))
        video = ToyVideo(f"ct{i:09d}", "training", seconds * 10, 10, instances, task)
        rows = rng.normal(scale=0.3, size=(seconds, 3200)).astype(np.float32)
        for inst in instances:
            rows[inst.start // 10: inst.end // 10] += directions[inst.action]
        np.save(features / f"{video.video_id}.npy", rows)
        videos.append(video)
    write_release(root / "crosstask_release", videos, tasks)
