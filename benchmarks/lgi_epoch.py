"""LGI training-epoch speed at the Charades-STA config, with 1024-d (I3D / R50 one stream) and 4096-d input.

What one iteration does here is what an epoch of ``bsp-lightning fit --config lgi_charades`` does per batch:
:class:`bsp_lgi.data.LGIDataset` samples each query's 128 segments from the in-memory
:class:`bsp_lgi.features.FeatureBank` (random offset, as in training), :func:`bsp_lgi.data.collate` batches them,
then the LGI forward pass (vocabulary 1,140, 10 words), the three losses, backward and an Adam step.
Features are random, ``L`` drawn like Charades-STA videos (60-300 snippets); only speed is measured.

    python benchmarks/lgi_epoch.py                       # CPU, batch 8, 1024-d and 4096-d
    python benchmarks/lgi_epoch.py --device cuda --batch 100 --steps 50

Prints iterations/s for each width (wall clock; on a shared CPU also the process CPU seconds per iteration, which
contention does not inflate), the projected time of a full official epoch (12,408 queries at batch 100 =
124 iterations, scaled by batch size on CPU), the 4096/1024 time ratio, and the split between data and model.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from bsp_lgi.data import attention_mask, collate
from bsp_lgi.data import LGIDataset
from bsp_lgi.features import FeatureBank
from bsp_lgi.losses import lgi_losses
from bsp_lgi.model import LGI

CHARADES_TRAIN_QUERIES = 12_408
OFFICIAL_BATCH = 100
VOCAB = 1_140


def make_dataset(num_videos: int, dim: int, queries: int, seed: int = 0) -> LGIDataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(60, 300, size=num_videos)
    arrays = {f"v{i}": rng.standard_normal((int(n), dim), dtype=np.float32) for i, n in enumerate(lengths)}
    bank = FeatureBank(list(arrays), arrays.__getitem__, dim, [a.shape[0] for a in arrays.values()])
    records = []
    for i in range(queries):
        vid = f"v{i % num_videos}"
        duration = float(lengths[i % num_videos]) / 4
        s = float(rng.uniform(0, duration * 0.7))
        e = min(duration, s + float(rng.uniform(2, 10)))
        words = np.zeros(10, dtype=np.int64)
        n = int(rng.integers(4, 11))
        words[:n] = rng.integers(4, VOCAB, size=n)
        records.append({"index": i, "video": vid, "feature_id": vid, "query": "", "words": words,
                        "duration": duration, "gt": (s, e), "start_n": s / duration, "end_n": e / duration,
                        "attention_mask": attention_mask(s, e, duration, bank.num_snippets(vid))})
    return LGIDataset(records, bank, train=True, seed=seed)


def run(dim: int, batch: int, steps: int, warmup: int, device: str, workers: int) -> dict[str, float]:
    torch.manual_seed(0)
    dataset = make_dataset(num_videos=max(64, batch * 2), dim=dim, queries=(steps + warmup) * batch)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True, collate_fn=collate,
                        num_workers=workers, generator=torch.Generator().manual_seed(0))
    model = LGI(VOCAB, dim).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=4e-4)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    data_times, step_times, cpu_times = [], [], []
    it = iter(loader)
    for i in range(steps + warmup):
        c0 = time.process_time()
        t0 = time.perf_counter()
        b = next(it)
        b = {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in b.items()}
        sync()
        t1 = time.perf_counter()
        out = model(b["features"], b["segment_mask"], b["words"], b["word_mask"])
        loss = lgi_losses(out, b["start"], b["end"], b["attention_mask"])["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            data_times.append(t1 - t0)
            step_times.append(t2 - t1)
            cpu_times.append(time.process_time() - c0)
    data, step = statistics.median(data_times), statistics.median(step_times)
    return {"it_s": 1.0 / (data + step), "data_s": data, "step_s": step, "cpu_s": statistics.median(cpu_times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batch", type=int, default=None, help="queries per batch (default: 8 on CPU, 100 on GPU)")
    parser.add_argument("--steps", type=int, default=10, help="timed iterations per width")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    parser.add_argument("--dims", type=int, nargs="+", default=[1024, 4096], help="input widths")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or (OFFICIAL_BATCH if args.device.startswith("cuda") else 8)
    per_epoch = CHARADES_TRAIN_QUERIES // batch
    print(f"LGI (Charades config, vocab {VOCAB}, T=128, N=3, 2 NL x 4 heads) on {args.device}, batch {batch}, "
          f"{torch.get_num_threads()} threads, {args.steps} timed iterations")
    results = {}
    for dim in args.dims:
        r = run(dim, batch, args.steps, args.warmup, args.device, args.workers)
        results[dim] = r
        print(f"  D={dim:5d}: {r['it_s']:7.2f} it/s  (data {1e3 * r['data_s']:7.1f} ms, model step "
              f"{1e3 * r['step_s']:8.1f} ms; CPU time {r['cpu_s']:.2f} s/it)  -> epoch of {per_epoch} iterations at batch {batch}: "
              f"{per_epoch / r['it_s']:8.1f} s; 500 epochs: {500 * per_epoch / r['it_s'] / 3600:6.1f} h")
    if 1024 in results and 4096 in results:
        print(f"  time ratio 4096-d / 1024-d: wall {results[1024]['it_s'] / results[4096]['it_s']:.2f}, "
              f"CPU time {results[4096]['cpu_s'] / results[1024]['cpu_s']:.2f}")


if __name__ == "__main__":
    main()
