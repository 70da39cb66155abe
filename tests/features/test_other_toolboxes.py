"""A folder written by ``bsp-lightning extract``, loaded the way OpenTAD's and ActionFormer's feature loaders load
it (numpy only, their rules re-stated from their code; see docs/features-in-other-toolboxes.md): shapes, dtype,
file names with and without ``v_``, two-stream concatenation, and the time each loader gives snippet ``i``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from bsp_lightning.features.store import load_features

FPS = 25  # the videos of tests/features/conftest.py


def actionformer_load(feat_folder, video_id, file_prefix="", file_ext=".npy", downsample_rate=1):
    """ActionFormer ``datasets/thumos14.py``: ``np.load(prefix + id + ext).astype(float32)``, ``[::rate]``, then
    ``(C, T)``."""
    feats = np.load(os.path.join(feat_folder, file_prefix + video_id + file_ext)).astype(np.float32)
    return np.ascontiguousarray(feats[::downsample_rate].transpose())


def actionformer_seconds(index, fps, feat_stride, num_frames):
    """Grid index -> seconds in ActionFormer: ``g = t fps / stride - 0.5 num_frames / stride`` inverted."""
    return (index * feat_stride + 0.5 * num_frames) / fps


def opentad_load(data_path, video_name, prefix="", suffix="", feat_format="npy", sample_stride=1):
    """OpenTAD ``LoadFeats``: ``(T, C)`` float32 per path; several paths are concatenated along channels."""
    paths = data_path if isinstance(data_path, list) else [data_path]
    feats = [np.load(os.path.join(p, f"{prefix}{video_name}{suffix}.{feat_format}")).astype(np.float32) for p in paths]
    assert len({f.shape[0] for f in feats}) == 1  # equal lengths: OpenTAD would interpolate otherwise
    return np.concatenate(feats, axis=1)[::sample_stride]


def opentad_seconds(index, fps, feature_stride, sample_stride, offset_frames):
    """OpenTAD ``PaddingDataset``: feature ``i`` sits at frame ``i * snippet_stride + offset_frames``."""
    return (index * feature_stride * sample_stride + int(offset_frames)) / fps


def test_extracted_folder_in_actionformer_and_opentad(extracted):
    folder = extracted / "extracted"
    manifest = json.loads((folder / "manifest.json").read_text())
    config = manifest["config"]
    stride, length, dim = config["stride"], config["snippet_length"], config["feature_dim"]
    assert (stride, length, dim) == (8, 8, 512)
    for video_id, entry in manifest["videos"].items():
        ours = load_features(folder, video_id)
        starts = np.asarray(entry["snippet_starts"])
        centres = starts + length / (2 * entry["fps"])
        assert entry["fps"] == FPS and starts.tolist() == pytest.approx((np.arange(len(ours)) * 8 / FPS).tolist())

        feats = actionformer_load(str(folder), video_id)  # THUMOS-style: json ids are the file names
        assert feats.dtype == np.float32 and feats.shape == (dim, entry["num_snippets"])
        np.testing.assert_array_equal(feats.T, ours)
        # ActivityNet-style: json ids without v_, file_prefix "v_"
        assert actionformer_load(str(folder), video_id[2:], file_prefix="v_").shape == feats.shape
        times = [actionformer_seconds(i, entry["fps"], feat_stride=stride, num_frames=length) for i in range(len(ours))]
        assert times == pytest.approx(centres.tolist())

        two_stream = opentad_load([str(folder), str(folder)], video_id)
        assert two_stream.shape == (entry["num_snippets"], 2 * dim) and two_stream.dtype == np.float32
        np.testing.assert_array_equal(two_stream[:, dim:], ours)
        times = [opentad_seconds(i, entry["fps"], feature_stride=stride, sample_stride=1, offset_frames=length // 2)
                 for i in range(len(ours))]
        assert times == pytest.approx(centres.tolist())
