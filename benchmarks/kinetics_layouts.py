"""BSP pre-training data at Kinetics scale: videos, frame folders and frame shards side by side (docs/decisions.md#kinetics-layouts).

Kinetics-like clips from the generator of ``synthesis_throughput.py`` (340x256, 30 fps, 10 s, H.264 with 2 s
GOPs), in the Kinetics folder layout, and derived from them (cached next to the videos):

- frame folders: every frame as ``img_00001.jpg`` at short side 256, JPEG quality 90 (TSM/mmaction2 style);
- frame shards: ``bsp-lightning data pack`` at the recipe's short side, JPEG quality 90; and raw ``uint8`` at
  short side 128 (the R18 recipe; at 256 its size is computed, not written).

Two recipes: TSM-R50 (8 frames every 2, short side 256, crop 224) and TSM-R18 (short side 128, crop 112).
For each layout and recipe, the full BSPDataModule runs in one DataLoader worker process; its CPU time (user +
system, from ``getrusage(RUSAGE_CHILDREN)``) gives:

- BSP samples per CPU-second, and the shards/videos ratio at R50 (goal >= 3);
- the ratio to the memory-copy bound: copying, per sample, the distinct frames a sample needs (counted from
  the shard plans) out of a resident array, as fast as this machine copies;
- cores per GPU for a 2,000 clips/s TSM-R50 step (2,000 / samples per CPU-second);

and, per layout: bytes on disk per 1,000 clips, and pack throughput in clips per CPU-second of its worker.
It also times the two JPEG decoders (PIL with draft mode, torchvision) at both sizes.

On a shared machine the figures are CPU time, so other load changes them less than wall time; each is the
median of ``--rounds`` rounds.

Usage::

    python benchmarks/kinetics_layouts.py [--videos-dir DIR] [--num-videos 60] [--samples 160] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synthesis_throughput import ensure_videos  # noqa: E402  (the shared video cache)

from bsp_lightning.data import BSPDataModule  # noqa: E402
from bsp_lightning.data.jpeg import decode_image, encode_jpeg  # noqa: E402
from bsp_lightning.data.lists import open_index  # noqa: E402
from bsp_lightning.data.pack import pack  # noqa: E402
from bsp_lightning.data.shards import ShardStore  # noqa: E402
from bsp_lightning.data.stream_dataset import ShardStreamDataset  # noqa: E402
from bsp_lightning.video import iter_frames  # noqa: E402

RECIPES = {"R50": {"short_side": 256, "resolution": 224}, "R18": {"short_side": 128, "resolution": 112}}
GPU_CLIPS_PER_S = 2000


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def write_frame_folders(videos: Path, out: Path, short_side: int) -> None:
    """Every frame of every video as JPEG quality 90 at ``short_side``, in the same label layout."""
    for video in sorted(videos.rglob("*.mp4")):
        folder = out / video.relative_to(videos).with_suffix("")
        if (folder / ".done").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for k, rgb in enumerate(iter_frames(video, short_side=short_side, threads=1)):
            (folder / f"img_{k + 1:05d}.jpg").write_bytes(encode_jpeg(rgb, 90))
        (folder / ".done").touch()


def pack_rate(videos: Path, out: Path, short_side: int, raw: bool) -> float:
    """Pack on one worker process (cached); clips per CPU-second of that worker."""
    if (out / "train" / "bsp_clips.json").is_file() and (out / "rate.txt").is_file():
        return float((out / "rate.txt").read_text())
    index = open_index(videos, None, "train")
    cpu = children_cpu()
    pack(index, out / "train", short_side=short_side, raw=raw, quality=90, workers=1, progress=False)
    rate = len(index) / (children_cpu() - cpu)
    (out / "rate.txt").write_text(str(rate))
    return rate


class _Empty(torch.utils.data.IterableDataset):
    def __iter__(self):
        yield torch.zeros(1)


def worker_start_cost(passes: int = 8) -> float:
    """CPU-seconds to start, run and end a DataLoader worker that yields one tiny batch."""
    cpu = children_cpu()
    for _ in range(passes):
        list(torch.utils.data.DataLoader(_Empty(), batch_size=None, num_workers=1))
    return (children_cpu() - cpu) / passes


def samples_per_cpu_second(root: Path, source: str, recipe: dict, samples: int, seed: int, start: float) -> float:
    """Samples per CPU-second of one (persistent) DataLoader worker running the whole BSPDataModule, without the
    cost ``start`` of starting the worker (a training run pays it once)."""
    dm = BSPDataModule(root=str(root), source=source, val_split=None, num_frames=8, frame_stride=2,
                       batch_size=8, num_workers=1, samples_per_epoch=samples if source != "shards" else None,
                       seed=seed, **recipe)
    dm.setup("fit")
    loader = dm.train_dataloader()
    count, epoch = 0, 0
    cpu = children_cpu()
    while count < samples:
        loader.set_epoch(epoch)
        count += sum(len(batch["label"]) for batch in loader)
        epoch += 1
    del loader, dm  # the persistent worker is joined here; getrusage counts joined children
    gc.collect()
    return count / (children_cpu() - cpu - start)


def frames_per_sample(store: Path, recipe: dict) -> float:
    """Distinct stored frames a sample reads (both sources), over one epoch of the shard plan."""
    dm = BSPDataModule(root=str(store), source="shards", val_split=None, num_frames=8, frame_stride=2, batch_size=8,
                       num_workers=0, **recipe)
    dm.setup("fit")
    dataset: ShardStreamDataset = dm.train_dataset
    specs = dataset.plan(0).samples
    return float(np.mean([len(np.unique(s.indices)) + (len(np.unique(s.mate_indices[:5])) if s.mate >= 0 else 0)
                          for s in specs]))


def copy_bound(short_side: int, frames: float, seconds: float = 1.0) -> float:
    """Samples per CPU-second when a sample only copies ``frames`` frames out of a resident array."""
    height, width = short_side, round(340 * short_side / 256)
    source = np.random.default_rng(0).integers(0, 256, (300, height, width, 3), dtype=np.uint8)
    rng = np.random.default_rng(1)
    out = np.empty((int(np.ceil(frames)), height, width, 3), dtype=np.uint8)
    count, cpu = 0, time.process_time()
    while time.process_time() - cpu < seconds:
        np.copyto(out, source[rng.integers(0, 300, len(out))])
        count += 1
    per_frame = (time.process_time() - cpu) / (count * len(out))
    return 1.0 / (per_frame * frames)


def decoder_times(folder: Path) -> dict[tuple[str, int], float]:
    """ms of CPU per frame for each decoder at short side 256 (stored size) and 128 (half)."""
    data = [p.read_bytes() for p in sorted(folder.glob("img_*.jpg"))[:100]]
    out = {}
    for decoder in ("pil", "torchvision"):
        for short in (256, 128):
            size = (short, round(340 * short / 256))
            decode_image(data[0], size, (256, 340), decoder)
            cpu = time.process_time()
            for _ in range(3):
                for d in data:
                    decode_image(d, size, (256, 340), decoder)
            out[(decoder, short)] = 1000 * (time.process_time() - cpu) / (3 * len(data))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos-dir", type=Path, default=Path(tempfile.gettempdir()) / "bsp-bench-kinetics")
    parser.add_argument("--num-videos", type=int, default=60)
    parser.add_argument("--samples", type=int, default=160, help="samples per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    base = args.videos_dir
    ensure_videos(base / "videos", args.num_videos, 10.0, 30, 340, 256)
    print(f"cpus: {os.cpu_count()}, load average before: {os.getloadavg()}", flush=True)
    write_frame_folders(base / "videos" / "train", base / "frames" / "train", 256)
    pack_rates = {("shards", "R50"): pack_rate(base / "videos", base / "shards256", 256, raw=False),
                  ("shards", "R18"): pack_rate(base / "videos", base / "shards128", 128, raw=False),
                  ("shards raw", "R18"): pack_rate(base / "videos", base / "raw128", 128, raw=True)}
    roots = {("videos", "R50"): (base / "videos", "videos"), ("videos", "R18"): (base / "videos", "videos"),
             ("frames", "R50"): (base / "frames", "frames"), ("frames", "R18"): (base / "frames", "frames"),
             ("shards", "R50"): (base / "shards256", "shards"), ("shards", "R18"): (base / "shards128", "shards"),
             ("shards raw", "R18"): (base / "raw128", "shards")}
    clips = args.num_videos
    raw256 = int(ShardStore(base / "shards256" / "train").num_frames.sum()) * 256 * 340 * 3
    disk = {"videos": folder_bytes(base / "videos" / "train"), "frames": folder_bytes(base / "frames" / "train"),
            ("shards", "R50"): folder_bytes(base / "shards256"), ("shards", "R18"): folder_bytes(base / "shards128"),
            ("shards raw", "R18"): folder_bytes(base / "raw128"), ("shards raw", "R50"): raw256}
    rates: dict[tuple[str, str], list[float]] = {key: [] for key in roots}
    start = worker_start_cost()
    for round_ in range(args.rounds):  # interleaved, so that a shared machine's load hits every layout alike
        for key, (root, source) in roots.items():
            rates[key].append(samples_per_cpu_second(root, source, RECIPES[key[1]], args.samples, args.seed + round_,
                                                     start))
        print(f"round {round_ + 1}: " + ", ".join(f"{k[0]} {k[1]} {v[-1]:.1f}" for k, v in rates.items()), flush=True)
    median = {key: float(np.median(v)) for key, v in rates.items()}
    bounds = {}
    for name, recipe in RECIPES.items():
        store = base / ("shards256" if name == "R50" else "shards128")
        bounds[name] = (copy_bound(recipe["short_side"], frames_per_sample(store, recipe)),
                        frames_per_sample(store, recipe))

    print(f"\n{args.num_videos} clips of 340x256 @ 30 fps, 10 s, H.264 (2 s GOPs); 8 frames every 2; one worker; "
          f"median of {args.rounds} rounds of {args.samples} samples; CPU = user + system, less "
          f"{1000 * start:.0f} ms per worker start")
    print(f"{'recipe':<6} {'layout':<12} {'samples/CPU-s':>13} {'x copy bound':>12} {'GB/1000 clips':>13} "
          f"{'pack clips/CPU-s':>16} {'cores/GPU':>9}")
    for (layout, recipe), rate in median.items():
        size = disk.get((layout, recipe), disk.get(layout))
        pack_ = pack_rates.get((layout, recipe))
        print(f"{recipe:<6} {layout:<12} {rate:>13.1f} {rate / bounds[recipe][0]:>12.3f} "
              f"{size / clips * 1000 / 1e9:>13.2f} {(f'{pack_:.2f}' if pack_ else '-'):>16} "
              f"{GPU_CLIPS_PER_S / rate:>9.1f}")
    print(f"R50 shards raw (computed, not written): {raw256 / clips * 1000 / 1e9:.1f} GB/1000 clips")
    for name, (bound, frames) in bounds.items():
        print(f"{name} copy bound: {bound:.0f} samples/CPU-s ({frames:.2f} distinct frames per sample)")
    ratio = median[("shards", "R50")] / median[("videos", "R50")]
    print(f"R50 shards / videos: {ratio:.2f}x (goal >= 3)")
    times = decoder_times(next((base / "frames" / "train").rglob("img_00001.jpg")).parent)
    print("JPEG decode, ms CPU per 340x256 frame: " + ", ".join(
        f"{d} {'full' if s == 256 else 'half'} {t:.3f}" for (d, s), t in times.items()))
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
