"""Streaming frame shards: each clip once per epoch, seeded epochs, the same global batches for any number of
processes, resuming inside an epoch, and balanced boundary types whatever the pair buffer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from bsp_lightning.data import BSPDataModule
from bsp_lightning.data.shards import ShardStore
from bsp_lightning.data.stream_dataset import ShardStreamDataset
from bsp_lightning.data.stream_plan import PlanConfig, plan_stream
from bsp_lightning.data.synthesis import DIFF_CLASS, SAME_CLASS

CFG = PlanConfig(types=(0, 1, 2, 3), gammas=(0.5, 2.0), resolution=16, pair_buffer=4, seed=2)


def batches(dataset: ShardStreamDataset, batch_size: int, num_workers: int = 0) -> list[dict]:
    dataset.num_workers = num_workers
    return list(DataLoader(dataset, batch_size=batch_size, num_workers=num_workers))


def shards(packed, **kwargs) -> BSPDataModule:
    args = dict(root=str(packed["raw"]), source="shards", num_frames=8, gammas=(0.5, 2.0), resolution=16,
                batch_size=4, num_workers=0, seed=2, pair_buffer=4)
    dm = BSPDataModule(**{**args, **kwargs})
    dm.setup("fit")
    return dm


def test_each_clip_once_per_epoch_seeded_per_epoch(packed):
    dm = shards(packed)
    loader = dm.train_dataloader()
    first = list(loader)
    ids = [v for b in first for v in b["video_id"]]
    assert len(first) == len(loader) == 3 and sorted(ids) == sorted(ShardStore(packed["raw"] / "train").ids)
    again = list(shards(packed).train_dataloader())
    assert all(torch.equal(a["clip"], b["clip"]) and a["video_id"] == b["video_id"] for a, b in zip(first, again))
    loader.set_epoch(1)
    second = [v for b in loader for v in b["video_id"]]
    assert sorted(second) == sorted(ids) and second != ids
    for batch in first:  # partners obey the class constraints
        for b in range(4):
            kind, second_id = int(batch["boundary_type"][b]), batch["video_id_2"][b]
            first_class, mate_class = batch["video_id"][b].split("_")[2], second_id.split("_")[2] if second_id else ""
            assert (second_id != "") == (kind in (DIFF_CLASS, SAME_CLASS))
            if kind == SAME_CLASS:
                assert mate_class == first_class and second_id != batch["video_id"][b]
            if kind == DIFF_CLASS:
                assert mate_class != first_class
    val = [v for b in dm.val_dataloader() for v in b["video_id"]]
    assert val == [v for b in dm.val_dataloader() for v in b["video_id"]] and all(v.startswith("val_") for v in val)


def test_same_global_batches_for_any_number_of_processes(packed):
    store = ShardStore(packed["raw"] / "train")

    def run(world_size: int, batch_size: int, num_workers: int) -> list[list[dict]]:
        per_rank = []
        for rank in range(world_size):
            dataset = ShardStreamDataset(store, CFG, batch_size, streams=4)
            dataset.rank, dataset.world_size = rank, world_size
            per_rank.append(batches(dataset, batch_size, num_workers))
        return per_rank

    for num_workers in (0, 2):
        (single,) = run(1, 4, num_workers)
        ranks = run(4 // (num_workers or 1), 4 // (4 // (num_workers or 1)), num_workers)
        assert len(single) == len(ranks[0]) >= 1
        for step, batch in enumerate(single):  # the processes' batches of a step, in rank order
            assert batch["video_id"] == [v for rank in ranks for v in rank[step]["video_id"]]
            assert torch.equal(batch["clip"], torch.cat([rank[step]["clip"] for rank in ranks]))
        seen = [v for rank in ranks for b in rank for v in b["video_id"]]
        assert len(seen) == len(set(seen))  # no clip on two processes


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_inside_an_epoch_continues_the_stream(packed, num_workers):
    store = ShardStore(packed["raw"] / "train")
    dataset = ShardStreamDataset(store, CFG, batch_size=2)
    dataset.epoch = 3
    whole = batches(dataset, 2, num_workers)
    assert len(whole) == 6
    for done in (1, 3):
        resumed = ShardStreamDataset(store, CFG, batch_size=2)
        resumed.epoch, resumed.skip_batches = 3, done
        rest = batches(resumed, 2, num_workers)
        assert [b["video_id"] for b in rest] == [b["video_id"] for b in whole[done:]]
        assert all(torch.equal(a["clip"], b["clip"]) for a, b in zip(rest, whole[done:]))


@pytest.mark.parametrize("pair_buffer", [2, 16, 1024])
def test_boundary_types_stay_balanced_whatever_the_pair_buffer(pair_buffer):
    rng = np.random.default_rng(0)
    classes, per_class = 20, 60
    labels = np.repeat(np.arange(classes), per_class)
    num_frames = rng.integers(40, 90, labels.size)
    num_frames[:3] = 5  # too short for any boundary type
    heights, widths = np.full(labels.size, 32), np.full(labels.size, 40)
    order = rng.permutation(labels.size).tolist()
    cfg = CFG._replace(pair_buffer=pair_buffer)
    plan = plan_stream(order, labels, num_frames, heights, widths, cfg, epoch=0)
    assert plan.too_short == 3
    # a same_class sample drawn for the last clip of a class waits in vain once the buffer, smaller than the
    # number of classes, has dropped the class: it takes another type (at most one per class)
    assert plan.converted == 0 if pair_buffer >= classes else plan.converted <= classes
    assert sorted(s.clip for s in plan.samples) == sorted(set(order) - {0, 1, 2})  # each usable clip once
    counts = np.bincount([s.kind for s in plan.samples], minlength=4)
    n = len(plan.samples)
    assert (np.abs(counts - n / 4) < 4 * np.sqrt(n * 3 / 16)).all(), counts  # within 4 binomial sd of n/4
    position = {clip: p for p, clip in enumerate(order)}
    for spec in plan.samples:
        if spec.kind in (DIFF_CLASS, SAME_CLASS):
            assert spec.mate != spec.clip and (labels[spec.mate] == labels[spec.clip]) == (spec.kind == SAME_CLASS)
            assert len(spec.mate_indices) == cfg.tau + cfg.eps and spec.mate_indices[-1] < num_frames[spec.mate]
        else:
            assert spec.mate == -1
    # partners come from the buffer (streamed before) or are the next fitting clip a waiting sample gets
    waited = sum(position[s.mate] > position[s.clip] for s in plan.samples if s.kind in (DIFF_CLASS, SAME_CLASS))
    assert 0 < waited < {2: 400, 16: 100, 1024: 40}[pair_buffer]  # a small buffer makes pair samples wait more
