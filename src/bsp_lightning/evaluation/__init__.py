"""Official-equivalent evaluation: plain functions and torchmetrics ``Metric`` classes.

* :mod:`~bsp_lightning.evaluation.detection`: ActivityNet-1.3 detection mAP (``activitynet_map``), the
  numbers of ActivityNet's ``Evaluation/eval_detection.py``; its tIoU, matching and interpolated AP live in
  :mod:`~bsp_lightning.evaluation.detection_ap`, its torchmetrics ``ActivityNetMAP`` in
  :mod:`~bsp_lightning.evaluation.detection_metric`;
* :mod:`~bsp_lightning.evaluation.grounding`: R@n,IoU=m and mIoU under the LGI or 2D-TAN convention
  (``grounding_metrics``, ``GroundingRecall``);
* :mod:`~bsp_lightning.evaluation.actionness`: CrossTask framewise actionness AP (``actionness_ap``,
  ``ActionnessAP``);
* :mod:`~bsp_lightning.evaluation.formats`: readers and atomic writers of the three prediction files
  (``read_detections``/``write_detections``, ``read_grounding``/``write_grounding``,
  ``read_actionness``/``write_actionness``);
* :mod:`~bsp_lightning.evaluation.cli`: ``bsp-lightning evaluate``.
"""

from bsp_lightning import legacy
from bsp_lightning.evaluation._io import EvaluationInputError
from bsp_lightning.evaluation.actionness import (
    ActionnessAP,
    ActionnessResult,
    actionness_ap,
    average_precision,
    missing_scores_warning,
)
from bsp_lightning.evaluation.detection import (
    DEFAULT_TIOU_THRESHOLDS,
    ActivityNetMAP,
    DetectionResult,
    UnknownLabelError,
    activitynet_map,
    interpolated_ap,
    segment_iou,
)
from bsp_lightning.evaluation.formats import (
    ActivityNetPredictions,
    read_actionness,
    read_detections,
    read_grounding,
    read_grounding_predictions,
    write_actionness,
    write_detections,
    write_grounding,
)
from bsp_lightning.evaluation.grounding import GroundingRecall, grounding_metrics, nms_2dtan, temporal_iou

__all__ = [
    "DEFAULT_TIOU_THRESHOLDS",
    "ActionnessAP",
    "ActionnessResult",
    "ActivityNetMAP",
    "ActivityNetPredictions",
    "DetectionResult",
    "EvaluationInputError",
    "GroundingRecall",
    "UnknownLabelError",
    "actionness_ap",
    "activitynet_map",
    "average_precision",
    "grounding_metrics",
    "interpolated_ap",
    "missing_scores_warning",
    "nms_2dtan",
    "read_actionness",
    "read_detections",
    "read_grounding",
    "read_grounding_predictions",
    "segment_iou",
    "temporal_iou",
    "write_actionness",
    "write_detections",
    "write_grounding",
]

__getattr__ = legacy.module_getattr(__name__)
