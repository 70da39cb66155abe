"""Snippet batches: sharding over ranks and DataLoader workers, and the decoded-frame count."""

from __future__ import annotations

import numpy as np
from torch.utils.data import DataLoader

from bsp_lightning.extract import SnippetBatches, SnippetSpec, list_videos


def test_sharding_covers_every_video_once_across_ranks_and_workers(setup):
    items = list_videos(setup["videos"])
    spec = SnippetSpec(8, 8, 32, 32)
    seen = []
    for rank in range(2):
        dataset = SnippetBatches(items, spec, batch_size=1, rank=rank, world_size=2)
        for batch in DataLoader(dataset, batch_size=None, num_workers=2):
            seen.append((batch["video_id"], int(batch["snippet_index"][0]) if batch["error"] is None else -1))
        assert len(dataset.videos_of_rank(2)) == 2
    assert sorted(seen) == sorted([("a_long", 0), ("a_long", 1), ("a_long", 2), ("b_short", 0),
                                   ("c_exact", 0), ("c_exact", 1), ("d_broken", -1)])


def test_decoded_count_with_a_stride_longer_than_the_snippet():
    from bsp_lightning.extract import decoded_frames
    from bsp_lightning.video import Snippet

    frames = np.zeros((4, 2, 2, 3), dtype=np.uint8)
    assert decoded_frames(Snippet(8, frames, 2), stride=4, expected=99) == 10  # padded: exact
    assert decoded_frames(Snippet(8, frames, 4), stride=4, expected=12) == 12  # ends with the snippet
    assert decoded_frames(Snippet(8, frames, 4), stride=6, expected=13) == 13  # 12..14 possible: take probe's
    assert decoded_frames(Snippet(8, frames, 4), stride=6, expected=30) == 12  # far more announced: partial
