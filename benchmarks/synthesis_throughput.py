"""Throughput of BSP clip synthesis against decoding alone (docs/design.md §4.2).

Generates (once, cached) Kinetics-sized videos: 340x256, 30 fps, about 10 s, H.264 with 2 s GOPs like
YouTube uploads, in the Kinetics folder layout. Then, with one DataLoader worker and a fixed seed:

(a) decode only: :func:`bsp_lightning.video.read_frames` on exactly the frame indices (and short-side
    resize) that the synthesizer of each sample asked for, recorded in a first untimed pass, run by a
    DataLoader worker like (b);
(b) the full BSPDataModule: decode, synthesis, augmentation, collation, worker transfer.

The same seed gives the same samples, so (a) and (b) decode the same frames. (a) and (b) alternate for
``--rounds`` rounds, so that the changing load of a shared machine hits both alike. Prints samples/s
for both, the ratio (b)/(a) (target >= 0.90) and the frames the decoder decodes per frame the
synthesizer uses (estimated from the keyframe layout: decoding starts at the keyframe before the first
wanted frame, or at frame 0 when it is near the start, and stops at the last wanted frame).

Usage::

    python benchmarks/synthesis_throughput.py [--videos-dir DIR] [--samples 240] [--rounds 2] [--short-side 128]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from bsp_lightning.data import BSPDataModule
from bsp_lightning.video import frame_index, probe, read_frames
from bsp_lightning.video.decode import SEEK_MIN_FRAMES


def write_video(path: Path, seconds: float, fps: int, width: int, height: int, seed: int) -> None:
    """A textured background drifting at a per-video speed with a moving bright square, H.264 yuv420p."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(texture, 8, 0), 8, 1)[:height, :width]
    speed = rng.uniform(1, 4)
    num_frames = int(round(seconds * fps))
    tmp = path.with_name(f".{path.name}.tmp.mp4")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = 2 * fps
        stream.options = {"crf": "23", "preset": "veryfast"}
        for k in range(num_frames):
            frame = np.roll(texture, int(k * speed), axis=1)
            x = int((k * 3 * speed) % (width - 40))
            frame[100:140, x : x + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def ensure_videos(root: Path, num_videos: int, seconds: float, fps: int, width: int, height: int) -> None:
    classes = 4
    for v in range(num_videos):
        path = root / "train" / f"class_{v % classes}" / f"video_{v:03d}.mp4"
        if not path.exists():
            print(f"writing {path}", flush=True)
            write_video(path, seconds, fps, width, height, seed=v)


def keyframes(path: str, fps: float) -> np.ndarray:
    """Frame numbers of the keyframes, from the exact index."""
    return frame_index(path).keyframes


def decoded_frames(indices: np.ndarray, keys: np.ndarray) -> int:
    first, last = int(indices.min()), int(indices.max())
    begin = int(keys[keys <= first].max()) if first >= SEEK_MIN_FRAMES and (keys <= first).any() else 0
    return last - begin + 1


def make_datamodule(args: argparse.Namespace, num_workers: int) -> BSPDataModule:
    dm = BSPDataModule(
        root=str(args.videos_dir), val_split=None, num_frames=args.num_frames, frame_stride=args.frame_stride,
        short_side=args.short_side, resolution=args.resolution, batch_size=args.batch_size,
        num_workers=num_workers, samples_per_epoch=args.samples, seed=args.seed,
    )
    dm.setup("fit")
    return dm


def record_requests(args: argparse.Namespace) -> list[list[tuple[str, np.ndarray]]]:
    """Run the dataset once in-process and record every read_frames call, per sample."""
    dm = make_datamodule(args, num_workers=0)
    calls: list[tuple[str, np.ndarray]] = []
    dataset_module = sys.modules[type(dm.train_dataset.source).__module__]  # where the source calls read_frames
    original = dataset_module.read_frames

    def recording(path, indices, short_side=None, info=None, **kwargs):
        calls.append((path, np.asarray(indices).copy(), kwargs.get("threads", 0)))
        return original(path, indices, short_side=short_side, info=info, **kwargs)

    dataset_module.read_frames = recording
    try:
        per_sample = []
        for key in range(len(dm.train_dataset)):
            start = len(calls)
            dm.train_dataset[key]
            per_sample.append(calls[start:])
    finally:
        dataset_module.read_frames = original
    return per_sample


class DecodeOnly(torch.utils.data.Dataset):
    """Sample ``k`` = the recorded read_frames calls of sample ``k``, nothing else."""

    def __init__(self, requests, infos, short_side: int | None) -> None:
        self.requests, self.infos, self.short_side = requests, infos, short_side

    def __len__(self) -> int:
        return len(self.requests)

    def __getitem__(self, k: int) -> torch.Tensor:
        frames = [read_frames(path, indices, short_side=self.short_side, info=self.infos[path], threads=threads)
                  for path, indices, threads in self.requests[k]]
        return torch.tensor(sum(len(f) for f in frames))


def time_loader(loader) -> tuple[float, int]:
    """Samples and seconds after the first batch (worker start-up and the first batch are not timed)."""
    iterator = iter(loader)
    next(iterator)
    begin = time.perf_counter()
    count = 0
    for batch in iterator:
        count += len(batch["label"]) if isinstance(batch, dict) else len(batch)
    return time.perf_counter() - begin, count


def time_decode(requests, infos, args: argparse.Namespace) -> tuple[float, int]:
    dataset = DecodeOnly(requests, infos, args.short_side)
    return time_loader(torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, num_workers=1))


