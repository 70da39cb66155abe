"""``bsp-lightning data pack``: convert a video (or frame-folder) dataset into streamable frame shards.

Each clip is decoded once, resized to the training recipe's short side, resampled to a chosen frame rate
(nearest source frame, as :func:`bsp_lightning.data.synthesis.round_half_up` rounds), and stored one frame per
litdata item, JPEG-encoded at a stated quality or raw ``uint8`` (``--raw``). Clips are shuffled (seeded) so
that every chunk mixes classes, then written ``--chunk-clips`` at a time: one chunk per group
(:mod:`bsp_lightning.data.shards` describes the layout and the clip table).

Work is split into those groups, run by ``--workers`` processes (one decoding thread each), with a progress
bar. A finished group leaves ``<group>.clips.json``; a re-run skips finished groups and redoes the others,
so a killed pack resumes. A clip that does not decode stops the pack with one line naming the file, unless
``--skip-broken``: then it is left out, listed in the clip table, and counted in the summary.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from bsp_lightning.data.frames import FrameFolderError, fps_of, folder_info, iter_folder_frames, read_fps_table
from bsp_lightning.data.index import VideoIndex
from bsp_lightning.data.jpeg import ImageDecodeError, encode_jpeg
from bsp_lightning.data.shards import CLIP_TABLE, SHARD_FORMAT
from bsp_lightning.data.synthesis import round_half_up
from bsp_lightning.utils.io import atomic_write_json
from bsp_lightning.video import VideoDecodeError, iter_frames, probe, resized_shape

__all__ = ["BrokenClipError", "PackError", "add_parser", "keep_frames", "pack", "run"]

_CONFIG = "pack_config.json"


class PackError(ValueError):
    """Bad pack input; the message names the file and the problem."""


class BrokenClipError(PackError):
    """A clip that does not decode (the pack stops unless told to skip such clips)."""


def keep_frames(num_frames: int, source_fps: float | None, fps: float | None) -> np.ndarray:
    """Source frames stored when resampling ``source_fps`` to ``fps``: for stored frame ``j``, the source frame
    nearest to ``j / fps`` seconds (``round_half_up(j * source_fps / fps)``), while inside the clip.

    ``fps`` None, or not below ``source_fps``, keeps every frame.

    Raises:
        PackError: ``fps`` asked for but the source rate is unknown.
    """
    if fps is None or (source_fps is not None and fps >= source_fps):
        return np.arange(num_frames)
    if source_fps is None:
        raise PackError("the source frame rate is unknown: give --source-fps (a number or a side file)")
    count = int(np.floor((num_frames - 1) * fps / source_fps + 1e-9)) + 1
    return np.unique(np.minimum(round_half_up(np.arange(count) * source_fps / fps), num_frames - 1))


def _clip_frames(record: dict[str, Any], opts: dict[str, Any]):
    """``(source fps, iterator of frames, frames to keep, size)`` of one clip; decoding errors propagate."""
    if opts["kind"] == "videos":
        info = probe(record["path"])
        source_fps, num_frames = info.fps, info.num_frames
        size = resized_shape(info.height, info.width, opts["short_side"])
        frames = iter_frames(record["path"], short_side=opts["short_side"], threads=1)
    else:
        info = folder_info(record["path"], opts["frame_template"])
        source_fps, num_frames = record["source_fps"], info.num_frames
        size = resized_shape(info.height, info.width, opts["short_side"])
        frames = iter_folder_frames(info, opts["short_side"])
    return source_fps, frames, keep_frames(num_frames, source_fps, opts["fps"]), size, num_frames


def _pack_clip(record: dict[str, Any], opts: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    source_fps, frames, keep, size, num_frames = _clip_frames(record, opts)
    wanted = set(keep.tolist())
    items: list[Any] = []
    decoded = 0
    for number, rgb in enumerate(frames):
        decoded += 1
        if number in wanted:
            items.append(rgb.copy() if opts["raw"] else encode_jpeg(rgb, opts["quality"]))
        if number >= keep[-1]:
            break
    if len(items) != len(keep):
        raise VideoDecodeError(record["path"], f"partial: {decoded} of {num_frames} frames decoded")
    stored_fps = source_fps if opts["fps"] is None or source_fps is None else min(opts["fps"], source_fps)
    entry = {"id": record["video_id"], "label": record["label_index"], "source": record["path"],
             "fps": stored_fps, "num_frames": len(items), "height": size[0], "width": size[1]}
    return items, entry


def _pack_group(group: int, records: list[dict[str, Any]], opts: dict[str, Any]) -> dict[str, Any]:
    """Write one group of clips as chunk ``chunk-<group>-0.bin``; returns its clip entries and skips."""
    from litdata.streaming.writer import BinaryWriter

    out = Path(opts["out"])
    clips, skipped = [], []
    os.environ["DATA_OPTIMIZER_GLOBAL_RANK"] = str(group)  # litdata names the chunk and index files by it
    with contextlib.redirect_stdout(io.StringIO()):  # litdata prints the data format it infers
        writer = BinaryWriter(str(out), chunk_size=10**9)  # one chunk per group
        item = 0
        for record in records:
            try:
                frames, entry = _pack_clip(record, opts)
            except (VideoDecodeError, PackError) as err:
                reason = err.reason if isinstance(err, VideoDecodeError) else str(err)
                if not opts["skip_broken"]:
                    raise BrokenClipError(f"{record['path']}: {reason}") from None
                skipped.append({"id": record["video_id"], "source": record["path"], "reason": reason})
                continue
            for frame in frames:
                writer.add_item(item, {"frame": frame})
                item += 1
            clips.append(entry)
        if item:
            writer.done()
    summary = {"group": group, "clips": clips, "skipped": skipped}
    atomic_write_json(out / f"{group}.clips.json", summary)  # written last: marks the group finished
    return summary


def _merge_index(out: Path, groups: Sequence[int]) -> None:
    """litdata's merge of the groups' ``<group>.index.json`` into ``index.json``, done in a scratch folder so
    that a kill leaves the group files in place."""
    from litdata.streaming.writer import BinaryWriter

    scratch = out / ".merge"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for group in groups:
        shutil.copy2(out / f"{group}.index.json", scratch / f"{group}.index.json")
    with contextlib.redirect_stdout(io.StringIO()):
        BinaryWriter(str(scratch), chunk_size=1)._merge_no_wait()  # the merge step of litdata.optimize
    os.replace(scratch / "index.json", out / "index.json")
    shutil.rmtree(scratch)


def pack(index: VideoIndex, out: str | os.PathLike, *, short_side: int | None = 256, fps: float | None = None,
         quality: int = 90, raw: bool = False, chunk_clips: int = 16, workers: int | None = None,
         skip_broken: bool = False, seed: int = 0, frame_template: str | None = None,
         source_fps: float | str | None = None, progress: bool = True) -> dict[str, Any]:
    """Pack the clips of ``index`` into frame shards in ``out`` (one split; see the module docstring).

    Args:
        index: the clips (videos or frame folders, :attr:`VideoIndex.kind`).
        out: the split's shard folder (created).
        short_side: stored short side in pixels (None: the source size).
        fps: stored frame rate (None: the source rate).
        quality: JPEG quality; ignored with ``raw``.
        raw: store ``uint8 (H, W, 3)`` arrays instead of JPEG.
        chunk_clips: clips per chunk.
        workers: processes (None: every core).
        skip_broken: leave out clips that do not decode instead of stopping.
        seed: seed of the clip order.
        frame_template, source_fps: frame folders: image name template, and their frame rate (a number or a
            side file, :func:`bsp_lightning.data.frames.read_fps_table`).
        progress: show a progress bar.

    Returns:
        The summary: ``clips``, ``chunks``, ``skipped`` (list), ``reused_groups``, ``seconds``, ``workers``.

    Raises:
        BrokenClipError: a clip that does not decode (without ``skip_broken``).
        PackError: a folder packed with other options, bad options, or no clip packed.
    """
    if chunk_clips < 1 or not 1 <= quality <= 100 or (short_side is not None and short_side < 1):
        raise PackError(f"need chunk_clips >= 1, 1 <= quality <= 100 and short_side >= 1 "
                        f"(got {chunk_clips}, {quality}, {short_side})")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    opts = {"out": str(out), "kind": index.kind, "short_side": short_side, "fps": fps,
            "quality": None if raw else quality, "raw": raw, "chunk_clips": chunk_clips, "seed": seed,
            "frame_template": frame_template, "skip_broken": skip_broken}
    table = read_fps_table(source_fps) if index.kind == "frames" else None
    order = np.random.default_rng(seed).permutation(len(index))
    records = [dict(index[i]._asdict(), source_fps=fps_of(table, index[i].video_id)) for i in order]
    unknown = [r["path"] for r in records if index.kind == "frames" and fps is not None and r["source_fps"] is None]
    if unknown:
        raise PackError(f"{unknown[0]}: frame folder without a frame rate ({len(unknown)} of {len(records)}); "
                        "--fps resamples them from --source-fps (a number or a JSON/CSV side file)")
    config = {k: v for k, v in opts.items() if k not in ("out", "skip_broken")}
    config.update(videos=len(index), source_fps=None if source_fps is None else str(source_fps))
    if (out / CLIP_TABLE).is_file() and (out / _CONFIG).is_file():
        finished = json.loads((out / CLIP_TABLE).read_text())
        if finished.get("config") == config:  # finished before with the same options
            return {"clips": len(finished["clips"]["id"]), "chunks": int(max(finished["clips"]["chunk"])) + 1,
                    "skipped": finished["skipped"], "reused_groups": -1, "seconds": time.perf_counter() - started,
                    "workers": 0}
    if (out / _CONFIG).is_file():
        previous = json.loads((out / _CONFIG).read_text())
        if previous != config:
            changed = sorted(k for k in config if previous.get(k) != config[k])
            raise PackError(f"{out}: packed before with other options ({', '.join(changed)}); "
                            "use another --out or delete it")
    else:
        atomic_write_json(out / _CONFIG, config)
    groups = [records[i:i + chunk_clips] for i in range(0, len(records), chunk_clips)]
    done = {g: json.loads((out / f"{g}.clips.json").read_text()) for g in range(len(groups))
            if (out / f"{g}.clips.json").is_file()}
    for g in range(len(groups)):
        if g not in done:  # a group a killed run left half-written
            for stale in out.glob(f"chunk-{g}-*.bin"):
                stale.unlink()
            (out / f"{g}.index.json").unlink(missing_ok=True)
    todo = [g for g in range(len(groups)) if g not in done]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    from tqdm import tqdm

    bar = tqdm(total=len(records), initial=sum(len(groups[g]) for g in done), unit="clip", disable=not progress,
               desc=f"pack {out.name}")
    import litdata.streaming.writer  # noqa: F401  (imported once here, not in every forked worker)

    pool = ProcessPoolExecutor(workers)
    try:
        futures = {pool.submit(_pack_group, g, groups[g], opts): g for g in todo}
        for future in as_completed(futures):
            done[futures[future]] = future.result()  # a PackError stops the pack here
            bar.update(len(groups[futures[future]]))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # groups under way finish (a re-run reuses them)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()
    return _finish(index, out, done, opts, config, time.perf_counter() - started, workers, len(groups) - len(todo))


def _finish(index: VideoIndex, out: Path, done: dict[int, dict[str, Any]], opts: dict[str, Any],
            config: dict[str, Any], seconds: float, workers: int, reused: int) -> dict[str, Any]:
    written = [g for g in sorted(done) if done[g]["clips"]]
    if not written:
        raise PackError(f"{out}: no clip could be packed ({len(index)} sources, all broken)")
    _merge_index(out, written)
    columns: dict[str, list[Any]] = {k: [] for k in ("id", "label", "source", "fps", "num_frames", "height",
                                                       "width", "chunk")}
    for chunk, group in enumerate(written):
        for entry in done[group]["clips"]:
            for key, value in entry.items():
                columns[key].append(value)
            columns["chunk"].append(chunk)
    skipped = [s for g in sorted(done) for s in done[g]["skipped"]]
    atomic_write_json(out / CLIP_TABLE, {
        "format": SHARD_FORMAT, "version": 1, "encoding": "raw" if opts["raw"] else "jpeg",
        "quality": opts["quality"], "short_side": opts["short_side"], "fps": opts["fps"], "split": index.split,
        "source_root": index.root, "classes": index.classes, "config": config, "skipped": skipped, "clips": columns,
    })
    for group in done:
        (out / f"{group}.clips.json").unlink(missing_ok=True)
        (out / f"{group}.index.json").unlink(missing_ok=True)
    return {"clips": len(columns["id"]), "chunks": len(written), "skipped": skipped, "reused_groups": reused,
            "seconds": seconds, "workers": workers}


# ------------------------------------------------------------------------------------------------------ CLI
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``pack`` to the ``bsp-lightning data`` sub-commands."""
    parser = subparsers.add_parser(
        "pack", help="convert videos or frame folders into streamable frame shards (litdata)",
        description=(
            "Convert a video (or frame-folder) dataset in the Kinetics layout into litdata frame shards in "
            "OUT/<split>/: every clip decoded once, resized to --short-side, resampled to --fps (nearest source "
            "frame), stored as JPEG at --quality or raw uint8 (--raw), --chunk-clips clips per chunk (shuffled, "
            "so chunks mix classes), with each clip's class, source, frame rate and frame count in bsp_clips.json. "
            "Runs on --workers processes with a progress bar; a killed pack resumes. A clip that does not decode "
            "stops it (one line naming the file) unless --skip-broken, which leaves such clips out and counts "
            "them. Train on the result with --data.source shards --data.root OUT."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("source", help="dataset root in the Kinetics layout (<split>/<label>/<clip>.mp4 or frame "
                                       "folders <split>/<label>/<clip>/img_00001.jpg)")
    parser.add_argument("--out", required=True, help="shard store; the split goes to OUT/<split>/")
    parser.add_argument("--split", default="train", help="split to pack")
    parser.add_argument("--csv", default=None, help="Kinetics CSV or TSM/mmaction2 list of the split "
                                                    "(default: SOURCE/<split>.csv when it exists, else the folders)")
    parser.add_argument("--source-kind", choices=("videos", "frames"), default="videos",
                        help="what SOURCE holds: video files or frame folders")
    parser.add_argument("--short-side", type=_size, default=256, help="stored short side in pixels ('none': keep)")
    parser.add_argument("--fps", type=float, default=None, help="stored frame rate (default: the source rate)")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    parser.add_argument("--raw", action="store_true", help="store raw uint8 frames instead of JPEG")
    parser.add_argument("--chunk-clips", type=int, default=16, help="clips per chunk")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    parser.add_argument("--skip-broken", action="store_true",
                        help="leave out clips that do not decode (listed and counted) instead of stopping")
    parser.add_argument("--seed", type=int, default=0, help="seed of the clip order")
    parser.add_argument("--frame-template", default=None, help="frame folders: image names, e.g. img_{:05d}.jpg "
                                                               "(default: detected)")
    parser.add_argument("--source-fps", default=None, help="frame folders: their frame rate, a number or a JSON/CSV "
                                                           "side file (needed with --fps)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _size(text: str) -> int | None:
    if text.lower() == "none":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or 'none', got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``pack`` for parsed ``args``: exit code 0, or 2 with one line on stderr for bad input."""
    from bsp_lightning.data.lists import open_index

    out = Path(args.out) / args.split
    try:
        index = open_index(args.source, args.csv, args.split, args.source_kind)
        summary = pack(index, out, short_side=args.short_side, fps=args.fps, quality=args.quality, raw=args.raw,
                       chunk_clips=args.chunk_clips, workers=args.workers, skip_broken=args.skip_broken,
                       seed=args.seed, frame_template=args.frame_template, source_fps=args.source_fps,
                       progress=not args.no_progress)
    except (PackError, FrameFolderError, ImageDecodeError, FileNotFoundError, ValueError) as err:
        hint = ("; re-run with --skip-broken to pack the others (finished chunks are kept)"
                if isinstance(err, BrokenClipError) else "")
        print(f"bsp-lightning data pack: error: {err}{hint}", file=sys.stderr)
        return 2
    if summary["reused_groups"] < 0:
        print(f"pack: {out} already holds these {summary['clips']} clips (same options); nothing to do")
        return 0
    skipped = summary["skipped"]
    rate = summary["clips"] / max(summary["seconds"], 1e-9)
    print(f"pack: {summary['clips']} clips in {summary['chunks']} chunks -> {out} in {summary['seconds']:.1f} s "
          f"({rate:.1f} clips/s on {summary['workers']} workers)"
          + (f"; {summary['reused_groups']} chunks reused from an earlier run" if summary["reused_groups"] else "")
          + (f"; {len(skipped)} broken source(s) skipped, listed in {out / CLIP_TABLE}" if skipped else ""))
    return 0
