"""``bsp-lightning toy-data`` and :func:`ensure_toy_data`: write the toy datasets that are not there yet."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bsp_lightning.data.toy.actions import TOY_ACTIONS, TOY_DATA_VERSION
from bsp_lightning.data.toy.kinetics import write_toy_kinetics
from bsp_lightning.data.toy.storage import KINETICS_DIR, UNTRIMMED_DIR, dataset_version, default_toy_root
from bsp_lightning.data.toy.untrimmed import LAYOUTS, UNTRIMMED_PRESET, write_toy_untrimmed
from bsp_lightning.utils.cli import HelpFormatter

__all__ = ["ensure_toy_data", "main"]

_KINETICS_FPS = 25


def ensure_toy_data(root: str | os.PathLike | None = None, seed: int = 0, size: int = 64,
                    progress: bool = True) -> Path:
    """Generate the toy datasets under ``root`` (default :func:`default_toy_root`) that are not there yet.

    toy-kinetics gets the defaults of :func:`write_toy_kinetics`, toy-untrimmed :data:`UNTRIMMED_PRESET`.
    A dataset folder that exists is complete (it appears by one rename), whatever parameters it was written
    with (e.g. by ``bsp-lightning toy-data --size 32``), and is used as it is, unless it was written by another
    toy world version (:data:`~bsp_lightning.data.toy.actions.TOY_DATA_VERSION`): then it is regenerated with
    the defaults. Safe when several processes call it at once.

    Returns:
        ``root``.
    """
    root = default_toy_root() if root is None else Path(root)
    if _needs_writing(root / KINETICS_DIR):
        write_toy_kinetics(root / KINETICS_DIR, seed=seed, size=size, progress=progress,
                           force=(root / KINETICS_DIR).exists())
    if _needs_writing(root / UNTRIMMED_DIR):
        write_toy_untrimmed(root / UNTRIMMED_DIR, seed=seed, size=size, progress=progress,
                            force=(root / UNTRIMMED_DIR).exists(), **UNTRIMMED_PRESET)
    return root


def _needs_writing(folder: Path) -> bool:
    """Absent, or a toy dataset of another toy world version."""
    if not folder.exists():
        return True
    version = dataset_version(folder)
    return version is not None and version != TOY_DATA_VERSION


def _parser() -> argparse.ArgumentParser:
    preset = UNTRIMMED_PRESET
    parser = argparse.ArgumentParser(
        prog="bsp-lightning toy-data",
        description="Generate the procedural toy datasets (nothing is downloaded): toy-kinetics (trimmed clips, "
                    "Kinetics CSV and folder layout) and toy-untrimmed (long videos annotated as ActivityNet-1.3, "
                    "Charades-STA and CrossTask, with a toy GloVe file). Existing complete datasets with the same "
                    "parameters are left as they are.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: $BSP_TOY_ROOT or ~/.cache/bsp-lightning/toy)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same videos")
    parser.add_argument("--size", type=int, default=64, help="frame height and width in pixels (even)")
    parser.add_argument("--fps", type=int, default=None,
                        help=f"frame rate of every video (default: {_KINETICS_FPS} for toy-kinetics, "
                             f"{preset['fps']} for toy-untrimmed)")
    parser.add_argument("--num-classes", type=int, default=len(TOY_ACTIONS),
                        help=f"number of action classes (2..{len(TOY_ACTIONS)})")
    parser.add_argument("--train-per-class", type=int, default=24, help="toy-kinetics train clips per class")
    parser.add_argument("--val-per-class", type=int, default=6, help="toy-kinetics val clips per class")
    parser.add_argument("--clip-frames", type=int, default=60, help="frames per toy-kinetics clip")
    parser.add_argument("--untrimmed-videos", type=int, default=preset["num_videos"],
                        help="number of toy-untrimmed videos")
    parser.add_argument("--untrimmed-duration", type=float, nargs=2, default=preset["duration"],
                        metavar=("MIN", "MAX"), help="range of toy-untrimmed video durations, seconds")
    parser.add_argument("--val-fraction", type=float, default=preset["val_fraction"],
                        help="share of toy-untrimmed videos in the validation subset")
    parser.add_argument("--test-fraction", type=float, default=preset["test_fraction"],
                        help="share of toy-untrimmed videos in the (annotated) testing subset")
    parser.add_argument("--layout", choices=LAYOUTS, default=preset["layout"],
                        help="toy-untrimmed: 'tasks' (steps of a task, slow or fast) or 'single' (one class per "
                             "video)")
    parser.add_argument("--frame-step", type=int, default=preset["frame_step"],
                        help="toy-untrimmed: toy-kinetics frames the scene advances per written frame")
    parser.add_argument("--glove-dim", type=int, default=300, help="dimension of the toy GloVe vectors")
    parser.add_argument("--only", choices=(KINETICS_DIR, UNTRIMMED_DIR), default=None,
                        help="write only one of the two datasets")
    parser.add_argument("--force", action="store_true", help="regenerate even if the datasets exist")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``bsp-lightning toy-data``: write the toy datasets; returns the exit code."""
    args = _parser().parse_args(argv)
    out = default_toy_root() if args.out is None else args.out
    started = time.perf_counter()
    try:
        if args.only in (None, KINETICS_DIR):
            write_toy_kinetics(out / KINETICS_DIR, seed=args.seed, size=args.size, num_classes=args.num_classes,
                               train_per_class=args.train_per_class, val_per_class=args.val_per_class,
                               num_frames=args.clip_frames, fps=args.fps or _KINETICS_FPS, force=args.force,
                               progress=not args.quiet)
        if args.only in (None, UNTRIMMED_DIR):
            write_toy_untrimmed(out / UNTRIMMED_DIR, seed=args.seed, size=args.size, num_classes=args.num_classes,
                                num_videos=args.untrimmed_videos, duration=tuple(args.untrimmed_duration),
                                instance_duration=UNTRIMMED_PRESET["instance_duration"],
                                max_instances=UNTRIMMED_PRESET["max_instances"], val_fraction=args.val_fraction,
                                fps=args.fps or UNTRIMMED_PRESET["fps"], force=args.force, progress=not args.quiet,
                                test_fraction=args.test_fraction, layout=args.layout, frame_step=args.frame_step,
                                glove_dim=args.glove_dim)
    except (ValueError, FileExistsError, OSError) as err:
        print(f"bsp-lightning toy-data: error: {err}", file=sys.stderr)
        return 2
    print(f"toy datasets in {out} ({time.perf_counter() - started:.1f} s)")
    return 0
