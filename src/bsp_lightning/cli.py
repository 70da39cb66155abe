"""The ``bsp-lightning`` command.

``fit``/``validate``/``test``/``predict`` go to LightningCLI; every other subcommand is a small
argparse program in the module that owns the concept, imported lazily so ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")

# name -> ("module:function", one-line help). Each function takes argv (list[str]) and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {
    "toy-data": ("bsp_lightning.data.toy:main", "write the procedurally generated toy datasets"),
    "extract": ("bsp_lightning.extract:main", "extract snippet features from untrimmed videos"),
    "combine": ("bsp_lightning.features.combine:combine_main", "concatenate two feature folders (two-stream)"),
    "features": ("bsp_lightning.features.importers.cli:main",
                 "import released features (h5, thumos-tsn, npy, csv); run the README recipes in miniature"),
    "evaluate": ("bsp_lightning.evaluation.cli:main", "official-equivalent evaluation of predictions"),
    "data": ("bsp_lightning.annotations.cli:main", "inspect annotations, check videos, convert your CSV, pack shards"),
    "viz": ("bsp_lightning.viz:main", "draw the paper's figures (PNG)"),
    "study": ("bsp_lightning.study:main", "the paper's comparison in miniature on the toy data (results.md/.png)"),
    "configs": ("bsp_lightning.config_files:configs_main", "list the packaged configs (core and installed heads)"),
}


def _usage() -> str:
    lines = [
        "usage: bsp-lightning <command> [options]",
        "",
        "Boundary-Sensitive Pre-training (BSP, ICCV 2021) on PyTorch Lightning.",
        "",
        "training (LightningCLI; `bsp-lightning fit --help` lists every option):",
        "  fit         pre-train (default config: the toy dataset, generated when absent), or train a head",
        "              (--config gtad_anet, tan2d_charades, ...: see `bsp-lightning configs`)",
        "  validate    run the validation loop on a checkpoint",
        "  test        run the test loop on a checkpoint",
        "  predict     run the predict loop",
        "",
        "tools:",
    ]
    lines += [f"  {name:<11} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `bsp-lightning <command> --help` for the options of one command."]
    return "\n".join(lines)


def _load(target: str):
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything imports torch: OpenMP threads that busy-wait between torch's parallel regions burn the
    # cores the DataLoader workers (and other jobs on a shared machine) need. Measured with a TSM-R18 training
    # step on 16 toy clips, 2 threads, 2 cores at load 5: 2.80 CPU s and 5.4 s wall per step busy-waiting,
    # 0.51 CPU s and 0.67 s wall sleeping. A value the user sets wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[0] in ("-V", "--version"):
        from bsp_lightning import __version__

        print(f"bsp-lightning {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command in LIGHTNING_SUBCOMMANDS:
        return _load("bsp_lightning.lightning_cli:main")(args) or 0
    if command not in COMMANDS:
        print(f"bsp-lightning: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        return _load(COMMANDS[command][0])(rest) or 0
    except BrokenPipeError:
        # `bsp-lightning configs | head`: the reader is gone; stop quietly (Python's documented recipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
