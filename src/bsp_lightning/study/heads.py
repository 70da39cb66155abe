"""Training and testing the installed heads on each feature set: ``fit`` then ``test --ckpt_path best``.

Each head runs its own packaged ``<name>_toy`` config through :func:`bsp_lightning.lightning_cli.build_cli`, with the
feature folders, the toy annotation file of its task, the seed, and the study's epoch and time caps as overrides.
The annotation argument follows the head's task: detection reads ``activity_net.json``; grounding the toy folder
(with ``train_file``/``test_file(s)`` set to ``toy_sta_{train,test}.txt`` when the DataModule takes them);
actionness ``crosstask_release/``. A head that fails is recorded with its error and the study goes on.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from bsp_lightning.study.config import StudyConfig, stage_hash
from bsp_lightning.study.stages import cpu_seconds, fresh_stage
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

__all__ = ["EXPECTED_HEADS", "PRIMARY_METRICS", "discover_heads", "head_arguments", "primary_metric", "run_head"]

#: The heads of stage 3 (issues 10-13); the study says which of them are not installed.
EXPECTED_HEADS = ("gtad", "tan2d", "lgi", "actionness")
#: The headline metric of each task, in order of preference (the first one a head reports is used).
PRIMARY_METRICS = {
    "detection": ("average_mAP", "mAP_avg", "mAP"),
    "grounding": ("R@1,IoU=0.5", "R1@0.5", "R@1,IoU=0.7"),
    "actionness": ("AP",),
}
RESULT_FILE = "result.json"


def discover_heads(wanted: tuple[str, ...] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(specs, missing)``: the installed heads that have a ``<name>_toy`` config (restricted to ``wanted``), and
    name -> reason for every expected or wanted head that cannot run (not installed, failed to load, no toy config).
    """
    from bsp_lightning.heads import available_heads, head_errors

    heads, errors = available_heads(), head_errors()
    names = list(wanted) if wanted else sorted(set(EXPECTED_HEADS) | set(heads))
    specs, missing = {}, {}
    for name in names:
        if name in errors:
            missing[name] = f"failed to load: {errors[name]}"
        elif name not in heads:
            missing[name] = "not installed"
        elif f"{name}_toy" not in heads[name].config_files():
            missing[name] = f"no {name}_toy config"
        else:
            specs[name] = heads[name]
    return specs, missing


def head_arguments(spec: Any, untrimmed: Path) -> list[str]:
    """The annotation arguments of ``spec``'s task on the toy-untrimmed folder (module docstring)."""
    params = inspect.signature(spec.datamodule.__init__).parameters
    if spec.task == "detection":
        return [f"--data.annotations={untrimmed / 'activity_net.json'}"]
    if spec.task == "actionness":
        # the toy split, so that every head (and seed) is tested on the same videos
        return [f"--data.annotations={untrimmed / 'crosstask_release'}", f"--data.split_file={untrimmed / 'splits.json'}"]
    args = [f"--data.annotations={untrimmed}"]
    if "train_file" in params:
        args.append("--data.train_file=toy_sta_train.txt")
    for key in ("test_file", "test_files"):
        if key in params:
            args.append(f"--data.{key}=toy_sta_test.txt")
    return args


def primary_metric(task: str, metrics: dict[str, float]) -> str | None:
    """The headline metric among ``metrics`` (:data:`PRIMARY_METRICS`, else the first one)."""
    for name in PRIMARY_METRICS.get(task, ()):
        if name in metrics:
            return name
    return next(iter(metrics), None)


def _config_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_head(config: StudyConfig, root: Path, spec: Any, feature_set: str, features: list[dict[str, Any]],
             untrimmed: Path, seed: int) -> dict[str, Any]:
    """Fit and test one head on one feature set with one seed; returns (and stores) the result record.

    The record: ``{"hash", "head", "task", "features", "seed", "status": "ok"|"failed", "metrics": {name: value},
    "error", "seconds"}``. A stored record with the same hash is returned without running.
    """
    from bsp_lightning.lightning_cli import build_cli

    config_path = spec.config_files()[f"{spec.name}_toy"]
    folder = root / "heads" / spec.name / feature_set / f"seed{seed}"
    digest = stage_hash("head", spec.name, _config_digest(config_path), [f["hash"] for f in features], seed,
                        config.head_epochs, config.head_max_time, head_arguments(spec, untrimmed))
    stored = fresh_stage(folder, digest, RESULT_FILE)
    if stored is not None:
        return stored
    if folder.exists():  # an unfinished run leaves no record
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    params = inspect.signature(spec.datamodule.__init__).parameters
    paths = [f["folder"] for f in features]
    common = ["--config", str(config_path), f"--data.features={json.dumps(paths)}", *head_arguments(spec, untrimmed),
              f"--trainer.default_root_dir={folder}", f"--seed_everything={seed}", "--logger=csv",
              "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    if "seed" in params:
        common.append(f"--data.seed={seed}")
    fit_only = []
    if config.head_epochs is not None:
        fit_only.append(f"--trainer.max_epochs={config.head_epochs}")
    if config.head_max_time is not None:
        fit_only.append(f"--trainer.max_time={config.head_max_time}")
    t0, c0 = time.perf_counter(), cpu_seconds()
    record: dict[str, Any] = {"hash": digest, "head": spec.name, "task": spec.task, "features": feature_set,
                              "seed": seed, "status": "ok", "metrics": {}, "error": None}
    try:
        build_cli(["fit", *common, *fit_only])
        cli = build_cli(["test", *common, "--ckpt_path=best"])
        record["metrics"] = {k: float(v) for k, v in cli.model.test_results.items()}
        if not record["metrics"]:
            raise RuntimeError("test produced no metrics")
    except (Exception, SystemExit) as err:  # one broken head must not stop the study
        record["status"] = "failed"
        record["error"] = f"{type(err).__name__}: {err}"
        (folder / "error.txt").write_text(traceback.format_exc())
        logger.warning("%s on %s (seed %d) failed: %s; traceback in %s", spec.name, feature_set, seed,
                       record["error"], folder / "error.txt")
    record["seconds"] = time.perf_counter() - t0
    record["cpu_seconds"] = cpu_seconds() - c0
    atomic_write_json(folder / RESULT_FILE, record)
    return record
