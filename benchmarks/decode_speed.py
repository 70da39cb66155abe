"""Decode speed of the library against raw single-threaded PyAV on the same samples (docs/design.md §4.7).

Kinetics-like videos (340x256, 30 fps, 10 s, H.264 with 2 s GOPs; the cache of
``synthesis_throughput.py``), one process, short side 128, three workloads:

- ``clip8x2``: 8 frames at stride 2 from a random start (the BSP/TSM training clip);
- ``clip16``: 16 consecutive frames from a random start;
- ``whole``: every frame of a video, in order.

(a) ``bsp_lightning.video`` with ``threads=1`` (``read_frames`` / ``iter_frames``), the exact index
included: the per-process index cache is cleared at the start of every round, so each video's demux
pass is paid once per round (20 videos: once per 10 clips), as a DataLoader worker pays it once per video;
(b) raw PyAV as a careful user writes it: ``thread_count=1``, seek to the timestamp before the first
wanted frame, frame number from ``frame.pts``, one reused ``VideoReformatter`` on one thread.

Both return the same frames on these files (checked). (a) and (b) alternate in chunks of 10 clips (one
whole video); the score is
samples per CPU-second of the process (``time.process_time``, all threads), since DataLoader workers
already fill every core and extra threads only add work. Prints the ratio (a)/(b) per workload (target
>= 0.95) and the cost of the exact index in ms per minute of video.

Usage::

    python benchmarks/decode_speed.py [--videos-dir DIR] [--samples 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthesis_throughput import ensure_videos  # noqa: E402  (the shared video cache)

from bsp_lightning.video import clear_index_cache, iter_frames, probe, read_frames, resized_shape  # noqa: E402
from bsp_lightning.video.index import build_index  # noqa: E402

SEEK_MIN_FRAMES = 16


def raw_read(path: str, indices: np.ndarray, short_side: int) -> np.ndarray:
    """Plain single-threaded PyAV: seek by timestamp, number frames by pts, convert the wanted ones."""
    wanted = sorted(set(int(i) for i in indices))
    out = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        fps, tb = float(stream.average_rate), float(stream.time_base)
        height, width = resized_shape(stream.height, stream.width, short_side)
        reformatter = VideoReformatter()
        if wanted[0] >= SEEK_MIN_FRAMES:
            container.seek(int((wanted[0] - 0.5) / fps / tb), stream=stream, backward=True)
        last, todo = wanted[-1], set(wanted)
        for frame in container.decode(stream):
            k = round(frame.pts * tb * fps)
            if k in todo:
                out[k] = reformatter.reformat(frame, width=width, height=height, format="rgb24",
                                              threads=1).to_ndarray()
            if k >= last:
                break
    return np.stack([out[int(i)] for i in indices])


def raw_whole(path: str, short_side: int) -> int:
    count = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.thread_count = 1
        height, width = resized_shape(stream.height, stream.width, short_side)
        reformatter = VideoReformatter()
        for frame in container.decode(stream):
            reformatter.reformat(frame, width=width, height=height, format="rgb24", threads=1).to_ndarray()
            count += 1
    return count


def make_samples(paths: list[str], lengths: dict[str, int], num: int, span: int, stride: int, seed: int):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(num):
        path = paths[int(rng.integers(len(paths)))]
        start = int(rng.integers(0, lengths[path] - (span - 1) * stride))
        samples.append((path, start + stride * np.arange(span)))
    return samples


def run_ours(workload, samples, short_side) -> None:
    if workload == "whole":
        for path in samples:
            for _ in iter_frames(path, short_side=short_side, threads=1):
                pass
    else:
        for path, indices in samples:
            read_frames(path, indices, short_side=short_side, threads=1)


def run_raw(workload, samples, short_side) -> None:
    if workload == "whole":
        for path in samples:
            raw_whole(path, short_side)
    else:
        for path, indices in samples:
            raw_read(path, indices, short_side)


def cpu_seconds(fn, *args) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn(*args)
    return time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos-dir", type=Path, default=Path(tempfile.gettempdir()) / "bsp-bench-videos")
    parser.add_argument("--num-videos", type=int, default=20)
    parser.add_argument("--samples", type=int, default=200, help="clips per workload and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short-side", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    ensure_videos(args.videos_dir, args.num_videos, 10.0, 30, 340, 256)
    paths = sorted(str(p) for p in args.videos_dir.rglob("*.mp4") if not p.name.startswith("."))
    paths = paths[: args.num_videos]
    lengths = {path: probe(path).num_frames for path in paths}
    workloads = {
        "clip8x2": make_samples(paths, lengths, args.samples, 8, 2, args.seed),
        "clip16": make_samples(paths, lengths, args.samples, 16, 1, args.seed + 1),
        "whole": paths,
    }
    # same frames from both (first samples of each clip workload)
    for path, indices in workloads["clip8x2"][:10] + workloads["clip16"][:10]:
        ours = read_frames(path, indices, short_side=args.short_side, threads=1)
        np.testing.assert_array_equal(ours, raw_read(path, indices, args.short_side))
    print(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}", flush=True)

    # the exact index alone: one demux pass plus the first picture, per video
    cpu = time.process_time()
    for path in paths:
        build_index(path)
    index_cpu = time.process_time() - cpu
    minutes = sum(lengths[p] / 30.0 for p in paths) / 60
    print(f"exact index: {1000 * index_cpu / len(paths):.2f} ms CPU per video, "
          f"{1000 * index_cpu / minutes:.1f} ms per minute of video ({len(paths)} videos of 10 s)")

    print(f"{'workload':<10} {'samples':>7} {'ours/CPU-s':>11} {'raw/CPU-s':>10} {'ratio':>6}  "
          f"{'ours cores':>10} {'raw cores':>9}")
    worst = np.inf
    for name, samples in workloads.items():
        ours_cpu = ours_wall = raw_cpu = raw_wall = 0.0
        chunk = 1 if name == "whole" else 10
        for _ in range(args.rounds):
            clear_index_cache()  # every video's index is paid once per round
            # small alternating chunks, so that the changing load of a shared machine hits both alike
            for number, begin in enumerate(range(0, len(samples), chunk)):
                part = samples[begin:begin + chunk]
                order = (run_ours, run_raw) if number % 2 == 0 else (run_raw, run_ours)
                for fn in order:
                    c, w = cpu_seconds(fn, name, part, args.short_side)
                    if fn is run_ours:
                        ours_cpu, ours_wall = ours_cpu + c, ours_wall + w
                    else:
                        raw_cpu, raw_wall = raw_cpu + c, raw_wall + w
        count = len(samples) * args.rounds
        ratio = (count / ours_cpu) / (count / raw_cpu)
        worst = min(worst, ratio)
        print(f"{name:<10} {count:>7} {count / ours_cpu:>11.1f} {count / raw_cpu:>10.1f} {ratio:>6.3f}  "
              f"{ours_cpu / ours_wall:>10.2f} {raw_cpu / raw_wall:>9.2f}", flush=True)
    print(f"worst ratio (ours/raw, samples per CPU-second): {worst:.3f}  (target >= 0.95)")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
