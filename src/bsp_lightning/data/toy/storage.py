"""Where the toy datasets live and how a dataset folder appears: staged, then renamed into place.

A dataset folder that exists is complete; ``toy_config.json`` inside it records the parameters (and the toy world
version, :data:`~bsp_lightning.data.toy.actions.TOY_DATA_VERSION`), and a second call with the same parameters
does nothing. A folder written by another toy world version is replaced.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bsp_lightning.data.toy.actions import TOY_ACTIONS, TOY_DATA_VERSION

logger = logging.getLogger("bsp_lightning.data.toy")

KINETICS_DIR = "toy-kinetics"
UNTRIMMED_DIR = "toy-untrimmed"
CONFIG_FILE = "toy_config.json"
#: Keys of ``toy_config.json`` that record what was generated rather than parameters (not compared).
RECORD_KEYS = ("boundary_counts",)


def default_toy_root() -> Path:
    """Folder of the toy datasets: ``$BSP_TOY_ROOT``, else ``~/.cache/bsp-lightning/toy`` (generated here)."""
    env = os.environ.get("BSP_TOY_ROOT")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bsp-lightning" / "toy"


def check_size(size: int) -> None:
    if size < 16 or size % 2:
        raise ValueError(f"size must be an even number >= 16 (H.264 yuv420p), got {size}")


def dataset_version(out_dir: Path) -> int | None:
    """The toy world version recorded in ``out_dir``'s ``toy_config.json`` (1 when it records none; ``None``
    when there is no readable config)."""
    try:
        return int(json.loads((out_dir / CONFIG_FILE).read_text()).get("version", 1))
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def existing_dataset(out_dir: Path, config: dict[str, Any], force: bool) -> bool:
    """True when ``out_dir`` already holds this dataset; raises when it holds a different one of this version.

    A dataset of another toy world version is stale: False, and the caller replaces it.
    """
    if not out_dir.exists():
        return False
    if force:
        return False
    config_path = out_dir / CONFIG_FILE
    try:
        existing = json.loads(config_path.read_text())
    except (OSError, ValueError):
        raise FileExistsError(f"{out_dir}: exists but is not a toy dataset written by bsp-lightning "
                              f"(no readable {CONFIG_FILE}); remove it or use --force") from None
    existing = {k: v for k, v in existing.items() if k not in RECORD_KEYS}
    if existing.get("version", 1) != config.get("version", TOY_DATA_VERSION):
        logger.warning("%s holds toy world version %s; writing version %s in its place", out_dir,
                       existing.get("version", 1), config.get("version", TOY_DATA_VERSION))
        return False
    if existing != config:
        changed = sorted(k for k in set(config) | set(existing) if config.get(k) != existing.get(k))
        raise FileExistsError(f"{out_dir}: exists with other parameters ({', '.join(changed)}); "
                              "use --force to regenerate it")
    logger.info("%s is complete, nothing to do", out_dir)
    return True


def publish(tmp_dir: Path, out_dir: Path, force: bool) -> None:
    """Rename the finished ``tmp_dir`` onto ``out_dir`` (replacing it when ``force``)."""
    if force and out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, trash / out_dir.name)
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.rename(tmp_dir, out_dir)
    except OSError:
        # Another process (e.g. a second DDP rank) finished first; its copy is identical.
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if not (out_dir / CONFIG_FILE).is_file():
            raise


class Staging:
    """A temporary sibling folder that is removed unless it was published."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def action_indices(num_classes: int) -> list[int]:
    if not 2 <= num_classes <= len(TOY_ACTIONS):
        raise ValueError(f"num_classes must be in [2, {len(TOY_ACTIONS)}], got {num_classes}")
    return list(range(num_classes))
