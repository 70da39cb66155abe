"""``results.png``: the heads' headline metrics and the boundary sensitivity, each with its 95 % bootstrap CI.

Left: one group of bars per head (its headline metric), one bar per feature set, error bars from the interval.
Right: one group per boundary group (overall, motion change, same-class cut, speed change), one bar per feature
set: the AUROC of consecutive-snippet distances, 0.5 drawn as the chance line. A feature set without a result
(every run failed) has no bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bsp_lightning.study.report import GROUP_LABELS, LABELS
from bsp_lightning.study.sensitivity import GROUPS
from bsp_lightning.utils.io import atomic_path

__all__ = ["write_png"]

COLOURS = ["#9e9e9e", "#1f77b4", "#d62728", "#9467bd", "#2ca02c", "#ff7f0e", "#8c564b", "#e377c2"]


def _bars(ax: Any, groups: Sequence[str], feature_sets: Sequence[str],
          value: Any, scale: float) -> bool:
    """Grouped bars; ``value(group, fs)`` is an Interval or None. Returns whether anything was drawn."""
    width = 0.8 / max(len(feature_sets), 1)
    drawn = False
    for k, fs in enumerate(feature_sets):
        xs, ys, lo, hi = [], [], [], []
        for i, group in enumerate(groups):
            interval = value(group, fs)
            if interval is None:
                continue
            xs.append(i - 0.4 + width * (k + 0.5))
            ys.append(scale * interval.estimate)
            lo.append(max(scale * (interval.estimate - interval.low), 0.0))
            hi.append(max(scale * (interval.high - interval.estimate), 0.0))
        if xs:
            drawn = True
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=LABELS.get(fs, fs), color=COLOURS[k % len(COLOURS)])
    return drawn


def write_png(path: Path, analysis: Mapping[str, Any], primary: Mapping[str, str | None], feature_sets: Sequence[str],
              sensitivity: Mapping[str, Any] | None = None) -> None:
    """Write ``results.png`` (module docstring) atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    heads = sorted(h for h in analysis if primary.get(h))
    fig = Figure(figsize=(11.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    drawn = _bars(left, heads, feature_sets,
                  lambda h, fs: analysis[h].get("intervals", {}).get(fs, {}).get(primary[h]), 100.0)
    left.set_xticks(range(len(heads)))
    left.set_xticklabels([f"{h}\n{primary[h]}" for h in heads], fontsize=8)
    left.set_ylabel("test score (%)")
    left.set_title("heads: mean over seeds, 95 % bootstrap CI over test videos", fontsize=8)
    if not drawn:
        left.text(0.5, 0.5, "no head produced results", ha="center", va="center", transform=left.transAxes)
    auroc = (sensitivity or {}).get("auroc", {})
    drawn = _bars(right, GROUPS, feature_sets, lambda g, fs: auroc.get(fs, {}).get(g), 1.0)
    right.axhline(0.5, color="black", linewidth=0.8, linestyle="--")
    right.set_xticks(range(len(GROUPS)))
    right.set_xticklabels([GROUP_LABELS[g] for g in GROUPS], fontsize=8)
    right.set_ylabel("AUROC")
    right.set_ylim(0.0, 1.0)
    right.set_title("boundary sensitivity: consecutive-snippet distance (0.5 = blind)", fontsize=8)
    if not drawn:
        right.text(0.5, 0.5, "no feature set scored", ha="center", va="center", transform=right.transAxes)
    handles, labels = right.get_legend_handles_labels() if drawn else left.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, ncol=min(len(feature_sets), 8), loc="lower center")
    fig.subplots_adjust(bottom=0.27, wspace=0.25)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
