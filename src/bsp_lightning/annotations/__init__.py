"""Loaders for the annotation files of the localisation benchmarks (one module and one record type each).

* ActivityNet-1.3: :mod:`.activitynet`, ``load_activitynet`` -> ``ActivityNetSegment`` records;
* THUMOS-14: :mod:`.thumos`, ``load_thumos14`` -> ``ThumosSegment``;
* Charades-STA: :mod:`.charades_sta`, ``load_charades_sta`` -> ``CharadesSTAQuery``;
* ActivityNet Captions: :mod:`.anet_captions`, ``load_anet_captions`` -> ``CaptionQuery``;
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
from bsp_lightning.annotations.anet_captions import CaptionAnnotations, CaptionQuery, load_anet_captions
from bsp_lightning.annotations.charades_sta import (
    CharadesSTAAnnotations,
    CharadesSTAQuery,
    load_charades_sta,
    read_charades_durations,
)
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
    "THUMOS14_CLASSES",
    "THUMOS14_CLASS_IDS",
    "ActivityNetAnnotations",
    "ActivityNetSegment",
    "ActivityNetVideo",
    "AnnotationError",
    "CaptionAnnotations",
    "CaptionQuery",
    "CharadesSTAAnnotations",
    "CharadesSTAQuery",
    "CrossTaskAnnotations",
    "CrossTaskStep",
    "CrossTaskTask",
    "CrossTaskVideo",
    "LoadReport",
    "ThumosAnnotations",
    "ThumosSegment",
    "durations_from_features",
    "load_activitynet",
    "load_anet_captions",
    "load_charades_sta",
    "load_crosstask",
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
