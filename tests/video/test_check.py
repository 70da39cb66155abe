"""``bsp-lightning data check-videos``: one record per file, a count per problem, folder or list input."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from bsp_lightning.annotations.cli import main as data_main
from bsp_lightning.video.check import check_video, check_videos, collect_videos


@pytest.fixture(scope="module")
def collection(kit, kinds, tmp_path_factory):
    root = tmp_path_factory.mktemp("collection")
    frames = kit.numbered_frames(30)
    kit.write_video(root / "ok.mp4", frames)
    kit.write_video(root / "sub" / "rotated.mp4", frames, rotation=(90, False, False))
    full = kit.write_video(root / "full.mkv", kit.numbered_frames(40), "ffv1", pix_fmt="bgr0")
    data = full.read_bytes()
    full.unlink()
    (root / "partial.mkv").write_bytes(data[: len(data) // 2])
    (root / "broken.mp4").write_text("not a video\n" * 10)
    with av.open(str(root / "audio_only.mkv"), mode="w") as container:
        audio = container.add_stream("aac", rate=48000)
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 48000, 0
        container.mux(audio.encode(chunk))
        container.mux(audio.encode())
    # a stream whose picture size changes (joined segments) and a variable-frame-rate file, in a list
    first = kit.write_video(root / "x" / "a.h264", kit.numbered_frames(10, 64, 64), fmt="h264")
    second = kit.write_video(root / "x" / "b.h264", kit.numbered_frames(10, 48, 96), fmt="h264")
    (root / "x" / "joined.h264").write_bytes(first.read_bytes() + second.read_bytes())
    with av.open(str(root / "x" / "vfr.mp4"), mode="w") as container:
        stream = container.add_stream("libx264rgb", rate=25)
        stream.width = stream.height = 32
        stream.pix_fmt, stream.options = "rgb24", {"crf": "0"}
        stream.codec_context.time_base = Fraction(1, 1000)
        for frame, pts in zip(frames[:10], [0, 40, 80, 200, 240, 250, 400, 440, 480, 520]):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = pts, stream.codec_context.time_base
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    (root / "x" / "list.txt").write_text("# joined segments\njoined.h264\nvfr.mp4\n\n")
    return root


def test_folder_report(collection):
    paths = collect_videos(collection)
    assert [p.name for p in paths] == ["audio_only.mkv", "broken.mp4", "ok.mp4", "partial.mkv", "rotated.mp4",
                                       "vfr.mp4"]
    report = check_videos(paths, workers=2, progress=False)
    problems = {v["path"].rsplit("/", 1)[1]: v["problems"] for v in report["videos"]}
    assert problems == {"audio_only.mkv": ["no_video_stream"], "broken.mp4": ["undecodable"], "ok.mp4": [],
                        "partial.mkv": ["partial"], "vfr.mp4": ["variable_frame_rate"], "rotated.mp4": ["rotated"]}
    assert report["counts"] == {"no_video_stream": 1, "undecodable": 1, "partial": 1, "rotated": 1,
                                "variable_frame_rate": 1, "size_changes": 0}
    assert report["num_videos"] == 6 and report["num_with_problems"] == 5
    ok = report["videos"][2]
    assert (ok["num_frames"], ok["decoded_frames"], ok["sizes"]) == (30, 30, [[32, 32]])


def test_size_change_from_a_list(collection):
    record = check_video(collection / "x" / "joined.h264")
    assert record["problems"] == ["size_changes"] and record["sizes"] == [[64, 64], [96, 48]]
    assert record["decoded_frames"] == record["num_frames"] == 20


def test_command_line(collection, tmp_path, capsys):
    out = tmp_path / "report.json"
    code = data_main(["check-videos", str(collection / "x" / "list.txt"), "--json", str(out), "--no-progress"])
    assert code == 0  # nothing unusable in the list
    text = capsys.readouterr().out
    assert "2 videos, 2 with problems" in text and "joined.h264: size_changes (sizes 64x64, 96x48)" in text
    report = json.loads(out.read_text())
    assert report["counts"]["size_changes"] == 1 and report["counts"]["variable_frame_rate"] == 1
    assert data_main(["check-videos", str(collection), "--workers", "1", "--no-progress"]) == 1
    assert data_main(["check-videos", str(tmp_path / "nothing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_partial_detail_gives_the_count_the_container_declares(kit, collection, tmp_path):
    # a half-downloaded faststart MP4: its header still declares 48 frames, the packets left are fewer
    full = tmp_path / "full.mp4"
    with av.open(str(full), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264rgb", rate=25)
        stream.width = stream.height = 32
        stream.pix_fmt, stream.options = "rgb24", {"crf": "0", "preset": "ultrafast"}
        for frame in kit.numbered_frames(48):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    data = full.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    record = check_video(tmp_path / "cut.mp4")
    assert record["problems"] == ["partial"] and 0 < record["decoded_frames"] < 48
    assert record["detail"].startswith(f"{record['decoded_frames']} of 48 frames decoded (the file ends before")
    # Matroska declares no frame count, only its duration: 40 frames at 25 fps = 1.6 s
    record = check_video(collection / "partial.mkv")
    assert record["detail"].startswith(f"{record['decoded_frames']} of about 40 frames decoded (the file ends")
