"""``bsp-lightning data inspect <format> <paths...> [--json OUT]``: check annotation files before training;
``bsp-lightning data convert csv ...`` (:mod:`.convert`): your own CSV into the official formats.

Prints what a loader kept (records, videos, classes or tasks) and every kind of anomaly it met with its
count and a few locations; ``--json OUT`` writes the same report atomically. A file that cannot be read
is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bsp_lightning.annotations.activitynet import SUBSETS, load_activitynet
from bsp_lightning.annotations import convert
from bsp_lightning.annotations.anet_captions import load_anet_captions
from bsp_lightning.annotations.charades_sta import load_charades_sta
from bsp_lightning.annotations.crosstask import load_crosstask
from bsp_lightning.annotations.errors import AnnotationError, LoadReport
from bsp_lightning.annotations.thumos import load_thumos14
from bsp_lightning.utils.io import atomic_write_json
from bsp_lightning.video import check as check_videos

# format -> (allowed number of paths, what the paths are)
FORMATS: dict[str, tuple[tuple[int, int], str]] = {
    "activitynet": ((1, 1), "the official JSON (activity_net.v1-3.min.json)"),
    "thumos14": ((1, 1), "the folder of <Class>_{val,test}.txt files"),
    "charades-sta": ((1, 2), "charades_sta_{train,test}.txt [Charades_v1_{train,test}.csv]"),
    "anet-captions": ((1, 1), "train.json, val_1.json or val_2.json"),
    "crosstask": ((1, 1), "crosstask_release/ (or its annotations/ folder)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bsp-lightning data",
        description="Dataset tools: check annotation files and video collections, pack frame shards."
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{inspect,check-videos,convert,pack}")
    formats_help = "\n".join(f"  {name:<14} {what}" for name, (_, what) in FORMATS.items())
    inspect = sub.add_parser(
        "inspect",
        help="load annotation files and print counts and anomalies",
        description="Load annotation files and print what was kept and every anomaly found.\n\nformats:\n"
        + formats_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("format", choices=list(FORMATS), help="annotation format")
    inspect.add_argument("paths", nargs="+", help="annotation file(s) or folder (see formats above)")
    inspect.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    inspect.add_argument(
        "--subset", choices=SUBSETS, help="activitynet: only this subset (default: all videos)"
    )
    inspect.add_argument(
        "--v-prefix", choices=("keep", "add", "strip"), default="keep",
        help="activitynet, anet-captions: normalise the 'v_' prefix of video ids (default: keep)",
    )  # fmt: skip
    inspect.add_argument("--split", choices=("val", "test"), help="thumos14: split (default: from file names)")
    inspect.add_argument(
        "--durations", metavar="FILE",
        help="thumos14: video durations: JSON {video: s} or {video: {\"duration\": s, ...}}, or CSV with the "
        "video and duration columns named in a header (duration, video-duration, seconds, duration_second, ...; "
        "e.g. G-TAD's thumos14_test_groundtruth.csv) or two columns video,duration",
    )  # fmt: skip
    inspect.add_argument(
        "--keep-missing-duration", action="store_true",
        help="charades-sta: keep queries whose video is not in the CSV (default: drop them)",
    )  # fmt: skip
    check_videos.add_parser(sub)
    from bsp_lightning.data import pack  # noqa: PLC0415 (imported here: its litdata import is lazy anyway)

    pack.add_parser(sub)
    convert.add_parser(sub)
    return parser


def inspect_annotations(args: argparse.Namespace) -> LoadReport:
    """Run the loader of ``args.format`` on ``args.paths``; return its report."""
    fmt, paths = args.format, args.paths
    (low, high), what = FORMATS[fmt]
    if not low <= len(paths) <= high:
        raise ValueError(f"{fmt} takes {what}; got {len(paths)} paths")
    prefix = {"strip_v_prefix": args.v_prefix == "strip", "add_v_prefix": args.v_prefix == "add"}
    if fmt == "activitynet":
        return load_activitynet(paths[0], subset=args.subset, **prefix).report
    if fmt == "thumos14":
        return load_thumos14(paths[0], split=args.split, durations=args.durations).report
    if fmt == "charades-sta":
        csv_path = paths[1] if len(paths) > 1 else None
        return load_charades_sta(paths[0], csv_path, keep_missing_duration=args.keep_missing_duration).report
    if fmt == "anet-captions":
        return load_anet_captions(paths[0], **prefix).report
    return load_crosstask(paths[0]).report


def toy_boundary_counts(paths: Sequence[str]) -> dict[str, dict[str, int]] | None:
    """The boundary counts per split that a toy-untrimmed folder records in ``toy_config.json`` (written by
    ``bsp-lightning toy-data``), when the first inspected path is inside one; ``None`` otherwise."""
    folder = Path(paths[0]).resolve().parent
    try:
        counts = json.loads((folder / "toy_config.json").read_text()).get("boundary_counts")
    except (OSError, ValueError, AttributeError):
        return None
    return counts if isinstance(counts, dict) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bsp-lightning data``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.action == "check-videos":
        return check_videos.run(args)
    if args.action == "pack":
        from bsp_lightning.data import pack

        return pack.run(args)
    if args.action == "convert":
        return convert.run(args)
    try:
        report = inspect_annotations(args)
    except (AnnotationError, ValueError) as exc:
        print(f"bsp-lightning data inspect: error: {exc}", file=sys.stderr)
        return 2
    print(report.format_text())
    toy = toy_boundary_counts(args.paths)
    if toy:
        print("toy boundaries by split (toy_config.json):")
        for split, kinds in toy.items():
            print(f"  {split}: " + ", ".join(f"{kind} {count}" for kind, count in kinds.items()))
    if args.json:
        atomic_write_json(args.json, {**report.to_dict(), **({"toy_boundary_counts": toy} if toy else {})})
    return 0


if __name__ == "__main__":
    sys.exit(main())
