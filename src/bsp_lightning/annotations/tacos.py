"""TACoS grounding queries (2D-TAN's ``train.json``, ``val.json``, ``test.json``): ``{video: {"num_frames", "fps",
"timestamps": [[start_frame, end_frame], ...], "sentences": [...]}}``.

``duration = num_frames / fps``; times are frames divided by ``fps``. Policies (:mod:`bsp_lightning.annotations.query`):

* ``"2dtan"`` (``lib/datasets/tacos.py`` @ ``2f7410f``): a pair is kept when ``start_frame < end_frame``, with times
  ``[max(start / fps, 0), min(end / fps, duration)]``. Counted: ``start_after_end``, ``zero_length``,
  ``end_clipped``, ``start_beyond_duration`` (empty after clipping: dropped, where 2D-TAN would keep it);
* ``"lgi"``: every pair kept as written; counted: ``start_after_end``, ``zero_length``, ``end_past_video``,
  ``negative_start``.

Both count ``unpaired_entry`` (timestamps and sentences of unequal length: ``zip`` ignores the extra ones).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from bsp_lightning.annotations.errors import AnnotationError, LoadReport, read_json, to_float
from bsp_lightning.annotations.query import GroundingAnnotations, GroundingQuery, check_policy
from bsp_lightning.annotations.query import count_lgi_anomalies, lgi_keeps_duration

__all__ = ["load_tacos"]


def load_tacos(paths: str | os.PathLike | Sequence[str | os.PathLike], policy: str = "2dtan") -> GroundingAnnotations:
    """Load TACoS file(s) (read in order) as grounding queries (sources ``"<file name>:<video>#<i>"``).

    Raises:
        AnnotationError: unreadable JSON, a video without ``num_frames``/``fps``/``timestamps``/``sentences``,
            a non-numeric value, a timestamp that is not a pair. ValueError: an unknown policy.
    """
    check_policy(policy)
    files = [str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths]
    report = LoadReport("tacos" if policy == "2dtan" else "tacos (LGI: no filtering, no clipping)", sources=files)
    queries: list[GroundingQuery] = []
    durations: dict[str, float] = {}
    for path in files:
        data = read_json(path)
        if not isinstance(data, dict):
            raise AnnotationError(path, "expected an object {video: {num_frames, fps, timestamps, sentences}}")
        name = os.path.basename(path)
        for video_id, video in data.items():
            keys = ("num_frames", "fps", "timestamps", "sentences")
            if not isinstance(video, dict) or any(k not in video for k in keys):
                raise AnnotationError(path, f"video {video_id!r} lacks num_frames, fps, timestamps or sentences")
            fps = to_float(video["fps"], path, f"fps of {video_id}")
            duration = to_float(video["num_frames"], path, f"num_frames of {video_id}") / fps
            if policy == "lgi" and not lgi_keeps_duration(duration, f"{name}:{video_id}", report):
                continue
            durations[str(video_id)] = duration
            stamps, sentences = video["timestamps"], video["sentences"]
            if len(stamps) != len(sentences):
                report.add("unpaired_entry", video_id, abs(len(stamps) - len(sentences)))
            for i, (stamp, sentence) in enumerate(zip(stamps, sentences)):
                if not isinstance(stamp, (list, tuple)) or len(stamp) != 2:
                    raise AnnotationError(path, f"timestamp {i} of {video_id!r} is not [start, end]: {stamp!r}")
                s = to_float(stamp[0], path, f"start of {video_id}[{i}]")
                e = to_float(stamp[1], path, f"end of {video_id}[{i}]")
                source = f"{name}:{video_id}#{i}"
                if policy == "lgi":
                    q = GroundingQuery(str(video_id), s / fps, e / fps, str(sentence).strip(), duration, source,
                                       str(sentence))
                    count_lgi_anomalies(q, report)
                    queries.append(q)
                    continue
                if s >= e:
                    report.add("start_after_end" if s > e else "zero_length", f"{video_id}[{i}]")
                    continue
                start, end = max(s / fps, 0.0), min(e / fps, duration)
                if e / fps > duration:
                    report.add("end_clipped", f"{video_id}[{i}]")
                if start >= end:
                    report.add("start_beyond_duration", f"{video_id}[{i}]")
                    continue
                queries.append(GroundingQuery(str(video_id), start, end, str(sentence).strip(), duration, source,
                                              str(sentence)))
    report.counts.update(records=len(queries), videos=len({q.video_id for q in queries}))
    return GroundingAnnotations(queries, durations, report)
