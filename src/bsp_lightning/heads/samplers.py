"""The order of the heads' loaders: a resumable training shuffle, and an unpadded split of the test and predict
items over processes.

* Training order: the loader shuffles with a ``torch.Generator`` seeded once with ``--data.seed`` and advanced
  epoch after epoch (PyTorch's ``RandomSampler``; the loader also draws its workers' base seed from it). A fresh
  generator in a run resumed with ``--ckpt_path last`` would replay epoch 0's order: the generator's state is
  saved in the checkpoint (:meth:`~bsp_lightning.heads.FeatureDataModule.state_dict`, which Lightning stores
  with the DataModule's name) and restored before the training loader is built, so the resumed run's next epochs
  draw the uninterrupted run's orders, and an uninterrupted run keeps every order it had. (Under several processes
  Lightning's ``DistributedSampler`` shuffles by ``seed + epoch`` instead, which resumes by construction.)
* :func:`unpadded_sampler`: under several processes Lightning gives test loaders a ``DistributedSampler``, which
  pads the ranks to equal length by repeating items: a repeated query counts twice in R@n, a repeated THUMOS
  window adds its proposals twice. Test and predict loaders get Lightning's ``UnrepeatedDistributedSampler``
  instead (rank ``r`` of ``W`` takes items ``r, r + W, ...``), so every item is predicted exactly once;
  :meth:`~bsp_lightning.heads.HeadModule.gather_items` puts them back in dataset order.
"""

from __future__ import annotations

from collections.abc import Sized

from torch.utils.data import Sampler

__all__ = ["unpadded_sampler"]


def unpadded_sampler(data: Sized, num_replicas: int, rank: int) -> Sampler[int]:
    """Items ``rank, rank + num_replicas, ...`` of ``data``, in order, none repeated (module docstring)."""
    from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler

    return UnrepeatedDistributedSampler(data, num_replicas=num_replicas, rank=rank, shuffle=False)
