"""The paper's figures as PNG files (``bsp-lightning viz {fig2,fig4}``), drawn with matplotlib.

Figures are :class:`matplotlib.figure.Figure` objects saved straight to PNG (no pyplot), so importing this
module leaves matplotlib's backend and the caller's open figures alone (a notebook keeps its inline
backend).

- **Fig. 4** (sec. 4.3): how much consecutive snippet features change at an action boundary and away from
  one, for two checkpoints side by side (e.g. vanilla vs BSP). Features are L2-normalised per snippet; the
  absolute difference ``|f_{k+1} - f_k|`` of a pair is reshaped into a matrix (512 -> 32x16, 1024 -> 32x32,
  2048 -> 64x32, as in the paper) and averaged over the pairs of each kind; the bottom row shows the
  distributions of the differences. Boundaries come from ActivityNet-format ground truth (the toy-untrimmed
  videos know theirs exactly).
- **Fig. 2**: one synthesized clip per boundary type, as a strip of frames, straight from the
  :class:`~bsp_lightning.data.datamodule.BSPDataModule`, with the change point marked.

Pairs of snippets ``(k, k+1)``: a *boundary pair* has a ground-truth segment start or end between the two
snippet centres; a *non-boundary pair* has none anywhere in the span of both snippets. Pairs with a
boundary elsewhere in their span are neither.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bsp_lightning.features.store import FeatureStoreError, load_features, read_manifest
from bsp_lightning.utils.cli import HelpFormatter

logger = logging.getLogger(__name__)

__all__ = [
    "BoundaryDifferences",
    "boundary_pairs",
    "pair_differences",
    "matrix_shape",
    "boundary_differences",
    "plot_fig4",
    "plot_fig2",
    "main",
]


class VizError(ValueError):
    """Bad input for a figure; the message names the file and the problem."""


# ------------------------------------------------------------------------------------------------ Fig. 4
def boundary_pairs(
    snippet_starts: Sequence[float], snippet_seconds: float, boundaries: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Classify the consecutive snippet pairs ``(k, k+1)`` of one video.

    Args:
        snippet_starts: start time (s) of each snippet.
        snippet_seconds: duration of a snippet (``snippet_length / fps``).
        boundaries: boundary times (s): the starts and ends of the ground-truth segments.

    Returns:
        ``(boundary_k, non_boundary_k)``: indices ``k`` of the boundary pairs (a boundary ``t`` with
        ``centre_k < t <= centre_{k+1}``) and of the non-boundary pairs (no boundary in
        ``[start_k, start_{k+1} + snippet_seconds]``).
    """
    starts = np.asarray(snippet_starts, dtype=np.float64)
    if starts.size < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    times = np.asarray(boundaries, dtype=np.float64).reshape(-1, 1)
    centres = starts + snippet_seconds / 2
    lo_c, hi_c = centres[:-1], centres[1:]
    lo_s, hi_s = starts[:-1], starts[1:] + snippet_seconds
    crossing = ((times > lo_c) & (times <= hi_c)).any(axis=0)
    touched = ((times >= lo_s) & (times <= hi_s)).any(axis=0)
    return np.flatnonzero(crossing), np.flatnonzero(~touched)


