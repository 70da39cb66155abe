"""The study's outputs: ``results.md`` (world, backbones, boundary sensitivity, head tables, verdicts) and
``results.csv`` (every number, one row each); ``results.png`` is :mod:`bsp_lightning.study.figure`.

``results.md`` opens with the toy world's rules and why they follow the paper's premise (:data:`WORLD_RULES`),
then the parameters changed after seeing results (:data:`~bsp_lightning.study.config.CHANGES_AFTER_RESULTS`),
the run, each backbone's pretext accuracy against its floor, the boundary sensitivity and one table per head.
A cell is ``mean [low, high]`` in percent: the mean over seeds of the heads' reported numbers and the 95 %
bootstrap interval over test videos (:mod:`bsp_lightning.study.analysis`). A feature set whose runs all failed
or were skipped shows ``failed``/``–``, never a number. Under each table, each comparison of the paper's ordering
on the headline metric (each head's :attr:`~bsp_lightning.heads.HeadSpec.primary_metric`): the paired difference
with its interval and the verdict.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.study.heads import primary_metric
from bsp_lightning.study.sensitivity import GROUPS
from bsp_lightning.utils.io import atomic_write_text

__all__ = ["LABELS", "WORLD_RULES", "summarise", "write_csv", "write_markdown"]

LABELS = {"random": "random init", "vanilla": "vanilla", "bsp": "BSP", "vanilla+bsp": "vanilla+BSP",
          "two_head": "two-head", "bsp_speed": "BSP speed (binary)", "bsp_class": "BSP class (binary)",
          "distillation": "distillation"}
GROUP_LABELS = {"overall": "overall", "motion_change": "motion change", "same_class_cut": "same-class cut",
                "speed_change": "speed change"}

#: The opening of results.md: the toy world's rules and why they follow the paper's premise.
WORLD_RULES = """\
## The toy world (v3) and why

BSP's premise (paper Sec. 3.1-3.2): a backbone trained to classify actions knows *what* happens but is not tuned to
*where it changes*; the boundaries of untrimmed video are changes of action, repeats of an action across shot cuts,
and changes of speed, and BSP synthesises exactly these from trimmed clips. The toy world follows that premise and
nothing else:

1. **A class is a motion.** Shape and colour are drawn per instance from pools every class shares, so no single
   frame tells the class (a colour-only nearest-centroid classifier is at chance; tested), as in Kinetics a class
   is what is done, not what is worn. Vanilla pre-training has to learn motion.
2. **The actor is on screen the whole video** and idles (a slow drift, no class motion) outside its instances,
   next to 0-2 idle distractors; backgrounds keep their texture and noise within a shot. Seeing an object says
   nothing about actionness: finding an action needs its motion, finding its ends needs a change of motion.
3. **The untrimmed videos contain the boundaries BSP synthesises, as annotated boundaries:** the same object
   changes motion (idle to action, action to idle, action A directly to action B: diff-class), two instances of a
   class back to back across a shot cut (same-class), and a speed change within one motion (diff-speed), which
   splits it into two instances. Each kind is counted per split in `toy_config.json`.
4. **Sentences name the motion and its speed** (and an ordinal when they repeat in a video); colour and shape only
   for an actor that keeps its look for the whole video, so appearance never localises a moment.
5. **Every class can be told from the 8 frames a backbone sees.** Each shape carries a dark marker off its centre,
   so a spin never looks like the other spin; an orbit covers at least 2.5 rad of its circle and a zigzag two
   thirds of a wiggle in a clip (v3; in v2 the frames could not always tell them apart).
"""


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """head -> feature set -> metric -> values over seeds (successful runs only, seed order)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in sorted(records, key=lambda r: (r["head"], r["features"], r["seed"])):
        if r["status"] != "ok":
            continue
        for metric, value in r["metrics"].items():
            out.setdefault(r["head"], {}).setdefault(r["features"], {}).setdefault(metric, []).append(float(value))
    return out


#: Secondary columns of results.md, when a head reports them (every metric is in results.csv).
SECONDARY = ("mAP@0.50", "mAP@0.75", "mAP@0.95", "R@1,IoU=0.3", "R@1,IoU=0.7", "R@5,IoU=0.5", "mIoU",
             "AP_per_video_mean")
MAX_COLUMNS = 4


def _columns(primary: str | None, metrics: list[str]) -> list[str]:
    """The headline metric first, then the :data:`SECONDARY` ones reported, at most :data:`MAX_COLUMNS`."""
    chosen = ([primary] if primary in metrics else []) + [m for m in SECONDARY if m in metrics and m != primary]
    return chosen[:MAX_COLUMNS]


def _pct(interval: Any) -> str:
    return f"{100 * interval.estimate:.2f} [{100 * interval.low:.2f}, {100 * interval.high:.2f}]"


def _signed(interval: Any) -> str:
    return f"{100 * interval.estimate:+.2f} [{100 * interval.low:+.2f}, {100 * interval.high:+.2f}]"


