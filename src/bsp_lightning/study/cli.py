"""``bsp-lightning study``: BSP's comparison (Tables 1-5) in miniature, end to end on a CPU.

1. toy data (``bsp-lightning toy-data`` writers) under ``OUT/toy``;
2. pre-training of a vanilla (action classification) and a BSP (4-way) TSM-R18 on toy-kinetics with the same
   budget (``--full`` adds the two-head and distillation variants of Table 5 and the binary pretexts of Table 4),
   plus an untrained ("random init") checkpoint;
3. features of toy-untrimmed for each backbone (two-stream vanilla+BSP = both folders, concatenated on the fly);
4. every installed head with a ``<name>_toy`` config, trained and tested on every feature set, once per seed;
5. intervals and verdicts: a bootstrap over the test videos of every head metric and of the boundary sensitivity
   of each feature set (:mod:`bsp_lightning.study.analysis`);
6. ``results.csv``, ``results.md`` (:mod:`bsp_lightning.study.report`) and ``results.png``
   (:mod:`bsp_lightning.study.figure`) in ``OUT``.

A stage whose configuration is unchanged is reused from a previous run (:mod:`bsp_lightning.study.stages`), so a
killed study resumes where it stopped. The numbers are reported as they come out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bsp_lightning.study.analysis import analyse_heads, analyse_sensitivity
from bsp_lightning.study.config import (
    CHANGES_AFTER_RESULTS,
    FEATURE_SETS,
    FLOORS,
    SENSITIVITY_COMPARISONS,
    StudyConfig,
    comparisons,
    preset,
)
from bsp_lightning.study.figure import write_png
from bsp_lightning.study.heads import discover_heads, primary_metric, run_head
from bsp_lightning.study.report import LABELS, WORLD_RULES, write_csv, write_markdown
from bsp_lightning.study.stages import StudyError, cpu_seconds, ensure_toy, extract_features, pretrain, random_init
from bsp_lightning.study.statistics import bootstrap_counts
from bsp_lightning.utils.cli import HelpFormatter
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

__all__ = ["main", "run_study"]


def _quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _backbone_status(backbones: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each pre-trained backbone's record with its task, floors and ``under_trained`` flag (:data:`FLOORS`)."""
    out = {}
    for name, record in backbones.items():
        task, floors = FLOORS.get(name, ("", ()))
        metrics = record.get("val_metrics", {})
        below = [m for m, floor in floors if not metrics.get(m, float("nan")) >= floor]
        out[name] = {**record, "task": task, "floors": list(floors), "under_trained": bool(below)}
    return out


