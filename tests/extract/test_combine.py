"""``bsp-lightning combine`` (features/combine.py) on folders this extraction wrote: the same configuration
concatenates, another (stride) is refused. Here rather than in tests/features for the session's extraction."""

from __future__ import annotations

import shutil

import numpy as np

from bsp_lightning.extract import main
from bsp_lightning.features.combine import combine_main


def test_combine_cli(setup, tmp_path, capsys):
    reference = setup["reference"]
    assert combine_main([str(reference), str(reference), "--out", str(tmp_path / "c")]) == 0
    assert np.load(tmp_path / "c" / "a_long.npy").shape == (3, 1024)
    assert "combine: 3 video(s), D=1024" in capsys.readouterr().out
    other = tmp_path / "other"
    shutil.copytree(reference, other)
    # another configuration (stride) is not "the same": every video is redone
    assert main(["--checkpoint", str(setup["root"] / "tsm_a.pth"), "--videos", str(setup["videos"]),
                 "--out", str(other), "--stride", "4", "--num-workers", "0", "--accelerator", "cpu",
                 *setup["size"]]) == 1
    assert "3 video(s) written, 0 already done" in capsys.readouterr().out
    assert [np.load(other / f"{v}.npy").shape[0] for v in setup["frames"]] == [4, 1, 3]  # a_long: 0, 4, 8, 12
    assert combine_main([str(reference), str(other), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "a_long: snippet counts differ (3 vs 4)" in err and "c_exact" in err
