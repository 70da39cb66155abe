"""The one error type of the video package, and opening a container with one-line errors."""

from __future__ import annotations

import os

import av

__all__ = ["VideoDecodeError", "open_container", "reason", "video_stream"]


class VideoDecodeError(RuntimeError):
    """A video file cannot be opened or decoded; ``str()`` names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep it picklable across DataLoader worker processes
        return (type(self), (self.path, self.reason))


def reason(err: Exception) -> str:
    """FFmpeg's message without the file name and errno that the exception text repeats."""
    return getattr(err, "strerror", None) or str(err)


def open_container(path: str) -> av.container.InputContainer:
    if not os.path.exists(path):
        raise VideoDecodeError(path, "file does not exist")
    if os.path.isdir(path):
        raise VideoDecodeError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    try:
        return av.open(path, mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise VideoDecodeError(path, f"cannot open as a video container ({reason(err)})") from None


def video_stream(container: av.container.InputContainer, path: str) -> av.video.stream.VideoStream:
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "no video stream (zero frames or not a video file)")
    stream = container.streams.video[0]
    if not stream.codec_context.width or not stream.codec_context.height:
        container.close()
        raise VideoDecodeError(path, "video stream has no frame size (no decodable frames)")
    return stream
