"""Reporting for the pre-training runs: confusion matrices for every logger, and where the run's files are."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from bsp_lightning.utils.io import atomic_write_text

logger = logging.getLogger(__name__)


def format_confusion_matrix(matrix: torch.Tensor, names: Sequence[str]) -> str:
    """A text table: one row per true class, one column per predicted class, counts as integers."""
    counts = matrix.detach().cpu().long().tolist()
    width = max(8, *(len(n) for n in names), *(len(str(c)) for row in counts for c in row))
    head = " " * width + " | " + " ".join(f"{n:>{width}}" for n in names) + "   (rows: true, columns: predicted)"
    rows = [f"{name:>{width}} | " + " ".join(f"{c:>{width}}" for c in row) for name, row in zip(names, counts)]
    return "\n".join([head, "-" * len(head), *rows])


def confusion_matrix_image(matrix: torch.Tensor, names: Sequence[str], title: str) -> np.ndarray:
    """The row-normalised confusion matrix drawn as an RGB image ``(H, W, 3) uint8``, counts in the cells."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, safe in any process

    counts = matrix.detach().cpu().double()
    rates = counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
    n = len(names)
    fig = Figure(figsize=(1.2 * n + 2, 1.1 * n + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(rates.numpy(), vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


@rank_zero_only
def log_confusion_matrix(trainer: pl.Trainer, matrix: torch.Tensor, names: Sequence[str], tag: str) -> None:
    """Send a confusion matrix to every logger of ``trainer``: an image on wandb and TensorBoard, a text file
    ``<log_dir>/confusion/<tag>_epoch<NNN>.txt`` for CSV, and the table on the console log at INFO level.
    """
    text = format_confusion_matrix(matrix, names)
    epoch, step = trainer.current_epoch, trainer.global_step
    logger.info("%s (epoch %d):\n%s", tag, epoch, text)
    image = None
    for run_logger in trainer.loggers:
        if isinstance(run_logger, (WandbLogger, TensorBoardLogger)) and image is None:
            image = confusion_matrix_image(matrix, names, f"{tag}, epoch {epoch}")
        if isinstance(run_logger, WandbLogger):
            import wandb

            run_logger.experiment.log({tag: wandb.Image(image), "trainer/global_step": step})
        elif isinstance(run_logger, TensorBoardLogger):
            run_logger.experiment.add_image(tag, image, global_step=step, dataformats="HWC")
        elif isinstance(run_logger, CSVLogger):
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag)
            atomic_write_text(Path(run_logger.log_dir) / "confusion" / f"{name}_epoch{epoch:03d}.txt", text + "\n")


def _log_dirs(trainer: pl.Trainer) -> list[str]:
    dirs = []
    for run_logger in trainer.loggers:
        if isinstance(run_logger, WandbLogger):
            run_dir = Path(run_logger.experiment.dir).parent
            mode = run_logger.experiment.settings.mode
            offline = mode in ("offline", "dryrun")
            upload = f" (upload: wandb sync {run_dir})" if offline else ""
            dirs.append(f"wandb{' offline' if offline else ''} run: {run_dir}{upload}")
        else:
            dirs.append(f"{type(run_logger).__name__}: {run_logger.log_dir}")
    return dirs


class RunSummary(Callback):
    """Print where the logs and checkpoints of a fit go (at the start) and what was saved (at the end).

    It also makes ``--trainer.max_time`` a limit per invocation: Lightning's ``Timer`` restores the time already
    spent from the checkpoint, so a run stopped by ``max_time`` and resumed with ``--ckpt_path last`` would stop
    again at once; here a resumed run gets the whole ``max_time`` again (a SLURM job's limit is per job too). A run
    that ``max_time`` stopped early says so at the end, with the epochs done and whether it validated.
    """

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.ckpt_path:
            for timer in _timers(trainer):
                timer.load_state_dict({"time_elapsed": {}})  # on every rank: the stop decision is broadcast
        self._print_start(trainer)

    @rank_zero_only
    def _print_start(self, trainer: pl.Trainer) -> None:
        lines = ["logs -> " + d for d in _log_dirs(trainer)]
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint) and checkpoint.dirpath:
            lines.append(f"checkpoints -> {checkpoint.dirpath}")
        print("\n".join(lines), flush=True)

    @rank_zero_only
    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        lines = [f"finished: {trainer.current_epoch} epochs, {trainer.global_step} steps"]
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/") and v.dim() == 0}
        timed_out = [t for t in _timers(trainer) if t.time_remaining() is not None and t.time_remaining() <= 0]
        max_epochs = trainer.max_epochs
        if timed_out and max_epochs is not None and 0 <= trainer.current_epoch < max_epochs:
            limit = timed_out[0]._duration  # seconds; Timer has no public getter for it
            lines[0] = (f"stopped by --trainer.max_time ({_hms(limit)}) after {trainer.current_epoch} of {max_epochs} "
                        f"epochs, {trainer.global_step} steps; continue with --ckpt_path last (it gets max_time "
                        "again)")
            if not metrics:
                lines.append(f"no validation ran (check_val_every_n_epoch={trainer.check_val_every_n_epoch}): "
                             "there is no val/ metric and no best checkpoint yet")
        if metrics:
            lines.append("validation: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
        lines += ["logs: " + d for d in _log_dirs(trainer)]
        checkpoint = trainer.checkpoint_callback
        if isinstance(checkpoint, ModelCheckpoint):
            if checkpoint.best_model_path:
                lines.append(f"best checkpoint: {checkpoint.best_model_path}")
            if checkpoint.last_model_path:
                lines.append(f"last checkpoint: {checkpoint.last_model_path} (resume: --ckpt_path last)")
        print("\n".join(lines), flush=True)


def _timers(trainer: pl.Trainer) -> list[Timer]:
    return [c for c in trainer.callbacks if isinstance(c, Timer)]


def _hms(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
