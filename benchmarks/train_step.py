"""Lightning training step vs a bare PyTorch loop doing the same work (CPU, tiny TSM backbone).

Both run :class:`bsp_lightning.module.BSPModule` on the same in-memory uint8 batches: normalisation on the
device, TSM-ResNet forward, cross-entropy, backward, SGD with TSM's parameter groups and a per-step
scheduler. The Lightning side also logs loss and accuracy every step (``on_step`` and ``on_epoch``), as
the real runs do; progress bar, checkpointing and model summary are off, as in any benchmark. The runs
alternate, to damp noise from other processes on the machine; the figure is the median iteration time (data loading,
loop and step) over all runs.

    python benchmarks/train_step.py [--steps 30] [--repeats 3] [--resolution 32] [--frames 4] [--batch 4]

Prints the seconds per step of both and the ratio Lightning / bare (target <= 1.05).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from bsp_lightning.module import BSPModule


def make_samples(n: int, frames: int, resolution: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` samples in the DataModule's format, in memory (both loops batch them with the same DataLoader)."""
    g = torch.Generator().manual_seed(seed)
    return [
        {"clip": torch.randint(0, 256, (frames, 3, resolution, resolution), dtype=torch.uint8, generator=g),
         "label": torch.randint(0, 4, (), generator=g)}
        for _ in range(n)
    ]


def loader(samples: list, batch: int) -> DataLoader:
    return DataLoader(samples, batch_size=batch, shuffle=False)


def make_module(frames: int) -> BSPModule:
    torch.manual_seed(0)
    return BSPModule(arch="resnet18", num_segments=frames, dropout=0.0, scheduler="cosine")


class StepTimer(pl.Callback):
    """End time of every training step: consecutive differences are whole iterations (data, loop, step)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.ends.append(time.perf_counter())


def lightning_run(samples: list, batch: int, frames: int, warmup: int) -> list[float]:
    """Seconds of each iteration after ``warmup``."""
    module = make_module(frames)
    timer = StepTimer()
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0,
        callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=loader(samples, batch))
    return [b - a for a, b in zip(timer.ends[warmup:], timer.ends[warmup + 1 :])]


def bare_run(samples: list, batch: int, frames: int, warmup: int) -> list[float]:
    """Seconds of each iteration after ``warmup``, for the same work written as a plain loop."""
    module = make_module(frames)
    module.train()
    lr = module.hparams.lr * batch / module.hparams.lr_batch_size
    optimizer = torch.optim.SGD(module.parameter_groups(lr), lr=lr, momentum=module.hparams.momentum)
    total = len(samples) // batch
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))
    )
    ends = []
    for data in loader(samples, batch):
        outputs = module(module.normalize(data["clip"]))
        loss = module.compute_loss(outputs, data)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        ends.append(time.perf_counter())
    return [b - a for a, b in zip(ends[warmup:], ends[warmup + 1 :])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run (after 3 warm-up steps)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each loop; the fastest counts")
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    warmup = 3
    samples = make_samples((args.steps + warmup) * args.batch, args.frames, args.resolution)
    light: list[list[float]] = []
    bare: list[list[float]] = []
    for r in range(args.repeats):
        # alternate which loop goes first, so drifts in machine load hit both alike
        runs = [(bare, bare_run), (light, lightning_run)]
        for out, run in runs if r % 2 == 0 else runs[::-1]:
            out.append(run(samples, args.batch, args.frames, warmup))
    b = statistics.median(t for run in bare for t in run)
    l = statistics.median(t for run in light for t in run)
    print(f"clips {args.batch} x {args.frames} x 3 x {args.resolution}^2, TSM-ResNet18, {args.threads} threads, "
          f"{args.steps} timed steps x {args.repeats} runs each, median iteration")
    print(f"bare PyTorch loop : {1000 * b:8.2f} ms/step   (run medians: "
          f"{', '.join(f'{1000 * statistics.median(t):.1f}' for t in bare)})")
    print(f"Lightning         : {1000 * l:8.2f} ms/step   (run medians: "
          f"{', '.join(f'{1000 * statistics.median(t):.1f}' for t in light)})")
    print(f"ratio Lightning / bare: {l / b:.3f}  (target <= 1.05)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
