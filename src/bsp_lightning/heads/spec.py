"""The head plug-in registry: :class:`HeadSpec` and discovery through the ``bsp_lightning.heads`` entry points.

Each downstream head (G-TAD, 2D-TAN, LGI, actionness) is its own distribution under ``heads/`` and registers one
:class:`HeadSpec` object (timm's registry by name, here through packaging metadata)::

    [project.entry-points."bsp_lightning.heads"]
    gtad = "bsp_gtad:HEAD"

so the core never imports a head, and installing a head is all it takes to make it (and its configs) visible.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bsp_lightning.evaluation.formats import TASKS
from bsp_lightning.heads.datamodule import FeatureDataModule
from bsp_lightning.heads.module import HeadModule

logger = logging.getLogger(__name__)

HEADS_GROUP = "bsp_lightning.heads"

_errors: dict[str, str] = {}


@dataclass(frozen=True)
class HeadSpec:
    """What a head package registers.

    Attributes:
        name: registry name (``"gtad"``); also the prefix of its config names (``gtad_anet``).
        module: its :class:`~bsp_lightning.heads.HeadModule` subclass.
        datamodule: its :class:`~bsp_lightning.heads.FeatureDataModule` subclass (the common base when the head has
            one DataModule class per benchmark).
        configs: the folder of its packaged LightningCLI YAML configs (one ``<name>.yaml`` each; the first line
            is a ``# description`` comment).
        task: ``"detection"``, ``"grounding"`` or ``"actionness"``: the prediction format it writes.
        description: one line for listings.
        make_example: writes a tiny dataset in the head's real formats (feature folder + annotation file) under
            the folder it is given and returns the ``bsp-lightning fit`` arguments (``--config`` included) that
            train on it; the contract test (``tests/heads/test_contract.py``) runs a ``fast_dev_run`` fit and a
            test with them.
        primary_metric: the name of the headline test metric (``"average_mAP"``, ``"R@1,IoU=0.5"``, ``"AP"``):
            what ``bsp-lightning study`` compares across feature sets; the contract test checks the head reports it.
        study_inputs: the sibling of ``make_example`` for ``bsp-lightning study``: given the toy-untrimmed folder
            (:mod:`bsp_lightning.data.toy`), the ``--data.*`` arguments that point the head's ``<name>_toy`` config
            at its annotations there.

    Raises:
        TypeError: a field has the wrong type. ValueError: unknown task.
    """

    name: str
    module: type[HeadModule]
    datamodule: type[FeatureDataModule]
    configs: str | Path
    task: str
    description: str = ""
    make_example: Callable[[Path], list[str]] | None = None
    primary_metric: str = ""
    study_inputs: Callable[[Path], list[str]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise TypeError(f"HeadSpec.name must be an identifier string, got {self.name!r}")
        if not (isinstance(self.module, type) and issubclass(self.module, HeadModule)):
            raise TypeError(f"head {self.name!r}: module must be a HeadModule subclass, got {self.module!r}")
        if not (isinstance(self.datamodule, type) and issubclass(self.datamodule, FeatureDataModule)):
            raise TypeError(f"head {self.name!r}: datamodule must be a FeatureDataModule subclass, got {self.datamodule!r}")
        if self.task not in TASKS:
            raise ValueError(f"head {self.name!r}: task must be one of {TASKS}, got {self.task!r}")
        if not isinstance(self.primary_metric, str):
            raise TypeError(f"head {self.name!r}: primary_metric must be a metric name, got {self.primary_metric!r}")
        for hook in ("make_example", "study_inputs"):
            if getattr(self, hook) is not None and not callable(getattr(self, hook)):
                raise TypeError(f"head {self.name!r}: {hook} must be callable, got {getattr(self, hook)!r}")
        object.__setattr__(self, "configs", Path(self.configs))

    def config_files(self) -> dict[str, Path]:
        """This head's packaged configs: name (file stem) -> path."""
        folder = Path(self.configs)
        if not folder.is_dir():
            return {}
        return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def available_heads() -> dict[str, HeadSpec]:
    """Every installed head, loaded, by name.

    A head whose entry point fails to import, or does not point at a :class:`HeadSpec`, is left out with a
    warning naming it and its error (also in :func:`head_errors`); it never hides the other heads.
    """
    heads: dict[str, HeadSpec] = {}
    _errors.clear()
    for ep in sorted(entry_points(group=HEADS_GROUP), key=lambda e: e.name):
        try:
            spec = ep.load()
            if not isinstance(spec, HeadSpec):
                raise TypeError(f"{ep.value} is a {type(spec).__name__}, not a HeadSpec")
        except Exception as err:  # noqa: BLE001 - a broken plug-in must never hide the others
            _errors[ep.name] = f"{type(err).__name__}: {err}"
            warnings.warn(f"bsp-lightning head {ep.name!r} ({ep.value}) failed to load: {_errors[ep.name]}",
                          stacklevel=2)
            continue
        heads[ep.name] = spec
    return heads


def head_errors() -> dict[str, str]:
    """Heads that failed to load at the last :func:`available_heads` call: name -> error text."""
    return dict(_errors)


def load_head(name: str) -> HeadSpec:
    """The installed head called ``name``.

    Raises:
        KeyError: no installed head has that name; the message lists the installed ones (and broken ones).
    """
    heads = available_heads()
    if name not in heads:
        installed = ", ".join(sorted(heads)) or "none"
        broken = "".join(f"; {n} failed to load ({e})" for n, e in head_errors().items())
        raise KeyError(f"no bsp-lightning head named {name!r} is installed (installed: {installed}{broken})")
    return heads[name]


def head_configs(heads: dict[str, HeadSpec] | None = None) -> dict[str, Path]:
    """Config name -> YAML path over every installed head.

    Raises:
        ValueError: two heads ship a config of the same name (a config name must say which head it is for).
    """
    out: dict[str, Path] = {}
    owner: dict[str, str] = {}
    for name, spec in (available_heads() if heads is None else heads).items():
        for config, path in spec.config_files().items():
            if config in out:
                raise ValueError(f"config {config!r} is shipped by both head {owner[config]!r} and head {name!r}")
            out[config], owner[config] = path, name
    return out


def config_description(path: str | Path) -> str:
    """The one-line description of a YAML config: its first ``#`` comment line (without a trailing ``:`` that
    introduces the next lines), else ``""``."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                stripped = line.strip()
                if not stripped:
                    continue
                return stripped.lstrip("#").strip().rstrip(":").rstrip() if stripped.startswith("#") else ""
    except OSError:
        return ""
    return ""


def describe(spec: HeadSpec) -> dict[str, Any]:
    """A JSON-friendly summary of a head (for ``bsp-lightning configs --json``)."""
    return {
        "name": spec.name,
        "task": spec.task,
        "module": f"{spec.module.__module__}.{spec.module.__qualname__}",
        "datamodule": f"{spec.datamodule.__module__}.{spec.datamodule.__qualname__}",
        "configs": sorted(spec.config_files()),
        "description": spec.description,
        "primary_metric": spec.primary_metric,
    }
