"""Packaged configs: where they are, how a ``--config`` value resolves, and ``bsp-lightning configs``.

The core ships ``toy``, ``kinetics400_tsm_r18`` and ``kinetics400_tsm_r50`` in ``bsp_lightning/configs``; every
installed head ships its own (found through :func:`bsp_lightning.heads.head_configs`). A config whose model or data
is a head's class runs through :class:`bsp_lightning.lightning_cli.HeadLightningCLI`.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_CONFIG",
    "ConfigNotFoundError",
    "configs_main",
    "core_configs",
    "is_head_config",
    "merge_repeated_features",
    "migrate_head_args",
    "migrate_model_args",
    "packaged_configs",
    "resolve_config",
    "rewrite_configs",
    "uses_head",
]

DEFAULT_CONFIG = "toy"


class ConfigNotFoundError(FileNotFoundError):
    """``--config`` names neither a file nor a packaged config."""


def core_configs() -> dict[str, Path]:
    """Names and paths of the configs shipped in ``bsp_lightning/configs``."""
    folder = resources.files("bsp_lightning") / "configs"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def packaged_configs() -> dict[str, Path]:
    """Names and paths of every packaged config: the core's and those of the installed heads.

    Raises:
        ValueError: a head ships a config whose name the core (or another head) already uses.
    """
    from bsp_lightning.heads import head_configs

    configs = core_configs()
    for name, path in head_configs().items():
        if name in configs:
            raise ValueError(f"a head ships config {name!r}, which is a core config name")
        configs[name] = path
    return configs


def is_head_config(path: str | os.PathLike) -> bool:
    """True when a config file selects a head: its ``model`` or ``data`` ``class_path`` is a
    :class:`~bsp_lightning.heads.HeadModule` / :class:`~bsp_lightning.heads.FeatureDataModule` subclass, or it is
    one of the configs an installed head ships."""
    from bsp_lightning.heads import head_configs

    path = Path(path)
    if path.resolve() in {p.resolve() for p in head_configs().values()}:
        return True
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    for key, base in (("model", "HeadModule"), ("data", "FeatureDataModule")):
        section = config.get(key) if isinstance(config, dict) else None
        class_path = section.get("class_path") if isinstance(section, dict) else None
        if isinstance(class_path, str) and _is_subclass(class_path, base):
            return True
    return False


def _is_subclass(class_path: str, base: str) -> bool:
    from bsp_lightning import heads

    module_name, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(cls, type) and issubclass(cls, getattr(heads, base))


def resolve_config(value: str) -> str:
    """A config path as given when it exists, else the packaged config of that name.

    Raises:
        ConfigNotFoundError: neither a file nor a packaged name.
    """
    if Path(value).is_file():
        return value
    configs = packaged_configs()
    name = Path(value).stem if value.endswith((".yaml", ".yml")) and not Path(value).parent.parts else value
    if name in configs:
        return str(configs[name])
    raise ConfigNotFoundError(f"{value}: no such config file, and not a packaged config ({', '.join(sorted(configs))})")


def rewrite_configs(args: list[str]) -> list[str]:
    """Resolve packaged config names (each of a repeated ``--config``); add the default config when none is given."""
    out, seen = [], False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--config" and i + 1 < len(args):
            out += [arg, resolve_config(args[i + 1])]
            seen, i = True, i + 2
            continue
        if arg.startswith("--config="):
            out.append("--config=" + resolve_config(arg.split("=", 1)[1]))
            seen = True
        else:
            out.append(arg)
        i += 1
    if not seen and not any(a in ("-h", "--help") for a in out):
        out[1:1] = ["--config", resolve_config(DEFAULT_CONFIG)]
    return out


FEATURES_KEYS = ("--data.features", "--data.init_args.features")


def merge_repeated_features(args: list[str]) -> list[str]:
    """``--data.features A --data.features B`` (either spelling, ``=`` or not) as one ``--data.features=[A, B]``.

    jsonargparse keeps only the last value of a repeated option, which would silently train on one stream;
    the heads document repeating it for two-stream features. A value that is itself a list is spliced in.
    """
    values, out, first = [], [], None
    i = 0
    while i < len(args):
        arg = args[i]
        key, sep, inline = arg.partition("=")
        if key in FEATURES_KEYS and (sep or i + 1 < len(args)):
            value = inline if sep else args[i + 1]
            i += 1 if sep else 2
            parsed = yaml.safe_load(value) if value.lstrip().startswith("[") else None
            values += [str(v) for v in parsed] if isinstance(parsed, list) else [value]
            if first is None:
                first = len(out)
                out.append(None)
            continue
        out.append(arg)
        i += 1
    if first is None or len(values) < 2:
        return args
    out[first] = "--data.features=" + json.dumps(values)
    return out


PRETEXT_KEYS = ("--model.pretext", "--model.init_args.pretext")
MODEL_KEYS = ("--model", "--model.class_path")
BASE_MODEL = "bsp_lightning.module.BSPModule"


def _full_class_path(name: str) -> str:
    # jsonargparse takes the bare name of a BSPModule subclass; the library's own are in bsp_lightning.module
    return name if "." in name else f"bsp_lightning.module.{name}"


def _pop_pretext(config: dict) -> tuple[str | None, object]:
    """The model class path of a root config and its ``pretext`` (removed from ``config``), if any."""
    model = config.get("model")
    if not isinstance(model, dict):
        return None, None
    class_path = model.get("class_path") if isinstance(model.get("class_path"), str) else None
    for section in (model.get("init_args"), model):
        if isinstance(section, dict) and "pretext" in section:
            return class_path, section.pop("pretext")
    return class_path, None


def migrate_model_args(args: list[str]) -> list[str]:
    """The pre-training ``pretext`` of older configs and command lines, through the table of old names.

    ``pretext`` left :class:`~bsp_lightning.module.BSPModule` when the regression pretext became
    :class:`~bsp_lightning.module.ChangePointModule`. A ``--config`` file whose ``model`` says ``pretext``, or a
    ``--model.pretext``/``--model.init_args.pretext`` option, is rewritten: the option goes, and
    :func:`bsp_lightning.legacy.migrate_init_args` decides the class (``BSPModule`` with ``regression`` becomes
    ``ChangePointModule``, added as a last ``--model``), warning once. A rewritten config file is passed as a
    YAML string, which ``--config`` accepts.

    Raises:
        InputFileError: the ``pretext`` value has no meaning for the model class (one line, exit code 2).
    """
    from bsp_lightning import legacy
    from bsp_lightning.utils.errors import InputFileError

    out, model_class, pretext, where = [], BASE_MODEL, None, None
    i = 0
    while i < len(args):
        key, sep, inline = args[i].partition("=")
        value = inline if sep else (args[i + 1] if i + 1 < len(args) else None)
        step = 1 if sep else 2
        if value is None or key not in ("--config", *PRETEXT_KEYS, *MODEL_KEYS):
            out.append(args[i])
            i += 1
            continue
        if key == "--config" and Path(value).is_file():
            try:
                config = yaml.safe_load(Path(value).read_text())
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                config = None  # jsonargparse reports it
            class_path, found = _pop_pretext(config) if isinstance(config, dict) else (None, None)
            model_class = _full_class_path(class_path) if class_path else model_class
            if found is not None:
                pretext, where = found, value
                value = yaml.safe_dump(config, sort_keys=False)
            out += [f"--config={value}"] if sep else ["--config", value]
        elif key in PRETEXT_KEYS:
            pretext, where = yaml.safe_load(value), None
        else:
            if key in MODEL_KEYS and not value.lstrip().startswith("{"):
                model_class = _full_class_path(value)
            out += args[i : i + step]
        i += step
    if pretext is None:
        return args
    try:
        cls, _ = legacy.migrate_init_args(model_class, {"pretext": pretext})
    except (ImportError, TypeError) as err:
        raise InputFileError(where, f"--model pretext: {err}") from None
    if legacy.class_path(cls) != legacy.class_path(legacy.import_class(model_class)):
        out.append(f"--model={legacy.class_path(cls)}")
    return out


SECTIONS = ("model", "data")


def _section_of(key: str) -> tuple[str, str | None] | None:
    """``("data", "holdout_fraction")`` for ``--data.holdout_fraction`` / ``--data.init_args.holdout_fraction``,
    ``("data", None)`` for ``--data`` / ``--data.class_path``; ``None`` for other options."""
    for section in SECTIONS:
        prefix = f"--{section}"
        if key in (prefix, f"{prefix}.class_path"):
            return section, None
        if key.startswith(prefix + "."):
            name = key[len(prefix) + 1:]
            name = name[len("init_args."):] if name.startswith("init_args.") else name
            if name and name not in ("help", "dict_kwargs") and "." not in name:
                return section, name
    return None


def _migrate(class_path: str, init: dict) -> tuple[str, dict] | None:
    """``(class path, arguments)`` after the table of old names, or ``None`` when the class cannot be imported."""
    from bsp_lightning import legacy

    try:
        cls, out = legacy.migrate_init_args(class_path, init)
    except ImportError:
        return None
    return legacy.class_path(cls), out


def migrate_head_args(args: list[str]) -> list[str]:
    """Old names in a head run's ``--config`` files and ``--model.*``/``--data.*`` options, through the table of old
    names (:mod:`bsp_lightning.legacy`): a renamed argument gets its new name, a flag that chose a class
    (G-TAD's ``dataset: thumos``) becomes that class, each warning once; a model argument that the data now gives
    through ``data_info`` (G-TAD's ``temporal_scale``) is dropped: the DataModule's value is the one used.

    jsonargparse checks every key against the class before any constructor runs, so this happens on the command
    line; a rewritten config file is passed on as a YAML string, which ``--config`` accepts. Classes named without
    a module path are left as they are.
    """
    out: list = []
    current: dict[str, str | None] = {section: None for section in SECTIONS}
    origin: dict[str, Any] = {section: None for section in SECTIONS}  # where the class was set: a config or a flag
    i = 0
    while i < len(args):
        key, sep, inline = args[i].partition("=")
        value = inline if sep else (args[i + 1] if i + 1 < len(args) else None)
        found = _section_of(key) if value is not None else None
        if value is None or (key != "--config" and found is None):  # not one of ours: a value is its own argument
            out.append(args[i])
            i += 1
            continue
        step = 1 if sep else 2
        if key == "--config" and Path(value).is_file():
            config = yaml.safe_load(Path(value).read_text())
            entry = {"config": config, "path": value, "changed": False, "sep": sep}
            for section in SECTIONS:
                block = config.get(section) if isinstance(config, dict) else None
                if not isinstance(block, dict):
                    continue
                if isinstance(block.get("class_path"), str):
                    current[section], origin[section] = block["class_path"], entry
                init = block.get("init_args") if isinstance(block.get("init_args"), dict) else None
                if current[section] is None:
                    continue
                migrated = _migrate(current[section], init or {})
                if migrated is None:
                    continue
                path, new_init = migrated
                if section == "model" and "data_info" in new_init and "data_info" not in (init or {}):
                    del new_init["data_info"]  # an old model argument the data now gives
                if path != current[section]:
                    _set_class(origin[section], section, path)
                    current[section] = path
                if init is not None and new_init != init:
                    block["init_args"] = new_init
                    entry["changed"] = True
            out.append(entry)
        elif found is not None and found[1] is None:
            current[found[0]] = value if "." in value and not value.lstrip().startswith("{") else None
            origin[found[0]] = len(out)
            out += args[i:i + step]
        elif found is not None and current[found[0]] is not None:
            section, name = found
            migrated = _migrate(current[section], {name: value})
            if migrated is None or (migrated[0] == current[section] and migrated[1] == {name: value}):
                out += args[i:i + step]
            else:
                path, renamed = migrated
                if path != current[section]:
                    _set_class(origin[section] if origin[section] is not None else None, section, path, out)
                    current[section] = path
                for new, new_value in renamed.items():
                    if section == "model" and new == "data_info":
                        continue  # given by the data
                    out += [f"--{section}.{new}={new_value}"]
        else:
            out += args[i:i + step]
        i += step
    result = []
    for item in out:
        if isinstance(item, dict):
            text = yaml.safe_dump(item["config"], sort_keys=False) if item["changed"] else item["path"]
            result += [f"--config={text}"] if item["sep"] else ["--config", text]
        else:
            result.append(item)
    return result


def _set_class(where: Any, section: str, path: str, out: list | None = None) -> None:
    """Point the class of ``section`` at ``path`` where it was set: a config entry, an option at index ``where``
    of ``out``, or (never set) a new ``--<section>.class_path`` option at the end of ``out``."""
    if isinstance(where, dict):
        block = where["config"][section]
        block["class_path"] = path
        if isinstance(block.get("init_args"), dict):  # the old class's options, as the new class takes them
            migrated = _migrate(path, block["init_args"])
            block["init_args"] = block["init_args"] if migrated is None else migrated[1]
        where["changed"] = True
    elif isinstance(where, int) and out is not None:
        key = out[where].partition("=")[0]
        if "=" in out[where]:
            out[where] = f"{key}={path}"
        else:
            out[where + 1] = path
    elif out is not None:
        out += [f"--{section}.class_path={path}"]


def uses_head(args: Sequence[str]) -> bool:
    """A head run: some ``--config`` selects a head (see :func:`is_head_config`)."""
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "--config" and i + 1 < len(args) else (
            arg.split("=", 1)[1] if arg.startswith("--config=") else None)
        if value is not None and Path(value).is_file() and is_head_config(value):
            return True
    return False


def configs_main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning configs``: every packaged config (core and installed heads) with its one-line description."""
    import argparse

    from bsp_lightning.heads import available_heads, config_description, describe, head_errors
    from bsp_lightning.utils.cli import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="bsp-lightning configs", formatter_class=HelpFormatter,
        description="List the packaged configs of the core and of every installed head; use one with "
                    "`bsp-lightning fit --config NAME` (repeat --config to compose a data YAML with a model YAML).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of the table")
    args = parser.parse_args(list(argv or []))
    heads = available_heads()
    owner = {name: "core" for name in core_configs()}
    for head, spec in heads.items():
        owner.update({name: head for name in spec.config_files()})
    configs = packaged_configs()
    if args.json:
        print(json.dumps({
            "configs": {n: {"owner": owner.get(n, "?"), "path": str(p), "description": config_description(p)}
                        for n, p in sorted(configs.items())},
            "heads": {n: describe(s) for n, s in heads.items()},
            "broken_heads": head_errors(),
        }, indent=2))
        return 0
    width = max(len(n) for n in configs)
    owner_width = max(len(o) for o in owner.values())
    for name in sorted(configs, key=lambda n: (owner.get(n) != "core", owner.get(n, ""), n)):
        print(f"{name:<{width}}  {owner.get(name, '?'):<{owner_width}}  {config_description(configs[name])}")
    if not heads:
        print("\n(no head installed: `python -m pip install -e heads/<name>` adds its configs)")
    for name, error in head_errors().items():
        print(f"\nwarning: head {name!r} failed to load: {error}")
    return 0
