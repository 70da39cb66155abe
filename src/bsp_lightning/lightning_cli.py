"""``bsp-lightning fit|validate|test|predict``: LightningCLI with packaged configs.

``--config NAME`` picks a packaged config (``toy``, ``kinetics400_tsm_r18``, ``kinetics400_tsm_r50``); a path
works too, and without ``--config`` the toy config is used. ``--model`` selects the variant
(``BSPModule``, ``VanillaModule``, ``TwoHeadModule``, ``DistillationModule`` or a user subclass given by its
import path), and the DataModule's label spaces and clip length are linked into the model.

``--logger {wandb,csv,tensorboard,none}`` chooses where the metrics go; wandb runs offline unless the
environment says ``WANDB_MODE=online``. Checkpoints go to ``<trainer.default_root_dir>/checkpoints`` (with
``last.ckpt``), so ``--ckpt_path last`` resumes the run that was killed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from bsp_lightning.callbacks import RunSummary
from bsp_lightning.data.datamodule import BSPDataModule
from bsp_lightning.module import BSPModule

DEFAULT_CONFIG = "toy"
LOGGERS = ("wandb", "csv", "tensorboard", "none")


class ConfigNotFoundError(FileNotFoundError):
    """``--config`` names neither a file nor a packaged config."""


def packaged_configs() -> dict[str, Path]:
    """Names and paths of the configs shipped in ``bsp_lightning/configs``."""
    folder = resources.files("bsp_lightning") / "configs"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


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


def _rewrite_configs(args: list[str]) -> list[str]:
    """Resolve packaged config names; add the default config when none is given."""
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


def make_logger(kind: str, save_dir: str) -> Any:
    """The logger for ``--logger``: wandb offline (unless ``WANDB_MODE=online``), CSV or TensorBoard."""
    if kind == "wandb":
        # set before wandb initialises: no network unless the user asked for it
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")
        from pytorch_lightning.loggers import WandbLogger

        Path(save_dir).mkdir(parents=True, exist_ok=True)
        return WandbLogger(save_dir=save_dir, project="bsp-lightning", offline=os.environ["WANDB_MODE"] != "online")
    if kind == "csv":
        from pytorch_lightning.loggers import CSVLogger

        return CSVLogger(save_dir=save_dir, name="csv")
    if kind == "tensorboard":
        from pytorch_lightning.loggers import TensorBoardLogger

        return TensorBoardLogger(save_dir=save_dir, name="tensorboard")
    if kind == "none":
        return False
    raise ValueError(f"--logger must be one of {LOGGERS}, got {kind!r}")


class BSPLightningCLI(LightningCLI):
    """LightningCLI in subclass mode for the model, with the data-to-model links and run defaults."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--logger", choices=LOGGERS, default="wandb",
            help="where metrics go when trainer.logger is not set: wandb (offline), csv, tensorboard or none",
        )
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True})
        parser.link_arguments(
            "trainer.default_root_dir", "checkpoint.dirpath",
            compute_fn=lambda root: str(Path(root or ".") / "checkpoints"),
        )
        parser.add_lightning_class_args(RunSummary, "run_summary")
        parser.link_arguments("data.num_frames", "model.init_args.num_segments")
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.num_action_classes", "model.init_args.num_action_classes", apply_on="instantiate")
        parser.link_arguments(
            ("data.boundary_types", "data.mode"), "model.init_args.class_names",
            compute_fn=lambda types, mode: list(types) if mode == "bsp" else None, apply_on="instantiate",
        )

    def instantiate_trainer(self, **kwargs: Any):
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.trainer.get("logger") in (None, True) and "logger" not in kwargs:
            kwargs["logger"] = make_logger(config.logger, config.trainer.default_root_dir or ".")
        return super().instantiate_trainer(**kwargs)


def build_cli(args: Sequence[str], run: bool = True) -> BSPLightningCLI:
    """Parse ``args`` (subcommand first when ``run``; packaged config names resolved) and run LightningCLI.

    With ``run=False`` there is no subcommand: the classes are built from ``args`` and not run (for tests
    and notebooks).
    """
    args = list(args)
    if run and args and not args[0].startswith("-"):
        args = _rewrite_configs(args)
    argv0 = sys.argv
    # LightningCLI reads sys.argv, and DDP relaunches this command from it: it must hold the resolved args
    sys.argv = [argv0[0] if argv0 else "bsp-lightning", *args]
    try:
        return BSPLightningCLI(
            BSPModule,
            BSPDataModule,
            subclass_mode_model=True,
            args=None,
            run=run,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
        )
    finally:
        sys.argv = argv0


def main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning fit|validate|test|predict``; ``argv`` includes the subcommand: ``["fit", "--config", "toy"]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        build_cli(args)
    except ConfigNotFoundError as err:
        print(f"bsp-lightning: {err}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help and argument errors: an exit code, not an exception, in-process
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    return 0
