"""Time and disk of ``bsp-lightning features import h5`` on a synthetic release the size of BSN/G-TAD's ActivityNet file.

Writes one HDF5 file with ``--videos`` datasets of ``(100, 400)`` float32 (``csv_mean_100.hdf5`` has 19,228 such
videos; the default 10,000 is about half) and a ``video_info_new.csv``, imports it with ``--preset gtad-anet-tsn``
into a feature folder, then runs the import again (everything already done). Prints wall and CPU (user + sys)
seconds, videos per second, the bytes of the source, of the ``.npy`` files, of the per-video entries and of
``manifest.json``, and the ratio of the folder's size to the source's (the folder's overhead over the raw values).

    python benchmarks/import_h5.py [--videos 10000] [--work DIR] [--keep]

The folder is deleted afterwards unless ``--keep``. On shared cores the wall time is noisy: read the CPU time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from bsp_lightning.features.importers.cli import main as features_main


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def _timed(argv: list[str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    code = features_main(argv)
    if code != 0:
        raise SystemExit(f"import failed with exit code {code}")
    return time.perf_counter() - wall, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=None, help="folder for the files (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bsp-import-bench-", dir=args.work))
    try:
        rng = np.random.default_rng(0)
        source = work / "csv_mean_100.hdf5"
        started = time.perf_counter()
        lines = ["video,numFrame,seconds,fps,rfps,subset,featureFrame"]
        with h5py.File(source, "w") as f:
            for i in range(args.videos):
                f.create_dataset(f"v_{i:011d}", data=rng.standard_normal((100, 400), dtype=np.float32))
                frames = int(rng.integers(300, 6000))
                lines.append(f"v_{i:011d},{frames},{frames / 30:.3f},30,30,training,{frames - frames % 16}")
        (work / "video_info_new.csv").write_text("\n".join(lines) + "\n")
        print(f"wrote the source in {time.perf_counter() - started:.1f} s")

        out = work / "features"
        argv = ["import", "h5", str(source), "--preset", "gtad-anet-tsn", "--video-info",
                str(work / "video_info_new.csv"), "--out", str(out), "--no-progress"]
        first = _timed(argv)
        again = _timed(argv)

        npy = list(out.glob("*.npy"))
        entries = list((out / ".entries").glob("*.json"))
        source_bytes, npy_bytes = source.stat().st_size, _size(npy)
        entry_bytes, manifest_bytes = _size(entries), (out / "manifest.json").stat().st_size
        raw = args.videos * 100 * 400 * 4
        folder = npy_bytes + entry_bytes + manifest_bytes
        print(f"videos: {args.videos} of (100, 400) float32 = {raw / 2**30:.3f} GiB of values")
        print(f"import: {first[0]:.1f} s wall, {first[1]:.1f} s CPU (user+sys), {args.videos / first[0]:.0f} videos/s")
        print(f"re-run (all done): {again[0]:.1f} s wall, {again[1]:.1f} s CPU")
        print(f"source file: {source_bytes / 2**30:.3f} GiB; .npy files: {npy_bytes / 2**30:.3f} GiB "
              f"({len(npy)} files); entries: {entry_bytes / 2**20:.1f} MiB; manifest.json: {manifest_bytes / 2**20:.1f} MiB")
        print(f"feature folder / source file = {folder / source_bytes:.3f}; folder / raw values = {folder / raw:.3f}")
        print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
