"""G-TAD forward + backward at the ActivityNet config: plain SGAlign vs the memory-saving (chunked, checkpointed) path.

For 400-d input (the official TSN features) and 4096-d input (two-stream ResNet-50 features), both paths run on the
same weights and inputs: peak memory of one training step (forward, loss, backward) and its median time. Each
measurement runs in a fresh subprocess. On CPU the peak is the largest resident set (``/proc/self/statm``, sampled
every millisecond by a thread) minus the resident set just before the step; on CUDA it is
``torch.cuda.max_memory_allocated`` above the memory held before the step. The outputs of both paths are compared (max abs difference).

    python benchmarks/gtad_step.py                       # CPU, batch 2 (the plain path needs ~1.5 GB per video)
    python benchmarks/gtad_step.py --device cuda         # GPU, batch 16 (the official batch)
    python benchmarks/gtad_step.py --batch 1 --dims 400 --repeats 2 --chunk 10

Prints, per input width: peak memory and step time of both paths and the ratios memory-saving / plain
(target: peak <= 0.5 at equal outputs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch


def _model(dim: int, memory_saving: bool, chunk: int, device: str):
    from bsp_gtad.model import GTAD

    torch.manual_seed(0)
    return GTAD(dim, memory_saving=memory_saving, chunk_starts=chunk).to(device)


def _step(model, x) -> None:
    out = model(x)
    loss = out["confidence"].square().mean() + out["start"].mean() + out["end"].mean()
    loss.backward()


class RSSPeak:
    """Largest resident set size (bytes) seen by a sampling thread while active."""

    def __init__(self, interval: float = 0.001) -> None:
        import os
        import threading

        self._page = os.sysconf("SC_PAGE_SIZE")
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> "RSSPeak":
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def child(dim: int, memory_saving: bool, batch: int, repeats: int, chunk: int, device: str) -> dict:
    """One configuration: returns peak bytes above the pre-step state and the step times."""
    model = _model(dim, memory_saving, chunk, device)
    x = torch.randn(batch, dim, 100, generator=torch.Generator().manual_seed(1)).to(device)
    times = []
    peak = 0
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        sampler = RSSPeak()
        base_rss = sampler.rss()
        start = time.perf_counter()
        with sampler:
            _step(model, x)
            if device == "cuda":
                torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        step_peak = torch.cuda.max_memory_allocated() - base if device == "cuda" else sampler.peak - base_rss
        peak = max(peak, step_peak)
    return {"peak": peak, "times": times}


def max_difference(dim: int, batch: int, chunk: int, device: str) -> float:
    x = torch.randn(batch, dim, 100, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        a = _model(dim, False, chunk, device)(x)["confidence"]
        b = _model(dim, True, chunk, device)(x)["confidence"]
    return float((a - b).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch", type=int, default=None, help="default: 2 on CPU, 16 on CUDA")
    parser.add_argument("--dims", type=int, nargs="+", default=[400, 4096])
    parser.add_argument("--repeats", type=int, default=2, help="timed steps per configuration (after none on CPU)")
    parser.add_argument("--chunk", type=int, default=10, help="start positions per chunk on the memory-saving path")
    parser.add_argument("--child", nargs=3, metavar=("DIM", "SAVING", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        dim, saving, batch = int(args.child[0]), args.child[1] == "1", int(args.child[2])
        print(json.dumps(child(dim, saving, batch, args.repeats, args.chunk, args.device)))
        return
    batch = args.batch or (16 if args.device == "cuda" else 2)
    print(f"G-TAD ActivityNet config (T = D = 100, SGAlign 32 + 4 points, 256 channels), {args.device}, batch {batch}, "
          f"chunk {args.chunk} starts; forward + backward")
    for dim in args.dims:
        result = {}
        for saving in (False, True):
            cmd = [sys.executable, __file__, "--child", str(dim), str(int(saving)), str(batch), "--repeats",
                   str(args.repeats), "--chunk", str(args.chunk), "--device", args.device]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(f"  {dim}-d {'memory-saving' if saving else 'plain'}: failed ({out.stderr.strip()[-300:]})")
                break
            result[saving] = json.loads(out.stdout.strip().splitlines()[-1])
        if len(result) < 2:
            continue
        diff = max_difference(dim, min(batch, 2), args.chunk, args.device)
        plain, saving = result[False], result[True]
        t_plain, t_saving = statistics.median(plain["times"]), statistics.median(saving["times"])
        print(f"  {dim:5d}-d input: plain {plain['peak'] / 2**30:6.2f} GiB {t_plain:7.2f} s | memory-saving "
              f"{saving['peak'] / 2**30:6.2f} GiB {t_saving:7.2f} s | peak ratio {saving['peak'] / plain['peak']:.3f}, "
              f"time ratio {t_saving / t_plain:.2f}, max |diff| of outputs {diff:.1e}")


if __name__ == "__main__":
    main()
