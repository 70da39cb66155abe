"""Video grounding queries, one record for every benchmark and head: :class:`GroundingQuery`.

A grounding benchmark (Charades-STA, ActivityNet Captions, TACoS) is one loader each
(:func:`~bsp_lightning.annotations.charades_sta.load_charades_sta`,
:func:`~bsp_lightning.annotations.anet_captions.load_anet_captions`,
:func:`~bsp_lightning.annotations.tacos.load_tacos`;
:func:`~bsp_lightning.annotations.grounding.load_grounding` by name), and what the official codes do with a doubtful
query is a ``policy``:

* ``"2dtan"`` (``microsoft/2D-TAN`` @ ``2f7410f``, ``lib/datasets/*.py``): drop ``start >= end``, clip the moment to
  the video, drop what is empty after clipping, and give 2D-TAN's model the Charades-STA sentence as 2D-TAN reads
  it (``model_sentence``: the :func:`~bsp_lightning.annotations.charades_sta.charades_sentence` quirk);
* ``"lgi"`` (``JonghwanMun/LGI4temporalgrounding`` @ ``199e7ab``): keep every query as written (no filtering, no
  clipping: normalised targets may exceed 1) and count the anomalies; only what the official loader would crash on
  (no duration, a non-positive one) is skipped.

Every change and every anomaly is counted in the :class:`~bsp_lightning.annotations.errors.LoadReport` of the
:class:`GroundingAnnotations` returned (docs/heads/tan2d-lgi.md §1, §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from bsp_lightning.annotations.errors import LoadReport

__all__ = ["POLICIES", "GroundingAnnotations", "GroundingQuery", "check_policy", "clip_2dtan", "count_lgi_anomalies",
           "lgi_keeps_duration"]

#: ``"2dtan"``: drop and clip as 2D-TAN; ``"lgi"``: keep everything and count, as LGI.
POLICIES = ("2dtan", "lgi")


class GroundingQuery(NamedTuple):
    """One sentence query with its moment.

    Attributes:
        video_id: the annotation's video id (ActivityNet Captions ids carry ``v_`` unless normalised).
        start: start time in seconds (clipped to ``[0, duration]`` under the ``"2dtan"`` policy, as the benchmark's
            2D-TAN loader does; as written under ``"lgi"``).
        end: end time in seconds (likewise).
        sentence: the sentence as written (surrounding whitespace removed).
        duration: the video's duration in seconds (``None`` only with Charades-STA's ``keep_missing_duration``).
        source: where it was read, ``"file:line"`` or ``"file:video#i"``.
        model_sentence: the sentence as the policy's official code gives it to its model: under ``"2dtan"`` on
            Charades-STA, 2D-TAN's reading of the raw line (the final period dropped when the newline follows it
            directly); else ``sentence``.
    """

    video_id: str
    start: float
    end: float
    sentence: str
    duration: float | None
    source: str
    model_sentence: str


@dataclass(frozen=True)
class GroundingAnnotations:
    """What a grounding loader returns: the kept queries, every video's duration, the report."""

    queries: list[GroundingQuery]
    durations: dict[str, float]
    report: LoadReport

    @property
    def videos(self) -> list[str]:
        """Sorted ids of the videos with at least one kept query."""
        return sorted({q.video_id for q in self.queries})


def check_policy(policy: str) -> str:
    """``policy`` if it is one of :data:`POLICIES`.

    Raises:
        ValueError: an unknown policy.
    """
    if policy not in POLICIES:
        raise ValueError(f"grounding policy must be one of {POLICIES}, got {policy!r}")
    return policy


def count_lgi_anomalies(q: GroundingQuery, report: LoadReport) -> None:
    """The ``"lgi"`` policy's counts of a kept query: ``start_after_end``, ``zero_length``, ``end_past_video``,
    ``negative_start`` (LGI trains on these as they are)."""
    if q.start > q.end:
        report.add("start_after_end", q.source)
    elif q.start == q.end:
        report.add("zero_length", q.source)
    if q.duration is not None and q.end > q.duration:
        report.add("end_past_video", q.source)
    if q.start < 0:
        report.add("negative_start", q.source)


def clip_2dtan(start: float, end: float, duration: float | None, where: str, report: LoadReport,
               clip_start: bool = True) -> tuple[float, float] | None:
    """The ``"2dtan"`` policy's moment, or ``None`` when it is dropped: ``start > end`` (``start_after_end``) and
    ``start == end`` (``zero_length``) are dropped; a negative start is counted (``negative_start``) and, with
    ``clip_start`` (ActivityNet Captions), set to 0; the end is clipped to ``duration`` (``end_clipped``), and a moment
    empty after clipping is dropped (``start_beyond_duration``). Without a duration nothing is clipped."""
    if start > end:
        report.add("start_after_end", where)
        return None
    if start == end:
        report.add("zero_length", where)
        return None
    if start < 0:
        report.add("negative_start", where)
        start = 0.0 if clip_start else start
    if duration is not None:
        if end > duration:
            report.add("end_clipped", where)
            end = duration
        if start >= end:
            report.add("start_beyond_duration", where)
            return None
    return start, end


def lgi_keeps_duration(duration: float | None, where: str, report: LoadReport) -> bool:
    """Whether the ``"lgi"`` policy keeps a video's queries: not without a duration (the official loader raises
    ``KeyError``), not with a non-positive one (its targets would divide by zero); each counted."""
    if duration is None:
        report.add("missing_duration", where)
        return False
    if duration <= 0:
        report.add("non_positive_duration", where)
        return False
    return True
