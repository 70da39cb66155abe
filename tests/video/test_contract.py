"""The frame contract (docs/design.md §4.7) on the kinds of files it covers: exact counts, presentation order,
display geometry."""

from __future__ import annotations

import os
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from bsp_lightning.video import VideoDecodeError, clear_index_cache, frame_index, iter_frames, probe, read_frames
from bsp_lightning.video.index import INDEX_CACHE_ENV, build_index

LOSSLESS = {"mkv_long_audio", "h264_avi_bframes", "raw_h264", "mp4_bframes"}


@pytest.mark.parametrize("kind", ["webm_long_audio", "mkv_long_audio", "xvid_avi_bframes", "h264_avi_bframes",
                                  "raw_h264", "mp4_bframes"])
def test_every_kind_gives_exact_count_and_frame_k(kit, kinds, kind):
    path, frames = kinds[kind]
    info = probe(path)
    # the container says 63 frames (webm/mkv: audio 0.5 s longer); the AVIs' timestamps run from 1
    assert info.num_frames == len(frames)
    assert info.duration == pytest.approx(len(frames) / 25)
    decoded = list(iter_frames(path))
    assert [kit.frame_number(f) for f in decoded] == list(range(len(frames)))
    indices = [len(frames) - 1, 37, 20, 3, 3, 0, 44]
    for first in (indices, [5, 9], [44, 45]):
        # threads=1 with no cached index: the reader indexes with its own container, then rewinds it
        clear_index_cache()
        got = read_frames(path, first, threads=1)
        assert [kit.frame_number(f) for f in got] == first
        if kind in LOSSLESS:
            np.testing.assert_array_equal(got, frames[first])
    clear_index_cache()
    assert [kit.frame_number(f) for f in iter_frames(path, threads=1)] == list(range(len(frames)))
    with pytest.raises(VideoDecodeError, match=f"frame {len(frames)} requested but the video has {len(frames)}"):
        read_frames(path, [len(frames)])


def test_index_orders_by_presentation_time_and_finds_keyframes(kinds):
    index = frame_index(kinds["mp4_bframes"][0])
    assert index.pts is not None and np.all(np.diff(index.pts) > 0)
    with av.open(str(kinds["mp4_bframes"][0])) as container:  # reference: the decoder's own key flags
        decoded_keys = [k for k, f in enumerate(container.decode(video=0)) if f.key_frame]
    assert index.keyframes.tolist() == decoded_keys and len(decoded_keys) > 3
    assert not index.variable_frame_rate and not index.truncated
    assert index.pts.table is None and index.pts.frame_of(int(index.pts[7])) == 7  # kept as start + k * step
    assert index.pts.frame_of(int(index.pts[7]) + 1) is None and index.pts.frame_of(int(index.pts[-1]) + 10**6) is None
    # AVI and raw streams: the timestamps are decode order, so the index does not trust them
    assert frame_index(kinds["h264_avi_bframes"][0]).pts is None
    assert frame_index(kinds["raw_h264"][0]).pts is None


