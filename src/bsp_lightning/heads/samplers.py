"""The samplers of :class:`~bsp_lightning.heads.FeatureDataModule`'s loaders: a training order set by the seed and
the epoch alone, and an unpadded split of the test and predict items over processes.

* :class:`EpochShuffleSampler`: the order of epoch ``e`` is a function of ``seed`` and ``e``. A
  ``torch.Generator`` seeded once and advanced epoch after epoch (PyTorch's ``RandomSampler``) gives a run resumed
  with ``--ckpt_path last`` epoch 0's order again; Lightning calls :meth:`~EpochShuffleSampler.set_epoch` before
  each epoch (also on a resumed run), so a resumed run's next epoch is the uninterrupted run's.
* :func:`unpadded_sampler`: under several processes Lightning gives test loaders a ``DistributedSampler``, which
  pads the ranks to equal length by repeating items: a repeated video is a false positive in mAP and a repeated
  query counts twice in R@n. Test and predict loaders get Lightning's ``UnrepeatedDistributedSampler`` instead
  (rank ``r`` of ``W`` takes items ``r, r + W, ...``), so every item is predicted exactly once;
  :meth:`~bsp_lightning.heads.HeadModule.gather_items` puts them back in dataset order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch.utils.data import Sampler

__all__ = ["EpochShuffleSampler", "unpadded_sampler"]


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(len(data))`` that depends on ``seed`` and the epoch only (module docstring).

    The order is exactly that of the loader this replaces (``DataLoader(shuffle=True, generator=g)`` with
    ``g`` seeded once with ``seed``): per epoch the loader draws one int64 from ``g`` (its workers' base seed),
    then ``RandomSampler`` draws ``randperm(n)`` for the order and one more after the last item. :meth:`set_epoch`
    re-seeds ``g`` and replays ``epoch`` such epochs, so an uninterrupted run keeps every number it had and a
    resumed run draws the same orders (and worker seeds) as an uninterrupted one.

    Args:
        data: the dataset (only its length is used).
        seed: the run's ``--data.seed``.

    Attributes:
        generator: give it to the ``DataLoader`` as its ``generator`` (the workers' base seeds come from it).
    """

    def __init__(self, data: Sized, seed: int = 0) -> None:
        self.data = data
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self._epoch = 0  # the epoch whose draws the generator is at
        self._epoch_start = self.generator.get_state()

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each training epoch: moves the generator to the draws of ``epoch``.

        Lightning creates the first epoch's iterator (which draws the workers' base seed) before it calls this;
        the base seed is then drawn again from the replayed stream, so that the order is the uninterrupted run's
        (the workers of that one iterator keep the seed they were given).
        """
        epoch = int(epoch)
        if epoch == self._epoch:
            return
        base_drawn = not torch.equal(self.generator.get_state(), self._epoch_start)
        n = len(self.data)
        self.generator.manual_seed(self.seed)
        for _ in range(epoch):
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)
            torch.randperm(n, generator=self.generator)
            torch.randperm(n, generator=self.generator)
        self._epoch, self._epoch_start = epoch, self.generator.get_state()
        if base_drawn:
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[int]:
        n = len(self.data)
        yield from torch.randperm(n, generator=self.generator).tolist()
        torch.randperm(n, generator=self.generator)  # RandomSampler's draw for the (empty) remainder
        self._epoch, self._epoch_start = self._epoch + 1, self.generator.get_state()


def unpadded_sampler(data: Sized, num_replicas: int, rank: int) -> Sampler[int]:
    """Items ``rank, rank + num_replicas, ...`` of ``data``, in order, none repeated (module docstring)."""
    from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler

    return UnrepeatedDistributedSampler(data, num_replicas=num_replicas, rank=rank, shuffle=False)
