"""The study's outputs: ``results.csv`` (one row per value), ``results.md`` (tables, ordering), ``results.png``.

``results.md`` has one table per head: a row per feature set, a column per test metric, each cell the mean ± the
sample standard deviation over the seeds (``n`` seeds; the std is 0 with one seed), in percent. Under each table
the paper's ordering random < BSP < vanilla <= vanilla+BSP (Tables 1-5) is checked on the head's headline metric
(each head's :attr:`~bsp_lightning.heads.HeadSpec.primary_metric`) with the means, each comparison marked held or not.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.study.config import PAPER_ORDER
from bsp_lightning.study.heads import primary_metric
from bsp_lightning.utils.io import atomic_path, atomic_write_text

__all__ = ["ordering", "summarise", "write_csv", "write_markdown", "write_png"]

LABELS = {"random": "random init", "vanilla": "vanilla", "bsp": "BSP", "vanilla+bsp": "vanilla+BSP",
          "two_head": "two-head", "bsp_speed": "BSP speed (binary)", "bsp_class": "BSP class (binary)",
          "distillation": "distillation"}


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """head -> feature set -> metric -> values over seeds (successful runs only, seed order)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in sorted(records, key=lambda r: (r["head"], r["features"], r["seed"])):
        if r["status"] != "ok":
            continue
        for metric, value in r["metrics"].items():
            out.setdefault(r["head"], {}).setdefault(r["features"], {}).setdefault(metric, []).append(float(value))
    return out


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def ordering(means: dict[str, float]) -> tuple[bool | None, list[str]]:
    """Check random < BSP < vanilla <= vanilla+BSP on ``means`` (feature set -> mean).

    Returns ``(held, lines)``: ``held`` is ``None`` when a feature set of the ordering is missing; one line per
    comparison, e.g. ``"random 12.30 < BSP 15.10: held"``.
    """
    if not all(name in means for name in PAPER_ORDER):
        return None, ["not checked: " + ", ".join(LABELS[n] for n in PAPER_ORDER if n not in means) + " missing"]
    lines, held = [], True
    for (a, b), op in zip(zip(PAPER_ORDER, PAPER_ORDER[1:]), ("<", "<", "<=")):
        ok = means[a] < means[b] if op == "<" else means[a] <= means[b]
        held &= ok
        lines.append(f"{LABELS[a]} {100 * means[a]:.2f} {op} {LABELS[b]} {100 * means[b]:.2f}: "
                     f"{'held' if ok else 'NOT held'}")
    return held, lines


#: Secondary columns of results.md, when a head reports them (every metric is in results.csv).
SECONDARY = ("mAP@0.5", "mAP@0.50", "mAP@0.75", "mAP@0.95", "AR@100", "AUC", "R@1,IoU=0.3", "R@1,IoU=0.7",
             "R@5,IoU=0.5", "mIoU", "AP_per_video_mean")
MAX_COLUMNS = 6


def _columns(task: str, metrics: list[str]) -> list[str]:
    """The headline metric first, then the :data:`SECONDARY` ones reported, else the first few, at most 6."""
    if len(metrics) <= MAX_COLUMNS:
        primary = primary_metric(task, {m: 0 for m in metrics})
        return [primary] + [m for m in metrics if m != primary] if primary else metrics
    primary = primary_metric(task, {m: 0 for m in metrics})
    chosen = [primary] + [m for m in SECONDARY if m in metrics and m != primary]
    chosen += [m for m in metrics if m not in chosen]
    return chosen[:MAX_COLUMNS]


