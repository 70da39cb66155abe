"""Time per stage of ``bsp-lightning study``: toy data, each pre-training, each extraction, each head's runs.

Runs (or resumes) the study of a preset into ``--out`` and prints, per stage, the wall-clock and CPU seconds
(user + system of the process and its DataLoader workers) recorded when the stage ran, and the CPU seconds over the
number of cores (what the stage takes on idle cores when it keeps them all busy). On a machine shared with other
jobs the wall time is inflated and the CPU time is the figure to read. The last line gives the ratio of the total
to the preset's budget on 2 cores (quick 4 min, default 30 min, full 90 min), from wall time and from CPU / cores.

    python benchmarks/study_stages.py [--preset default|quick|full] [--out runs/study] [--cores 2]

A stage reused from an earlier run keeps the times of the run that made it; use a fresh ``--out`` for new figures.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bsp_lightning.study.cli import _quiet_lightning, run_study, stage_times
from bsp_lightning.study.config import preset
from bsp_lightning.study.stages import read_stage

BUDGETS_S = {"quick": 4 * 60, "default": 30 * 60, "full": 90 * 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=tuple(BUDGETS_S), default="default")
    parser.add_argument("--out", type=Path, default=Path("runs/study"))
    parser.add_argument("--cores", type=int, default=2, help="cores the budget is stated for")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _quiet_lightning()
    config = preset("quick" if args.preset == "quick" else "default", full=args.preset == "full")
    result = run_study(config, args.out, echo=lambda line: None)
    # only this preset's stages: a folder shared with a --full run also holds the other variants' stages
    used = {"random", *config.variants}
    backbones = {p.name: read_stage(p) or {} for p in sorted((args.out / "pretrain").iterdir()) if p.name in used}
    features = {p.name: read_stage(p) or {} for p in sorted((args.out / "features").iterdir()) if p.name in used}
    times = stage_times(backbones, features, result["records"], result["timings"])
    print(f"{'stage':<40} {'wall s':>9} {'CPU s':>9} {'CPU/' + str(args.cores) + ' s':>9}")
    for name, (wall, cpu) in times.items():
        print(f"{name:<40} {wall:9.1f} {cpu:9.1f} {cpu / args.cores:9.1f}")
    wall = sum(w for w, _ in times.values())
    cpu = sum(c for _, c in times.values())
    budget = BUDGETS_S[args.preset]
    print(f"{'sum of stages':<40} {wall:9.1f} {cpu:9.1f} {cpu / args.cores:9.1f}")
    print(f"budget {budget / 60:.0f} min on {args.cores} cores: ratio wall/budget {wall / budget:.2f}, "
          f"(CPU/{args.cores})/budget {cpu / args.cores / budget:.2f} (<= 1 meets it)")


if __name__ == "__main__":
    main()
