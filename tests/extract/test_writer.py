"""The feature writer: a run killed between videos leaves no manifest and no temporary file, and the next run
completes the folder to the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bsp_lightning.extract import main
from bsp_lightning.extract.writer import _EXIT_AFTER_ENV


def test_killed_run_resumes_to_identical_files(setup, tmp_path):
    root, out = setup["root"], tmp_path / "feat"
    args = ["--checkpoint", str(root / "tsm_a.pth"), "--videos", str(setup["videos"]), "--out", str(out),
            "--batch-size", "2", "--num-workers", "0", "--accelerator", "cpu", *setup["size"]]
    env = dict(os.environ, **{_EXIT_AFTER_ENV: "1"})
    code = f"import sys; from bsp_lightning.extract import main; sys.exit(main({args!r}))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 17, proc.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.npy")) == ["a_long.npy"]  # killed after the first video
    assert not (out / "manifest.json").exists() and not list(out.rglob("*.tmp*"))
    assert main(args) == 1
    reference = setup["reference"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    for path in reference.glob("*.npy"):
        assert (out / path.name).read_bytes() == path.read_bytes()
    strip = lambda m: {k: v for k, v in json.loads(m.read_text()).items() if k != "config"}  # noqa: E731
    assert strip(out / "manifest.json") == strip(reference / "manifest.json")
