"""GloVe loading: the first load (parse the text, write the cache) against the second (read the cache).

Writes a synthetic file the shape of ``glove.6B.300d.txt`` (400,000 words x 300 numbers with 5 decimals,
about 1 GB, like the real file), loads it twice with :func:`bsp_lightning.text.load_glove` and prints both
times and their ratio. Target: the second load well under a second at full size (docs/decisions.md#glove-local-file).
The file goes to a temporary folder that is removed afterwards unless ``--keep`` is given.

    python benchmarks/glove_load.py [--words 400000] [--dim 300] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bsp_lightning.text import load_glove


def write_synthetic(path: Path, words: int, dim: int, seed: int = 0) -> None:
    """``word_i v1 ... vd`` lines; numbers drawn from 20,001 precomputed strings so writing stays fast."""
    rng = np.random.default_rng(seed)
    table = np.array([f"{x:.5f}" for x in np.linspace(-2.0, 2.0, 20001)], dtype=object)
    chunk = 10000
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, words, chunk):
            rows = table[rng.integers(0, len(table), size=(min(chunk, words - start), dim))]
            f.write("".join(f"w{start + i} {' '.join(row)}\n" for i, row in enumerate(rows)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=400_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None, help="folder for the file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the file and its cache")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="glove_bench_")) if args.out is None else args.out
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic.{args.words}x{args.dim}.txt"
    try:
        t0 = time.perf_counter()
        write_synthetic(path, args.words, args.dim)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        first = load_glove(path)
        t_first = time.perf_counter() - t0
        assert not first.from_cache
        del first
        # Later loads, best of 3 (the machine is shared): mapped (the default); mapped, then the first word
        # lookup (builds the word -> index dict) and every page touched; read into memory (mmap=False).
        times = {}
        for name, mmap, touch in (("mapped", True, False), ("mapped + lookup + touch", True, True),
                                  ("read (mmap=False)", False, False)):
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                second = load_glove(path, mmap=mmap)
                if touch:
                    second.vocab.index("w0")
                    float(second.vectors.sum())
                best = min(best, time.perf_counter() - t0)
                assert second.from_cache and second.vectors.shape == (args.words + 1, args.dim)
                del second
            times[name] = best

        print(f"first load (parse + write cache):  {t_first:8.2f} s  ({args.words / t_first:,.0f} words/s)")
        for name, t in times.items():
            print(f"second load, {name + ':':<27}{t:8.3f} s  (first/second {t_first / t:6.1f}x)")
        t_second = times["mapped"]
        print(f"target second load < 1 s:          {'met' if t_second < 1.0 else 'NOT met'}")
    finally:
        if not args.keep:
            shutil.rmtree(folder) if args.out is None else [p.unlink() for p in folder.glob(path.name + "*")]


if __name__ == "__main__":
    main()
