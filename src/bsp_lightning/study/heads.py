"""Training and testing the installed heads on each feature set: ``fit`` then ``test --ckpt_path best``.

Each head runs its own packaged ``<name>_toy`` config through :func:`bsp_lightning.lightning_cli.build_cli`, with the
feature folders, its toy inputs (:attr:`~bsp_lightning.heads.HeadSpec.study_inputs`: its annotations in the
toy-untrimmed folder), the seed, and the study's epoch and time caps as overrides. Its headline metric is the one its
spec names (:attr:`~bsp_lightning.heads.HeadSpec.primary_metric`). A head that fails is recorded with its error and
the study goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from pytorch_lightning.utilities.exceptions import SIGTERMException

from bsp_lightning.study.config import StudyConfig, stage_hash
from bsp_lightning.study.stages import cpu_seconds, fresh_stage
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

__all__ = ["EXPECTED_HEADS", "discover_heads", "head_arguments", "primary_metric", "run_head", "split_arguments"]

#: The heads of stage 3; the study says which of them are not installed.
EXPECTED_HEADS = ("gtad", "tan2d", "lgi", "actionness")
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
    """The ``--data.*`` arguments that point ``spec``'s toy config at the toy-untrimmed folder
    (:attr:`~bsp_lightning.heads.HeadSpec.study_inputs`; none when the head gives none)."""
    return list(spec.study_inputs(untrimmed)) if spec.study_inputs is not None else []


def split_arguments(spec: Any, untrimmed: Path) -> list[str]:
    """The toy split for a head that would otherwise draw its own: the actionness head's seeded per-task split
    becomes ``splits.json``, so that every head and seed is tested on the same videos (the bootstrap resamples
    one test split for all of them)."""
    return [f"--data.split_file={Path(untrimmed) / 'splits.json'}"] if spec.task == "actionness" else []


def primary_metric(task: str, metrics: dict[str, float]) -> str | None:
    """The headline metric among ``metrics``: the :attr:`~bsp_lightning.heads.HeadSpec.primary_metric` of an
    installed head of ``task`` that is reported, else the first metric."""
    from bsp_lightning.heads import available_heads

    declared = [spec.primary_metric for _, spec in sorted(available_heads().items()) if spec.task == task]
    return next((name for name in declared if name in metrics), next(iter(metrics), None))


def _config_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_head(config: StudyConfig, root: Path, spec: Any, feature_set: str, features: list[dict[str, Any]],
             untrimmed: Path, seed: int) -> dict[str, Any]:
    """Fit and test one head on one feature set with one seed; returns (and stores) the result record.

    The record: ``{"hash", "head", "task", "features", "seed", "status": "ok"|"failed", "metrics": {name: value},
    "error", "seconds", "cpu_seconds"}``. A stored record with the same hash is returned without running.
    """
    from bsp_lightning.lightning_cli import build_cli

    config_path = spec.config_files()[f"{spec.name}_toy"]
    folder = root / "heads" / spec.name / feature_set / f"seed{seed}"
    digest = stage_hash("head", spec.name, _config_digest(config_path), [f["hash"] for f in features], seed,
                        config.head_epochs, config.head_max_time, head_arguments(spec, untrimmed),
                        split_arguments(spec, untrimmed))
    stored = fresh_stage(folder, digest, RESULT_FILE)
    if stored is not None:
        return stored
    if folder.exists():  # an unfinished run leaves no record
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    paths = [f["folder"] for f in features]
    common = ["--config", str(config_path), f"--data.features={json.dumps(paths)}", *head_arguments(spec, untrimmed),
              *split_arguments(spec, untrimmed),
              f"--trainer.default_root_dir={folder}", f"--seed_everything={seed}", "--logger=csv",
              "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", f"--data.seed={seed}"]
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
    except SIGTERMException:  # the study was killed: no record, so a re-run trains this run again
        shutil.rmtree(folder, ignore_errors=True)
        raise
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
