"""Low-bitrate MPEG-PS (VCD-like ``.mpg``/``.vob``): frame ``k`` is the same picture by single-frame reads and by
sequential decoding.

At low bitrates one PES packet of an MPEG program stream holds several pictures and only the first picture that
starts in it has a timestamp; after a seek the demuxer resynchronises on a pack and hands that timestamp to the
tail of the picture before, so a seek "verified" by the keyframe's timestamp returned picture ``k - 1`` (or lost a
picture) for about a third of the frames of these files.
"""

from __future__ import annotations

import av
import pytest

from bsp_lightning.video import clear_index_cache, frame_index, iter_frames, read_frames


def _write_mpeg_ps(path, kit, size: int, b_frames: int, num_frames: int = 60):
    frames = kit.numbered_frames(num_frames, size, size)
    with av.open(str(path), mode="w", format="vob") as container:
        stream = container.add_stream("mpeg1video", rate=25)
        stream.height = stream.width = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 20_000
        stream.codec_context.gop_size = 12
        stream.codec_context.max_b_frames = b_frames
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize(("size", "b_frames"), [(48, 0), (64, 2)])
def test_single_frame_reads_match_sequential_decoding(kit, tmp_path, monkeypatch, size, b_frames):
    import bsp_lightning.video.reader as reader_module

    monkeypatch.setattr(reader_module, "_learned_keyframes", {})
    monkeypatch.setattr(reader_module, "_bad_keyframes", {})
    path = _write_mpeg_ps(tmp_path / "vcd.mpg", kit, size, b_frames)
    clear_index_cache()
    index = frame_index(path)
    assert index.format_name == "mpeg" and index.num_frames == 60
    sequential = [kit.frame_number(f) for f in iter_frames(path)]
    assert sequential == list(range(60))
    got = [kit.frame_number(read_frames(path, [k])[0]) for k in range(60)]
    assert got == sequential
    assert [kit.frame_number(f) for f in read_frames(path, [59, 30, 47, 48])] == [59, 30, 47, 48]
