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
* :data:`FUNCTIONS`: old ``"module.name"`` -> new ``"module.name"`` (public helpers and constants that moved or
  were renamed). A module that lost names serves them with ``__getattr__ = legacy.module_getattr(__name__)``.
* :data:`CLASS_BY_ARGUMENT`: ``(class path, argument, value)`` -> class path: a flag value that became a class of
  its own (``BSPModule`` with ``pretext: regression`` is
  :class:`~bsp_lightning.pretrain.changepoint.ChangePointModule`).
* :data:`REMOVED_ARGUMENTS`: ``(class path, argument)`` -> the one value the class implies: an old config or
  checkpoint that gives it with that value loads (the argument is dropped), any other value is an error.

Class paths in the tables are the real ones, ``f"{cls.__module__}.{cls.__qualname__}"``.
:func:`migrate_init_args` applies the class and argument tables to what a checkpoint or a config recorded.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "ARGUMENTS",
    "CLASS_BY_ARGUMENT",
    "CLASS_PATHS",
    "FUNCTIONS",
    "REMOVED_ARGUMENTS",
    "class_path",
    "import_class",
    "import_object",
    "migrate_init_args",
    "module_getattr",
    "rename_arguments",
    "resolve_class_path",
    "warn_once",
]

_FROZEN = "bsp_lightning.pretrain.frozen"
_BSP = "bsp_lightning.pretrain.base.BSPModule"
_CHANGE_POINT = "bsp_lightning.pretrain.changepoint.ChangePointModule"

CLASS_PATHS: dict[str, str] = {
    # frozen backbones moved above models/ (models/ keeps file I/O only)
    "bsp_lightning.models.FrozenBackbone": f"{_FROZEN}.FrozenBackbone",
    "bsp_lightning.models.checkpoints.FrozenBackbone": f"{_FROZEN}.FrozenBackbone",
    "bsp_lightning.module.FrozenTeacher": f"{_FROZEN}.FrozenBackbone",
    "bsp_lightning.pretrain.distillation.FrozenTeacher": f"{_FROZEN}.FrozenBackbone",
}
ARGUMENTS: dict[tuple[str, str], str] = {}
FUNCTIONS: dict[str, str] = {
    "bsp_lightning.models.load_backbone": f"{_FROZEN}.load_backbone",
    "bsp_lightning.models.checkpoints.load_backbone": f"{_FROZEN}.load_backbone",
    "bsp_lightning.module.load_teacher": f"{_FROZEN}.load_teacher",
    "bsp_lightning.pretrain.distillation.load_teacher": f"{_FROZEN}.load_teacher",
    # the class key of checkpoints written before `_class_path` (read only now)
    "bsp_lightning.module.CLASS_KEY": "bsp_lightning.models.checkpoints.CLASS_KEY",
    "bsp_lightning.pretrain.base.CLASS_KEY": "bsp_lightning.models.checkpoints.CLASS_KEY",
    "bsp_lightning.pretrain.base.saved_class": "bsp_lightning.pretrain.restore.saved_class",
    # re-exports of other packages' names
    "bsp_lightning.extract.combine_main": "bsp_lightning.features.combine.combine_main",
    "bsp_lightning.extract._EXIT_AFTER_ENV": "bsp_lightning.extract.writer._EXIT_AFTER_ENV",
    "bsp_lightning.evaluation.read_activitynet_predictions": "bsp_lightning.evaluation.formats.read_detections",
    **{f"bsp_lightning.lightning_cli.{name}": f"bsp_lightning.config_files.{name}" for name in (
        "DEFAULT_CONFIG", "configs_main", "core_configs", "is_head_config", "packaged_configs", "resolve_config")},
}
# the regression pretext was a flag of BSPModule before it became ChangePointModule
CLASS_BY_ARGUMENT: dict[tuple[str, str, Any], str] = {(_BSP, "pretext", "regression"): _CHANGE_POINT}
REMOVED_ARGUMENTS: dict[tuple[str, str], Any] = {
    (_BSP, "pretext"): "classification",
    (_CHANGE_POINT, "pretext"): "regression",
}

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


def class_path(cls: type) -> str:
    """The real ``"module.Qualname"`` of ``cls`` (the spelling of the tables' keys)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def import_object(path: str) -> Any:
    """Import ``"module.name"`` (or ``"module.Class.attribute"``); the module is the longest importable prefix.

    Raises:
        ImportError: nothing of that name.
    """
    parts = _normalise(path).split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        try:
            for part in parts[cut:]:
                target = getattr(target, part)
        except AttributeError as err:
            raise ImportError(f"cannot import {path!r}: {err}") from err
        return target
    raise ImportError(f"cannot import {path!r}: no such module")


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


def module_getattr(module: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``module`` that serves its old names (:data:`FUNCTIONS`,
    :data:`CLASS_PATHS`), warning once per name."""

    def __getattr__(name: str) -> Any:
        old = f"{module}.{name}"
        new = FUNCTIONS.get(old) or CLASS_PATHS.get(old)
        if new is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warn_once(old, new)
        return import_object(new)

    return __getattr__


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


def _drop_removed_arguments(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    for (owner, argument), implied in REMOVED_ARGUMENTS.items():
        if argument not in kwargs:
            continue
        # the nearest class of the MRO that has a row decides (ChangePointModule before BSPModule)
        nearest = next((class_path(k) for k in cls.__mro__ if (class_path(k), argument) in REMOVED_ARGUMENTS), None)
        if nearest != owner:
            continue
        value = kwargs.pop(argument)
        if value != implied:
            raise TypeError(f"{cls.__name__}: {argument}={value!r} is not possible: the argument was removed and "
                            f"{cls.__name__} is always {argument}={implied!r}")
        warn_once(f"{cls.__name__}({argument}={value!r})", f"{cls.__name__}()", "argument")
    return kwargs


def migrate_init_args(path: str, kwargs: Mapping[str, Any]) -> tuple[type, dict[str, Any]]:
    """The class and constructor arguments that an old class path and its recorded arguments mean now.

    Applies, in order: :data:`CLASS_PATHS`, :data:`CLASS_BY_ARGUMENT` (the exact class, not its subclasses; the
    argument is consumed), :data:`ARGUMENTS` and :data:`REMOVED_ARGUMENTS`; each old name warns once.

    Args:
        path: ``"module.Qualname"`` or ``"module:Qualname"`` (a checkpoint's ``_class_path`` or class key, a
            config's ``class_path``).
        kwargs: the recorded constructor arguments.

    Returns:
        ``(class, arguments)``; ``kwargs`` itself is not modified.

    Raises:
        ImportError: the class cannot be imported.
        TypeError: a removed argument has a value the class cannot mean, or an old and a new name are both given.
    """
    cls = import_class(path)
    out = dict(kwargs)
    for (owner, argument, value), new in CLASS_BY_ARGUMENT.items():
        if class_path(cls) == owner and argument in out and out[argument] == value:
            warn_once(f"{cls.__name__}({argument}={value!r})", new, "class")
            cls = import_class(new)
            del out[argument]  # the new class is what the value meant
    out = rename_arguments(cls, out)
    return cls, _drop_removed_arguments(cls, out)