def _backbone_lines(backbones: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = ["## Backbones: pretext validation accuracy", "",
             "| backbone | task | floor | accuracy | per boundary type | status |", "|---|---|---|---|---|---|"]
    for name, b in backbones.items():
        if name == "random":
            continue
        per_type = ", ".join(f"{k.split('acc_per_type_')[1]} {100 * v:.1f}" for k, v in b.get("val_metrics", {}).items()
                             if "acc_per_type_" in k) or "–"
        floors = b.get("floors", [])
        floor = ", ".join(f"{m.split('/')[-1]} >= {100 * f:.0f} %" for m, f in floors) or "–"
        accuracy = ", ".join(f"{m.split('/')[-1]} {100 * b['val_metrics'][m]:.1f} %" for m, _ in floors
                             if m in b.get("val_metrics", {})) or "–"
        status = "**under-trained**" if b.get("under_trained") else "ok"
        lines.append(f"| {LABELS.get(name, name)} | {b.get('task', '')} | {floor} | {accuracy} | {per_type} | "
                     f"{status} |")
    return lines + [""]


def _sensitivity_lines(sensitivity: Mapping[str, Any], feature_sets: Sequence[str], num_videos: int) -> list[str]:
    lines = ["## Boundary sensitivity (the paper's Fig. 4 as a number)", "",
             f"AUROC of the distance between consecutive snippet features (L2-normalised per stream) for pairs that "
             f"straddle an annotated boundary against pairs with no boundary, on the {num_videos} test videos; "
             "95 % bootstrap CI over videos. 0.5 = blind to boundaries. No head is trained for this.", "",
             "| features | " + " | ".join(GROUP_LABELS[g] for g in GROUPS) + " | pairs (pos / neg) |",
             "|---|" + "---|" * (len(GROUPS) + 1)]
    for fs in feature_sets:
        values = sensitivity.get("auroc", {}).get(fs)
        if values is None:
            lines.append(f"| {LABELS.get(fs, fs)} | " + " | ".join("–" for _ in GROUPS) + " | – |")
            continue
        cells = [f"{v.estimate:.3f} [{v.low:.3f}, {v.high:.3f}]" if (v := values.get(g)) else "–" for g in GROUPS]
        pairs = sensitivity["pairs"][fs]
        counts = f" | {pairs['overall']} / {pairs['negative']} |"
        lines.append(f"| {LABELS.get(fs, fs)} | " + " | ".join(cells) + counts)
    checks = sensitivity.get("comparisons", [])
    if checks:
        lines += ["", "Fig. 4's claim, BSP more boundary-sensitive than vanilla (difference of AUROC, later minus "
                      "earlier):", ""]
        lines += [f"- {GROUP_LABELS[c['group']]}: {LABELS.get(c['later'], c['later'])} - "
                  f"{LABELS.get(c['earlier'], c['earlier'])} = {c['difference'].estimate:+.3f} "
                  f"[{c['difference'].low:+.3f}, {c['difference'].high:+.3f}]: **{c['verdict']}**" for c in checks]
    lines += [f"- {note}" for note in sensitivity.get("notes", [])]
    return lines + [""]


def _head_lines(head: str, task: str, records: Sequence[dict[str, Any]], analysis: Mapping[str, Any],
                feature_sets: Sequence[str]) -> tuple[list[str], str | None]:
    lines = ["", f"### {head} ({task})", ""]
    runs = [r for r in records if r["head"] == head]
    metrics = list(dict.fromkeys(m for r in runs if r["status"] == "ok" for m in r["metrics"]))
    primary = primary_metric(task, {m: 0.0 for m in metrics})
    if not metrics:
        errors = sorted({r["error"].splitlines()[0][:200] for r in runs if r.get("error")})
        return lines + ["every run failed: " + ("; ".join(errors) or "no error recorded")], None
    columns = _columns(primary, metrics)
    intervals = analysis.get("intervals", {})
    lines += ["| features | runs | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for fs in feature_sets:
        fs_runs = [r for r in runs if r["features"] == fs]
        ok = sum(r["status"] == "ok" for r in fs_runs)
        failed = len(fs_runs) - ok
        shown = f"{ok}" + (f" ({failed} failed)" if failed else "")
        if not ok:
            lines.append(f"| {LABELS.get(fs, fs)} | {shown} | " + " | ".join("failed" if failed else "–"
                                                                         for _ in columns) + " |")
            continue
        cells = []
        for m in columns:
            interval = intervals.get(fs, {}).get(m)
            values = [r["metrics"][m] for r in fs_runs if r["status"] == "ok" and m in r["metrics"]]
            cells.append(_pct(interval) if interval else (f"{100 * np.mean(values):.2f} [no CI]" if values else "–"))
        lines.append(f"| {LABELS.get(fs, fs)} | {shown} | " + " | ".join(cells) + " |")
    checks = analysis.get("comparisons", [])
    if checks:
        lines += ["", f"Paper ordering on {primary} (paired difference, later minus earlier, points):", ""]
        for c in checks:
            diff = f" {_signed(c['difference'])}" if c.get("difference") else ""
            lines.append(f"- {LABELS.get(c['earlier'], c['earlier'])} < {LABELS.get(c['later'], c['later'])}:"
                         f"{diff}: **{c['verdict']}**")
    for failure in sorted({(r["features"], r["seed"], (r.get("error") or "").splitlines()[0][:160])
                           for r in runs if r["status"] != "ok"}):
        lines.append(f"- failed: {LABELS.get(failure[0], failure[0])} seed {failure[1]}: {failure[2]}")
    lines += [f"- note: {n}" for n in analysis.get("notes", [])]
    return lines, primary


def write_markdown(path: Path, records: Sequence[dict[str, Any]], tasks: Mapping[str, str],
                   feature_sets: Sequence[str], preamble: Sequence[str], analysis: Mapping[str, Any] | None = None,
                   backbones: Mapping[str, Mapping[str, Any]] | None = None,
                   sensitivity: Mapping[str, Any] | None = None, num_test_videos: int = 0) -> str:
    """Write ``results.md`` (module docstring); returns its text."""
    analysis = analysis or {}
    lines = list(preamble)
    if backbones:
        lines += [""] + _backbone_lines(backbones)
    if sensitivity is not None:
        lines += _sensitivity_lines(sensitivity, feature_sets, num_test_videos)
    lines += ["## Heads", "", f"Test scores in %: mean over seeds [95 % bootstrap CI over the {num_test_videos} test "
              "videos, every seed's run in each resample]. `runs`: successful runs (failed ones never show a number)."]
    half_widths = []
    for head in sorted({r["head"] for r in records}):
        head_lines, primary = _head_lines(head, tasks.get(head, "?"), records, analysis.get(head, {}), feature_sets)
        lines += head_lines
        for fs in feature_sets:
            interval = analysis.get(head, {}).get("intervals", {}).get(fs, {}).get(primary)
            if interval:
                half_widths.append((head, primary, fs, interval.half_width))
    if half_widths:
        lines += ["", "## Headline CI half-widths (target: at most 3 points on the default preset)", "",
                  "| head | metric | " + " | ".join(LABELS.get(fs, fs) for fs in feature_sets) + " | max |",
                  "|---|---|" + "---|" * (len(feature_sets) + 1)]
        for head in dict.fromkeys(h for h, *_ in half_widths):
            rows = {fs: hw for h, _, fs, hw in half_widths if h == head}
            metric = next(m for h, m, *_ in half_widths if h == head)
            lines.append(f"| {head} | {metric} | " + " | ".join(f"{100 * rows[fs]:.2f}" if fs in rows else "–"
                                                              for fs in feature_sets)
                         + f" | {100 * max(rows.values()):.2f} |")
    text = "\n".join(lines) + "\n"
    atomic_write_text(path, text)
    return text


def write_csv(path: Path, records: Sequence[dict[str, Any]], analysis: Mapping[str, Any] | None = None,
              sensitivity: Mapping[str, Any] | None = None) -> None:
    """``kind,head,features,seed,metric,value,low,high`` rows, values as fractions.

    ``kind``: ``run`` (one head run's metric; a failed run is one ``failed`` row with value ``nan``), ``mean``
    (mean over seeds with its interval), ``difference`` (a comparison: ``features`` is ``earlier<later``, ``seed``
    the verdict), ``sensitivity`` (AUROC; ``metric`` is the boundary group).
    """
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["kind", "head", "features", "seed", "metric", "value", "low", "high"])
    for r in sorted(records, key=lambda r: (r["head"], r["features"], r["seed"])):
        if r["status"] != "ok":
            writer.writerow(["run", r["head"], r["features"], r["seed"], "failed", "nan", "", ""])
            continue
        for metric, value in r["metrics"].items():
            writer.writerow(["run", r["head"], r["features"], r["seed"], metric, repr(float(value)), "", ""])
    for head, result in (analysis or {}).items():
        for fs, metrics in result.get("intervals", {}).items():
            for metric, i in metrics.items():
                writer.writerow(["mean", head, fs, "", metric, repr(i.estimate), repr(i.low), repr(i.high)])
        for c in result.get("comparisons", []):
            d = c.get("difference")
            writer.writerow(["difference", head, f"{c['earlier']}<{c['later']}", c["verdict"], c["metric"],
                             *(repr(x) for x in (d if d else (float("nan"),) * 3))])
    for fs, groups in (sensitivity or {}).get("auroc", {}).items():
        for group, i in groups.items():
            writer.writerow(["sensitivity", "", fs, "", group, repr(i.estimate), repr(i.low), repr(i.high)])
    atomic_write_text(path, text.getvalue())
