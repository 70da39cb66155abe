"""``bsp-lightning data check-videos DIR|LIST [--json OUT]``: one pass over a video collection.

Every file is indexed (:mod:`bsp_lightning.video.index`) and decoded to its end on one thread, in
parallel worker processes, and reported with its problems (the checks mmaction2 users run before
training):

- ``no_video_stream``: the file opens but holds no video stream (an audio-only download);
- ``undecodable``: missing, empty or not a video container, or no picture decodes;
- ``partial``: fewer pictures decode than the exact index holds, or the file ends before its container
  says it does (half-downloaded MP4 or Matroska; the detail gives the count the container declares);
- ``rotated``: a display matrix turns or mirrors the pictures (applied when decoding);
- ``variable_frame_rate``: frame intervals differ by more than 10 %;
- ``size_changes``: the stored picture size changes mid-stream (converted to the first size when decoding).

The summary prints a count per problem and one line per file with problems; ``--json OUT`` writes every
file's record. Exit code 0 when every file is usable for training (no ``undecodable`` or
``no_video_stream``), 1 otherwise, 2 for a bad argument.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bsp_lightning.video.decode import partial_reason
from bsp_lightning.video.errors import VideoDecodeError
from bsp_lightning.video.extensions import VIDEO_EXTENSIONS
from bsp_lightning.video.index import build_index
from bsp_lightning.video.reader import FrameReader

__all__ = ["PROBLEMS", "add_parser", "check_video", "check_videos", "collect_videos", "format_report", "run",
           "summarize"]

PROBLEMS = ("no_video_stream", "undecodable", "partial", "rotated", "variable_frame_rate", "size_changes")
FATAL = ("no_video_stream", "undecodable")


def collect_videos(source: str | os.PathLike) -> list[Path]:
    """The videos under folder ``source`` (recursive, by extension), or listed in text file ``source``
    (one path per line, relative to the list's folder; blank lines and ``#`` comments skipped).

    Raises:
        ValueError: ``source`` does not exist, or is a folder without videos.
    """
    source = Path(source)
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*")
                       if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file() and not p.name.startswith("."))
        if not paths:
            raise ValueError(f"{source}: no video files ({', '.join(VIDEO_EXTENSIONS)})")
        return paths
    if not source.is_file():
        raise ValueError(f"{source}: no such folder or file")
    if source.suffix.lower() in VIDEO_EXTENSIONS:
        return [source]
    paths = []
    for line in source.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            path = Path(line)
            paths.append(path if path.is_absolute() else source.parent / path)
    if not paths:
        raise ValueError(f"{source}: the list names no video")
    return paths


def check_video(path: str | os.PathLike) -> dict[str, Any]:
    """Index and fully decode one video; return its record (``problems`` lists the names of PROBLEMS)."""
    path = os.fspath(path)
    record: dict[str, Any] = {"path": path, "problems": [], "detail": ""}
    try:
        index = build_index(path)
    except VideoDecodeError as err:
        record["problems"].append("no_video_stream" if "no video stream" in err.reason else "undecodable")
        record["detail"] = err.reason
        return record
    geometry = index.geometry
    height, width = geometry.display_size
    record.update(num_frames=index.num_frames, fps=index.fps, duration=index.duration, width=width,
                  height=height, rotation=geometry.rotation, hflip=geometry.hflip)
    sizes: list[tuple[int, int]] = []
    decoded = 0
    reader = FrameReader(path, threads=1, index=index)
    try:
        for _, frame in reader.frames(0):
            decoded += 1
            size = (frame.width, frame.height)
            if not sizes or sizes[-1] != size:
                sizes.append(size)
    except VideoDecodeError as err:  # the file changed or vanished since it was indexed
        reader.error = err.reason
    finally:
        reader.close()
    record["decoded_frames"] = decoded
    record["sizes"] = [list(size) for size in dict.fromkeys(sizes)]
    details = []
    partial = partial_reason(index, decoded, reader.error)
    if partial is not None and (index.truncated or decoded < index.num_frames):
        record["problems"].append("partial")
        details.append(partial)
    if geometry.transformed:
        record["problems"].append("rotated")
        details.append(f"display matrix: {geometry.rotation} degrees" + (", mirrored" if geometry.hflip else ""))
    if index.variable_frame_rate:
        record["problems"].append("variable_frame_rate")
    if len(record["sizes"]) > 1:
        record["problems"].append("size_changes")
        details.append("sizes " + ", ".join(f"{w}x{h}" for w, h in record["sizes"]))
    record["detail"] = "; ".join(details)
    return record


def check_videos(paths: Sequence[str | os.PathLike], workers: int | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """:func:`check_video` over ``paths`` in ``workers`` processes (default: one per core, at most 8).

    Returns ``{"num_videos", "num_with_problems", "counts": {problem: n}, "videos": [record, ...]}``
    with the records in the order of ``paths``.
    """
    workers = workers or min(8, os.cpu_count() or 1)
    paths = [os.fspath(p) for p in paths]
    records: dict[str, dict[str, Any]] = {}
    bar = _progress(len(paths), progress)
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            records[path] = check_video(path)
            bar.update(1)
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(check_video, path): path for path in paths}
            for future in concurrent.futures.as_completed(futures):
                path = futures[future]
                try:
                    records[path] = future.result()
                except Exception as err:  # a worker that died (FFmpeg crash) is the file's problem
                    records[path] = {"path": path, "problems": ["undecodable"],
                                     "detail": f"the checking process failed ({type(err).__name__}: {err})"}
                bar.update(1)
    bar.close()
    videos = [records[path] for path in paths]
    return {"num_videos": len(videos), "num_with_problems": sum(bool(v["problems"]) for v in videos),
            "counts": summarize(videos), "videos": videos}


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="video", desc="check-videos", file=sys.stderr, dynamic_ncols=True)


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['num_videos']} videos, {report['num_with_problems']} with problems"]
    lines += [f"  {name:<20} {count}" for name, count in report["counts"].items()]
    for video in report["videos"]:
        if video["problems"]:
            lines.append(f"{video['path']}: {', '.join(video['problems'])}"
                         + (f" ({video['detail']})" if video["detail"] else ""))
    return "\n".join(lines)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check-videos`` to the ``bsp-lightning data`` sub-commands."""
    parser = subparsers.add_parser(
        "check-videos", help="decode a video collection once and report problem files",
        description=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", help="a folder (searched recursively) or a text file listing videos")
    parser.add_argument("--json", metavar="OUT", help="also write every file's record as JSON to OUT")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores, at most 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``check-videos`` for parsed ``args``; returns the exit code."""
    from bsp_lightning.utils.io import atomic_write_json

    try:
        paths = collect_videos(args.source)
    except ValueError as err:
        print(f"bsp-lightning data check-videos: error: {err}", file=sys.stderr)
        return 2
    report = check_videos(paths, workers=args.workers, progress=not args.no_progress)
    print(format_report(report))
    if args.json:
        atomic_write_json(args.json, report)
    return 1 if any(report["counts"][name] for name in FATAL) else 0


def summarize(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Count per problem over ``records`` (the ``counts`` of :func:`check_videos`)."""
    records = list(records)
    return {name: sum(name in r["problems"] for r in records) for name in PROBLEMS}