def run_study(config: StudyConfig, out: Path, echo=print) -> dict[str, Any]:
    """Run (or resume) a study into ``out``; returns ``{"records", "missing", "timings", "markdown", "analysis",
    "sensitivity"}``.

    Raises:
        StudyError: a stage before the heads failed (the heads' failures are recorded, not raised).
    """
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, dict[str, float]] = {}
    started, cpu_started = time.perf_counter(), cpu_seconds()

    def stage(name: str, fn, *args):
        t0, c0 = time.perf_counter(), cpu_seconds()
        echo(f"[study] {name} ...")
        result = fn(*args)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        timings[name] = {"wall": wall, "cpu": cpu}
        echo(f"[study] {name}: {wall:.1f} s wall, {cpu:.1f} s CPU")
        return result

    specs, missing = discover_heads(config.heads)
    for name, reason in missing.items():
        echo(f"[study] head {name}: {reason}; skipped")
    kinetics, untrimmed = stage("toy data", ensure_toy, config, out)
    backbones: dict[str, dict[str, Any]] = {}
    needed = {b for fs in config.feature_sets for b in FEATURE_SETS[fs]}
    if "random" in needed:
        backbones["random"] = stage("random init", random_init, config, out, kinetics)
    for variant in config.variants:
        backbones[variant] = stage(f"pre-train {variant}", pretrain, config, out, variant, kinetics, backbones)
    features = {name: stage(f"extract {name}", extract_features, config, out, record, untrimmed)
                for name, record in backbones.items() if name in needed}
    records = []
    for head, spec in specs.items():
        for fs in config.feature_sets:
            for seed in config.seeds:
                folders = [features[b] for b in FEATURE_SETS[fs]]
                record = stage(f"{head} on {fs} (seed {seed})", run_head, config, out, spec, fs, folders,
                               untrimmed, seed)
                records.append(record)
                shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in record["metrics"].items()) or record["error"]
                echo(f"[study]   {head} / {fs} / seed {seed}: {shown}")
    status = _backbone_status(backbones)
    under_trained = {fs: [LABELS.get(b, b) for b in FEATURE_SETS[fs] if status.get(b, {}).get("under_trained")]
                     for fs in config.feature_sets}
    test_videos = json.loads((untrimmed / "splits.json").read_text())["test"]
    counts = bootstrap_counts(len(test_videos), config.bootstrap, seed=config.toy_seed)
    tasks = {name: spec.task for name, spec in specs.items()}
    primary = {h: primary_metric(tasks[h], {m: 0.0 for r in records if r["head"] == h for m in r["metrics"]})
               for h in tasks}
    analysis = stage("bootstrap of the head metrics", analyse_heads, records, tasks, primary,
                     comparisons(config.feature_sets), under_trained, out, untrimmed, test_videos, counts)
    folders = {fs: [features[b]["folder"] for b in FEATURE_SETS[fs]] for fs in config.feature_sets}
    sensitivity = stage("boundary sensitivity", analyse_sensitivity, folders, untrimmed, test_videos, counts,
                        [c for c in SENSITIVITY_COMPARISONS if set(c) <= set(config.feature_sets)], under_trained)
    timings["total"] = {"wall": time.perf_counter() - started, "cpu": cpu_seconds() - cpu_started}
    preamble = _preamble(config, status, missing, timings, features, records, untrimmed)
    write_csv(out / "results.csv", records, analysis, sensitivity)
    markdown = write_markdown(out / "results.md", records, tasks, config.feature_sets, preamble, analysis, status,
                              sensitivity, len(test_videos))
    write_png(out / "results.png", analysis, primary, config.feature_sets, sensitivity)
    atomic_write_json(out / "study.json", {"config": config.to_dict(), "timings": timings, "missing": missing,
                                          "pretrain": {k: {kk: vv for kk, vv in v.items() if kk != "hash"}
                                                       for k, v in status.items()}})
    return {"records": records, "missing": missing, "timings": timings, "markdown": markdown, "analysis": analysis,
            "sensitivity": sensitivity}


def stage_times(backbones: dict[str, dict[str, Any]], features: dict[str, dict[str, Any]],
                records: list[dict[str, Any]], timings: dict[str, dict[str, float]]) -> dict[str, tuple[float, float]]:
    """Stage -> ``(wall, CPU)`` seconds when it ran (a stage reused from an earlier run keeps its own times)."""
    nan = float("nan")
    out = {"toy data": (timings.get("toy data", {}).get("wall", nan), timings.get("toy data", {}).get("cpu", nan))}
    for k, v in backbones.items():
        out["random init" if k == "random" else f"pre-train {k}"] = (v.get("seconds", nan), v.get("cpu_seconds", nan))
    for k, v in features.items():
        out[f"extract {k}"] = (v.get("seconds", nan), v.get("cpu_seconds", nan))
    for r in records:
        key = f"{r['head']} runs"
        wall, cpu = out.get(key, (0.0, 0.0))
        out[key] = (wall + r.get("seconds", nan), cpu + r.get("cpu_seconds", nan))
    for key in ("bootstrap of the head metrics", "boundary sensitivity"):
        if key in timings:
            out[key] = (timings[key]["wall"], timings[key]["cpu"])
    return out


