from __future__ import annotations

import json
import os

import numpy as np
import pytest

from bsp_lightning.utils.io import _UMASK, atomic_path, atomic_save_npy, atomic_write_json


def test_written_files_are_complete_and_honour_the_umask(tmp_path):
    atomic_write_json(tmp_path / "a" / "m.json", {"x": 1})
    atomic_save_npy(tmp_path / "f.npy", np.arange(3, dtype=np.float32))
    assert json.loads((tmp_path / "a" / "m.json").read_text()) == {"x": 1}
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), [0, 1, 2])
    assert (tmp_path / "f.npy").stat().st_mode & 0o777 == 0o666 & ~_UMASK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "f.npy"]


def test_failure_leaves_neither_the_target_nor_a_temporary(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []
