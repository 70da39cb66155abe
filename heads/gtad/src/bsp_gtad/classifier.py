"""Video-level class scores for G-TAD's label fusion: the official score files, or a classifier of our own.

G-TAD labels its class-agnostic proposals with an external video classifier (ActivityNet: CUHK's
``cuhk_val_simp_share.json``; THUMOS: UntrimmedNet's ``uNet_test.npy``; docs/heads/gtad-actionness.md §1.7).
:func:`read_class_scores` reads the JSON format ``{"results": {video_id: [C scores]}, "class": [C names]}``
(ids with or without ``v_``). Without such a file, :class:`VideoClassifier` -- a linear layer on the
mean-pooled frozen features, trained with multi-label BCE over the classes present in the video (or window) --
gives the scores, so ``test`` always writes labelled detections, toy data included.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from bsp_lightning.annotations.activitynet import resolve_video_id
from bsp_lightning.heads import InputFileError, read_json, to_number

__all__ = ["VideoClassifier", "read_class_scores", "ClassScores", "ClassScoreError"]


class ClassScoreError(InputFileError):
    """A class-score file that cannot be used: ``str()`` is ``PATH: problem``."""


class VideoClassifier(nn.Module):
    """``(B, D, T)`` features -> ``(B, C)`` logits of a linear layer on the mean over time."""

    def __init__(self, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(feature_dim, max(num_classes, 1))

    def forward(self, features: Tensor) -> Tensor:
        return self.linear(features.mean(dim=-1))


class ClassScores:
    """Scores read from a file: ``scores(video_id) -> (C,)`` float64 in the order of :attr:`names`."""

    def __init__(self, path: str, names: list[str], table: dict[str, np.ndarray]) -> None:
        self.path, self.names, self._table = path, names, table

    def __contains__(self, video_id: str) -> bool:
        return self._key(video_id) is not None

    def _key(self, video_id: str) -> str | None:
        return resolve_video_id(video_id, self._table)

    def scores(self, video_id: str) -> np.ndarray:
        key = self._key(video_id)
        if key is None:
            raise ClassScoreError(self.path, f"no class scores for video {video_id!r}")
        return self._table[key]


def read_class_scores(path: str | os.PathLike, video_ids: Iterable[str] = (),
                      class_names: Sequence[str] | None = None) -> ClassScores:
    """Read an official-format class-score file and check it covers ``video_ids`` with known classes.

    Raises:
        ClassScoreError: unreadable file, missing ``results``/``class``, a row of the wrong length or with a
            non-number, videos of ``video_ids`` absent (count and an example), class names not in
            ``class_names`` (when given).
    """
    data = read_json(path, "class-score file", error=ClassScoreError)
    if not (isinstance(data, dict) and isinstance(data.get("results"), dict) and isinstance(data.get("class"), list)):
        raise ClassScoreError(path, 'expected {"results": {video_id: [C scores]}, "class": [C names]}')
    names = [str(n) for n in data["class"]]
    if class_names is not None:
        unknown = [n for n in names if n not in set(class_names)]
        if unknown:
            raise ClassScoreError(path, f"{len(unknown)} class name(s) not in the annotations' classes, "
                                        f"e.g. {unknown[0]!r}")
    table = {}
    for vid, row in data["results"].items():
        if not isinstance(row, list) or len(row) != len(names):
            raise ClassScoreError(path, f"video {vid!r}: expected a list of {len(names)} scores")
        table[str(vid)] = np.array([to_number(v, path, f"video {vid!r} score", error=ClassScoreError) for v in row],
                                   dtype=np.float64)
    out = ClassScores(str(path), names, table)
    missing = [v for v in video_ids if v not in out]
    if missing:
        raise ClassScoreError(path, f"{len(missing)} test video(s) have no class scores, e.g. {missing[0]!r}")
    return out


def multi_hot(labels: Iterable[str], classes: Sequence[str]) -> torch.Tensor:
    """``(C,)`` float32 with 1 at each class in ``labels`` (unknown labels ignored)."""
    index = {c: i for i, c in enumerate(classes)}
    out = torch.zeros(max(len(classes), 1))
    for label in labels:
        if label in index:
            out[index[label]] = 1.0
    return out
