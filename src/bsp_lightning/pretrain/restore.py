"""Which class a BSPModule checkpoint holds, and building it from the file already read.

The class: Lightning records ``hyper_parameters._class_path`` for modules built by LightningCLI, and
:meth:`BSPModule.on_save_checkpoint <bsp_lightning.pretrain.base.BSPModule.on_save_checkpoint>` records the same
key for modules built in Python; checkpoints of older versions carry the class key
:data:`~bsp_lightning.models.checkpoints.CLASS_KEY` (``"bsp_lightning.module:<Class>"``) instead. Either goes
through the table of old names (:func:`bsp_lightning.legacy.migrate_init_args`) with the recorded arguments, so a
class that moved, or ``BSPModule`` with ``pretext: regression`` (now ``ChangePointModule``), loads with one
:class:`FutureWarning`.

The module is then built by Lightning (``_load_state``: the recorded LightningCLI instantiator, ``on_load_checkpoint``,
``load_state_dict``) from the checkpoint object already in memory, so a file is unpickled once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from bsp_lightning import legacy
from bsp_lightning.models.checkpoints import CLASS_KEY, CheckpointInfo, inspect_checkpoint

__all__ = ["load_module", "saved_class", "saved_init_args"]


def _info(checkpoint: CheckpointInfo | str | Path) -> CheckpointInfo:
    info = checkpoint if isinstance(checkpoint, CheckpointInfo) else inspect_checkpoint(checkpoint)
    if info.obj is None:
        raise ValueError(f"{info.path}: {info.error}")
    return info


def saved_init_args(
    checkpoint: CheckpointInfo | str | Path, base: type | None = None
) -> tuple[type | None, dict[str, Any]]:
    """The class a checkpoint was saved by and its constructor arguments, old names migrated.

    Args:
        checkpoint: the file as read by :func:`~bsp_lightning.models.checkpoints.inspect_checkpoint` (a path is
            read here).
        base: the class a recorded class must derive from (and the class assumed when none is recorded).

    Returns:
        ``(class, arguments)``; the class is ``base`` (``None`` without ``base``) when the file records none.
        The arguments exclude Lightning's ``_class_path``; ``_instantiator`` is kept.

    Raises:
        ValueError: the file is unreadable, or the recorded class cannot be imported.
        TypeError: the recorded class is not a ``base``, or a recorded argument was removed and its value has no
            current meaning.
    """
    info = _info(checkpoint)
    hparams = info.section("hyper_parameters")
    spec = hparams.pop("_class_path", None) or (info.obj.get(CLASS_KEY) if isinstance(info.obj, dict) else None)
    if spec is None and base is None:
        return None, hparams
    try:
        target, hparams = legacy.migrate_init_args(spec or legacy.class_path(base), hparams)
    except ImportError as err:
        raise ValueError(f"{info.path}: saved by {spec}, which cannot be imported ({err})") from err
    except TypeError as err:
        raise TypeError(f"{info.path}: {err}") from err
    if base is not None and not issubclass(target, base):
        raise TypeError(f"{info.path}: holds a {target.__name__}, which is not a {base.__name__}")
    return target, hparams


def saved_class(checkpoint: CheckpointInfo | str | Path, base: type | None = None) -> type | None:
    """The class a checkpoint was saved by (old names migrated; see :func:`saved_init_args`), ``None`` (or
    ``base``) when it records none.

    Raises:
        ValueError: the file is unreadable, or the recorded class cannot be imported.
        TypeError: the recorded class is not a ``base``.
    """
    return saved_init_args(checkpoint, base)[0]


def load_module(
    checkpoint: CheckpointInfo | str | Path,
    base: type[pl.LightningModule],
    map_location: Any = None,
    strict: bool | None = None,
    **kwargs: Any,
) -> pl.LightningModule:
    """Build the module a checkpoint holds (a ``base`` subclass) with its weights, from the object already read.

    Args:
        checkpoint: the file as read by :func:`~bsp_lightning.models.checkpoints.inspect_checkpoint` (a path is
            read here).
        base: the class :meth:`load_from_checkpoint` was called on.
        map_location: the device the module goes to (a ``str`` or ``torch.device``; the file was read on the CPU).
        strict: as ``load_state_dict``'s (``None``: the module's ``strict_loading``).
        **kwargs: constructor arguments that replace the recorded ones.

    Raises:
        ValueError, TypeError: see :func:`saved_init_args`.
    """
    from pytorch_lightning.core.saving import _load_state

    info = _info(checkpoint)
    target, hparams = saved_init_args(info, base)
    hparams.update(kwargs)
    if "_instantiator" in hparams:
        # Lightning's instantiator rebuilds the class named here (and accepts it once it is imported: it is)
        hparams["_class_path"] = legacy.class_path(target)
    # a shallow copy: loading replaces entries (state_dict, hyper_parameters) but must not change `info`
    ckpt = dict(info.obj)
    ckpt[base.CHECKPOINT_HYPER_PARAMS_KEY] = hparams
    module = _load_state(target, ckpt, strict=strict)
    return module if map_location is None else module.to(torch.device(map_location))
