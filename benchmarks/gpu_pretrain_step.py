"""TSM-ResNet50 BSP pre-training steps on a CUDA GPU: clips/s and model FLOPs utilisation (MFU).

Synthetic uint8 batches (8 clips x 8 frames x 3 x 224 x 224 by default) already on the GPU, bf16 autocast,
channels-last, SGD with TSM's parameter groups; optionally ``torch.compile``. The FLOPs of one training
step are counted by ``torch.utils.flop_counter`` (forward + backward), and MFU is achieved FLOP/s over the
GPU's dense bf16 peak (H100 SXM / H200: 989 TFLOP/s; H100 PCIe: 756; ``--peak-tflops`` overrides).

    python benchmarks/gpu_pretrain_step.py [--batch 8] [--frames 8] [--steps 50] [--compile]

Exits with status 1 and a message when no CUDA device is present.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
