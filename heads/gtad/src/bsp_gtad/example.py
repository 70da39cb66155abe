"""A tiny G-TAD dataset in the real formats (feature folder + ActivityNet JSON), for tests and the contract test.

Features are Gaussian noise with a class-dependent offset inside the action segments, so a few steps of training
already move the boundary curves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bsp_lightning.features.store import FeatureStore

__all__ = ["ORACLE_CLASS_SCORES", "write_example", "make_example", "study_inputs", "write_oracle_class_scores"]

CLASSES = ("jump", "run")


def write_example(folder: str | Path, num_videos: int = 6, feature_dim: int = 16, fps: float = 25.0,
                  snippet_length: int = 8, seed: int = 0) -> tuple[Path, Path]:
    """Write ``folder/features`` and ``folder/anet.json``; returns their paths.

    Subsets: the last video is ``testing``, the one before ``validation``, the others ``training``. Feature ids carry
    the ``v_`` prefix (as BSN/G-TAD files do) while the JSON ids do not.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    store = FeatureStore(folder / "features")
    database = {}
    for i in range(num_videos):
        vid = f"vid{i}"
        n = 40 + 4 * i
        seconds = snippet_length / fps
        feats = rng.normal(size=(n, feature_dim)).astype(np.float32)
        annotations = []
        for k, (lo, hi) in enumerate(((0.15, 0.4), (0.55, 0.85))):
            label = CLASSES[(i + k) % 2]
            a, b = int(lo * n), int(hi * n)
            feats[a:b] += 2.0 if label == "run" else -2.0
            annotations.append({"segment": [a * seconds, b * seconds], "label": label})
        store.write_video(f"v_{vid}", feats, [k * seconds for k in range(n)], fps, n * snippet_length, "example")
        subset = "testing" if i == num_videos - 1 else "validation" if i == num_videos - 2 else "training"
        database[vid] = {"subset": subset, "duration": n * seconds, "annotations": annotations}
    store.write_manifest({"feature_dim": feature_dim, "snippet_length": snippet_length, "stride": snippet_length})
    path = folder / "anet.json"
    path.write_text(json.dumps({"version": "VERSION 1.3", "database": database}))
    return folder / "features", path


def make_example(folder: Path) -> list[str]:
    """:func:`write_example` under ``folder``; returns the ``bsp-lightning fit`` arguments (config ``gtad_toy``)."""
    features, annotations = write_example(folder)
    config = Path(__file__).parent / "configs" / "gtad_toy.yaml"
    return ["--config", str(config), f"--data.features={features}", f"--data.annotations={annotations}",
            f"--trainer.default_root_dir={Path(folder) / 'run'}", "--data.init_args.batch_size=2"]


#: The oracle video-level class scores the study gives G-TAD (written next to the toy ActivityNet JSON).
ORACLE_CLASS_SCORES = "gtad_oracle_class_scores.json"


def write_oracle_class_scores(annotations: str | Path, out: str | Path) -> Path:
    """Video-level class scores from the ground truth: 1.0 for each class a video contains, else 0.0.

    The official G-TAD labels its ActivityNet proposals with an external video classifier's scores (CUHK's, the
    top-2 fusion of ``gtad_postprocess.py``), never with its own features. In the study every feature set gets the
    same oracle scores, so G-TAD's mAP compares where the features put the boundaries, not whether they also
    classify. Written atomically, in the official class-score format (:func:`bsp_gtad.classifier.read_class_scores`).

    Args:
        annotations: an ActivityNet JSON.
        out: the class-score JSON to write.

    Returns:
        ``out``.

    Raises:
        AnnotationError: an unreadable or malformed ActivityNet JSON (:func:`bsp_lightning.annotations.load_activitynet`).
    """
    from bsp_lightning.annotations import load_activitynet
    from bsp_lightning.utils.io import atomic_write_json

    # the reader G-TAD's data module uses: the same video ids and class names, and its errors for a bad file
    gt = load_activitynet(annotations)
    labels: dict[str, set[str]] = {vid: set() for vid in gt.videos}
    for segment in gt.segments:
        labels[segment.video_id].add(segment.label)
    results = {vid: [1.0 if c in present else 0.0 for c in gt.classes] for vid, present in labels.items()}
    atomic_write_json(Path(out), {"results": results, "class": list(gt.classes)})
    return Path(out)


def study_inputs(untrimmed: Path) -> list[str]:
    """``bsp-lightning study``: the toy-untrimmed set's ActivityNet JSON
    (:func:`bsp_lightning.data.toy.write_toy_untrimmed`) and the oracle class scores
    (:func:`write_oracle_class_scores`, written on first use)."""
    annotations = Path(untrimmed) / "activity_net.json"
    scores = Path(untrimmed) / ORACLE_CLASS_SCORES
    if not scores.is_file() or scores.stat().st_mtime < annotations.stat().st_mtime:
        write_oracle_class_scores(annotations, scores)
    return [f"--data.annotations={annotations}", f"--model.class_scores={scores}"]