def write_csv(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """``head,features,seed,metric,value`` rows (values as fractions), failed runs as ``status`` rows."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["head", "features", "seed", "metric", "value"])
    for r in sorted(records, key=lambda r: (r["head"], r["features"], r["seed"])):
        if r["status"] != "ok":
            writer.writerow([r["head"], r["features"], r["seed"], "failed", "nan"])
            continue
        for metric, value in r["metrics"].items():
            writer.writerow([r["head"], r["features"], r["seed"], metric, repr(float(value))])
    atomic_write_text(path, text.getvalue())


def write_markdown(path: Path, records: Sequence[dict[str, Any]], tasks: dict[str, str], feature_sets: Sequence[str],
                   preamble: Sequence[str]) -> str:
    """Write ``results.md`` (at most 6 metric columns per head, headline first); returns its text."""
    summary = summarise(records)
    lines = list(preamble)
    for head in sorted({r["head"] for r in records}):
        lines += ["", f"## {head} ({tasks.get(head, '?')})", ""]
        per_fs = summary.get(head, {})
        metrics = _columns(tasks.get(head, ""), list(dict.fromkeys(m for fs in per_fs.values() for m in fs)))
        if not metrics:
            errors = sorted({r["error"] for r in records if r["head"] == head and r["error"]})
            lines += ["every run failed: " + "; ".join(e.splitlines()[0][:200] for e in errors)]
            continue
        lines += ["| features | n | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
        means = {}
        primary = primary_metric(tasks.get(head, ""), {m: 0.0 for m in metrics})
        for fs in feature_sets:
            values = per_fs.get(fs)
            failed = sum(1 for r in records if r["head"] == head and r["features"] == fs and r["status"] != "ok")
            if not values:
                lines.append(f"| {LABELS.get(fs, fs)} | 0 | " + " | ".join("–" for _ in metrics)
                             + (f" |  ({failed} failed)" if failed else " |"))
                continue
            cells = []
            for m in metrics:
                if m in values:
                    mean, std = _mean_std(values[m])
                    cells.append(f"{100 * mean:.2f} ± {100 * std:.2f}")
                else:
                    cells.append("–")
            n = len(next(iter(values.values())))
            if primary in values:
                means[fs] = _mean_std(values[primary])[0]
            lines.append(f"| {LABELS.get(fs, fs)} | {n} | " + " | ".join(cells) + " |"
                         + (f" ({failed} failed)" if failed else ""))
        held, checks = ordering(means)
        verdict = {True: "HELD", False: "NOT HELD", None: "not checked"}[held]
        lines += ["", f"Paper ordering on {primary} (means, %): **{verdict}**", ""]
        lines += [f"- {c}" for c in checks]
    text = "\n".join(lines) + "\n"
    atomic_write_text(path, text)
    return text


def write_png(path: Path, records: Sequence[dict[str, Any]], tasks: dict[str, str],
              feature_sets: Sequence[str]) -> None:
    """Grouped bars: one group per head (its headline metric), one bar per feature set, error bars = std."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = summarise(records)
    heads = sorted(summary)
    fig = Figure(figsize=(max(4.0, 2.2 * max(len(heads), 1) + 1.5), 3.6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(feature_sets), 1)
    colours = ["#9e9e9e", "#1f77b4", "#d62728", "#9467bd", "#2ca02c", "#ff7f0e", "#8c564b", "#e377c2"]
    for k, fs in enumerate(feature_sets):
        xs, ys, es = [], [], []
        for i, head in enumerate(heads):
            values = summary[head].get(fs)
            metric = primary_metric(tasks.get(head, ""), values or {})
            if values and metric in values:
                mean, std = _mean_std(values[metric])
                xs.append(i - 0.4 + width * (k + 0.5))
                ys.append(100 * mean)
                es.append(100 * std)
        ax.bar(xs, ys, width, yerr=es, capsize=2, label=LABELS.get(fs, fs), color=colours[k % len(colours)])
    ax.set_xticks(range(len(heads)))
    names = []
    for head in heads:
        metric = primary_metric(tasks.get(head, ""), {m: 0 for fs in summary[head].values() for m in fs})
        names.append(f"{head}\n{metric}")
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("test score (%)")
    ax.set_title("BSP study on toy data: mean ± std over seeds", fontsize=9)
    if heads:
        ax.legend(fontsize=7, ncol=min(len(feature_sets), 4), loc="upper center", bbox_to_anchor=(0.5, -0.25))
    else:
        ax.text(0.5, 0.5, "no head produced results", ha="center", va="center", transform=ax.transAxes)
    fig.subplots_adjust(bottom=0.38)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
