"""``bsp-lightning study``: BSP's comparison (Tables 1-5) in miniature, end to end on a CPU.

1. toy data (``bsp-lightning toy-data`` writers) under ``OUT/toy``;
2. pre-training of a vanilla (action classification) and a BSP (4-way) TSM-R18 on toy-kinetics with the same
   budget (``--full`` adds the two-head and distillation variants of Table 5 and the binary pretexts of Table 4),
   plus an untrained ("random init") checkpoint;
3. features of toy-untrimmed for each backbone (two-stream vanilla+BSP = both folders, concatenated on the fly);
4. every installed head with a ``<name>_toy`` config, trained and tested on every feature set, once per seed;
5. ``results.csv``, ``results.md`` and ``results.png`` in ``OUT`` (:mod:`bsp_lightning.study.report`).

A stage whose configuration is unchanged is reused from a previous run (:mod:`bsp_lightning.study.stages`), so a
killed study resumes where it stopped. The numbers are reported as they come out.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from bsp_lightning.study.config import FEATURE_SETS, StudyConfig, preset
from bsp_lightning.study.heads import discover_heads, run_head
from bsp_lightning.study.report import write_csv, write_markdown, write_png
from bsp_lightning.study.stages import StudyError, ensure_toy, extract_features, pretrain, random_init
from bsp_lightning.utils.cli import HelpFormatter
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

__all__ = ["main", "run_study"]


def _quiet_lightning() -> None:
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run_study(config: StudyConfig, out: Path, echo=print) -> dict[str, Any]:
    """Run (or resume) a study into ``out``; returns ``{"records", "missing", "timings", "markdown"}``.

    Raises:
        StudyError: a stage before the heads failed (the heads' failures are recorded, not raised).
    """
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def stage(name: str, fn, *args):
        t0 = time.perf_counter()
        echo(f"[study] {name} ...")
        result = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        echo(f"[study] {name}: {time.perf_counter() - t0:.1f} s")
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
    total = time.perf_counter() - started
    timings["total"] = total
    tasks = {name: spec.task for name, spec in specs.items()}
    preamble = _preamble(config, backbones, missing, timings, features, records)
    write_csv(out / "results.csv", records)
    markdown = write_markdown(out / "results.md", records, tasks, config.feature_sets, preamble)
    write_png(out / "results.png", records, tasks, config.feature_sets)
    atomic_write_json(out / "study.json", {"config": config.to_dict(), "timings": timings, "missing": missing,
                                          "pretrain": {k: {kk: vv for kk, vv in v.items() if kk != "hash"}
                                                       for k, v in backbones.items()}})
    return {"records": records, "missing": missing, "timings": timings, "markdown": markdown}


def _preamble(config: StudyConfig, backbones: dict[str, dict[str, Any]], missing: dict[str, str],
              timings: dict[str, float], features: dict[str, dict[str, Any]],
              records: list[dict[str, Any]]) -> list[str]:
    budget = config.pretrain
    stage_seconds = {"toy data": timings.get("toy data", 0.0)}
    stage_seconds.update({("random init" if k == "random" else f"pre-train {k}"): v.get("seconds", float("nan"))
                          for k, v in backbones.items()})
    stage_seconds.update({f"extract {k}": v.get("seconds", float("nan")) for k, v in features.items()})
    for r in records:
        key = f"{r['head']} runs"
        stage_seconds[key] = stage_seconds.get(key, 0.0) + r.get("seconds", float("nan"))
    lines = [
        f"# BSP study on toy data (`--{config.name}` preset)",
        "",
        f"Seeds {list(config.seeds)}; heads capped at {config.head_epochs} epochs and {config.head_max_time} of "
        f"training per run. Pre-training budget (equal for every variant): {budget['max_epochs']} epochs x "
        f"{budget['samples_per_epoch']} clips, batch {budget['batch_size']}, TSM-R18 from scratch at 32 px. "
        f"toy-untrimmed: {config.untrimmed['num_videos']} videos, {config.untrimmed['size']} px, "
        f"{config.untrimmed['fps']} fps.",
        f"This invocation: {timings['total']:.0f} s wall on {os.cpu_count()} CPU(s) ({platform.machine()}). "
        "Compute time of each stage when it ran (stages reused from an earlier run keep their time): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in stage_seconds.items()) + ".",
        "Pretext validation accuracy of the backbones: "
        + ", ".join(f"{name} {100 * rec['val_metrics'].get('val/acc', float('nan')):.1f}%"
                    for name, rec in backbones.items() if rec.get("val_metrics")) + ".",
    ]
    if missing:
        lines.append("Heads not run: " + "; ".join(f"{k} ({v})" for k, v in missing.items()) + ".")
    lines.append("Cells: test score in %, mean ± sample std over seeds (n = successful runs). A seed sets the head's "
                 "initialisation and shuffling and its DataModule's seed (the split or hold-out it draws, if any).")
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning study",
        description="Reproduce the paper's comparison in miniature: pre-train vanilla and BSP TSM-R18 on the toy "
                    "data with the same budget, extract features (random init, vanilla, BSP, vanilla+BSP), train "
                    "and test every installed head on each over several seeds, and write results.csv, results.md "
                    "and results.png. A re-run reuses every stage whose configuration is unchanged.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("runs/study"), help="output folder")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, small data and budgets (a few minutes; what the tests run)")
    parser.add_argument("--full", action="store_true",
                        help="add the two-head and distillation variants (Table 5) and the binary pretexts (Table 4)")
    parser.add_argument("--seeds", type=int, default=None, help="number of head seeds (default: 3, 1 with --quick)")
    parser.add_argument("--heads", default=None,
                        help="comma-separated heads to run (default: every installed head with a <name>_toy config)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``bsp-lightning study``; returns the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _quiet_lightning()
    try:
        config = preset("quick" if args.quick else "default", full=args.full, seeds=args.seeds)
    except ValueError as err:
        print(f"bsp-lightning study: error: {err}", file=sys.stderr)
        return 2
    if args.heads:
        from dataclasses import replace

        config = replace(config, heads=tuple(h.strip() for h in args.heads.split(",") if h.strip()))
    try:
        result = run_study(config, args.out)
    except (StudyError, OSError, ValueError) as err:
        print(f"bsp-lightning study: error: {err}", file=sys.stderr)
        return 2
    print(result["markdown"])
    print(f"results in {args.out}: results.csv, results.md, results.png ({result['timings']['total']:.0f} s)")
    return 0
