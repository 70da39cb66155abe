"""``bsp-lightning fit|validate|test|predict``: LightningCLI with packaged configs.

``--config NAME`` picks a packaged config (``toy``, ``kinetics400_tsm_r18``, ``kinetics400_tsm_r50``, or one that
an installed head ships: ``gtad_anet``, ``tan2d_charades``...; ``bsp-lightning configs`` lists them); a path works
too, ``--config`` may be repeated (later files override earlier ones: a data YAML composed with a model YAML), and
without ``--config`` the toy config is used. A head's config runs :class:`HeadLightningCLI` (model and data in
subclass mode, the feature width and ``data_info`` linked from the DataModule into the model, checkpoints on the
lowest ``val/loss`` unless the config says otherwise). ``--model`` selects the variant
(``BSPModule``, ``VanillaModule``, ``TwoHeadModule``, ``DistillationModule`` or a user subclass given by its
import path), and the DataModule's label spaces and clip length are linked into the model.

``--logger {wandb,csv,tensorboard,none}`` chooses where the metrics go; wandb runs offline unless the
environment says ``WANDB_MODE=online``. Checkpoints go to ``<trainer.default_root_dir>/checkpoints`` (with
``last.ckpt``), so ``--ckpt_path last`` resumes the run that was killed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

from bsp_lightning import legacy
from bsp_lightning.callbacks import RunSummary
from bsp_lightning.config_files import (
    ConfigNotFoundError,
    integer_trainer_values,
    merge_repeated_features,
    migrate_head_args,
    migrate_model_args,
    packaged_configs,
    resolve_config,
    rewrite_configs,
    uses_head,
)
from bsp_lightning.features.store import FeatureStoreError
from bsp_lightning.heads.module import DataInfoMismatchError, NonFiniteLossError
from bsp_lightning.heads.provenance import CheckpointHeadMismatchError, checkpoint_head_problem
from bsp_lightning.utils.errors import InputFileError, InvalidArgumentError
from bsp_lightning.data.datamodule import BSPDataModule
from bsp_lightning.module import BSPModule

LOGGERS = ("wandb", "csv", "tensorboard", "none")


class MissingCheckpointError(ValueError):
    """``validate``/``test``/``predict`` without ``--ckpt_path``: it would run an untrained model."""


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


#: a model argument given on the command line: ``--model.NAME`` or ``--model.init_args.NAME`` (``=VALUE`` or not)
_MODEL_ARGUMENT = re.compile(r"--model\.(?:init_args\.)?([A-Za-z_]\w*)(?:=|$)")


def explicit_model_arguments(args: Sequence[Any]) -> set[str]:
    """The model constructor arguments named on the command line ``args`` (not those of ``--config`` files)."""
    names = {m.group(1) for a in args if isinstance(a, str) for m in [_MODEL_ARGUMENT.match(a)] if m}
    return names - {"class_path", "init_args", "dict_kwargs", "help"}


_CLASS_PROBLEM = re.compile(r"Problem with given class_path '([\w.]+)':\s*\n((?:\s{6,}.*\n?)+)")


class ConciseArgumentParser(LightningArgumentParser):
    """jsonargparse's error for a bad ``--model.*``/``--data.*`` option of a class chosen by ``class_path`` is a
    union-validation report of a dozen lines (after 60 lines of usage) whose one useful line is near its end:
    that line, with the option's key and class, is printed instead."""

    def error(self, message: str, ex: Exception | None = None):  # noqa: D102
        match = _CLASS_PROBLEM.search(message or "")
        key = re.match(r'Parser key "([\w.]+)"', message or "")
        if match is None or key is None:
            return super().error(message, ex)
        cls = match.group(1).rsplit(".", 1)[-1]
        problem = " ".join(match.group(2).split())
        required = re.fullmatch(r"the following arguments are required: (.*)", problem)
        if required:
            names = ", ".join(f"--{key.group(1)}.{name.strip()}" for name in required.group(1).split(","))
            problem = f"required: {names}"
        sys.stderr.write(f"bsp-lightning: --{key.group(1)} ({cls}): {problem} "
                         f"(options: --{key.group(1)}.help {cls})\n")
        self.exit(2)