def _preamble(config: StudyConfig, backbones: dict[str, dict[str, Any]], missing: dict[str, str],
              timings: dict[str, dict[str, float]], features: dict[str, dict[str, Any]],
              records: list[dict[str, Any]], untrimmed: Path) -> list[str]:
    budget = config.pretrain
    splits = json.loads((untrimmed / "splits.json").read_text())
    counts = json.loads((untrimmed / "toy_config.json").read_text()).get("boundary_counts", {})
    times = stage_times(backbones, features, records, timings)
    lines = [f"# BSP study on toy data (`--{config.name}` preset, toy seed {config.toy_seed})", "", WORLD_RULES,
             "## Parameters changed after seeing results", ""]
    lines += [f"- **{what}**: {why}" for what, why in CHANGES_AFTER_RESULTS] or ["- none"]
    lines += [
        "", "## This run", "",
        f"- Seeds {list(config.seeds)}; heads capped at {config.head_epochs} epochs and {config.head_max_time} of "
        f"training per run. Pre-training budget, equal for every variant: {budget['max_epochs']} epochs x "
        f"{budget['samples_per_epoch']} clips, batch {budget['batch_size']} (the `toy` config's recipe otherwise).",
        f"- toy-untrimmed: {config.untrimmed['num_videos']} videos at {config.untrimmed['size']} px, "
        f"{config.untrimmed['fps']} fps; split train/val/test "
        f"{len(splits['train'])}/{len(splits['val'])}/{len(splits['test'])} videos. Boundaries in the test split: "
        + ", ".join(f"{k} {v}" for k, v in counts.get("test", {}).items()) + ".",
        f"- This invocation: {timings['total']['wall']:.0f} s wall, {timings['total']['cpu']:.0f} s CPU (user + "
        f"system, this process and its workers) on {os.cpu_count()} CPU(s) ({platform.machine()}).",
        "- Each stage when it ran (wall / CPU seconds; a reused stage keeps the times of the run that made it): "
        + ", ".join(f"{k} {w:.0f} / {c:.0f}" for k, (w, c) in times.items()) + ".",
    ]
    if missing:
        lines.append("- Heads not run: " + "; ".join(f"{k} ({v})" for k, v in missing.items()) + ".")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning study",
        description="Reproduce the paper's comparison in miniature: pre-train vanilla and BSP TSM-R18 on the toy "
                    "data with the same budget, extract features (random init, vanilla, BSP, vanilla+BSP), measure "
                    "their boundary sensitivity, train and test every installed head on each over several seeds, and "
                    "write results.csv, results.md and results.png with 95 % bootstrap intervals over test videos "
                    "and a verdict (held, reversed, not decided) per comparison of the paper's ordering. A re-run "
                    "reuses every stage whose configuration is unchanged.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("runs/study"), help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, small data and budgets (at most 4 minutes on 2 cores; what the tests run)")
    parser.add_argument("--full", action="store_true",
                        help="add the two-head and distillation variants (Table 5) and the binary pretexts "
                             "(Table 4); at most 90 minutes on 2 cores")
    parser.add_argument("--toy-seed", type=int, default=0,
                        help="another toy world drawn from the same rules (seeds the toy data and pre-training)")
    parser.add_argument("--seeds", type=int, default=None, help="number of head seeds (default: 2, 1 with --quick)")
    parser.add_argument("--heads", default=None,
                        help="comma-separated heads to run (default: every installed head with a <name>_toy config)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``bsp-lightning study``; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _quiet_lightning()
    if args.seeds is not None and args.seeds < 1:
        print(f"bsp-lightning study: error: --seeds must be at least 1, got {args.seeds}", file=sys.stderr)
        return 2
    try:
        config = preset("quick" if args.quick else "default", full=args.full, seeds=args.seeds,
                        toy_seed=args.toy_seed)
    except ValueError as err:
        print(f"bsp-lightning study: error: {err}", file=sys.stderr)
        return 2
    if args.heads:
        from dataclasses import replace

        config = replace(config, heads=tuple(h.strip() for h in args.heads.split(",") if h.strip()))
        specs, missing = discover_heads(config.heads) if config.heads else ({}, {})
        if not specs:  # fail before hours of pre-training that no head would use
            installed = ", ".join(sorted(discover_heads()[0])) or "none"
            named = "; ".join(f"{k} ({v})" for k, v in missing.items()) or f"none in {args.heads!r}"
            print(f"bsp-lightning study: error: --heads names no head that can run: {named}; installed heads with "
                  f"a toy config: {installed}", file=sys.stderr)
            return 2
    try:
        result = run_study(config, args.out)
    except (StudyError, OSError, ValueError) as err:
        print(f"bsp-lightning study: error: {err}", file=sys.stderr)
        return 2
    print(result["markdown"])
    total = result["timings"]["total"]
    print(f"results in {args.out}: results.csv, results.md, results.png ({total['wall']:.0f} s wall, "
          f"{total['cpu']:.0f} s CPU)")
    return 0
