"""Benchmark of `bsp-lightning extract`: decode-once, overlap of decoding and compute, bounded memory.

Prints:
1. frames decoded per frame in the video (must be 1.00): the decoder's output frames counted while the
   extraction dataset reads every snippet of each video, divided by the video's frame count;
2. end-to-end snippets/s of ``Trainer.predict`` (decoding in DataLoader workers + backbone + writer) against
   the slower of decode-only (the same DataLoader, no model) and backbone-only (the same snippet batches
   already in memory); the ratio must be >= 0.85;
3. peak RSS of a whole extraction run on a 1-minute and a 10-minute video (generated, 340x256, 30 fps), each
   in a fresh subprocess (``resource.getrusage``: the main process and, separately, its DataLoader workers;
   plus ``VmHWM`` of /proc/self/status); the difference must stay under 200 MB. Linux carries ``ru_maxrss``
   over fork and exec, so these runs start first, from this process while it is still small (its RSS at
   that moment is printed: a floor under the children's figures).

The backbone is a randomly initialised TSM ResNet-18 saved as an official TSM checkpoint (small enough for a
CPU); the frame size is set by --short-side/--crop.

    python benchmarks/extract_throughput.py [--workdir /tmp/bsp-extract-bench] [--crop 112]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

WIDTH, HEIGHT, FPS = 340, 256, 30


def write_video(path: Path, seconds: int) -> Path:
    """A 340x256, 30 fps H.264 video of a drifting texture (cheap to make, not trivially compressible)."""
    if path.exists():
        return path
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, size=(HEIGHT * 2, WIDTH * 2, 3), dtype=np.uint8)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "ultrafast"}
        stream.height, stream.width = HEIGHT, WIDTH
        for i in range(seconds * FPS):
            y, x = (3 * i) % HEIGHT, (5 * i) % WIDTH
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[y : y + HEIGHT, x : x + WIDTH]),
                                               format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.rename(path)
    return path


def write_checkpoint(path: Path) -> Path:
    import torch

    from bsp_lightning.models import TSMClassifier

    if not path.exists():
        torch.manual_seed(0)
        model = TSMClassifier(num_classes=400, arch="resnet18", num_segments=8)
        torch.save({"arch": "resnet18", "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}},
                   path)
    return path


def decoded_frames_per_frame(video: Path, spec) -> tuple[int, int, int]:
    """(decoder output frames, frames in the video, decoder opens) while reading every snippet once."""
    from bsp_lightning.extract import SnippetBatches, VideoItem
    from bsp_lightning.video import probe
    from bsp_lightning.video import snippets as snippets_module

    original = snippets_module._decode_from
    counts = {"frames": 0, "opens": 0}

    def counting(*args, **kwargs):
        counts["opens"] += 1
        previous = None
        for index, frame in original(*args, **kwargs):
            if frame is not previous:  # a repeated frame (timestamp gap) is the same decoder output
                counts["frames"] += 1
            previous = frame
            yield index, frame

    snippets_module._decode_from = counting
    try:
        for _ in SnippetBatches([VideoItem(video.stem, str(video))], spec, batch_size=16).video_batches(
            VideoItem(video.stem, str(video))
        ):
            pass
    finally:
        snippets_module._decode_from = original
    return counts["frames"], probe(video).num_frames, counts["opens"]


def throughput(video: Path, checkpoint: Path, spec, batch_size: int, num_workers: int) -> dict[str, float]:
    """Snippets/s of decode-only, backbone-only and end-to-end on the same video."""
    import numpy as np
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import DataLoader

    from bsp_lightning.extract import (
        FeatureWriter,
        SnippetBatches,
        SnippetDataModule,
        SnippetFeatureExtractor,
        VideoItem,
        load_feature_stream,
    )
    from bsp_lightning.features.store import FeatureStore
    from bsp_lightning.models.normalize import normalize_clip

    item = VideoItem(video.stem, str(video))
    dataset = SnippetBatches([item], spec, batch_size)

    start = time.perf_counter()
    batches = [b["clip"] for b in DataLoader(dataset, batch_size=None, num_workers=num_workers)]
    decode_s = time.perf_counter() - start
    num_snippets = sum(len(b) for b in batches)

    stream, _ = load_feature_stream(checkpoint, spec.snippet_length)
    model = SnippetFeatureExtractor([stream])
    with torch.no_grad():
        model.predict_step({"clip": batches[0], "video_id": "w", "snippet_index": torch.zeros(1),
                            "start_frame": torch.zeros(1), "is_last": False, "fps": 30.0, "num_frames": 0,
                            "error": None}, 0)  # warm-up
        start = time.perf_counter()
        for clip in batches:
            x = normalize_clip(clip, model.mean, model.std)  # once per clip, as predict_step does
            torch.cat([s(x) for s in model.streams], dim=1)
        backbone_s = time.perf_counter() - start
    del batches

    with tempfile.TemporaryDirectory() as out:
        writer = FeatureWriter(FeatureStore(out), "bench", total=1)
        trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, use_distributed_sampler=False,
                             callbacks=[writer])
        start = time.perf_counter()
        trainer.predict(model, datamodule=SnippetDataModule(dataset, num_workers), return_predictions=False)
        e2e_s = time.perf_counter() - start
        assert np.load(Path(out) / f"{video.stem}.npy").shape[0] == num_snippets
    return {
        "snippets": num_snippets,
        "decode_only": num_snippets / decode_s,
        "backbone_only": num_snippets / backbone_s,
        "end_to_end": num_snippets / e2e_s,
    }


def peak_rss_child(video: Path, checkpoint: Path, args: argparse.Namespace) -> dict[str, float]:
    """Run one whole extraction in a fresh interpreter; return its peak RSS (MB) and its workers' peak."""
    code = (
        "import json, resource, sys, tempfile\n"
        "from bsp_lightning.extract import main\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        f"    rc = main(['--checkpoint', {str(checkpoint)!r}, '--videos', {str(video)!r}, '--out', out,\n"
        f"               '--short-side', {str(args.rss_short_side)!r}, '--crop', {str(args.rss_crop)!r},\n"
        f"               '--batch-size', {str(args.batch_size)!r}, '--num-workers', {str(args.num_workers)!r},\n"
        "               '--accelerator', 'cpu'])\n"
        "self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "hwm_kb = int([x for x in open('/proc/self/status') if x.startswith('VmHWM')][0].split()[1])\n"
        "child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print('RSS ' + json.dumps({'rc': rc, 'self_mb': self_kb / 1024, 'workers_mb': child_kb / 1024,\n"
        "                          'hwm_mb': hwm_kb / 1024}))\n"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RSS ")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"extraction subprocess failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result = json.loads(line[-1][4:])
    result["seconds"] = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "bsp-extract-bench"))
    parser.add_argument("--short-side", type=int, default=128, help="frame short side for the throughput runs")
    parser.add_argument("--crop", type=int, default=112, help="crop for the throughput runs")
    parser.add_argument("--rss-short-side", type=int, default=64, help="frame short side for the RSS runs")
    parser.add_argument("--rss-crop", type=int, default=64, help="crop for the RSS runs")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-workers", type=int, default=1)
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS runs (the 10-minute video)")
    args = parser.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    one_min = write_video(work / "one_minute.mp4", 60)
    ten_min = write_video(work / "ten_minutes.mp4", 600) if not args.skip_rss else None
    checkpoint = work / "TSM_toy_resnet18_shift8_blockres.pth"
    subprocess.run([sys.executable, __file__, "--write-checkpoint", str(checkpoint)], check=True)
    print(f"inputs ready in {time.perf_counter() - t0:.1f} s")

    if ten_min is not None:
        floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_one = peak_rss_child(one_min, checkpoint, args)
        rss_ten = peak_rss_child(ten_min, checkpoint, args)
        print(f"[3] peak RSS of a whole extraction ({args.rss_crop}x{args.rss_crop} frames, "
              f"{args.num_workers} worker(s), fresh process each; launcher RSS {floor:.0f} MB):")
        for name, r in (("1-minute", rss_one), ("10-minute", rss_ten)):
            print(f"    {name:9s} video: main ru_maxrss {r['self_mb']:7.1f} MB (VmHWM {r['hwm_mb']:7.1f} MB), "
                  f"workers ru_maxrss {r['workers_mb']:7.1f} MB ({r['seconds']:.0f} s)")
        diff = rss_ten["self_mb"] - rss_one["self_mb"]
        diff_w = rss_ten["workers_mb"] - rss_one["workers_mb"]
        print(f"    difference 10-min - 1-min: main {diff:+.1f} MB, workers {diff_w:+.1f} MB (target < 200 MB)")

    import torch

    from bsp_lightning.extract import SnippetSpec

    spec = SnippetSpec(8, 8, args.short_side, args.crop)
    decoded, frames, opens = decoded_frames_per_frame(one_min, spec)
    print(f"[1] frames decoded per frame in the video: {decoded / frames:.2f} "
          f"({decoded} decoded / {frames} frames, decoder opened {opens}x)")

    rates = throughput(one_min, checkpoint, spec, args.batch_size, args.num_workers)
    bound = min(rates["decode_only"], rates["backbone_only"])
    print(f"[2] 1-minute video, {rates['snippets']} snippets of 8 frames at {args.crop}x{args.crop}, "
          f"{args.num_workers} decoding worker(s), {torch.get_num_threads()} torch threads:")
    print(f"    decode-only   {rates['decode_only']:8.1f} snippets/s")
    print(f"    backbone-only {rates['backbone_only']:8.1f} snippets/s (TSM ResNet-18)")
    print(f"    end-to-end    {rates['end_to_end']:8.1f} snippets/s")
    print(f"    ratio end-to-end / slower of the two = {rates['end_to_end'] / bound:.3f} (target >= 0.85)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-checkpoint":
        write_checkpoint(Path(sys.argv[2]))
    else:
        main()
