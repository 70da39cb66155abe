"""The stages before the heads: toy data, pre-training (equal budget), a random-init checkpoint, feature extraction.

Each stage writes ``stage.json`` (its configuration hash, what it produced and the seconds it took) into its folder
last; a stage whose ``stage.json`` holds the current hash is skipped, one with another hash is deleted and run again.
A pre-training run killed midway resumes from its ``last.ckpt`` when its configuration is unchanged; extraction
resumes per video on its own (``bsp-lightning extract``).

Everything goes through the public commands: ``bsp-lightning fit --config toy`` (via
:func:`bsp_lightning.lightning_cli.build_cli`) and ``bsp-lightning extract`` (via :func:`bsp_lightning.cli.main`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bsp_lightning.study.config import PRETRAIN_VARIANTS, StudyConfig, stage_hash
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

__all__ = ["StudyError", "cpu_seconds", "ensure_toy", "extract_features", "pretrain", "random_init", "read_stage"]

STAGE_FILE = "stage.json"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (DataLoader workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _toy_digest() -> str:
    """The packaged toy config and the toy world version: a change of either makes stages run again."""
    from bsp_lightning.data.toy import TOY_DATA_VERSION

    return stage_hash(Path(_toy_config()).read_text(), TOY_DATA_VERSION)


class StudyError(RuntimeError):
    """A stage failed; the message names the stage and where its output went."""


def read_stage(folder: Path, name: str = STAGE_FILE) -> dict[str, Any] | None:
    """The record ``name`` (``stage.json``) of ``folder``, or ``None`` when absent or unreadable."""
    try:
        return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None


def fresh_stage(folder: Path, digest: str, name: str = STAGE_FILE) -> dict[str, Any] | None:
    """The finished stage (or head run) in ``folder`` when its record ``name`` has hash ``digest``; otherwise
    clear a stale folder."""
    stage = read_stage(folder, name)
    if stage is not None and stage.get("hash") == digest:
        return stage
    if stage is not None and folder.exists():
        logger.info("%s: configuration changed, running the stage again", folder)
        shutil.rmtree(folder)
    return None


def ensure_toy(config: StudyConfig, root: Path) -> tuple[Path, Path]:
    """toy-kinetics and toy-untrimmed under ``root/toy`` with the study's parameters (regenerated when changed)."""
    from bsp_lightning.data.toy import write_toy_kinetics, write_toy_untrimmed

    kinetics, untrimmed = root / "toy" / "toy-kinetics", root / "toy" / "toy-untrimmed"
    for writer, path, kwargs in ((write_toy_kinetics, kinetics, config.kinetics),
                                 (write_toy_untrimmed, untrimmed, config.untrimmed)):
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        try:
            writer(path, seed=config.toy_seed, progress=False, **kwargs)
        except FileExistsError:
            writer(path, seed=config.toy_seed, progress=False, force=True, **kwargs)
    return kinetics, untrimmed


def _build(args: list[str], run: bool = True):
    from bsp_lightning.lightning_cli import build_cli

    try:
        return build_cli(args, run=run)
    except SystemExit as exit_:  # argument errors of LightningCLI
        raise StudyError(f"bsp-lightning {' '.join(args)}: exited with {exit_.code}") from None


