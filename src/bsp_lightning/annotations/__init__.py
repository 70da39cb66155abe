"""Loaders for the annotation files of the localisation benchmarks (one module and one record type each).

* ActivityNet-1.3: :mod:`.activitynet`, ``load_activitynet`` -> ``ActivityNetSegment`` records;
* THUMOS-14: :mod:`.thumos`, ``load_thumos14`` -> ``ThumosSegment``;
* grounding, one record for every benchmark (:class:`GroundingQuery`, :mod:`.query`) and a ``policy`` for what the
  official codes do with a doubtful query (``"2dtan"``: drop and clip; ``"lgi"``: keep and count): Charades-STA
  (:mod:`.charades_sta`, ``load_charades_sta``), ActivityNet Captions (:mod:`.anet_captions`, ``load_anet_captions``),
  TACoS (:mod:`.tacos`, ``load_tacos``); ``load_grounding(benchmark, paths, policy)`` by name;
* CrossTask: :mod:`.crosstask`, ``load_crosstask``/``read_crosstask_annotations`` -> ``CrossTaskStep``,
  and ``segment_labels`` for the 0.2 s actionness labels.

Every loader returns its records together with a :class:`LoadReport` (counts kept, anomalies by kind) and
raises :class:`AnnotationError` (a ``ValueError`` naming the file, line and problem) on unreadable input.
``bsp-lightning data inspect`` (:mod:`.cli`) prints those reports.
"""

from bsp_lightning.annotations.activitynet import (
    ActivityNetAnnotations,
    ActivityNetSegment,
    ActivityNetVideo,
    load_activitynet,
    with_v_prefix,
    without_v_prefix,
)
from bsp_lightning import legacy
from bsp_lightning.annotations.anet_captions import load_anet_captions
from bsp_lightning.annotations.charades_sta import charades_sentence, load_charades_sta, read_charades_durations
from bsp_lightning.annotations.crosstask import (
    CrossTaskAnnotations,
    CrossTaskStep,
    CrossTaskTask,
    CrossTaskVideo,
    load_crosstask,
    num_segments,
    read_crosstask_annotations,
    read_tasks,
    read_videos,
    segment_labels,
)
from bsp_lightning.annotations.errors import AnnotationError, LoadReport
from bsp_lightning.annotations.grounding import BENCHMARKS as GROUNDING_BENCHMARKS
from bsp_lightning.annotations.grounding import load_grounding
from bsp_lightning.annotations.query import POLICIES, GroundingAnnotations, GroundingQuery
from bsp_lightning.annotations.tacos import load_tacos
from bsp_lightning.annotations.thumos import (
    THUMOS14_CLASS_IDS,
    THUMOS14_CLASSES,
    ThumosAnnotations,
    ThumosSegment,
    durations_from_features,
    load_thumos14,
    read_durations,
)

__all__ = [
    "GROUNDING_BENCHMARKS",
    "POLICIES",
    "THUMOS14_CLASSES",
    "THUMOS14_CLASS_IDS",
    "ActivityNetAnnotations",
    "ActivityNetSegment",
    "ActivityNetVideo",
    "AnnotationError",
    "CrossTaskAnnotations",
    "CrossTaskStep",
    "CrossTaskTask",
    "CrossTaskVideo",
    "GroundingAnnotations",
    "GroundingQuery",
    "LoadReport",
    "ThumosAnnotations",
    "ThumosSegment",
    "charades_sentence",
    "durations_from_features",
    "load_activitynet",
    "load_anet_captions",
    "load_charades_sta",
    "load_crosstask",
    "load_grounding",
    "load_tacos",
    "load_thumos14",
    "num_segments",
    "read_charades_durations",
    "read_crosstask_annotations",
    "read_durations",
    "read_tasks",
    "read_videos",
    "segment_labels",
    "with_v_prefix",
    "without_v_prefix",
]

__getattr__ = legacy.module_getattr(__name__)
