"""``bsp-lightning data convert csv``: your own annotations, one CSV, into the official benchmark formats.

Input: a CSV with a header row naming the columns ``video,start,end,label`` (``--to activitynet``) or
``video,start,end,sentence`` (``--to charades-sta``; ``label`` is then optional), times in seconds, one row per
action instance or query, and optionally ``duration`` (seconds). ``video`` is a file name or its stem; the
video id is the stem, the id ``bsp-lightning extract`` gives the video's features.

Durations come from the videos themselves (``--videos DIR``, read with :func:`bsp_lightning.video.probe`), else
from the ``duration`` column. Rows are dropped, counted by reason and reported with example lines, never
silently:

* ``end_not_after_start``: end <= start;
* ``unknown_video``: ``--videos`` was given and holds no such video;
* ``starts_after_video_end``: start >= the duration (the row lies past the video);
* ``no_label`` / ``no_sentence``: an empty label (activitynet) or sentence (charades-sta).

An end past the duration is clipped to it and counted (``end_clipped``); a negative start becomes 0 and is
counted (``start_clipped``). Videos are split by video (never a video in two subsets), seeded: the sorted ids
are shuffled with ``numpy.random.default_rng(seed)`` and cut by ``--split`` fractions (ActivityNet
``training,validation,testing``; Charades-STA ``train,test``), each non-zero part keeping at least one video.

Outputs (written atomically): ActivityNet-1.3 JSON (``{"version", "taxonomy", "database": {id: {"subset",
"duration", "url", "resolution", "annotations": [{"segment", "label"}]}}}``, read by ``load_activitynet``; the
``testing`` subset keeps its annotations, so your own test split can be scored); Charades-STA
``charades_sta_{train,test}.txt`` (``id start end##sentence``) and ``Charades_v1_{train,test}.csv`` (the
official header, ``id`` and ``length`` filled), read by ``load_charades_sta``.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_text, to_float
from bsp_lightning.utils.io import atomic_write_json, atomic_write_text

__all__ = ["TARGETS", "ConvertResult", "add_parser", "convert_csv", "run", "split_videos"]

#: target format -> (subset names of --split, default fractions, required text column)
TARGETS = {
    "activitynet": (("training", "validation", "testing"), (0.6, 0.2, 0.2), "label"),
    "charades-sta": (("train", "test"), (0.75, 0.25), "sentence"),
}
CHARADES_COLUMNS = ("id", "subject", "scene", "quality", "relevance", "verified", "script", "objects",
                    "descriptions", "actions", "length")


@dataclass(frozen=True)
class _Row:
    video: str
    start: float
    end: float
    text: str


@dataclass
class ConvertResult:
    """What :func:`convert_csv` wrote: the files, each video's subset, and the report (kept counts, drops)."""

    outputs: list[Path]
    subsets: dict[str, str]
    report: LoadReport


def split_videos(video_ids: Sequence[str], names: Sequence[str], fractions: Sequence[float],
                 seed: int) -> dict[str, str]:
    """Video id -> subset: sorted ids shuffled by ``default_rng(seed)``, cut by ``fractions`` (see the module).

    Raises:
        ValueError: fractions that are negative, do not sum to 1, or are not one per subset name.
    """
    if len(fractions) != len(names) or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0,
                                                                                         abs_tol=1e-6):
        raise ValueError(f"--split needs {len(names)} non-negative fractions ({','.join(names)}) summing to 1, "
                         f"got {','.join(map(str, fractions))}")
    ids = sorted(set(video_ids))
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    counts = [int(round(f * len(ids))) for f in fractions]
    counts[-1] = len(ids) - sum(counts[:-1])
    for i, f in enumerate(fractions):  # a non-empty part for every non-zero fraction, when there are enough videos
        if f > 0 and counts[i] <= 0 and len(ids) >= sum(1 for x in fractions if x > 0):
            donor = int(np.argmax(counts))
            counts[donor] -= 1
            counts[i] += 1
    while counts[-1] < 0:  # rounding took more than there is: take it back from the largest part
        counts[int(np.argmax(counts[:-1]))] -= 1
        counts[-1] += 1
    out, at = {}, 0
    for name, count in zip(names, counts):
        out.update({vid: name for vid in order[at: at + count]})
        at += count
    return out


