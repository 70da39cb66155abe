"""Decoding with PyAV: exact frames (lossless fixture), verified seeking, VFR, resizing and broken files."""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bsp_lightning.video import (VideoDecodeError, VideoInfo, frame_index, iter_frames, probe, read_frames,
                                 resized_shape)
from bsp_lightning.video import reader as reader_module
from bsp_lightning.video.reader import FrameReader


def _write_lossless(path: Path, frames: np.ndarray, fps: int = 30, gop: int | None = None, **container_options):
    """Lossless writer with a fixed keyframe interval (and optional container options such as faststart)."""
    with av.open(str(path), mode="w", options=container_options or None) as container:
        stream = container.add_stream("libx264rgb", rate=fps)
        stream.pix_fmt = "rgb24"
        options = {"crf": "0", "preset": "ultrafast"}
        if gop is not None:
            options.update(g=str(gop), keyint_min=str(gop))
        stream.options = options
        stream.height, stream.width = frames.shape[1:3]
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> tuple[Path, np.ndarray]:
    frames = np.random.default_rng(7).integers(0, 256, size=(300, 16, 16, 3), dtype=np.uint8)
    path = _write_lossless(tmp_path_factory.mktemp("long") / "long.mp4", frames, gop=10)
    return path, frames


def test_probe_reports_metadata(tmp_path, mp4_writer, frame_maker):
    path = mp4_writer(tmp_path / "a.mp4", frame_maker(12, 32, 48), fps=25)
    info = probe(path)
    assert info == VideoInfo(path=str(path), fps=25.0, num_frames=12, duration=pytest.approx(12 / 25),
                             width=48, height=32, stored_width=48, stored_height=32)


def test_read_frames_exact_random_indices(tmp_path, mp4_writer, frame_maker):
    frames = frame_maker(24, 32, 32, seed=1)
    path = mp4_writer(tmp_path / "a.mp4", frames)
    rng = np.random.default_rng(0)
    for _ in range(8):
        indices = rng.integers(0, 24, size=rng.integers(1, 12))
        np.testing.assert_array_equal(read_frames(path, indices), frames[indices])
    # unsorted and duplicated indices come back in the order asked for
    indices = [23, 0, 5, 5, 0, 23, 11]
    out = read_frames(path, indices, info=probe(path))
    assert out.dtype == np.uint8 and out.shape == (7, 32, 32, 3)
    np.testing.assert_array_equal(out, frames[indices])


def test_read_frames_with_seek_on_long_video(long_video):
    path, frames = long_video
    rng = np.random.default_rng(1)
    for _ in range(10):
        indices = rng.integers(0, 300, size=rng.integers(1, 9))
        np.testing.assert_array_equal(read_frames(path, indices), frames[indices])
    np.testing.assert_array_equal(read_frames(path, [299, 250, 17]), frames[[299, 250, 17]])


def test_seek_decodes_from_the_keyframe_before_the_first_index(long_video, monkeypatch):
    path, frames = long_video
    decoded = []
    original = FrameReader._decoded

    def counting(self, stream):
        for frame in original(self, stream):
            decoded.append(frame.pts)
            yield frame

    monkeypatch.setattr(FrameReader, "_decoded", counting)
    with FrameReader(str(path), threads=1) as reader:
        number, frame = next(reader.frames(255))
    assert number == 255
    np.testing.assert_array_equal(frame.to_ndarray(format="rgb24"), frames[255])
    # keyframes every 10 frames: from frame 250 to frame 255 (plus decoder delay)
    assert len(decoded) <= 10


class _OvershootingSeek:
    """Seeks 2 s past the target, as a container with a broken index might."""

    def __init__(self, container):
        self.container = container

    def __getattr__(self, name):
        return getattr(self.container, name)

    def seek(self, offset, stream, **kwargs):
        return self.container.seek(offset + int(2 / stream.time_base), stream=stream, **kwargs)


