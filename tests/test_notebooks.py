"""Execute the tutorial notebooks in ``notebooks/`` top to bottom, as CI does.

Each notebook runs in a fresh IPython kernel of the interpreter running pytest (a kernelspec written into a
temporary folder, so no ``ipykernel install`` step is needed and a stale global ``python3`` kernelspec cannot
pick another environment), with the working directory set to an empty temporary folder. A failing cell fails
the test with that cell's source and traceback. Deselect with ``-m "not notebooks"``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 240  # generous: a loaded 2-core CI runner; each notebook takes well under a minute in total
KERNEL_NAME = "bsp-lightning-test"

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernelspec manager that knows one kernel: this interpreter's ipykernel."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / KERNEL_NAME)
    return KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)


def test_notebooks_exist_and_are_stored_without_outputs() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_boundary_synthesis.ipynb",
        "02_pretrain_extract.ipynb",
        "03_evaluate.ipynb",
        "04_heads.ipynb",
        "05_your_own_data.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, f"{path.name}: no code cell"
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name}: cells {dirty} are stored with outputs; clear them before committing"
        # notebooks import the library and keep their files in a temporary folder
        source = "\n".join(c.source for c in code)
        assert "bsp_lightning" in source and "tempfile.mkdtemp" in source, path.name


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(
    path: Path, kernel_specs: KernelSpecManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    # The kernel inherits this environment: its tempfile.mkdtemp() folders land under tmp_path (and are cleaned
    # up with it); a notebook that fell back to the default toy root or wrote into its working directory
    # instead of its own temporary folder is caught below.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    toy_root = tmp_path / "default-toy-root"
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("BSP_TOY_ROOT", str(toy_root))
    monkeypatch.setenv("WANDB_MODE", "offline")

    nb = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=kernel_specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as err:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the kernel's traceback comes with ANSI colours
        pytest.fail(f"{path.name}: a cell failed\n{message}", pytrace=False)

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {json.dumps(errors)[:2000]}"
    ran = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert all(ran), f"{path.name}: cells not executed: {ran}"
    assert not toy_root.exists(), f"{path.name} wrote the default toy dataset instead of using its own folder"
    assert sorted(os.listdir(cwd)) == [], f"{path.name} wrote into its working directory: {os.listdir(cwd)}"
    assert any(p.name.startswith("bsp-notebook-") for p in scratch.iterdir()), f"{path.name}: no mkdtemp folder"