def test_index_cache_per_process_and_on_disk(kinds, tmp_path, monkeypatch):
    path = kinds["mkv_long_audio"][0]
    clear_index_cache()
    assert frame_index(path) is frame_index(path)
    monkeypatch.setenv(INDEX_CACHE_ENV, str(tmp_path / "cache"))
    clear_index_cache()
    built = frame_index(path)
    (stored,) = list((tmp_path / "cache").iterdir())
    clear_index_cache()
    import bsp_lightning.video.index as index_module
    monkeypatch.setattr(index_module, "build_index", lambda p: pytest.fail("rebuilt despite the disk cache"))
    loaded = frame_index(path)
    assert stored.name.endswith(".index.npz") and loaded is not built
    np.testing.assert_array_equal(loaded.pts, built.pts)
    assert (loaded.num_frames, loaded.geometry, loaded.fps) == (built.num_frames, built.geometry, built.fps)
    clear_index_cache()


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
@pytest.mark.parametrize("hflip, vflip", [(False, False), (True, False), (False, True)])
def test_display_matrix_is_applied(kit, tmp_path, degrees, hflip, vflip):
    frames = kit.numbered_frames(4, 32, 64)
    frames[:, :4, :4] = (10, 200, 30)  # a corner mark: every turn and mirror moves it
    path = kit.write_video(tmp_path / "r.mp4", frames, rotation=(degrees, hflip, vflip))
    # PyAV's set_display_rotation: counter-clockwise degrees, then the mirrors
    expected = np.rot90(frames, k=degrees // 90, axes=(1, 2))
    expected = expected[:, :, ::-1] if hflip else expected
    expected = expected[:, ::-1] if vflip else expected
    info = probe(path)
    assert (info.height, info.width) == expected.shape[1:3]
    assert (info.stored_height, info.stored_width) == (32, 64)
    assert info.rotation in (0, 90, 180, 270)
    np.testing.assert_array_equal(read_frames(path, range(4)), expected)
    np.testing.assert_array_equal(np.stack(list(iter_frames(path))), expected)
    small = read_frames(path, [1], short_side=16)
    assert small.shape[1:3] == ((16, 32) if degrees in (0, 180) else (32, 16))


def test_portrait_phone_clip(kit, tmp_path):
    path = kit.write_video(tmp_path / "phone.mp4", kit.numbered_frames(5, 32, 64), rotation=(-90, False, False))
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (32, 64, 270)
    assert [kit.frame_number(np.rot90(f, k=1)) for f in iter_frames(path)] == list(range(5))


def test_non_square_pixels_are_resized_to_display_aspect(kit, tmp_path):
    path = kit.write_video(tmp_path / "anamorphic.mp4", kit.numbered_frames(4, 32, 32), sar=Fraction(2, 1))
    info = probe(path)
    assert (info.width, info.height, info.sample_aspect_ratio) == (64, 32, 2.0)
    got = read_frames(path, [3, 0])
    assert got.shape == (2, 32, 64, 3) and [kit.frame_number(f) for f in got] == [3, 0]
    assert read_frames(path, [0], short_side=16).shape == (1, 16, 32, 3)


@pytest.mark.parametrize("fmt, suffix", [("h264", ".h264"), ("mpegts", ".ts")])
def test_size_change_mid_stream_is_converted_to_the_first_size(kit, tmp_path, fmt, suffix):
    first = kit.write_video(tmp_path / f"a{suffix}", kit.numbered_frames(10, 64, 64), fmt=fmt)
    second = kit.write_video(tmp_path / f"b{suffix}", kit.numbered_frames(20, 48, 96)[10:], fmt=fmt)
    path = tmp_path / f"joined{suffix}"  # joined adaptive-streaming segments
    path.write_bytes(first.read_bytes() + second.read_bytes())
    info = probe(path)
    assert (info.num_frames, info.width, info.height) == (20, 64, 64)
    decoded = list(iter_frames(path))
    assert {f.shape for f in decoded} == {(64, 64, 3)}
    assert [kit.frame_number(f) for f in decoded] == list(range(20))
    got = read_frames(path, [15, 3, 19], short_side=32)
    assert got.shape == (3, 32, 32, 3) and [kit.frame_number(f) for f in got] == [15, 3, 19]


def test_truncated_matroska_is_flagged(kinds, tmp_path):
    data = kinds["mkv_long_audio"][0].read_bytes()
    path = tmp_path / "half.mkv"
    path.write_bytes(data[: len(data) // 2])
    index = build_index(path)
    assert index.truncated and 0 < index.num_frames < 50
    assert not build_index(kinds["mkv_long_audio"][0]).truncated


def _max_threads_while(call) -> tuple[int, int]:
    """Threads of this process before, and at most while ``call()`` runs (sampled from /proc)."""
    def count() -> int:
        return len(os.listdir("/proc/self/task"))

    seen, done = [], threading.Event()

    def sample():
        while not done.is_set():
            seen.append(count())
            time.sleep(0.0002)

    poller = threading.Thread(target=sample)
    poller.start()
    time.sleep(0.01)
    before = max(seen)
    try:
        call()
    finally:
        done.set()
        poller.join()
    return before, max(seen)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_threads_1_stays_on_one_thread(kit, tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (48, 128, 192, 3), dtype=np.uint8)
    path = kit.write_video(tmp_path / "t.mp4", frames, "libx264", pix_fmt="yuv420p",
                       options={"crf": "20", "preset": "ultrafast"})
    probe(path)  # the index is built before measuring
    before, during = _max_threads_while(lambda: read_frames(path, range(0, 48, 3), short_side=64, threads=1))
    assert during == before
    before, during = _max_threads_while(lambda: list(iter_frames(path, short_side=64, threads=1)))
    assert during == before
    # the measurement sees threads when there are some
    before, during = _max_threads_while(lambda: read_frames(path, range(0, 48, 3), short_side=64, threads=3))
    assert during > before


@pytest.mark.parametrize("indices", [[5, 9], [44, 45]])
def test_threads_1_reader_indexes_with_its_own_container(kinds, monkeypatch, indices):
    import bsp_lightning.video.index as index_module
    import bsp_lightning.video.reader as reader_module

    path, frames = kinds["mp4_bframes"]
    opened = []
    original = reader_module.open_container
    for module in (reader_module, index_module):
        monkeypatch.setattr(module, "open_container", lambda p: opened.append(p) or original(p))
    clear_index_cache()
    np.testing.assert_array_equal(read_frames(path, indices, threads=1), frames[indices])
    assert len(opened) == 1  # one open for the demux pass and the frames
    opened.clear()
    np.testing.assert_array_equal(read_frames(path, indices, threads=1), frames[indices])
    assert len(opened) == 1


@pytest.mark.parametrize("kind", ["xvid_avi_bframes", "h264_avi_bframes"])
def test_avi_seeks_to_keyframes_learned_in_order(kit, kinds, kind, monkeypatch):
    import bsp_lightning.video.reader as reader_module

    path, frames = kinds[kind]
    monkeypatch.setattr(reader_module, "_learned_keyframes", {})
    monkeypatch.setattr(reader_module, "_bad_keyframes", {})
    decoded = []
    original = reader_module.FrameReader._decoded

    def counting(self, stream):
        for frame in original(self, stream):
            decoded.append(frame)
            yield frame

    monkeypatch.setattr(reader_module.FrameReader, "_decoded", counting)
    assert [kit.frame_number(f) for f in read_frames(path, [50, 52])] == [50, 52]
    assert len(decoded) >= 51  # no timestamps to seek by yet: in order from the start
    (learned,) = reader_module._learned_keyframes.values()
    assert learned and all(kit.frame_number(frames[n]) == n for n in learned.values())
    for indices in ([50, 52], [37], [59], [20, 45]):
        decoded.clear()
        got = read_frames(path, indices, threads=1)
        assert [kit.frame_number(f) for f in got] == indices
        if indices[0] >= 24:
            assert len(decoded) < indices[0]  # from a learned keyframe, verified by its timestamp
    assert not any(reader_module._bad_keyframes.values())
