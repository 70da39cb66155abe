"""``bsp-lightning evaluate {activitynet,grounding,actionness,proposals}``: official-equivalent evaluation of
prediction files.

Each subcommand prints a table and, with ``--json OUT``, writes the numbers (fractions, not percentages)
atomically. Unusable input (missing, empty or malformed file, missing key, NaN or non-numeric score,
unknown label, ...) is one line on stderr naming the file and the problem, and exit code 2. Oddities the
official code accepts are counted and reported as warnings, and the evaluation proceeds. A prediction file
without predictions (``"results": {}`` or only empty lists, a grounding list ``[]``, an actionness ``{}``)
scores 0, with a warning, and exits 0: the official ActivityNet code and :func:`activitynet_map` score a class
without detections 0, and a model that predicts nothing has found nothing. The files are read with
:mod:`bsp_lightning.evaluation.formats`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Container, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning import legacy
from bsp_lightning.evaluation._io import EvaluationInputError
from bsp_lightning.evaluation.formats import read_actionness, read_detections, read_grounding, read_proposals
from bsp_lightning.evaluation.tables import format_metric_table, format_table
from bsp_lightning.utils.io import atomic_write_json

logger = logging.getLogger(__name__)

PROG = "bsp-lightning evaluate"


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _v_prefix_hint(ids: Iterable[str], known: Container[str]) -> str:
    """The hint appended to an id mismatch when some of ``ids`` are in ``known`` once the ``v_`` prefix is added
    or removed, else ``""``."""
    if any((v[2:] if v.startswith("v_") else "v_" + v) in known for v in ids):
        return " (some match after adding/removing the 'v_' prefix: check the ids)"
    return ""


# --- activitynet ----------------------------------------------------------------------------------------


def evaluate_activitynet(
    ground_truth: str | Path, predictions: str | Path, subset: str = "validation", ignore_unknown_labels: bool = False
) -> tuple[dict[str, Any], str]:
    """Evaluate an ActivityNet prediction file; returns ``(json dict, table text)``."""
    from bsp_lightning.annotations.activitynet import load_activitynet
    from bsp_lightning.evaluation.detection import UnknownLabelError, activitynet_map

    gt = load_activitynet(ground_truth, subset=subset)
    for kind, count in gt.report.anomalies.items():
        _warn(f"{ground_truth}: {count} ground-truth {kind.replace('_', ' ')} (kept, as the official code does)")
    if not gt.segments:
        raise EvaluationInputError(f"no ground-truth segment in subset {subset!r}", ground_truth)
    pred = read_detections(predictions)
    if not pred.videos:
        _warn(f"{predictions}: no detection in the file: every class scores AP 0 (as in the official code)")
    if pred.anomalies["start_after_end"]:
        _warn(f"{predictions}: {pred.anomalies['start_after_end']} prediction(s) with start > end (kept, not swapped)")
    if pred.anomalies["missing_version_or_external_data"]:
        _warn(f"{predictions}: no 'version'/'external_data' key (the official code rejects such a file; read anyway)")
    outside = [v for v in pred.videos if v not in gt.videos]
    if outside:
        hint = _v_prefix_hint(set(outside), gt.videos)
        _warn(
            f"{predictions}: {len(outside)} prediction(s) on {len(set(outside))} video(s) outside the "
            f"{subset!r} subset of {ground_truth}: counted as false positives, as the official code does{hint}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = activitynet_map(
                [s.video_id for s in gt.segments], [s.label for s in gt.segments],
                np.array([(s.start, s.end) for s in gt.segments], dtype=np.float64),
                pred.videos, pred.labels, pred.segments, pred.scores,
                ignore_unknown_labels=ignore_unknown_labels,
            )
    except UnknownLabelError as err:
        problem = f"{err.base_message}; pass --ignore-unknown-labels to drop them"
        raise EvaluationInputError(problem, predictions) from None
    if result.num_ignored_predictions:
        _warn(f"{predictions}: {result.num_ignored_predictions} prediction(s) with labels absent from the {subset!r} "
              "ground truth ignored")
    out = {
        "tiou_thresholds": [float(t) for t in result.tiou_thresholds],
        "mAP": [float(v) for v in result.mAP],
        "average_mAP": float(result.average_mAP),
        "per_class_AP": {str(label): [float(v) for v in result.ap[:, c]] for c, label in enumerate(result.labels)},
    }
    header = (
        f"ActivityNet detection, subset {subset!r}: {len(gt.videos)} videos, {len(gt.segments)} ground-truth segments, "
        f"{len(result.labels)} classes, {len(pred.videos)} predictions"
    )
    rows = [["tIoU"] + [f"{t:.2f}" for t in result.tiou_thresholds] + ["avg"],
            ["mAP (%)"] + [f"{100 * v:.2f}" for v in result.mAP] + [f"{100 * result.average_mAP:.2f}"]]
    return out, format_table(rows, header)


# --- grounding ------------------------------------------------------------------------------------------


def evaluate_grounding(
    predictions: str | Path, convention: str = "lgi", nms_threshold: float = 0.5
) -> tuple[dict[str, Any], str]:
    """Evaluate a grounding prediction file; returns ``(json dict, table text)``."""
    from bsp_lightning.evaluation.grounding import grounding_metrics, metric_names

    records = read_grounding(predictions)
    preds = [np.asarray(r["predictions"], dtype=np.float64).reshape(-1, 2) for r in records]
    gts = [tuple(r["gt"]) for r in records]
    reversed_ = sum(int((p[:, 0] > p[:, 1]).sum()) for p in preds)
    if reversed_:
        _warn(f"{predictions}: {reversed_} predicted moment(s) with start > end (kept, IoU 0, as the official LGI "
              "code scores them)")
    reversed_gt = sum(1 for g in gts if g[0] > g[1])
    if reversed_gt:
        _warn(f"{predictions}: {reversed_gt} ground truth moment(s) with start > end (kept, as the official LGI "
              "loader keeps them)")
    empty = sum(1 for p in preds if not len(p))
    if empty:
        queries = "query" if empty == 1 else "queries"
        _warn(f"{predictions}: {empty} {queries} without predictions (counted as misses, IoU 0)")
    if records:
        out = grounding_metrics(preds, gts, convention=convention, nms_threshold=nms_threshold)
    else:
        # Recall over no query is 0/0; report the 0 of a model that grounded nothing rather than refuse.
        _warn(f"{predictions}: no query in the file: every metric is reported as 0")
        out = {name: 0.0 for name in metric_names()}
    rule = "IoU >= m, no NMS" if convention == "lgi" else f"IoU > m after NMS at {nms_threshold:g}"
    header = f"Video grounding, {convention} convention ({rule}): {len(gts)} queries"
    rows = [list(out), [f"{100 * v:.2f}" for v in out.values()]]
    return out, format_table(rows, header)


# --- actionness -----------------------------------------------------------------------------------------


def read_actionness_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """:func:`~bsp_lightning.evaluation.formats.read_actionness`; a video whose list is empty is kept: all its
    segments are unscored, so its positives count as misses (:func:`evaluate_actionness` warns)."""
    return read_actionness(path)


def read_video_durations(path: str | Path) -> dict[str, float]:
    """Video id -> duration (seconds) for ``evaluate actionness --durations``.

    A feature folder of ``bsp-lightning extract`` (or its ``manifest.json``) gives ``num_frames / fps`` of each
    ``ok`` or ``partial`` entry, the duration the actionness head cuts into segments; any other file is read by
    :func:`bsp_lightning.annotations.read_durations` (JSON ``{video: seconds}`` or a CSV).

    Raises:
        EvaluationInputError: an unreadable manifest or one without a usable entry.
        AnnotationError: a malformed durations file.
    """
    from bsp_lightning.annotations.thumos import read_durations
    from bsp_lightning.features.store import MANIFEST_NAME, FeatureStoreError, read_manifest

    path = Path(path)
    if not (path.is_dir() or path.name == MANIFEST_NAME):
        return read_durations(path)
    root = path if path.is_dir() else path.parent
    try:
        entries = read_manifest(root).get("videos", {})
    except FeatureStoreError as err:
        raise EvaluationInputError(str(err)) from None
    out = {
        video: float(e["num_frames"]) / float(e["fps"]) for video, e in entries.items()
        if e.get("status") in ("ok", "partial") and e.get("num_frames") and e.get("fps")
    }
    if not out:
        raise EvaluationInputError("no video entry with num_frames and fps", root / MANIFEST_NAME)
    return out


def _some(items: Sequence[str], shown: int = 5) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def _actionness_labels(
    steps: dict[str, list], scores: dict[str, np.ndarray], durations: dict[str, float] | None, predictions: Any,
    annotations: Any,
) -> dict[str, np.ndarray]:
    """Each video's segment labels, their number set by its duration; scores past a known duration are cut off
    (in place, warned). Without a duration, the segments reach the later of the last step and the last score."""
    from bsp_lightning.annotations.crosstask import SEGMENT_LENGTH, num_segments, segment_labels

    labels, extra, past_end, no_duration = {}, [], [], []
    for video, s in scores.items():
        last_end = max((step.end for step in steps[video]), default=0.0)
        if durations is not None and video in durations:
            count = num_segments(durations[video])
            if s.size > count:
                extra.append(f"{video!r} ({s.size} for {count})")
                scores[video] = s[:count]
            if last_end > round(count * SEGMENT_LENGTH, 9):
                past_end.append(repr(video))
        else:
            if durations is not None:
                no_duration.append(repr(video))
            count = max(s.size, num_segments(max(last_end, 0.0)))
        labels[video] = segment_labels(steps[video], count)
    if no_duration:
        _warn(f"{len(no_duration)} video(s) without a duration in --durations: their segments reach the later of "
              f"the last annotated step and the last score: {_some(no_duration)}")
    if extra:
        _warn(f"{predictions}: {len(extra)} video(s) with score(s) after the end of the video, ignored: "
              f"{_some(extra)}")
    if past_end:
        _warn(f"{annotations}: {len(past_end)} video(s) with steps after the end of the video (those parts label "
              f"no segment): {_some(past_end)}")
    return labels


def evaluate_actionness(
    annotations: str | Path, predictions: str | Path, durations: str | Path | None = None
) -> tuple[dict[str, Any], str]:
    """Evaluate a CrossTask actionness prediction file; returns ``(json dict, table text)``.

    Args:
        annotations: CrossTask ``annotations/`` (or ``crosstask_release/``).
        predictions: ``{video_id: [score per 0.2 s segment]}``.
        durations: see :func:`read_video_durations`; each video then has ``ceil(duration / 0.2)`` segments.
            Without it (CrossTask annotations hold no duration) the segments reach the later of the video's
            last annotated step and its last score, which gives the same AP whenever no step runs past the
            video's end: unscored negatives do not change AP.

    A score list shorter than the video's segments leaves the rest unscored: their positives count as misses
    (:func:`~bsp_lightning.evaluation.actionness.actionness_ap`), with a warning naming the videos.
    """
    from bsp_lightning.annotations.crosstask import read_crosstask_annotations
    from bsp_lightning.evaluation.actionness import actionness_ap, missing_scores_warning

    steps = read_crosstask_annotations(annotations)
    scores = read_actionness_predictions(predictions)
    if not any(s.size for s in scores.values()):
        # AP needs at least one scored segment; a file without scores has found no action.
        _warn(f"{predictions}: no video with scores in the file: AP is reported as 0")
        out = {"AP": 0.0, "AP_per_video_mean": 0.0}
        return out, format_table([["AP (%)", "AP per video, mean (%)"], ["0.00", "0.00"]],
                                 "CrossTask framewise actionness: no video scored")
    unknown = [v for v in scores if v not in steps]
    if len(unknown) == len(scores):
        raise EvaluationInputError(f"no video of the file has annotations in {annotations}", predictions)
    if unknown:
        _warn(f"{predictions}: {len(unknown)} video(s) without annotations in {annotations} skipped, "
              f"e.g. {', '.join(map(repr, unknown[:3]))}")
        scores = {v: s for v, s in scores.items() if v in steps}
    known = None
    if durations is not None:
        known = read_video_durations(durations)
        if not any(v in known for v in scores):
            raise EvaluationInputError(f"no video of {predictions} has a duration in the file", durations)
    labels = _actionness_labels(steps, scores, known, predictions, annotations)
    if not any(y.any() for y in labels.values()):
        raise EvaluationInputError("no positive segment among the evaluated videos: AP is undefined", predictions)
    result = actionness_ap(scores, labels)
    if result.num_videos_without_positives:
        _warn(f"{result.num_videos_without_positives} video(s) without any positive segment: in the pooled AP, "
              "left out of the per-video mean")
    header = f"CrossTask framewise actionness: {result.num_videos} videos, {result.num_segments} segments of 0.2 s"
    missing = missing_scores_warning(result, scores, labels)
    if missing:
        _warn(f"{predictions}: {missing}")
        header += (f" ({result.num_missing_segments} without scores, {result.num_missed_positives} positive: "
                   "counted as misses)")
    out = {"AP": result.AP, "AP_per_video_mean": result.AP_per_video_mean}
    rows = [["AP (%)", "AP per video, mean (%)"], [f"{100 * result.AP:.2f}", f"{100 * result.AP_per_video_mean:.2f}"]]
    return out, format_table(rows, header)


# --- proposals ------------------------------------------------------------------------------------------


def evaluate_proposals(ground_truth: str | Path, predictions: str | Path, subset: str = "validation",
                       max_avg_nr_proposals: float = 100) -> tuple[dict[str, Any], str]:
    """AR@AN and AUC of a proposal (or detection) file against an ActivityNet ground truth
    (:func:`bsp_lightning.evaluation.proposals.average_recall_vs_proposals`); returns ``(json dict, table text)``.

    Raises:
        EvaluationInputError / AnnotationError: unusable files (one line naming the file and the problem).
    """
    from bsp_lightning.annotations.activitynet import load_activitynet
    from bsp_lightning.evaluation.proposals import REPORTED_AN, average_recall_vs_proposals

    gt = load_activitynet(ground_truth, subset=subset)
    if not gt.segments:
        raise EvaluationInputError(f"no ground-truth segment in subset {subset!r}", ground_truth)
    props = read_proposals(predictions)
    gt_videos = {s.video_id for s in gt.segments}
    if not any(len(p) for p in props.values()):
        # the official script divides by the proposal count: report the 0 of a model that proposed nothing
        _warn(f"{predictions}: no proposal in the file: every AR and the AUC are reported as 0")
        summary = {**{f"AR@{an}": 0.0 for an in REPORTED_AN}, "AUC": 0.0}
        out = {**summary, "average_recall": [], "proposals_per_video": []}
    else:
        if not any(len(props.get(v, ())) for v in gt_videos):
            hint = _v_prefix_hint(props, gt_videos)
            raise EvaluationInputError(f"no video of the {subset!r} subset of {ground_truth} has a proposal{hint}",
                                       predictions)
        try:
            result = average_recall_vs_proposals([s.video_id for s in gt.segments],
                                                 [(s.start, s.end) for s in gt.segments], props, max_avg_nr_proposals)
        except EvaluationInputError as err:
            raise EvaluationInputError(str(err), predictions) from None
        summary = result.summary()
        out = {**summary, "average_recall": [float(v) for v in result.average_recall],
               "proposals_per_video": [float(v) for v in result.proposals_per_video]}
    header = (f"ActivityNet proposals, subset {subset!r}: {len(set(gt.videos))} videos, {len(gt.segments)} ground-truth "
              f"segments, {sum(len(p) for p in props.values())} proposals (tIoU 0.5:0.05:0.95; AUC of AR vs AN)")
    return out, format_metric_table(summary, header)


def add_proposals_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``proposals`` on the ``bsp-lightning evaluate`` subparsers."""
    p = subparsers.add_parser(
        "proposals", help="ActivityNet proposal AR@AN and AUC (official Evaluation/eval_proposal.py)",
        description="Average recall vs average number of proposals (AN = 1..100) and the area under that curve, "
                    "with the numbers of ActivityNet's eval_proposal.py (labels ignored).",
    )
    p.add_argument("--ground-truth", required=True, type=Path, help="official activity_net.v1-3.min.json")
    p.add_argument("--predictions", required=True, type=Path,
                   help='{"results": {video: [{"segment", "score"}]}} (a detection file works: labels ignored)')
    p.add_argument("--subset", default="validation", help="ground-truth subset (default: validation)")
    p.add_argument("--max-avg-proposals", type=float, default=100, help="official max_avg_nr_proposals (100)")
    return p