def test_a_seek_that_lands_wrong_falls_back_to_reading_in_order(long_video, monkeypatch):
    path, frames = long_video
    original = FrameReader._open

    def overshooting(self):
        stream = original(self)
        self._container = _OvershootingSeek(self._container)
        return stream

    monkeypatch.setattr(FrameReader, "_open", overshooting)
    monkeypatch.setattr(reader_module, "_bad_keyframes", {})
    np.testing.assert_array_equal(read_frames(path, [100, 257]), frames[[100, 257]])
    (bad,) = reader_module._bad_keyframes.values()
    assert 100 in bad  # the keyframe is not tried again in this process


class _DecodesNothingAfterSeek(_OvershootingSeek):
    """After any seek the decoder returns no picture (a seek past the end, or a broken index)."""

    def seek(self, offset, stream, **kwargs):
        self.sought = True
        return self.container.seek(offset, stream=stream, **kwargs)

    def decode(self, *args, **kwargs):
        return iter(()) if getattr(self, "sought", False) else self.container.decode(*args, **kwargs)


def test_a_seek_that_decodes_nothing_is_not_a_damaged_file(long_video, monkeypatch):
    path, frames = long_video
    original = FrameReader._open

    def nothing_after_seek(self):
        stream = original(self)
        self._container = _DecodesNothingAfterSeek(self._container)
        return stream

    monkeypatch.setattr(FrameReader, "_open", nothing_after_seek)
    monkeypatch.setattr(reader_module, "_bad_keyframes", {})
    np.testing.assert_array_equal(read_frames(path, [290, 299]), frames[[290, 299]])
    (bad,) = reader_module._bad_keyframes.values()
    assert len(bad) == reader_module._SEEK_TRIES  # three keyframes tried, then read in order


def test_iter_frames_sequential_and_from_start(long_video):
    path, frames = long_video
    got = list(iter_frames(path, start=283))
    np.testing.assert_array_equal(np.stack(got), frames[283:])
    assert sum(1 for _ in iter_frames(path)) == 300


def test_short_side_resize(tmp_path, mp4_writer):
    frames = np.zeros((4, 32, 64, 3), dtype=np.uint8)
    frames[:, :, 32:] = 255  # right half white: survives any interpolation
    path = mp4_writer(tmp_path / "wide.mp4", frames)
    out = read_frames(path, [0, 3], short_side=16)
    assert out.shape == (2, 16, 32, 3)
    assert (out[:, :, :12] == 0).all() and (out[:, :, 20:] == 255).all()
    assert next(iter_frames(path, short_side=8)).shape == (8, 16, 3)
    assert resized_shape(48, 32, 16) == (24, 16)
    assert resized_shape(48, 32, None) == (48, 32)


def _write_vfr(path: Path, frames: np.ndarray, pts_ms: list[int]) -> Path:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264rgb", rate=25)
        stream.pix_fmt = "rgb24"
        stream.options = {"crf": "0", "preset": "ultrafast"}
        stream.height, stream.width = frames.shape[1:3]
        stream.codec_context.time_base = Fraction(1, 1000)
        for frame, pts in zip(frames, pts_ms):
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
    return path


def test_variable_frame_rate_is_read_picture_by_picture(tmp_path, frame_maker):
    # irregular timestamps: gaps (dropped frames) and bursts (two frames within one frame period)
    pts_ms = [0, 40, 80, 200, 240, 250, 280, 400, 440, 480, 520, 560, 720, 760, 800, 815, 840, 880, 920, 960]
    frames = frame_maker(len(pts_ms), 16, 16, seed=3)
    path = _write_vfr(tmp_path / "vfr.mp4", frames, pts_ms)
    info = probe(path)
    assert info.num_frames == len(pts_ms) and info.variable_frame_rate
    timestamps = frame_index(path).pts  # irregular: kept as a table
    assert timestamps.table is not None and [timestamps.frame_of(int(t)) for t in np.asarray(timestamps)] == list(
        range(len(pts_ms)))
    # the frame contract: frame k is the k-th picture, whatever the timestamps
    np.testing.assert_array_equal(read_frames(path, range(len(pts_ms))), frames)
    np.testing.assert_array_equal(np.stack(list(iter_frames(path))), frames)
    np.testing.assert_array_equal(read_frames(path, [19, 5, 4]), frames[[19, 5, 4]])
    assert not probe(_write_lossless(tmp_path / "cfr.mp4", frames)).variable_frame_rate