class BSPLightningCLI(LightningCLI):
    """LightningCLI in subclass mode for the model, with the data-to-model links and run defaults."""

    #: ``--logger`` default and help, and the ``checkpoint.*`` defaults (the heads' CLI sets its own)
    logger_default = "wandb"
    logger_help = "where metrics go when trainer.logger is not set: wandb (offline), csv, tensorboard or none"
    checkpoint_defaults: dict[str, Any] = {"checkpoint.save_last": True}

    def add_run_arguments(self, parser: LightningArgumentParser) -> None:
        """``--logger``, ``--checkpoint.*`` (saved under ``<default_root_dir>/checkpoints``) and ``--run_summary.*``."""
        parser.add_argument("--logger", choices=LOGGERS, default=self.logger_default, help=self.logger_help)
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(self.checkpoint_defaults)
        parser.link_arguments(
            "trainer.default_root_dir", "checkpoint.dirpath",
            compute_fn=lambda root: str(Path(root or ".") / "checkpoints"),
        )
        parser.add_lightning_class_args(RunSummary, "run_summary")

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        self.add_run_arguments(parser)
        parser.link_arguments("data.num_frames", "model.init_args.num_segments")
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.num_action_classes", "model.init_args.num_action_classes", apply_on="instantiate")
        parser.link_arguments(
            ("data.boundary_types", "data.mode"), "model.init_args.class_names",
            compute_fn=lambda types, mode: list(types) if mode == "bsp" else None, apply_on="instantiate",
        )

    def before_instantiate_classes(self) -> None:
        if self.subcommand in ("validate", "test", "predict"):
            config = self.config[self.subcommand]
            if not config.get("ckpt_path"):
                # a new process holds a freshly initialised model: its numbers (and predictions/<stage>.json, which
                # would replace the trained run's) mean nothing
                raise MissingCheckpointError(
                    f"{self.subcommand} needs --ckpt_path: best or last (of the fit run in "
                    f"{config.trainer.default_root_dir or '.'}) or a .ckpt path; without one it would "
                    f"{self.subcommand} an untrained model")
            if config.get("ckpt_path") in ("best", "last"):
                config.ckpt_path = resolve_checkpoint(config.ckpt_path, config.trainer.default_root_dir or ".")

    _command_line: list[Any] = []

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        # kept for _parse_ckpt_path: which model arguments the user typed
        self._command_line = list(sys.argv[1:] if args is None else args if isinstance(args, (list, tuple)) else [])
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """Lightning's reload of the model's hyper-parameters from ``--ckpt_path``, with the class and arguments
        that an older version recorded read through the table of old names (:mod:`bsp_lightning.legacy`).

        A model argument typed on the command line (``--model.class_scores FILE``, ``--model.top_k 50``) wins over
        the checkpoint's value: Lightning's reload overrides it silently (the run would, e.g., label G-TAD's
        detections with the checkpoint's classifier instead of the given class-score file). Values of ``--config``
        files do not: a packaged config names every argument, and the checkpoint's are the trained model's."""
        import torch

        from bsp_lightning.models.checkpoints import CLASS_KEY

        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        ckpt = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        self._check_checkpoint_head(ckpt, ckpt_path)
        hparams = dict(ckpt.get("hyper_parameters") or {})
        hparams.pop("_instantiator", None)
        if not hparams:
            return
        spec = hparams.pop("_class_path", None) or ckpt.get(CLASS_KEY) or self.config[subcommand].model.class_path
        try:
            cls, hparams = legacy.migrate_init_args(spec, hparams)
        except (ImportError, TypeError) as err:
            raise InputFileError(ckpt_path, f"cannot rebuild the model it holds: {err}") from None
        self._check_checkpoint_stage(cls, ckpt_path)
        if subcommand in ("validate", "test", "predict") and hparams.get("data_info") is not None:
            # the model is rebuilt with the data_info it was trained with (a vocabulary is the checkpoint's)
            self._checkpoint_data_info = dict(hparams["data_info"])
        typed = self.config[subcommand].model.get("init_args") or {}
        hparams.update({k: typed[k] for k in explicit_model_arguments(self._command_line) if k in typed})
        model = {"class_path": legacy.class_path(cls), "dict_kwargs": hparams}
        try:
            self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)
        except SystemExit:
            sys.stderr.write("Parsing of ckpt_path hyperparameters failed!\n")

    def _check_checkpoint_stage(self, cls: type, ckpt_path: str) -> None:
        """A pre-training checkpoint given to a head run, or a head's to a pre-training run, is one line (it would
        fail in ``load_state_dict`` with every key listed)."""
        from bsp_lightning.heads import HeadModule

        if not isinstance(cls, type) or issubclass(cls, self.model_class):
            return
        if issubclass(cls, HeadModule):
            hint = "a downstream head's model: test it with that head's --config"
        else:
            hint = (f"a pre-training model: extract its features with `bsp-lightning extract --checkpoint "
                    f"{ckpt_path}` and give them to the head with --data.features")
        raise InputFileError(ckpt_path, f"holds a {cls.__name__}, {hint}; this run needs a {self.model_class.__name__}")

    def _check_checkpoint_head(self, ckpt: dict[str, Any], ckpt_path: str) -> None:
        """A checkpoint of another head than the config's is one line (:class:`CheckpointHeadMismatchError`)."""

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except ValueError as err:
            # jsonargparse reports a constructor's ValueError as the cause of its own: that cause is a rejected
            # --model.*/--data.* value (one line on the command line), unless it is already a typed input error
            cause = err.__cause__
            if isinstance(cause, ValueError) and not isinstance(cause, (*_BAD_INPUT, InvalidArgumentError)):
                raise InvalidArgumentError(" ".join(str(cause).split())) from err
            raise

    def instantiate_trainer(self, **kwargs: Any):
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.trainer.get("logger") in (None, True) and "logger" not in kwargs:
            kwargs["logger"] = make_logger(config.logger, config.trainer.default_root_dir or ".")
        # a count of batches given as `1` is not the fraction 1.0 that jsonargparse made of it
        kwargs = {**integer_trainer_values(sys.argv[1:]), **kwargs}
        return super().instantiate_trainer(**kwargs)