# --- command line ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Evaluate predictions: ActivityNet mAP and grounding recall with the numbers of the official "
                    "evaluation codes; CrossTask actionness AP by the protocol the paper describes (there is no "
                    "official code), with this project's choices: 0.2 s segments, overlap labelling, pooled AP.",
    )
    sub = parser.add_subparsers(dest="benchmark", required=True, metavar="{activitynet,grounding,actionness,proposals}")

    anet = sub.add_parser(
        "activitynet", help="ActivityNet-1.3 detection mAP (official Evaluation/eval_detection.py)",
        description="Detection mAP at tIoU 0.5:0.05:0.95 with the numbers of ActivityNet's eval_detection.py.",
    )
    anet.add_argument("--ground-truth", required=True, type=Path, help="official activity_net.v1-3.min.json")
    anet.add_argument("--predictions", required=True, type=Path,
                      help='{"version", "results": {video: [{"label", "score", "segment"}]}, "external_data"}')
    anet.add_argument("--subset", default="validation", help="ground-truth subset to evaluate (default: validation)")
    anet.add_argument("--ignore-unknown-labels", action="store_true",
                      help="drop predictions whose label has no ground truth in the subset (default: error)")

    ground = sub.add_parser(
        "grounding", help="video grounding R@{1,5},IoU={0.3,0.5,0.7} and mIoU (LGI or 2D-TAN convention)",
        description="R@n,IoU=m and mIoU. lgi: hit if IoU >= m, no NMS. 2dtan: hit if IoU > m after NMS.",
    )
    ground.add_argument("--predictions", required=True, type=Path,
                        help='JSON list of {"video", "duration", "query", "gt": [s, e], "predictions": [[s, e], ...]}')
    ground.add_argument("--convention", choices=("lgi", "2dtan"), default="lgi", help="official code to follow")
    ground.add_argument("--nms-threshold", type=float, default=0.5, help="2D-TAN NMS threshold (default 0.5)")

    action = sub.add_parser(
        "actionness", help="CrossTask framewise actionness AP over 0.2 s segments",
        description="Framewise AP pooled over all 0.2 s segments, and the mean of per-video APs.",
    )
    action.add_argument("--annotations", required=True, type=Path,
                        help="CrossTask annotations/ folder (or crosstask_release/) with <task>_<video>.csv files")
    action.add_argument("--predictions", required=True, type=Path, help="{video_id: [score per 0.2 s segment]}")
    action.add_argument("--durations", type=Path, default=None, metavar="PATH",
                        help="video durations, which set each video's number of segments: a feature folder of "
                             "'bsp-lightning extract' (num_frames / fps, as the actionness head) or a JSON "
                             "{video: seconds} / CSV video,duration file (default: up to the later of the last "
                             "annotated step and the last score); missing scores count as misses")

    for p in (anet, ground, action, add_proposals_parser(sub)):
        p.add_argument("--json", type=Path, default=None, metavar="OUT",
                       help="also write the numbers to this JSON file (atomically)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bsp-lightning evaluate``; returns the exit code (2 for unusable input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on usage errors
        return int(exit_.code or 0)
    from bsp_lightning.annotations.errors import AnnotationError

    try:
        if args.benchmark == "proposals":
            out, text = evaluate_proposals(args.ground_truth, args.predictions, args.subset, args.max_avg_proposals)
        elif args.benchmark == "activitynet":
            out, text = evaluate_activitynet(
                args.ground_truth, args.predictions, args.subset, args.ignore_unknown_labels
            )
        elif args.benchmark == "grounding":
            out, text = evaluate_grounding(args.predictions, args.convention, args.nms_threshold)
        else:
            out, text = evaluate_actionness(args.annotations, args.predictions, args.durations)
    except (EvaluationInputError, AnnotationError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    print(text)
    if args.json is not None:
        atomic_write_json(args.json, out)
        print(f"wrote {args.json}")
    return 0


__getattr__ = legacy.module_getattr(__name__)


if __name__ == "__main__":
    sys.exit(main())