def time_datamodule(args: argparse.Namespace) -> tuple[float, int]:
    return time_loader(make_datamodule(args, num_workers=1).train_dataloader())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos-dir", type=Path, default=Path(tempfile.gettempdir()) / "bsp-bench-videos",
                        help="cache folder of the generated videos")
    parser.add_argument("--num-videos", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--samples", type=int, default=240, help="samples per measurement")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--frame-stride", type=int, default=2)
    parser.add_argument("--short-side", type=int, default=128)
    parser.add_argument("--resolution", type=int, default=112)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved (a), (b) measurement rounds")
    args = parser.parse_args(argv)

    ensure_videos(args.videos_dir, args.num_videos, args.seconds, args.fps, 340, 256)
    print(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}", flush=True)
    requests = record_requests(args)
    paths = sorted({path for sample in requests for path, _, _ in sample})
    infos = {path: probe(path) for path in paths}
    keys = {path: keyframes(path, infos[path].fps) for path in paths}
    unique_used = sum(len(np.unique(indices)) for sample in requests for _, indices, _ in sample)
    decoded = sum(decoded_frames(indices, keys[path]) for sample in requests for path, indices, _ in sample)

    a_runs, b_runs = [], []
    for _ in range(args.rounds):  # interleaved, so that the load of a shared machine hits both alike
        a_runs.append(time_decode(requests, infos, args))
        b_runs.append(time_datamodule(args))
    a_rates = [count / seconds for seconds, count in a_runs]
    b_rates = [count / seconds for seconds, count in b_runs]
    a_rate = sum(c for _, c in a_runs) / sum(t for t, _ in a_runs)
    b_rate = sum(c for _, c in b_runs) / sum(t for t, _ in b_runs)
    print(f"videos: {args.num_videos} ({len(paths)} drawn) of 340x256 @ {args.fps} fps, {args.seconds:.0f} s; samples: {args.samples}; "
          f"clip {args.num_frames} frames, stride {args.frame_stride}, short side {args.short_side}, "
          f"crop {args.resolution}; 1 worker")
    print(f"(a) decode only:      {a_rate:8.1f} samples/s  (rounds: {', '.join(f'{r:.1f}' for r in a_rates)})")
    print(f"(b) full DataModule:  {b_rate:8.1f} samples/s  (rounds: {', '.join(f'{r:.1f}' for r in b_rates)})")
    print(f"ratio (b)/(a):        {b_rate / a_rate:8.3f}  (target >= 0.90)")
    print(f"frames decoded per frame used: {decoded / unique_used:.2f} "
          f"({decoded} decoded for {unique_used} distinct frames requested)")
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
