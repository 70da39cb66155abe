"""File extensions taken as videos when a folder is scanned (Kinetics index, feature extraction, checks)."""

from __future__ import annotations

__all__ = ["VIDEO_EXTENSIONS"]

# Lower case; compare with `path.suffix.lower()`. The containers of Kinetics, ActivityNet, THUMOS, UCF101,
# HMDB51 and phone recordings.
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg")
