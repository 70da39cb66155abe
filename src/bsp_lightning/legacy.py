"""Old names, in one table: class paths recorded in saved checkpoints and configs, renamed constructor arguments
and command-line flags, renamed public functions.

The library renames things as it grows; a checkpoint or a YAML written by an older version must still load, and
a user's old spelling must keep working while it tells them the new one. Every such rename is one row here (the
idea of timm's ``register_model_deprecations``), and the first use of an old name in a process warns once with a
:class:`FutureWarning` (shown by default, unlike ``DeprecationWarning``).

Tables (filled by the modules that renamed something, at import of this module):

* :data:`CLASS_PATHS`: old ``"module.Qualname"`` (or ``"module:Qualname"``) -> new ``"module.Qualname"``.
* :data:`ARGUMENTS`: ``(new class path, old argument)`` -> new argument name (constructor keywords, which are also
  the LightningCLI flags ``--model.<name>`` / ``--data.<name>`` and the checkpoint hyper-parameters).
* :data:`FUNCTIONS`: old ``"module.name"`` -> new ``"module.name"`` (public helpers that moved or were renamed).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ARGUMENTS",
    "CLASS_PATHS",
    "FUNCTIONS",
    "import_class",
    "rename_arguments",
    "resolve_class_path",
    "warn_once",
]

CLASS_PATHS: dict[str, str] = {}
ARGUMENTS: dict[tuple[str, str], str] = {}
FUNCTIONS: dict[str, str] = {}

_warned: set[str] = set()


def warn_once(old: str, new: str, what: str = "name") -> None:
    """Warn (:class:`FutureWarning`) that ``old`` is a deprecated ``what`` for ``new``, once per process."""
    key = f"{what}:{old}->{new}"
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(f"the {what} {old!r} is deprecated and will be removed in 0.2: use {new!r}", FutureWarning,
                  stacklevel=3)


def _normalise(path: str) -> str:
    return path.replace(":", ".")


def resolve_class_path(path: str) -> str:
    """The current ``"module.Qualname"`` of a class path that may be an old one (warns once when it is)."""
    norm = _normalise(path)
    new = CLASS_PATHS.get(norm)
    if new is None:
        return norm
    warn_once(norm, new, "class path")
    return new


def import_class(path: str) -> type:
    """Import the class named by ``path`` (``"module.Qualname"`` or ``"module:Qualname"``, old names allowed).

    Raises:
        ImportError: the module or the class cannot be found.
    """
    module_name, _, qualname = resolve_class_path(path).rpartition(".")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"cannot import {path!r}: {err}") from err
    if not isinstance(target, type):
        raise ImportError(f"{path!r} is not a class")
    return target


def rename_arguments(cls: type, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the old argument names of ``cls`` (and of its bases) renamed, each warning once.

    Raises:
        TypeError: an old name and its new name are both given.
    """
    out = dict(kwargs)
    for klass in cls.__mro__:
        owner = f"{klass.__module__}.{klass.__qualname__}"
        for (target, old), new in ARGUMENTS.items():
            if target != owner or old not in out:
                continue
            if new in out:
                raise TypeError(f"{cls.__name__}: both {old!r} (deprecated) and {new!r} given; keep {new!r}")
            warn_once(f"{klass.__name__}({old}=...)", f"{klass.__name__}({new}=...)", "argument")
            out[new] = out.pop(old)
    return out
