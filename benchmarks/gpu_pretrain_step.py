"""TSM-ResNet50 BSP pre-training steps on a CUDA GPU: clips/s and model FLOPs utilisation (MFU).

Synthetic uint8 batches (8 clips x 8 frames x 3 x 224 x 224 by default) already on the GPU, bf16 autocast,
channels-last, SGD with TSM's parameter groups; optionally ``torch.compile``. The FLOPs of one training
step are counted by ``torch.utils.flop_counter`` (forward + backward), and MFU is achieved FLOP/s over the
GPU's dense bf16 peak (H100 SXM / H200: 989 TFLOP/s; H100 PCIe: 756; ``--peak-tflops`` overrides).

``--source shards --shards DIR`` then times the same steps fed by ``BSPDataModule(source="shards")`` (frame
shards written by ``bsp-lightning data pack``, e.g. the R50 ones ``benchmarks/kinetics_layouts.py`` caches in
``/tmp/bsp-bench-kinetics/shards256``) through ``--num-workers`` DataLoader workers with pinned memory, and
prints the step time with real data next to the synthetic one: equal times mean the GPU is fed.

    python benchmarks/gpu_pretrain_step.py [--batch 8] [--frames 8] [--steps 50] [--compile]
    python benchmarks/gpu_pretrain_step.py --source shards --shards /tmp/bsp-bench-kinetics/shards256 --num-workers 16

Exits with status 1 and a message when no CUDA device is present.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from bsp_lightning.module import BSPModule

PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_tflops(name: str) -> float | None:
    for key, value in PEAK_BF16_TFLOPS.items():  # "H100 PCIe" is checked before "H100"
        if key in name:
            return value
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--batch", type=int, default=8, help="clips per step")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--steps", type=int, default=50, help="timed steps (after 10 warm-up steps)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the backbone")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak of the GPU")
    parser.add_argument("--source", choices=("synthetic", "shards"), default="synthetic",
                        help="also time steps fed from frame shards (needs --shards)")
    parser.add_argument("--shards", default=None, help="shard store (with a train/ split) for --source shards")
    parser.add_argument("--num-workers", type=int, default=None, help="DataLoader workers (default: every core)")
    args = parser.parse_args(argv)
    if args.source == "shards" and args.shards is None:
        parser.error("--source shards needs --shards DIR (bsp-lightning data pack output)")
    if not torch.cuda.is_available():
        print("gpu_pretrain_step: no CUDA device found; this benchmark needs a GPU (nothing measured)", file=sys.stderr)
        return 1
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    module = BSPModule(arch=args.arch, num_segments=args.frames, channels_last=True, compile=args.compile).to(device)
    module.configure_model()
    module.train()
    optimizer = torch.optim.SGD(module.parameter_groups(0.01), lr=0.01, momentum=0.9)
    clips = torch.randint(0, 256, (args.batch, args.frames, 3, args.resolution, args.resolution),
                          dtype=torch.uint8, device=device)
    labels = torch.randint(0, 4, (args.batch,), device=device)
    batch = {"clip": clips, "label": labels}

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = module.compute_loss(module(module.normalize(batch["clip"])), batch)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(10):
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.steps

    counter = FlopCounterMode(display=False)
    with counter:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = module.compute_loss(module(module.normalize(batch["clip"])), batch)["loss"]
        loss.backward()
    flops = counter.get_total_flops()
    name = torch.cuda.get_device_name()
    peak = args.peak_tflops or peak_tflops(name)
    achieved = flops / seconds / 1e12
    print(f"{name}: TSM-{args.arch}, {args.batch} clips x {args.frames} frames x {args.resolution}^2, bf16-mixed, "
          f"channels_last{', compiled' if args.compile else ''}")
    print(f"step {1000 * seconds:.1f} ms, {args.batch / seconds:.1f} clips/s, "
          f"{flops / 1e9:.0f} GFLOP/step, {achieved:.1f} TFLOP/s")
    if peak:
        print(f"MFU {100 * achieved / peak:.1f}% of {peak:.0f} TFLOP/s dense bf16")
    else:
        print("MFU: unknown peak for this GPU; pass --peak-tflops")
    if args.source == "shards":
        fed = time_shard_steps(args, step, batch, device)
        print(f"with shards ({args.num_workers or os.cpu_count()} workers): step {1000 * fed:.1f} ms, "
              f"{args.batch / fed:.1f} clips/s; {fed / seconds:.2f}x the synthetic step "
              f"({'data-bound' if fed > 1.05 * seconds else 'GPU-bound'})")
    return 0


def time_shard_steps(args: argparse.Namespace, step, batch: dict, device: torch.device) -> float:
    """Seconds per step when each batch comes from the shards (decoded, synthesized, pinned, copied)."""
    from bsp_lightning.data import BSPDataModule

    data = BSPDataModule(root=args.shards, source="shards", val_split=None, num_frames=args.frames,
                         short_side=256 * args.resolution // 224, resolution=args.resolution, batch_size=args.batch,
                         num_workers=args.num_workers if args.num_workers is not None else os.cpu_count(),
                         pin_memory=True)
    data.setup("fit")
    loader = data.train_dataloader()

    def batches():
        epoch = 0
        while True:
            loader.set_epoch(epoch)
            yield from loader
            epoch += 1

    stream = batches()
    for _ in range(10):  # warm-up: workers started, first batches decoded
        fetched = next(stream)
        batch["clip"], batch["label"] = fetched["clip"].to(device, non_blocking=True), fetched["label"].to(device)
        step()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.steps):
        fetched = next(stream)
        batch["clip"], batch["label"] = fetched["clip"].to(device, non_blocking=True), fetched["label"].to(device)
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / args.steps


if __name__ == "__main__":
    raise SystemExit(main())
