from __future__ import annotations

from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _example_head_importable(monkeypatch: pytest.MonkeyPatch):
    # the example head's config names `example_head.ExampleHead`: its folder must be importable
    monkeypatch.syspath_prepend(str(HERE))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