def resolve_checkpoint(which: str, root: str | os.PathLike) -> str:
    """``--ckpt_path best|last`` of a finished run, for ``validate``/``test``/``predict`` in a new process.

    Lightning resolves ``best`` only inside the process that ran ``fit``; here ``last`` is the newest of
    ``<root>/checkpoints/last.ckpt`` and ``last-v<N>.ckpt`` (a second ``fit`` in the same folder writes
    ``last-v1.ckpt``; Lightning's own ``--ckpt_path last`` also takes the newest) and ``best`` the
    ``best_model_path`` that the run's ``ModelCheckpoint`` recorded in that file (the lowest ``val/loss`` for
    the heads).

    Raises:
        FileNotFoundError: no ``last.ckpt`` under ``root``, or the recorded best checkpoint is gone.
    """
    import re

    import torch

    folder = Path(root) / "checkpoints"
    last = folder / "last.ckpt"
    versions = [p for p in folder.glob("last*.ckpt") if re.fullmatch(r"last(-v\d+)?\.ckpt", p.name) and p.is_file()]
    if versions:
        last = max(versions, key=lambda p: p.stat().st_mtime_ns)
    if not last.is_file():
        raise FileNotFoundError(f"{last}: no checkpoint of a finished run for --ckpt_path {which} "
                                "(pass --trainer.default_root_dir of the fit run, or a checkpoint path)")
    if which == "last":
        return str(last)
    state = torch.load(last, map_location="cpu", weights_only=False)
    best = next((cb.get("best_model_path") for key, cb in state.get("callbacks", {}).items()
                 if key.startswith("ModelCheckpoint") and cb.get("best_model_path")), None)
    if not best:
        return str(last)
    if not Path(best).is_file():
        raise FileNotFoundError(f"{best}: the best checkpoint recorded in {last} is missing")
    return best


