"""``thumos-tsn``: G-TAD's THUMOS-14 TSN features, ``rgb_<split>.h5`` + ``flow_<split>.h5`` pairs.

Facts (G-TAD ``master`` @ 6deb5b1, ``gtad_lib/dataset.py`` ``_get_data``; gtad issues #12, #26, #48; see
``docs/heads/gtad-actionness.md`` §1.2): the folder ``TSN_pretrain_avepool_allfrms_hdf5/`` holds ``rgb_val.h5``,
``flow_val.h5``, ``rgb_test.h5``, ``flow_test.h5``; each has one ``(num_frames, 1024)`` dataset per video,
extracted every frame by a Kinetics-pretrained TSN (flow has one row fewer). Per video the official loader takes
every 5th row of each stream (``[::5]``), truncates both to the shorter, and concatenates ``[flow, rgb]`` into
``(N, 2048)``; row ``i`` stands for frame ``5 i``, its anchor spanning ``5 i +- 2.5`` frames. The annotation CSV of
the same code has ``startFrame = 30 x start``, so its frame rate is 30.

Here the same rows come out, and in time row ``i`` spans ``[(5 i - 2.5) / 30, (5 i + 2.5) / 30)`` seconds
(``--subsample 5``, ``snippet_length = stride = 5``, ``first_frame = -2.5``, ``--fps 30``), which is exactly the
official placement: the G-TAD head centres row ``i`` on frame ``5 i`` and starts a training window half a row
before it (the official ``first_frame - 2.5``). ``num_frames`` is the rgb row count (one per frame).

Sources: the folder, or the ``.h5`` files themselves; ``rgb_X`` pairs with ``flow_X``. A video in one stream
only is a one-line error naming the file without it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bsp_lightning.features.importers.base import FeatureImportError, SourceVideo, source_files
from bsp_lightning.features.importers.h5 import H5_SUFFIXES, open_h5

__all__ = ["THUMOS_TSN", "list_thumos_tsn"]

#: The official values: frame rate of the annotations, rows kept per frame, width of one stream.
THUMOS_TSN = {"fps": 30.0, "subsample": 5, "stream_dim": 1024}

_STREAM = re.compile(r"^(rgb|flow)_(.+)$")


def _pairs(sources: list[Path]) -> dict[str, dict[str, Path]]:
    files = source_files(sources, H5_SUFFIXES)
    pairs: dict[str, dict[str, Path]] = {}
    for path in files:
        match = _STREAM.match(path.stem)
        if match:
            pairs.setdefault(match.group(2), {})[match.group(1)] = path
    if not pairs:
        raise FeatureImportError(", ".join(map(str, sources)), "no rgb_*.h5 / flow_*.h5 file")
    for split, pair in pairs.items():
        if len(pair) != 2:
            have, lacking = next(iter(pair.items())), "flow" if "rgb" in pair else "rgb"
            raise FeatureImportError(have[1], f"no {lacking}_{split}{have[1].suffix} next to it")
    return pairs


def _two_stream(rgb, flow, paths: tuple[Path, Path], video_id: str, subsample: int):
    def read() -> np.ndarray:
        streams = []
        for dataset, path in ((flow, paths[1]), (rgb, paths[0])):  # official order: [flow, rgb]
            if dataset is None:
                raise FeatureImportError(path, "no dataset for this video (present in the other stream)", video_id)
            array = np.asarray(dataset[()])
            if array.ndim != 2:
                raise FeatureImportError(path, f"expected (frames, channels), got shape {array.shape}", video_id)
            streams.append(array[::subsample])
        n = min(len(s) for s in streams)
        if streams[0].shape[1] != streams[1].shape[1]:
            raise FeatureImportError(paths[1], f"flow width {streams[0].shape[1]} but rgb width "
                                     f"{streams[1].shape[1]}", video_id)
        return np.concatenate([s[:n] for s in streams], axis=1)

    return read


@contextlib.contextmanager
def list_thumos_tsn(settings) -> Iterator[list[SourceVideo]]:
    """The videos of every ``rgb_X``/``flow_X`` pair, files open until the block ends."""
    with contextlib.ExitStack() as stack:
        videos = []
        for split, pair in sorted(_pairs([Path(s) for s in settings.sources]).items()):
            rgb, flow = open_h5(pair["rgb"], stack), open_h5(pair["flow"], stack)
            for video_id in sorted(set(rgb.keys()) | set(flow.keys())):
                r, f = rgb.get(video_id), flow.get(video_id)
                videos.append(SourceVideo(
                    video_id, (pair["rgb"], pair["flow"]), video_id,
                    _two_stream(r, f, (pair["rgb"], pair["flow"]), video_id, settings.subsample),
                    num_frames=int(r.shape[0]) if r is not None and r.ndim >= 1 else None,
                ))
        yield videos
