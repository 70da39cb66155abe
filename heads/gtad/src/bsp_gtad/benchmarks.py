"""What differs between G-TAD's two benchmarks on the model side, one object each, chosen by ``data_info``.

The data side is two DataModule classes (:class:`~bsp_gtad.data.GTADActivityNetData`,
:class:`~bsp_gtad.data.GTADThumosData`); each puts its name in ``data_info["benchmark"]`` and the
:class:`~bsp_gtad.lightning.GTADModule` looks the :class:`Benchmark` up in :data:`BENCHMARKS`: loss weights and
smoothing (``gtad_train.py``), per-item proposals and their merge per video (``gtad_inference.py`` /
``gtad_postprocess.py``), the results file's version string and rounding, and the tIoU thresholds of the reported
mAP. Official rules: ActivityNet branch ``anet`` @ 3f145d5, THUMOS ``master`` @ 6deb5b1
(docs/heads/gtad-actionness.md §1.7).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bsp_gtad.losses import LOSS_WEIGHTS
from bsp_gtad.postprocess import merge_window_proposals, soft_nms, video_proposals, window_candidates

__all__ = ["Benchmark", "ActivityNet", "Thumos", "BENCHMARKS", "benchmark_of"]


@dataclass(frozen=True)
class Benchmark(ABC):
    """One benchmark's model-side rules.

    Attributes:
        name: ``data_info["benchmark"]``.
        loss_weights: ``(tem, reg, cls)`` of :func:`bsp_gtad.losses.gtad_loss`.
        cls_smoothing: added to the PEM cls positive and entry counts (THUMOS 10).
        version: the results file's ``version``.
        decimals: ``(segment, score)`` rounding of the results, or ``None``.
        tiou_thresholds: of the reported mAP.
    """

    name: str
    loss_weights: tuple[float, float, float]
    cls_smoothing: float
    version: str
    decimals: tuple[int, int] | None
    tiou_thresholds: tuple[float, ...]

    @abstractmethod
    def proposals(self, start: np.ndarray, end: np.ndarray, confidence: np.ndarray, item: Mapping[str, Any],
                  hparams: Any) -> np.ndarray:
        """``(n, 3)`` ``[start_s, end_s, score]`` of one item (a video or a window) from its network outputs:
        ``start``/``end`` ``(T,)``, ``confidence`` ``(2, D, T)`` (channel 0 reg, 1 cls)."""

    @abstractmethod
    def merge(self, parts: Sequence[Mapping[str, Any]], hparams: Any) -> np.ndarray:
        """The video's ``(n, 3)`` proposals from its items' (in item order)."""


@dataclass(frozen=True)
class ActivityNet(Benchmark):
    """One item per video resized to ``T``; proposals from the boundary flags, Soft-NMS once."""

    def proposals(self, start, end, confidence, item, hparams):
        return video_proposals(start, end, confidence[1], confidence[0], float(item["duration"]),
                               denominator=hparams.nms_denominator, top_k=hparams.top_k)

    def merge(self, parts, hparams):
        return parts[0]["proposals"]


@dataclass(frozen=True)
class Thumos(Benchmark):
    """Sliding windows; every cell a candidate, Soft-NMS per window, then again over the video's windows."""

    def proposals(self, start, end, confidence, item, hparams):
        candidates = window_candidates(confidence[1], confidence[0], float(item["origin"]), float(item["step"]))
        return soft_nms(candidates, hparams.nms_denominator, hparams.top_k, hparams.max_proposal_seconds)

    def merge(self, parts, hparams):
        return merge_window_proposals([p["proposals"] for p in parts], parts[0]["duration"],
                                      denominator=hparams.nms_denominator, top_k=hparams.top_k,
                                      max_length=hparams.max_proposal_seconds)


BENCHMARKS: dict[str, Benchmark] = {
    "activitynet": ActivityNet("activitynet", LOSS_WEIGHTS["activitynet"], 0.0, "VERSION 1.3", None,
                               tuple(np.linspace(0.5, 0.95, 10).tolist())),
    "thumos": Thumos("thumos", LOSS_WEIGHTS["thumos"], 10.0, "THUMOS14", (1, 6), (0.3, 0.4, 0.5, 0.6, 0.7)),
}


def benchmark_of(data_info: Mapping[str, Any]) -> Benchmark:
    """The :class:`Benchmark` named by ``data_info["benchmark"]``.

    Raises:
        ValueError: no or an unknown benchmark (the model is built from the data's ``data_info``).
    """
    name = data_info.get("benchmark")
    if name not in BENCHMARKS:
        raise ValueError(f"G-TAD: data_info['benchmark'] must be one of {sorted(BENCHMARKS)}, got {name!r} "
                         "(bsp-lightning fit links it from GTADActivityNetData or GTADThumosData)")
    return BENCHMARKS[name]
