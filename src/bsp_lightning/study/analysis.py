"""From the study's runs to intervals and verdicts: head metrics, paired differences, boundary sensitivity.

* Every successful head run's ``predictions/test.json`` is re-scored on ``B`` resamples of the test videos
  (:mod:`bsp_lightning.study.scoring`); per feature set the replicates are averaged over the seeds
  (:func:`bsp_lightning.study.statistics.paired_replicates` semantics) and give a 95 % percentile interval for
  every metric. The point estimate is the mean over seeds of the heads' own reported numbers.
* Each comparison ``(a, b)`` of the paper's ordering gets the interval of ``score(b) - score(a)`` on the head's
  headline metric, from the same resamples, and a verdict (:func:`bsp_lightning.study.statistics.verdict`).
* Boundary sensitivity (:mod:`bsp_lightning.study.sensitivity`) of each feature set, on the same resamples.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.study.scoring import ActionnessScores, DetectionScores, GroundingScores, RunScores
from bsp_lightning.study.sensitivity import GROUPS, load_pairs
from bsp_lightning.study.statistics import Interval, percentile_interval, verdict

logger = logging.getLogger(__name__)

__all__ = ["GROUNDING_CONVENTIONS", "analyse_heads", "analyse_sensitivity", "run_scorer"]

#: The evaluation convention of each grounding head (:mod:`bsp_lightning.evaluation.grounding`); "lgi" otherwise.
GROUNDING_CONVENTIONS = {"tan2d": "2dtan"}


def run_scorer(head: str, task: str, folder: Path, metrics: Mapping[str, float], untrimmed: Path) -> RunScores:
    """The scorer of one head run from its ``predictions/test.json`` and the toy ground truth.

    Raises:
        ValueError: unknown task; EvaluationInputError: unreadable predictions.
    """
    path = folder / "predictions" / "test.json"
    if task == "detection":
        return DetectionScores(path, untrimmed / "activity_net.json", "testing")
    if task == "actionness":
        return ActionnessScores(path, untrimmed / "crosstask_release")
    if task == "grounding":
        recall = sorted({int(m.split(",")[0][2:]) for m in metrics if m.startswith("R@")})
        thresholds = sorted({float(m.split("IoU=")[1]) for m in metrics if "IoU=" in m})
        return GroundingScores(path, GROUNDING_CONVENTIONS.get(head, "lgi"), recall or (1,), thresholds or (0.5,))
    raise ValueError(f"unknown task {task!r}")


def _columns(videos: Sequence[str], index: Mapping[str, int]) -> np.ndarray:
    missing = [v for v in videos if v not in index]
    if missing:
        raise ValueError(f"{len(missing)} scored video(s) are not in the test split, e.g. {missing[0]!r}")
    return np.array([index[v] for v in videos], dtype=np.int64)


def analyse_heads(records: Sequence[Mapping[str, Any]], tasks: Mapping[str, str], primary: Mapping[str, str],
                  comparisons: Sequence[tuple[str, str]], under_trained: Mapping[str, Sequence[str]], root: Path,
                  untrimmed: Path, test_videos: Sequence[str], counts: np.ndarray) -> dict[str, Any]:
    """Intervals per head and feature set, and one verdict per comparison.

    Args:
        records: head run records (:func:`bsp_lightning.study.heads.run_head`).
        tasks: head -> task.
        primary: head -> headline metric.
        comparisons: ``(earlier, later)`` feature-set pairs of the paper's ordering.
        under_trained: feature set -> the under-trained backbones it uses.
        root: the study folder (runs in ``root/heads/<head>/<features>/seed<k>``).
        untrimmed: the toy-untrimmed folder.
        test_videos: the test split, in column order of ``counts``.
        counts: :func:`bsp_lightning.study.statistics.bootstrap_counts` over ``test_videos``.

    Returns:
        ``{head: {"intervals": {fs: {metric: Interval}}, "runs": {fs: n ok}, "failed": {fs: n},
        "comparisons": [{"earlier", "later", "metric", "difference": Interval, "verdict"}], "notes": [str]}}``.
    """
    index = {v: i for i, v in enumerate(test_videos)}
    out: dict[str, Any] = {}
    for head in sorted({r["head"] for r in records}):
        runs = [r for r in records if r["head"] == head]
        notes: list[str] = []
        replicates: dict[str, np.ndarray] = {}
        names: dict[str, list[str]] = {}
        intervals: dict[str, dict[str, Interval]] = {}
        for fs in dict.fromkeys(r["features"] for r in runs):
            ok = [r for r in runs if r["features"] == fs and r["status"] == "ok"]
            per_seed = []
            for r in ok:
                folder = root / "heads" / head / fs / f"seed{r['seed']}"
                try:
                    scorer = run_scorer(head, tasks[head], folder, r["metrics"], untrimmed)
                    recomputed = dict(zip(scorer.names, scorer.full()))
                    off = max((abs(recomputed[m] - r["metrics"][m]) for m in recomputed if m in r["metrics"]),
                              default=0.0)
                    if off > 1e-6:
                        notes.append(f"{fs} seed {r['seed']}: the metrics recomputed from the predictions differ "
                                     f"from the head's by up to {100 * off:.2f} points")
                    per_seed.append(scorer.resampled(counts[:, _columns(scorer.videos, index)]))
                    names[fs] = scorer.names
                except (OSError, ValueError) as err:
                    notes.append(f"{fs} seed {r['seed']}: no interval ({err})")
            if not per_seed:
                continue
            replicates[fs] = np.mean(per_seed, axis=0)
            intervals[fs] = {}
            for k, metric in enumerate(names[fs]):
                values = [r["metrics"][metric] for r in ok if metric in r["metrics"]]
                if values and np.isfinite(replicates[fs][:, k]).any():
                    intervals[fs][metric] = percentile_interval(float(np.mean(values)), replicates[fs][:, k])
        metric = primary.get(head)
        checks = []
        for earlier, later in comparisons:
            check: dict[str, Any] = {"earlier": earlier, "later": later, "metric": metric}
            if earlier not in replicates or later not in replicates or metric not in names.get(earlier, []):
                missing = [fs for fs in (earlier, later) if fs not in replicates]
                check["verdict"] = f"not decided: no successful run of {', '.join(missing)}" if missing else \
                    "not decided: no headline metric"
                check["difference"] = None
            else:
                k = names[earlier].index(metric)
                diff = replicates[later][:, k] - replicates[earlier][:, k]
                estimate = intervals[later][metric].estimate - intervals[earlier][metric].estimate
                check["difference"] = percentile_interval(estimate, diff)
                bad = sorted(set(under_trained.get(earlier, ())) | set(under_trained.get(later, ())))
                check["verdict"] = verdict(check["difference"], bad)
            checks.append(check)
        out[head] = {"intervals": intervals, "comparisons": checks, "notes": notes,
                     "runs": {fs: sum(r["status"] == "ok" for r in runs if r["features"] == fs)
                              for fs in dict.fromkeys(r["features"] for r in runs)},
                     "failed": {fs: sum(r["status"] != "ok" for r in runs if r["features"] == fs)
                                for fs in dict.fromkeys(r["features"] for r in runs)}}
    return out


def analyse_sensitivity(features: Mapping[str, Sequence[str | Path]], untrimmed: Path, test_videos: Sequence[str],
                        counts: np.ndarray, comparisons: Sequence[tuple[str, str]] = (),
                        under_trained: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Boundary-sensitivity AUROC per feature set and group, with intervals, and verdicts of ``comparisons``.

    Args:
        features: feature set -> its feature folders (one per stream).
        untrimmed: the toy-untrimmed folder (``boundaries.json``).
        test_videos: the test split, in column order of ``counts``.
        counts: bootstrap multiplicities.
        comparisons: ``(a, b)`` pairs: "b is more boundary-sensitive than a" (the paper's Fig. 4: vanilla, BSP).

    Returns:
        ``{"auroc": {fs: {group: Interval}}, "pairs": {fs: {group: count}}, "comparisons": [...], "notes": [...]}``.
    """
    boundaries = json.loads((untrimmed / "boundaries.json").read_text())
    full = np.ones((1, len(test_videos)), dtype=np.int64)
    aurocs, pairs, replicates, notes = {}, {}, {}, []
    for fs, folders in features.items():
        try:
            pair_set = load_pairs(folders, test_videos, boundaries)
        except (OSError, ValueError) as err:
            notes.append(f"{fs}: no boundary sensitivity ({err})")
            continue
        estimate = pair_set.scores(full)[0]
        replicates[fs] = pair_set.scores(counts)
        pairs[fs] = pair_set.counts_by_group()
        aurocs[fs] = {g: percentile_interval(float(estimate[k]), replicates[fs][:, k])
                      for k, g in enumerate(GROUPS) if np.isfinite(estimate[k])}
    checks = []
    for earlier, later in comparisons:
        if earlier not in replicates or later not in replicates:
            continue
        for k, group in enumerate(GROUPS):
            if group not in aurocs[earlier] or group not in aurocs[later]:
                continue
            diff = percentile_interval(aurocs[later][group].estimate - aurocs[earlier][group].estimate,
                                       replicates[later][:, k] - replicates[earlier][:, k])
            bad = sorted(set((under_trained or {}).get(earlier, ())) | set((under_trained or {}).get(later, ())))
            checks.append({"earlier": earlier, "later": later, "group": group, "difference": diff,
                           "verdict": verdict(diff, bad)})
    return {"auroc": aurocs, "pairs": pairs, "comparisons": checks, "notes": notes}