def pair_differences(features: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``|g_{k+1} - g_k|`` for each ``k`` in ``pairs``, with ``g`` the L2-normalised snippet features."""
    feats = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    g = feats / np.maximum(norms, 1e-12)
    pairs = np.asarray(pairs, dtype=np.int64)
    return np.abs(g[pairs + 1] - g[pairs])


def matrix_shape(dim: int) -> tuple[int, int]:
    """``(rows, cols)`` with ``rows * cols == dim``, ``cols`` the largest divisor not above ``sqrt(dim)``.

    512 -> (32, 16), 1024 -> (32, 32), 2048 -> (64, 32): the paper's layouts.
    """
    if dim < 1:
        raise VizError(f"feature dimension must be >= 1, got {dim}")
    cols = max(d for d in range(1, math.isqrt(dim) + 1) if dim % d == 0)
    return dim // cols, cols


@dataclass
class BoundaryDifferences:
    """Per-pair absolute feature differences of one checkpoint's features.

    Attributes:
        name: label of the checkpoint in the figure.
        boundary: ``(P, D)`` differences of boundary pairs.
        non_boundary: ``(Q, D)`` differences of non-boundary pairs.
        num_videos: videos that contributed.
    """

    name: str
    boundary: np.ndarray
    non_boundary: np.ndarray
    num_videos: int


def _ground_truth_boundaries(path: str | os.PathLike) -> dict[str, list[float]]:
    from bsp_lightning.annotations.activitynet import load_activitynet

    try:
        annotations = load_activitynet(path)
    except FileNotFoundError:
        raise VizError(f"{path}: ground-truth file not found") from None
    out: dict[str, list[float]] = {}
    for vid, segments in annotations.segments_by_video().items():
        out[vid] = sorted({t for s in segments for t in (s.start, s.end)})
    return out


def boundary_differences(
    feature_dir: str | os.PathLike, ground_truth: str | os.PathLike | Mapping[str, Sequence[float]], name: str
) -> BoundaryDifferences:
    """Collect boundary and non-boundary pair differences over the videos of a feature folder.

    Args:
        feature_dir: a folder written by ``bsp-lightning extract`` (its manifest gives snippet times).
        ground_truth: ActivityNet-1.3 JSON (ids without ``v_``, as the toy-untrimmed dataset), or a mapping
            video id -> boundary times in seconds.
        name: label for the figure.

    Raises:
        VizError: no video of the folder has ground truth, or no pair of either kind was found.
    """
    try:
        manifest = read_manifest(feature_dir)
    except FeatureStoreError as err:
        raise VizError(str(err)) from None
    boundaries = ground_truth if isinstance(ground_truth, Mapping) else _ground_truth_boundaries(ground_truth)
    snippet_length = manifest["config"].get("snippet_length")
    if not snippet_length:
        raise VizError(f"{feature_dir}: manifest has no snippet_length (not written by bsp-lightning extract?)")
    found_b, found_n, used = [], [], 0
    for vid, entry in manifest["videos"].items():
        if entry.get("status") != "ok" or vid not in boundaries:
            continue
        feats = load_features(feature_dir, vid)
        b, n = boundary_pairs(entry["snippet_starts"], snippet_length / entry["fps"], boundaries[vid])
        found_b.append(pair_differences(feats, b))
        found_n.append(pair_differences(feats, n))
        used += 1
    if not used:
        raise VizError(f"{feature_dir}: none of its videos has ground truth (ids must match, without 'v_')")
    boundary, non_boundary = np.concatenate(found_b), np.concatenate(found_n)
    if not len(boundary) or not len(non_boundary):
        raise VizError(f"{feature_dir}: found {len(boundary)} boundary and {len(non_boundary)} non-boundary pairs; "
                       "need both")
    return BoundaryDifferences(name, boundary, non_boundary, used)


def plot_fig4(streams: Sequence[BoundaryDifferences], out: str | os.PathLike) -> Path:
    """Draw Fig. 4: mean difference matrices (boundary / non-boundary) and histograms, one column per stream.

    All matrices share one colour scale so the checkpoints compare directly.
    """
    out = Path(out)
    dims = {s.boundary.shape[1] for s in streams}
    if len(dims) != 1:
        raise VizError(f"streams have different feature dimensions {sorted(dims)}; compare like with like")
    rows, cols = matrix_shape(dims.pop())
    means = [(s.boundary.mean(axis=0), s.non_boundary.mean(axis=0)) for s in streams]
    vmax = max(float(m.max()) for pair in means for m in pair)
    top = max(float(np.quantile(np.concatenate([s.boundary.ravel(), s.non_boundary.ravel()]), 0.995))
              for s in streams)
    bins = np.linspace(0.0, top, 50)
    fig = Figure(figsize=(4.2 * len(streams), 10.5))
    axes = fig.subplots(3, len(streams), squeeze=False, gridspec_kw={"height_ratios": [1.6, 1.6, 1.2]})
    image = None
    for j, (stream, (mean_b, mean_n)) in enumerate(zip(streams, means)):
        for i, (mean, kind, count) in enumerate(((mean_b, "boundary", len(stream.boundary)),
                                                 (mean_n, "non-boundary", len(stream.non_boundary)))):
            ax = axes[i, j]
            image = ax.imshow(mean.reshape(rows, cols), cmap="jet", vmin=0.0, vmax=vmax, aspect="auto",
                              interpolation="nearest")
            ax.set_title(f"{stream.name}: {kind} pairs\nmean |Δ| = {mean.mean():.4f} ({count} pairs)", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        ax = axes[2, j]
        ax.hist(stream.non_boundary.ravel(), bins=bins, density=True, alpha=0.55, color="tab:blue",
                label="non-boundary")
        ax.hist(stream.boundary.ravel(), bins=bins, density=True, alpha=0.55, color="tab:red", label="boundary")
        ax.set_yscale("log")
        ax.set_xlabel("|Δ| of normalised features")
        ax.set_title(f"{stream.name} ({stream.num_videos} videos)", fontsize=9)
        ax.legend(fontsize=8)
    fig.colorbar(image, ax=axes[:2, :].ravel().tolist(), shrink=0.8, label="mean |Δ|")
    fig.suptitle(f"Consecutive snippet feature differences (D reshaped to {rows}x{cols})", fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


# ------------------------------------------------------------------------------------------------ Fig. 2
def plot_fig2(samples: Mapping[str, Mapping[str, Any]], out: str | os.PathLike) -> Path:
    """Draw Fig. 2: one row of frames per boundary type.

    Args:
        samples: boundary type name -> ``{"clip": uint8 (T, C, H, W) or (T, H, W, C), "change_point": float
            (1-based frame after which the boundary lies; 0 for none), "gamma": float (optional)}``.
        out: PNG path.
    """
    out = Path(out)
    if not samples:
        raise VizError("no clip to draw")
    num_frames = max(len(s["clip"]) for s in samples.values())
    fig = Figure(figsize=(1.3 * num_frames, 1.55 * len(samples)))
    axes = fig.subplots(len(samples), num_frames, squeeze=False)
    for i, (name, sample) in enumerate(samples.items()):
        clip = np.asarray(sample["clip"])
        if clip.shape[1] == 3 and clip.shape[-1] != 3:
            clip = clip.transpose(0, 2, 3, 1)
        change = float(sample.get("change_point", 0) or 0)
        for t in range(num_frames):
            ax = axes[i, t]
            ax.set_xticks([])
            ax.set_yticks([])
            if t < len(clip):
                ax.imshow(clip[t])
                after = change > 0 and t + 1 > change
                for spine in ax.spines.values():
                    spine.set_edgecolor("tab:red" if after else "tab:green")
                    spine.set_linewidth(2.5)
            else:
                ax.axis("off")
            if i == 0:
                ax.set_title(f"frame {t + 1}", fontsize=8)
        label = name.replace("_", "-")
        if change > 0:
            label += f"\nboundary after {change:g}"
        if sample.get("gamma") not in (None, 1.0):
            label += f"\nspeed x{float(sample['gamma']):g}"
        axes[i, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle("Synthesized boundary clips (green: before the boundary, red: after)", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def fig2_samples(datamodule: Any, max_batches: int = 50) -> dict[str, dict[str, Any]]:
    """The first clip of each boundary type in use, from ``datamodule``'s validation (else training) data."""
    from bsp_lightning.data.synthesis import BOUNDARY_TYPES

    datamodule.prepare_data()
    datamodule.setup("fit")
    loader = datamodule.val_dataloader() if datamodule.hparams.get("val_split") else datamodule.train_dataloader()
    wanted = list(datamodule.boundary_types)
    found: dict[str, dict[str, Any]] = {}
    for b, batch in enumerate(loader):
        for k in range(len(batch["label"])):
            name = BOUNDARY_TYPES[int(batch["boundary_type"][k])]
            if name not in found:
                found[name] = {"clip": batch["clip"][k].numpy(), "change_point": float(batch["change_point"][k]),
                               "gamma": float(batch["gamma"][k]) if "gamma" in batch else None}
        if len(found) == len(wanted) or b + 1 >= max_batches:
            break
    return {name: found[name] for name in wanted if name in found}


# --------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bsp-lightning viz", description="Draw the paper's figures as PNG files.")
    sub = parser.add_subparsers(dest="figure", required=True, metavar="{fig2,fig4}")
    f4 = sub.add_parser(
        "fig4", prog="bsp-lightning viz fig4", formatter_class=HelpFormatter,
        help="boundary sensitivity of snippet features (two checkpoints side by side)",
        description="Fig. 4: absolute differences of consecutive snippet features at ground-truth boundaries and "
                    "away from them, for feature folders written by `bsp-lightning extract` (e.g. vanilla and BSP "
                    "on the toy-untrimmed videos).",
    )
    f4.add_argument("--features", nargs="+", required=True, metavar="FEATDIR", help="one folder per checkpoint")
    f4.add_argument("--names", nargs="+", metavar="NAME", help="labels (default: the folder names)")
    f4.add_argument("--ground-truth", metavar="JSON",
                    help="ActivityNet-1.3 ground truth (default: the toy-untrimmed activity_net.json of the toy root)")
    f4.add_argument("--out", default="fig4.png", help="output PNG")
    f2 = sub.add_parser(
        "fig2", prog="bsp-lightning viz fig2", formatter_class=HelpFormatter,
        help="strips of synthesized clips, one per boundary type",
        description="Fig. 2: one synthesized clip per boundary type from the BSPDataModule (the toy dataset by "
                    "default, generated when absent).",
    )
    f2.add_argument("--root", help="Kinetics-layout video folder (default: the toy dataset)")
    f2.add_argument("--split", default="train", help="split of --root to draw from")
    f2.add_argument("--num-frames", type=int, default=8, help="clip length (2 tau)")
    f2.add_argument("--resolution", type=int, default=112, help="frame size")
    f2.add_argument("--seed", type=int, default=0, help="sampling seed")
    f2.add_argument("--out", default="fig2.png", help="output PNG")
    return parser


def _fig4(args: argparse.Namespace) -> Path:
    names = args.names or [Path(p).name for p in args.features]
    if len(names) != len(args.features):
        raise VizError(f"{len(names)} --names for {len(args.features)} --features")
    ground_truth = args.ground_truth
    if ground_truth is None:
        from bsp_lightning.data.toy import default_toy_root

        ground_truth = Path(default_toy_root()) / "toy-untrimmed" / "activity_net.json"
    streams = [boundary_differences(path, ground_truth, name) for path, name in zip(args.features, names)]
    for s in streams:
        mean_b, mean_n = s.boundary.mean(), s.non_boundary.mean()
        print(f"{s.name}: mean |Δ| boundary {mean_b:.5f} ({len(s.boundary)} pairs), non-boundary {mean_n:.5f} "
              f"({len(s.non_boundary)} pairs), ratio {mean_b / max(mean_n, 1e-12):.2f}")
    return plot_fig4(streams, args.out)


def _fig2(args: argparse.Namespace) -> Path:
    from bsp_lightning.data.datamodule import BSPDataModule

    datamodule = BSPDataModule(root=args.root, train_split=args.split, val_split=None, num_frames=args.num_frames,
                               resolution=args.resolution, batch_size=8, num_workers=0, seed=args.seed,
                               samples_per_epoch=64)
    samples = fig2_samples(datamodule)
    missing = [t for t in datamodule.boundary_types if t not in samples]
    if missing:
        logger.warning("no clip of type(s) %s in the first batches", ", ".join(missing))
    print(f"boundary types drawn: {', '.join(samples)}")
    return plot_fig2(samples, args.out)


def main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning viz {fig2,fig4}``; returns the exit code (2 on bad input)."""
    args = build_parser().parse_args(argv)
    try:
        out = _fig4(args) if args.figure == "fig4" else _fig2(args)
    except (VizError, FeatureStoreError, FileNotFoundError, ValueError) as err:
        print(f"bsp-lightning viz {args.figure}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