def test_index_beyond_end_raises(tmp_path, mp4_writer, frame_maker):
    path = mp4_writer(tmp_path / "short.mp4", frame_maker(3, 16, 16))
    assert read_frames(path, [0, 1, 2]).shape == (3, 16, 16, 3)  # a 3-frame video is valid
    with pytest.raises(VideoDecodeError, match="frame 3 requested"):
        read_frames(path, [0, 3])
    with pytest.raises(ValueError):
        read_frames(path, [-1])
    assert read_frames(path, [], short_side=8).shape == (0, 8, 8, 3)


def test_truncated_faststart_file_raises_for_missing_frames(tmp_path, frame_maker):
    frames = frame_maker(40, 16, 16)
    full = _write_lossless(tmp_path / "full.mp4", frames, movflags="faststart")
    data = full.read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])
    info = probe(path)  # the header still claims 40 frames; the packets present are fewer
    assert info.truncated and 0 < info.num_frames < 40
    np.testing.assert_array_equal(read_frames(path, [0, 5]), frames[[0, 5]])
    with pytest.raises(VideoDecodeError) as err:
        read_frames(path, [0, 39])
    assert err.value.path == str(path) and "frame 39 requested" in err.value.reason
    last = info.num_frames - 1  # a cut-off last packet: in the index, but it does not decode
    decoded = sum(1 for _ in iter_frames(path))
    assert decoded <= info.num_frames
    if decoded < info.num_frames:
        with pytest.raises(VideoDecodeError, match="partial"):
            read_frames(path, [last])


def _broken_files(tmp_path: Path, frames: np.ndarray, write) -> dict[str, Path]:
    files = {}
    data = write(tmp_path / "ok.mp4", frames).read_bytes()
    files["truncated"] = tmp_path / "truncated.mp4"
    files["truncated"].write_bytes(data[: len(data) // 2])  # moov atom at the end is lost
    files["empty"] = tmp_path / "empty.mp4"
    files["empty"].write_bytes(b"")
    files["text"] = tmp_path / "text.mp4"
    files["text"].write_text("this is not a video\n" * 20)
    files["zero_frames"] = tmp_path / "zero_frames.mp4"
    with av.open(str(files["zero_frames"]), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 16
        container.start_encoding()
    files["missing"] = tmp_path / "missing.mp4"
    return files


@pytest.mark.parametrize("kind, reason", [
    ("truncated", "cannot open"), ("empty", "empty"), ("text", "cannot open"),
    ("zero_frames", "no video stream"), ("missing", "does not exist"),
])
def test_broken_files_raise_typed_error(tmp_path, mp4_writer, frame_maker, kind, reason):
    path = _broken_files(tmp_path, frame_maker(20, 16, 16), mp4_writer)[kind]
    for call in (lambda: probe(path), lambda: read_frames(path, [0]), lambda: next(iter_frames(path))):
        with pytest.raises(VideoDecodeError) as err:
            call()
        assert err.value.path == str(path) and reason in err.value.reason
        assert str(err.value) == f"{path}: {err.value.reason}"


def test_error_is_picklable():
    err = pickle.loads(pickle.dumps(VideoDecodeError("/x.mp4", "broken")))
    assert (err.path, err.reason, str(err)) == ("/x.mp4", "broken", "/x.mp4: broken")