def _durations_from_videos(folder: Path) -> dict[str, float]:
    from bsp_lightning.video import probe
    from bsp_lightning.video.extensions import VIDEO_EXTENSIONS

    if not folder.is_dir():
        raise AnnotationError(folder, "videos folder not found")
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
            try:
                out[path.stem] = float(probe(path).duration)
            except Exception as err:  # an unreadable video is reported by name, not converted
                raise AnnotationError(path, f"cannot read the video's duration ({err})") from None
    if not out:
        raise AnnotationError(folder, "no video file in this folder")
    return out


def _read_rows(path: Path, text_column: str, report: LoadReport) -> tuple[list[tuple[int, _Row]], dict[str, float]]:
    reader = csv.DictReader(io.StringIO(read_text(path, "annotation CSV"), newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("video", "start", "end", text_column) if c not in columns]
    if missing:
        raise AnnotationError(path, f"no column {', '.join(missing)} (header: {','.join(columns)})", 1)
    rows, durations = [], {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not row["video"]:
            raise AnnotationError(path, "empty video name", line)
        video = Path(row["video"]).stem if Path(row["video"]).suffix else row["video"]
        start = to_float(row["start"], path, "start", line)
        end = to_float(row["end"], path, "end", line)
        if row.get("duration"):
            durations[video] = to_float(row["duration"], path, "duration", line)
        rows.append((line, _Row(video, start, end, row[text_column])))
    report.counts["rows"] = len(rows)
    return rows, durations


def convert_csv(path: str | Path, target: str, out: str | Path, videos: str | Path | None = None,
                split: Sequence[float] | None = None, seed: int = 0) -> ConvertResult:
    """Convert the CSV at ``path`` into ``target`` (``"activitynet"`` or ``"charades-sta"``); see the module.

    Args:
        out: the JSON file (activitynet) or the output folder (charades-sta).
        videos: folder of the videos (durations, and the known video ids).
        split: subset fractions (default: 0.6,0.2,0.2 / 0.75,0.25).

    Raises:
        AnnotationError: an unreadable CSV, a missing column, a non-numeric time (with its line), an unreadable
            video, no duration for a video, or no row left.
        ValueError: bad ``split`` fractions or an unknown target.
    """
    if target not in TARGETS:
        raise ValueError(f"--to must be one of {', '.join(TARGETS)}, got {target!r}")
    names, default_split, text_column = TARGETS[target]
    path, out = Path(path), Path(out)
    report = LoadReport(f"convert csv -> {target}", sources=[str(path)])
    rows, csv_durations = _read_rows(path, text_column, report)
    known = _durations_from_videos(Path(videos)) if videos is not None else None
    durations = known if known is not None else csv_durations
    kept: dict[str, list[_Row]] = defaultdict(list)
    for line, row in rows:
        where = f"{path.name}:{line}"
        if not row.end > row.start:
            report.add("end_not_after_start", where)
        elif known is not None and row.video not in known:
            report.add("unknown_video", where)
        elif row.video not in durations:
            raise AnnotationError(path, f"no duration for video {row.video!r}: give --videos DIR or a duration "
                                  "column", line)
        elif row.start >= durations[row.video]:
            report.add("starts_after_video_end", where)
        elif not row.text:
            report.add(f"no_{text_column}", where)
        else:
            start, end = row.start, row.end
            if start < 0:
                report.add("start_clipped", where)
                start = 0.0
            if end > durations[row.video]:
                report.add("end_clipped", where)
                end = durations[row.video]
            kept[row.video].append(_Row(row.video, start, end, row.text))
    if not kept:
        raise AnnotationError(path, f"no row left to convert ({', '.join(f'{k}: {v}' for k, v in report.anomalies.items()) or 'empty'})")
    subsets = split_videos(list(kept), names, split or default_split, seed)
    if known is not None:
        unannotated = sorted(set(known) - set(kept))
        if unannotated:
            report.add("videos_without_rows", ", ".join(unannotated[:3]), len(unannotated))
    report.counts.update(kept=sum(len(v) for v in kept.values()), videos=len(kept))
    report.counts.update({f"videos_{name}": sum(1 for s in subsets.values() if s == name) for name in names})
    writer = _write_activitynet if target == "activitynet" else _write_charades_sta
    outputs = writer(out, kept, durations, subsets)
    return ConvertResult(outputs, subsets, report)


def _write_activitynet(out: Path, kept: dict[str, list[_Row]], durations: dict[str, float],
                       subsets: dict[str, str]) -> list[Path]:
    database = {
        vid: {"subset": subsets[vid], "duration": durations[vid], "url": "", "resolution": "",
              "annotations": [{"segment": [r.start, r.end], "label": r.text} for r in rows]}
        for vid, rows in sorted(kept.items())
    }
    atomic_write_json(out, {"version": "VERSION 1.3", "taxonomy": [], "database": database})
    return [out]


def _write_charades_sta(out: Path, kept: dict[str, list[_Row]], durations: dict[str, float],
                        subsets: dict[str, str]) -> list[Path]:
    outputs = []
    for split in TARGETS["charades-sta"][0]:
        videos = [v for v in sorted(kept) if subsets[v] == split]
        lines = "".join(f"{r.video} {r.start:.2f} {r.end:.2f}##{r.text}\n" for v in videos for r in kept[v])
        atomic_write_text(out / f"charades_sta_{split}.txt", lines)
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(CHARADES_COLUMNS)
        writer.writerows([v, *[""] * (len(CHARADES_COLUMNS) - 2), f"{durations[v]:.2f}"] for v in videos)
        atomic_write_text(out / f"Charades_v1_{split}.csv", table.getvalue())
        outputs += [out / f"charades_sta_{split}.txt", out / f"Charades_v1_{split}.csv"]
    return outputs


def _fractions(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated fractions, got {text!r}") from None


def add_parser(sub) -> None:
    """The ``convert`` subcommand of ``bsp-lightning data``."""
    p = sub.add_parser(
        "convert", help="convert your own CSV (video,start,end,label|sentence) into ActivityNet / Charades-STA files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert one CSV of your own annotations (header video,start,end,label -- or ,sentence for "
        "charades-sta --\noptional duration; seconds) into the official annotation formats, with a seeded split "
        "by video.\nDropped rows (end <= start, unknown video, starting past the video's end, empty text) are "
        "counted and\nlisted; ends past the video are clipped and counted.\n\n"
        "  bsp-lightning data convert csv mine.csv --to activitynet --videos videos/ --out activity_net.json\n"
        "  bsp-lightning data convert csv mine.csv --to charades-sta --videos videos/ --out charades_sta/",
    )
    p.add_argument("source_format", choices=["csv"], help="input format")
    p.add_argument("csv", metavar="CSV", help="the annotation CSV")
    p.add_argument("--to", required=True, choices=list(TARGETS), help="output format")
    p.add_argument("--out", required=True, help="output JSON (activitynet) or folder (charades-sta)")
    p.add_argument("--videos", metavar="DIR", help="the videos: durations and the known ids (else a duration column)")
    p.add_argument("--split", type=_fractions, metavar="F,F[,F]",
                   help="subset fractions: training,validation,testing (default 0.6,0.2,0.2) or train,test "
                        "(default 0.75,0.25)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")


def run(args: argparse.Namespace) -> int:
    """``bsp-lightning data convert``: 0 when written, 2 on bad input (one line)."""
    try:
        result = convert_csv(args.csv, args.to, args.out, args.videos, args.split, args.seed)
    except (AnnotationError, ValueError) as err:
        print(f"bsp-lightning data convert: error: {err}", file=sys.stderr)
        return 2
    print(result.report.format_text())
    print("wrote " + ", ".join(str(p) for p in result.outputs))
    return 0
