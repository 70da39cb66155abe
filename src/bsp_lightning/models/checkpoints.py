"""Checkpoint files: reading weights, cleaning their keys, telling the kinds apart. File I/O only.

Two kinds of file hold a video backbone:

* ``"bsp"``: a Lightning ``.ckpt`` of a :class:`~bsp_lightning.module.BSPModule` (any variant). The rule:
  the file is a dict with ``pytorch-lightning_version`` (every Lightning checkpoint), ``hyper_parameters`` or
  the class key older versions of this library stored (:data:`CLASS_KEY`). The extension does not matter.
* ``"official_tsm"``: anything else, read as a released file of the official TSM code
  (:func:`~bsp_lightning.models.official.load_official_tsm`).

:func:`inspect_checkpoint` reads a file once and says which kind it is; the loaders above this package
(:mod:`bsp_lightning.pretrain.frozen`, :mod:`bsp_lightning.pretrain.restore`, extraction) take its
:class:`CheckpointInfo` instead of the path, so a file is unpickled once per use.

Key cleaning (:func:`clean_key`) is the one rule every loader applies (official TSM files, ImageNet weights,
BSP checkpoints): weights saved from an ``nn.DataParallel``/DDP model carry a leading ``module.``, those saved
from a ``torch.compile``d model carry ``_orig_mod.`` (leading, or in front of a compiled submodule); both are
removed in any order and any number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from bsp_lightning import legacy

__all__ = [
    "CLASS_KEY",
    "CheckpointInfo",
    "checkpoint_kind",
    "clean_key",
    "clean_state_dict",
    "inspect_checkpoint",
    "peek_checkpoint",
    "read_checkpoint",
    "unwrap_state_dict",
]

# The class key of BSPModule checkpoints written before the class went into Lightning's own
# `hyper_parameters._class_path`; still read (bsp_lightning.pretrain.restore), no longer written.
CLASS_KEY = "bsp_lightning_class"
_WRAPPERS = ("module.", "_orig_mod.")


def clean_key(key: str) -> str:
    """``key`` without the ``module.`` / ``_orig_mod.`` prefixes of DataParallel, DDP and ``torch.compile``.

    Leading prefixes are removed in any order and number (``module._orig_mod.module.x -> x``); an
    ``_orig_mod.`` further in (a compiled submodule: ``backbone._orig_mod.layer1...``) is removed too. An
    inner ``module.`` is kept: it can be a real attribute name.
    """
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPERS:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key.replace("._orig_mod.", ".")


def clean_state_dict(state: Mapping[str, Any], source: str = "state dict") -> dict[str, Any]:
    """:func:`clean_key` on every key.

    Raises:
        ValueError: two keys clean to the same name (the file holds a wrapped and an unwrapped copy).
    """
    out: dict[str, Any] = {}
    for key, value in state.items():
        name = clean_key(key)
        if name in out:
            raise ValueError(f"{source}: keys {key!r} and another one both clean to {name!r}")
        out[name] = value
    return out


def _read_weights(path: Path) -> Any:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as err:  # noqa: BLE001 - safetensors' errors share no public base class
            raise ValueError(f"{path}: cannot read as a safetensors file ({type(err).__name__}: {err})") from err
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors have no common base class worth catching separately
        raise ValueError(f"{path}: cannot read as a PyTorch weights file ({type(err).__name__}: {err})") from err


def read_checkpoint(path: str | Path, what: str) -> Any:
    """Load a weights file on the CPU, safely (``weights_only``), with clear errors.

    Args:
        path: local file (``.pth``, ``.pt``, ``.tar``, ``.bin`` or ``.safetensors``).
        what: what the file should contain, for the error message.

    Raises:
        FileNotFoundError: no such file (nothing is downloaded).
        ValueError: not a readable weights file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} file not found (nothing is downloaded; give a local path)")
    return _read_weights(path)


