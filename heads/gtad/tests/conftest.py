from pathlib import Path

import pytest

from bsp_gtad.example import write_example


@pytest.fixture
def tiny_anet(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny feature folder (6 videos, 16-d, ids with v_) and an ActivityNet JSON (ids without)."""
    return write_example(tmp_path / "data")
