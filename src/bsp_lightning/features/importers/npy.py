"""``npy``: a folder of per-video ``<id>.npy`` / ``<id>.npz`` files.

This covers OpenTAD and ActionFormer/TriDet folders (``i3d_features/<id>.npy`` ``(T, 2048)``,
``tsp_features/v_<id>.npy`` ``(T, 512)``, EPIC-Kitchens ``<id>.npz`` with the array ``feats``; see
``docs/heads/actionformer.md`` §2) and LGI's Charades I3D features (``i3d_finetuned/<vid>.npy``, squeezed to
``(L, 1024)`` as LGI's loader does; ``docs/heads/tan2d-lgi.md`` §2.4). An ``.npz`` gives its ``--dataset`` array,
else ``feats``, else its only array. Files are read without pickle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bsp_lightning.features.importers.base import FeatureImportError, SourceVideo, source_files

__all__ = ["NPY_SUFFIXES", "list_npy"]

NPY_SUFFIXES = (".npy", ".npz")


def _reader(path: Path, name: str | None):
    def read() -> np.ndarray:
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise FeatureImportError(path, f"cannot read ({err or type(err).__name__})", path.stem) from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            return data
        with data:
            keys = list(data.keys())
            key = name if name is not None else "feats" if "feats" in keys else keys[0] if len(keys) == 1 else None
            if key is None or key not in keys:
                wanted = f"no array {key!r}" if key is not None else f"{len(keys)} arrays and none named 'feats'"
                raise FeatureImportError(path, f"{wanted} (arrays: {', '.join(keys) or 'none'}; name one with "
                                         "--dataset)", path.stem)
            return data[key]

    return read


@contextlib.contextmanager
def list_npy(settings) -> Iterator[list[SourceVideo]]:
    """The ``.npy``/``.npz`` files of ``settings.sources`` (folders, or the files themselves), one per video.

    Raises:
        FeatureImportError: a missing source, a folder without such files, or two files for one video.
    """
    files = source_files(settings.sources, NPY_SUFFIXES)
    seen: dict[str, Path] = {}
    for path in files:
        if path.stem in seen:
            raise FeatureImportError(path, f"a second file for this video (also {seen[path.stem]})", path.stem)
        seen[path.stem] = path
    yield [SourceVideo(p.stem, (p,), None, _reader(p, settings.dataset), linkable=p.suffix.lower() == ".npy")
           for p in files]