def unwrap_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint object, keys cleaned by :func:`clean_key`.

    Accepts a plain state dict or a dict holding one under ``state_dict``, ``model`` or ``state_dict_ema``.

    Raises:
        ValueError: no mapping of names to tensors.
    """
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "state_dict_ema"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{source}: not a state dict (expected a mapping of parameter names to tensors)")
    return clean_state_dict(obj, source)


def _unpickle(path: Path) -> Any:
    """``torch.load`` of a whole checkpoint on the CPU; raises ValueError with a one-line reason."""
    with path.open("rb") as f:
        magic = f.read(4)
    # torch.save writes a zip archive (memory-mappable: only what is used is read) or, before PyTorch 1.6, a
    # pickle, whose first byte is 0x80
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
        raise ValueError("not a PyTorch file at all (neither a zip archive nor a pickle)")
    from pytorch_lightning.utilities.migration import pl_legacy_patch

    try:
        with pl_legacy_patch():  # names that old Lightning versions pickled, as Lightning's own loader does
            return torch.load(path, map_location="cpu", mmap=magic[:1] != b"\x80", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"not a readable PyTorch checkpoint ({type(err).__name__}: {' '.join(str(err).split())})")


def peek_checkpoint(path: str | Path) -> Any:
    """The top-level object of a checkpoint, its tensors memory-mapped where the format allows.

    Lightning checkpoints may hold hyper-parameter objects that ``weights_only`` refuses, so this is a full
    unpickling: only for files the user chose to load anyway.

    Raises:
        ValueError: not a readable PyTorch file.
    """
    path = Path(path).expanduser()
    try:
        return _unpickle(path)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def _is_bsp(obj: Any) -> bool:
    return isinstance(obj, Mapping) and any(
        k in obj for k in ("pytorch-lightning_version", "hyper_parameters", CLASS_KEY))


def checkpoint_kind(path: str | Path) -> str:
    """``"bsp"`` for a Lightning checkpoint of a BSPModule, ``"official_tsm"`` for anything else.

    See the module docstring for the rule. An unreadable file is ``"official_tsm"`` (whose loader then
    reports it). Reads the file: when it is loaded afterwards, use :func:`inspect_checkpoint` instead.
    """
    try:
        obj = peek_checkpoint(path)
    except ValueError:
        return "official_tsm"
    return "bsp" if _is_bsp(obj) else "official_tsm"


@dataclass(frozen=True, eq=False)
class CheckpointInfo:
    """A checkpoint file read once: its kind and its top-level object, passed on to the loaders.

    Attributes:
        path: the file (``~`` expanded).
        kind: ``"bsp"`` or ``"official_tsm"`` (the rule of :func:`checkpoint_kind`).
        obj: the unpickled top-level object (tensors memory-mapped where the format allows); ``None`` when
            the file could not be read.
        error: why it could not be read (one line), else ``None``.
    """

    path: Path
    kind: str
    obj: Any
    error: str | None = None

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes (read on first use, in 1 MiB blocks)."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def section(self, key: str) -> dict[str, Any]:
        """A mapping stored at the top level (``"hyper_parameters"``, ``"datamodule_hyper_parameters"``), ``{}``
        when absent."""
        value = self.obj.get(key) if isinstance(self.obj, Mapping) else None
        return dict(value) if isinstance(value, Mapping) else {}


def inspect_checkpoint(path: str | Path) -> CheckpointInfo:
    """Read a checkpoint once (one unpickling, tensors memory-mapped) and tell its kind.

    An unreadable file is returned, not raised: its ``obj`` is ``None``, its ``error`` says why, and its kind is
    ``"official_tsm"`` (the rule of :func:`checkpoint_kind`); the loader that needs it raises. ``.safetensors``
    files are read with safetensors (no pickle) and are ``"official_tsm"``.

    Raises:
        FileNotFoundError: no such file (nothing is downloaded).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (nothing is downloaded; give a local path)")
    try:
        obj = _read_weights(path) if path.suffix == ".safetensors" else _unpickle(path)
    except ValueError as err:
        return CheckpointInfo(path, "official_tsm", None, str(err))
    return CheckpointInfo(path, "bsp" if _is_bsp(obj) else "official_tsm", obj)


__getattr__ = legacy.module_getattr(__name__)
