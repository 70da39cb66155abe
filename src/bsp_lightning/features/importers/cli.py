"""``bsp-lightning features``: import released features (``import``), list the known releases (``presets``), and
run the heads' reproduction recipes in miniature (``example``).

Exit codes of ``import``: 0 every video imported (or already done), 1 some videos failed (``--skip-bad``; reasons
in the manifest), 2 bad input (one line naming the file and the video; nothing half-written).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bsp_lightning.annotations.errors import AnnotationError
from bsp_lightning.features.importers import FORMATS, PRESETS
from bsp_lightning.features.importers.base import LAYOUTS, FeatureImportError, Timing
from bsp_lightning.features.importers.presets import FORMAT_DEFAULTS
from bsp_lightning.features.importers.run import V_PREFIX_RULES, ImportSettings, import_features
from bsp_lightning.features.store import FeatureStoreError
from bsp_lightning.utils.cli import HelpFormatter

__all__ = ["build_parser", "main", "settings_from_args"]

_FORMAT_HELP = {
    "h5": "an HDF5 file with one dataset per video (optionally <video>/<--dataset>), or a folder of per-video .h5",
    "thumos-tsn": "G-TAD's THUMOS-14 TSN folder (rgb_*.h5 + flow_*.h5): [::5], shorter stream, [flow, rgb], 30 fps",
    "npy": "a folder of per-video .npy/.npz (OpenTAD, ActionFormer, TriDet, LGI I3D)",
    "csv": "BSN's csv_mean_100/ folder of per-video v_<id>.csv (rows are time steps)",
}


class _Formatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown, description line breaks kept."""


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return value

    return parse


