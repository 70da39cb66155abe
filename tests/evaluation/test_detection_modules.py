"""``evaluation/detection.py`` split along its jobs: matching and AP (``detection_ap``), the mAP function
(``detection``), the torchmetrics wrapper (``detection_metric``); the public names stay where they were."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import bsp_lightning.evaluation as evaluation

HOMES = {
    "detection_ap": ["DEFAULT_TIOU_THRESHOLDS", "average_precision_per_class", "interpolated_ap", "segment_iou"],
    "detection": ["DetectionResult", "UnknownLabelError", "activitynet_map"],
    "detection_metric": ["ActivityNetMAP"],
}


@pytest.mark.parametrize("module", list(HOMES))
def test_each_name_has_one_home_and_stays_importable(module):
    home = importlib.import_module(f"bsp_lightning.evaluation.{module}")
    detection = importlib.import_module("bsp_lightning.evaluation.detection")
    for name in HOMES[module]:
        obj = getattr(home, name)
        assert getattr(detection, name) is obj  # ``from bsp_lightning.evaluation.detection import ...`` works
        if hasattr(evaluation, name):
            assert getattr(evaluation, name) is obj
        if hasattr(obj, "__module__") and not isinstance(obj, type(evaluation)):
            assert obj.__module__ == home.__name__


def test_detection_modules_stay_under_400_lines():
    folder = Path(evaluation.__file__).parent
    sizes = {p.name: len(p.read_text().splitlines()) for p in folder.glob("detection*.py")}
    assert set(sizes) == {"detection.py", "detection_ap.py", "detection_metric.py"}
    assert max(sizes.values()) <= 400, sizes