def pretrain(config: StudyConfig, root: Path, variant: str, kinetics: Path,
             teachers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Pre-train one variant on toy-kinetics with the study's budget; returns its stage record.

    Every variant gets the same ``max_epochs x samples_per_epoch`` clips, batch size and seed, and no time limit
    (a wall-clock limit would give a slower variant fewer clips). The checkpoint used downstream is ``last.ckpt``
    (no selection). ``distillation`` needs the ``vanilla`` and ``bsp`` records as ``teachers``.
    """
    folder = root / "pretrain" / variant
    budget = config.pretrain
    extra = list(PRETRAIN_VARIANTS[variant])
    teacher_hashes = []
    if variant == "distillation":
        if not teachers or not {"vanilla", "bsp"} <= set(teachers):
            raise StudyError("the distillation variant needs the vanilla and bsp checkpoints first")
        extra += [f"--model.vanilla_checkpoint={teachers['vanilla']['checkpoint']}",
                  f"--model.bsp_checkpoint={teachers['bsp']['checkpoint']}"]
        teacher_hashes = [teachers["vanilla"]["hash"], teachers["bsp"]["hash"]]
    digest = stage_hash("pretrain", variant, PRETRAIN_VARIANTS[variant], budget, config.kinetics, config.toy_seed,
                        teacher_hashes, _toy_digest())
    done = fresh_stage(folder, digest)
    if done is not None:
        return done
    last = folder / "checkpoints" / "last.ckpt"
    started = folder / "started.json"
    resume = last.is_file() and started.is_file() and json.loads(started.read_text()).get("hash") == digest
    if not resume and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(started, {"hash": digest})
    t0, c0 = time.perf_counter(), cpu_seconds()
    epochs = int(budget["max_epochs"])
    args = ["fit", "--config", "toy", f"--data.root={kinetics}", *extra,
            f"--trainer.default_root_dir={folder}", f"--trainer.max_epochs={epochs}", "--trainer.max_time=null",
            f"--trainer.check_val_every_n_epoch={epochs}", f"--data.samples_per_epoch={budget['samples_per_epoch']}",
            f"--data.val_samples={budget['val_samples']}", f"--data.batch_size={budget['batch_size']}",
            f"--data.num_workers={budget['num_workers']}", f"--seed_everything={config.toy_seed}",
            "--logger=csv", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    if resume:
        args.append(f"--ckpt_path={last}")
    cli = _build(args)
    if not last.is_file():
        raise StudyError(f"pre-training {variant}: no {last} after fit")
    metrics = {k: float(v) for k, v in cli.trainer.callback_metrics.items() if k.startswith("val/")}
    record = {"hash": digest, "variant": variant, "checkpoint": str(last), "val_metrics": metrics,
              "clips": epochs * int(budget["samples_per_epoch"]), "seconds": time.perf_counter() - t0,
              "cpu_seconds": cpu_seconds() - c0, "resumed": resume}
    atomic_write_json(folder / STAGE_FILE, record)
    return record


def random_init(config: StudyConfig, root: Path, kinetics: Path) -> dict[str, Any]:
    """A checkpoint of an untrained TSM-R18 (BSPModule, seeded by ``toy_seed``): the "random init" features."""
    folder = root / "pretrain" / "random"
    digest = stage_hash("random", config.toy_seed, config.kinetics, _toy_digest())
    done = fresh_stage(folder, digest)
    if done is not None:
        return done
    folder.mkdir(parents=True, exist_ok=True)
    t0, c0 = time.perf_counter(), cpu_seconds()
    cli = _build(["--config", _toy_config(), f"--data.root={kinetics}", "--model=BSPModule",
                  f"--trainer.default_root_dir={folder}", f"--seed_everything={config.toy_seed}", "--logger=none",
                  "--trainer.enable_progress_bar=false"], run=False)
    path = folder / "random_init.ckpt"
    cli.trainer.strategy.connect(cli.model)
    cli.trainer.save_checkpoint(path)
    record = {"hash": digest, "variant": "random", "checkpoint": str(path), "val_metrics": {}, "clips": 0,
              "seconds": time.perf_counter() - t0, "cpu_seconds": cpu_seconds() - c0}
    atomic_write_json(folder / STAGE_FILE, record)
    return record


def _toy_config() -> str:
    from bsp_lightning.config_files import resolve_config

    return resolve_config("toy")


def extract_features(config: StudyConfig, root: Path, backbone: dict[str, Any], untrimmed: Path) -> dict[str, Any]:
    """Snippet features of every toy-untrimmed video with one backbone; returns the stage record.

    The videos are written at the pre-training resolution, so frames go in as they are (``--short-side none
    --crop none``); 8-frame snippets with stride 8 (BSP Sec. 4.1).
    """
    from bsp_lightning.cli import main as bsp_main

    name = backbone["variant"]
    folder = root / "features" / name
    digest = stage_hash("extract", backbone["hash"], config.untrimmed, config.toy_seed)
    done = fresh_stage(folder, digest)
    if done is not None:
        return done
    t0, c0 = time.perf_counter(), cpu_seconds()
    code = bsp_main(["extract", "--checkpoint", backbone["checkpoint"], "--videos", str(untrimmed / "videos"),
                     "--out", str(folder), "--snippet-length", "8", "--stride", "8", "--short-side", "none",
                     "--crop", "none", "--batch-size", str(config.extract_batch_size), "--num-workers", "1",
                     "--accelerator", "cpu"])
    if code != 0:
        raise StudyError(f"bsp-lightning extract for {name} exited with {code} (output in {folder})")
    record = {"hash": digest, "variant": name, "folder": str(folder), "seconds": time.perf_counter() - t0,
              "cpu_seconds": cpu_seconds() - c0}
    atomic_write_json(folder / STAGE_FILE, record)
    return record