class HeadLightningCLI(BSPLightningCLI):
    """LightningCLI for the downstream heads: model and data in subclass mode, data-to-model links, checkpoints
    on the lowest ``val/loss`` (G-TAD's official selection) unless a config says otherwise."""

    logger_default = "csv"
    logger_help = ("where metrics go when trainer.logger is not set: csv (default for heads), wandb (offline), "
                   "tensorboard or none")
    checkpoint_defaults = {"checkpoint.save_last": True, "checkpoint.monitor": "val/loss", "checkpoint.mode": "min"}

    _checkpoint_data_info: dict[str, Any] | None = None

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        self.add_run_arguments(parser)
        parser.link_arguments("data.feature_dim", "model.init_args.feature_dim", apply_on="instantiate")
        parser.link_arguments("data.data_info", "model.init_args.data_info", apply_on="instantiate",
                              compute_fn=self._model_data_info)

    def _model_data_info(self, data_info: dict[str, Any]) -> dict[str, Any]:
        """``fit``: the data's ``data_info``; ``validate``/``test``/``predict`` with a checkpoint: the checkpoint's
        (the data then adopts its model-owned keys, and the base class compares the rest)."""
        return data_info if self._checkpoint_data_info is None else self._checkpoint_data_info

    def _check_checkpoint_head(self, ckpt: dict[str, Any], ckpt_path: str) -> None:
        from bsp_lightning.heads.spec import head_name_of

        subcommand = self.config.get("subcommand")
        try:
            this_head = head_name_of(legacy.import_class(self.config[subcommand].model.class_path))
        except (ImportError, AttributeError, TypeError, ValueError):
            return
        problem = checkpoint_head_problem(ckpt, this_head, ckpt_path)
        if problem is not None:
            raise CheckpointHeadMismatchError(problem)

    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        from bsp_lightning.heads import HeadModule

        configs = (self.config[self.subcommand] if self.subcommand else self.config).get("config") or []
        if isinstance(self.model, HeadModule) and configs:
            self.model.run_config = Path(str(configs[-1])).stem  # recorded in its checkpoints


def build_cli(args: Sequence[str], run: bool = True) -> BSPLightningCLI:
    """Parse ``args`` (subcommand first when ``run``; packaged config names resolved) and run LightningCLI.

    With ``run=False`` there is no subcommand: the classes are built from ``args`` and not run (for tests
    and notebooks). A head's config (see :func:`is_head_config`) builds a :class:`HeadLightningCLI`.
    """
    args = list(args)
    if run and args and not args[0].startswith("-"):
        args = rewrite_configs(args)
    args = merge_repeated_features(args)
    head = uses_head(args)
    args = migrate_head_args(args) if head else migrate_model_args(args)
    argv0 = sys.argv
    # LightningCLI reads sys.argv, and DDP relaunches this command from it: it must hold the resolved args
    sys.argv = [argv0[0] if argv0 else "bsp-lightning", *args]
    try:
        if head:
            from bsp_lightning.heads import FeatureDataModule, HeadModule

            return HeadLightningCLI(
                HeadModule, FeatureDataModule, subclass_mode_model=True, subclass_mode_data=True, args=None, run=run,
                save_config_kwargs={"overwrite": True}, auto_configure_optimizers=False,
                parser_class=ConciseArgumentParser,
            )
        return BSPLightningCLI(
            BSPModule,
            BSPDataModule,
            subclass_mode_model=True,
            args=None,
            run=run,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_class=ConciseArgumentParser,
        )
    finally:
        sys.argv = argv0


_BAD_INPUT = (ConfigNotFoundError, FileNotFoundError, InputFileError, FeatureStoreError, MissingCheckpointError,
              InvalidArgumentError, DataInfoMismatchError, CheckpointHeadMismatchError)


def _one_line(err: BaseException) -> str:
    """``str(err)``; for an error re-raised from a DataLoader worker (whose text is the worker's traceback),
    its last line without the exception name."""
    text = str(err)
    if "Original Traceback" in text:
        last = [line for line in text.splitlines() if line.strip()][-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    return text


def _bad_input_cause(err: BaseException) -> BaseException | None:
    """The first bad-input error (:data:`_BAD_INPUT`) in the ``__cause__``/``__context__`` chain of ``err``."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, _BAD_INPUT):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``bsp-lightning fit|validate|test|predict``; ``argv`` includes the subcommand: ``["fit", "--config", "toy"]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        build_cli(args)
    except _BAD_INPUT as err:
        # bad input (a missing or malformed annotation, feature, GloVe or checkpoint file): one line, no traceback
        print(f"bsp-lightning: {_one_line(err)}", file=sys.stderr)
        return 2
    except NonFiniteLossError as err:  # a diverged run: the batch's videos, no traceback
        print(f"bsp-lightning: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        # jsonargparse wraps what a model's or DataModule's __init__ raises: report the bad input underneath
        cause = _bad_input_cause(err)
        if cause is None:
            raise
        print(f"bsp-lightning: {_one_line(cause)}", file=sys.stderr)
        return 2
    except SystemExit as exit_:  # --help and argument errors: an exit code, not an exception, in-process
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    return 0


__getattr__ = legacy.module_getattr(__name__)
