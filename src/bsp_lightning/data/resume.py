"""Training loaders whose data order depends on the epoch, never on a restart, and that resume mid-epoch.

Lightning creates the training iterator of a resumed run once, before it tells samplers the epoch
(``FitLoop.setup_data`` then ``_set_sampler_epoch``), so a sampler that reads its epoch when the iterator is
made replays epoch 0's order in the first resumed epoch. :class:`EpochLoader` asks the Trainer for the epoch
each time an iterator is made (``fit_loop.epoch_progress.current.processed``, the value Lightning gives
``set_epoch``), and implements Lightning's ``state_dict``/``load_state_dict`` loader interface: a checkpoint
records the epoch and the batches already trained in it (the Trainer's count, not the loader's, which runs
ahead by the prefetched batches), and the restored loader skips those batches, so a run resumed from a
mid-epoch checkpoint continues the same stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import DataLoader

__all__ = ["EpochLoader", "EpochPosition"]


class EpochPosition:
    """The epoch and the batches to skip for the next pass of a training loader.

    Args:
        apply: called with ``(epoch, batches_to_skip)`` before each pass; it sets the sampler or dataset. The
            epoch is None without a Trainer (plain iteration): the sampler or dataset keeps its own.
        trainer: returns the attached Trainer, or None.
    """

    def __init__(self, apply: Callable[[int | None, int], None], trainer: Callable[[], Any]) -> None:
        self.apply = apply
        self.trainer = trainer
        self.restored: dict[str, int] | None = None

    def _trainer_epoch(self) -> int | None:
        trainer = self.trainer()
        if trainer is None or not getattr(trainer, "training", False):
            return None
        return int(trainer.fit_loop.epoch_progress.current.processed)

    def start_pass(self, num_batches: int) -> tuple[int | None, int]:
        """``(epoch, batches to skip)`` of the pass starting now; a restored position is used once.

        A checkpoint taken after the last batch of epoch ``e`` resumes at epoch ``e + 1`` (Lightning creates
        the iterator before it moves its own epoch count on).
        """
        epoch = self._trainer_epoch()
        skip = 0
        if self.restored is not None and epoch is not None and int(self.restored.get("epoch", -1)) == epoch:
            skip = int(self.restored.get("batches_done", 0))
            if skip >= num_batches:
                epoch, skip = epoch + 1, 0
        self.restored = None
        self.apply(epoch, skip)
        return epoch, skip

    def state(self) -> dict[str, int]:
        """``{"epoch", "batches_done"}`` as the Trainer counts them now."""
        trainer = self.trainer()
        if trainer is None:
            return {"epoch": -1, "batches_done": 0}
        return {"epoch": int(trainer.fit_loop.epoch_progress.current.processed),
                "batches_done": int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)}


class EpochLoader(DataLoader):
    """A DataLoader that sets its epoch (and resume point) from :class:`EpochPosition` at each pass.

    Args:
        position: where the next pass starts (keyword-only; the other arguments are DataLoader's).
    """

    def __init__(self, *args: Any, position: EpochPosition, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.position = position

    def __iter__(self):
        self.position.start_pass(len(self))
        return super().__iter__()

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next passes when no Trainer drives the loader."""
        self.position.apply(int(epoch), 0)

    def state_dict(self) -> dict[str, int]:
        return self.position.state()

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.position.restored = dict(state_dict)