def _add_import(sub) -> None:
    formats = "\n".join(f"  {name:<11} {what}" for name, what in _FORMAT_HELP.items())
    presets = "\n".join(f"  {name:<24} {', '.join(p.formats)}" for name, p in PRESETS.items())
    p = sub.add_parser(
        "import", help="import a feature release (h5, thumos-tsn, npy, csv) into a feature folder",
        formatter_class=_Formatter,
        description="Write OUT/<video_id>.npy (float32, (T, D), atomically) and OUT/manifest.json (format,\n"
        "sources, fps, snippet length, stride, each video's snippet start times, imported) from\n"
        "released features, so every head trains on them as on `bsp-lightning extract` output.\n"
        "Re-running skips the videos already imported with the same settings.\n"
        f"\nformats:\n{formats}\n\npresets (`bsp-lightning features presets` describes them):\n{presets}",
    )
    p.add_argument("format", choices=list(FORMATS), help="release format")
    p.add_argument("sources", nargs="+", metavar="SRC", help="file(s) or folder(s) of the release")
    p.add_argument("--out", required=True, metavar="DIR", help="output feature folder")
    p.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                   help="a known release (see below): fills the settings not given")
    p.add_argument("--layout", choices=LAYOUTS, help="TD: rows are time steps; DT: columns are")
    p.add_argument("--feature-dim", type=_positive(int), metavar="D",
                   help="expected width D (checked on every video; alone, it tells the orientation)")
    p.add_argument("--dataset", metavar="NAME", help="dataset inside each video's group / file (h5), array (npz)")
    p.add_argument("--fps", type=_positive(float), help="frames per second (grid timing; else from --video-info)")
    p.add_argument("--snippet-length", type=_positive(float), metavar="FRAMES", help="frames per row (grid)")
    p.add_argument("--stride", type=_positive(float), metavar="FRAMES", help="frames between row starts (grid)")
    p.add_argument("--first-frame", type=float, metavar="FRAME", help="frame where row 0 starts (grid; default 0)")
    p.add_argument("--span", action="store_true",
                   help="rows spread evenly over each video's covered seconds (rescaled releases; needs --video-info)")
    p.add_argument("--video-info", nargs="+", default=[], metavar="FILE",
                   help="durations / fps side files: ActivityNet-style JSON, G-TAD video_info_new.csv or "
                        "anet_anno_action.json, Charades_v1_*.csv, TACoS or ActivityNet Captions JSON, video,duration")
    p.add_argument("--v-prefix", choices=V_PREFIX_RULES, default="keep",
                   help="video ids: keep the release's, add or strip a leading 'v_' (heads match either way)")
    p.add_argument("--subsample", type=_positive(int), help="thumos-tsn: keep every N-th per-frame row (default 5)")
    p.add_argument("--link", action="store_true",
                   help="symbolic links to source .npy files that are already float32 (T, D), instead of copies")
    p.add_argument("--skip-bad", action="store_true",
                   help="record bad videos as failed and go on (default: stop at the first, naming it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bsp-lightning features", formatter_class=HelpFormatter,
                                     description="Released snippet features: import, presets, reproduction examples.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="{import,presets,example}")
    _add_import(sub)
    sub.add_parser("presets", help="describe the known releases (--preset)", formatter_class=HelpFormatter,
                   description="List every --preset: formats, orientation, timing, the --video-info it needs, and "
                   "where the facts come from.")
    from bsp_lightning.features.importers.recipes import add_example_parser

    add_example_parser(sub)
    return parser


def settings_from_args(args: argparse.Namespace) -> ImportSettings:
    """The flags, completed by the preset, then by what the format implies.

    Raises:
        FeatureImportError: a preset for another format.
    """
    defaults = dict(FORMAT_DEFAULTS.get(args.format, {}))
    if args.preset is not None:
        preset = PRESETS[args.preset]
        if args.format not in preset.formats:
            raise FeatureImportError(None, f"--preset {args.preset} is for format {' or '.join(preset.formats)}, "
                                     f"not {args.format}")
        defaults.update(layout=preset.layout, timing=preset.timing, dataset=preset.dataset,
                        feature_dim=preset.feature_dim)
    subsample = args.subsample or defaults.get("subsample", 1)
    timing = defaults.get("timing", Timing())
    if args.format == "thumos-tsn" and args.subsample:  # rows centred on frame subsample * i, as officially
        timing = Timing(fps=timing.fps, snippet_length=subsample, stride=subsample, first_frame=-subsample / 2)
    grid = {k: getattr(args, k) for k in ("fps", "snippet_length", "stride", "first_frame")}
    if args.span:
        timing = Timing(span=True)
    elif any(v is not None for v in grid.values()):
        base = {} if timing.span else {k: getattr(timing, k) for k in grid}
        timing = Timing(**{k: v if v is not None else base.get(k, 0.0 if k == "first_frame" else None)
                           for k, v in grid.items()})
    return ImportSettings(
        format=args.format, sources=[Path(s) for s in args.sources],
        layout=args.layout or defaults.get("layout"),
        feature_dim=args.feature_dim or defaults.get("feature_dim"),
        dataset=args.dataset or defaults.get("dataset"), timing=timing,
        video_info=[Path(v) for v in args.video_info], v_prefix=args.v_prefix, subsample=subsample,
        link=args.link, skip_bad=args.skip_bad, preset=args.preset,
    )


def _run_import(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        if settings.timing.span and not settings.video_info:
            hint = f" ({PRESETS[args.preset].video_info})" if args.preset else ""
            raise FeatureImportError(None, f"these rows spread over each video: give --video-info FILE{hint}")
        summary = import_features(settings, args.out, FORMATS[args.format], progress=not args.no_progress)
    except (FeatureImportError, AnnotationError, FeatureStoreError) as err:
        print(f"bsp-lightning features import: {err}", file=sys.stderr)
        return 2
    linked = f", {summary.linked} linked" if args.link else ""
    if summary.not_linked:
        reasons = sorted(set(summary.not_linked.values()))
        linked += f" ({len(summary.not_linked)} copied instead: {'; '.join(reasons)})"
    failed = len(summary.failed)
    print(f"features import: {summary.written} video(s) written{linked}, {summary.skipped} already done, {failed} "
          f"failed" + (f" (reasons in {Path(args.out) / 'manifest.json'})" if failed else "")
          + f", D={summary.feature_dim} -> {args.out} in {summary.seconds:.1f} s")
    return 1 if failed else 0


def _run_presets() -> int:
    for name, preset in PRESETS.items():
        t = preset.timing
        timing = ("rows spread over each video" if t.span else
                  f"grid: {t.snippet_length:g}-frame rows every {t.stride:g} frames at "
                  + (f"{t.fps:g} fps" if t.fps else "each video's fps (--video-info)"))
        print(f"{name}\n  format {'/'.join(preset.formats)}, layout {preset.layout}, D={preset.feature_dim}"
              + (f", dataset {preset.dataset}" if preset.dataset else "") + f"; {timing}")
        if preset.video_info:
            print(f"  --video-info: {preset.video_info}")
        print(f"  {preset.about}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bsp-lightning features``; returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.action == "import":
        return _run_import(args)
    if args.action == "presets":
        return _run_presets()
    from bsp_lightning.features.importers.recipes import run_example

    return run_example(args)
