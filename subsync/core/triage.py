"""Which windows the per-line pass hears: cost that follows what is broken.

After the global map, a sample of windows spread over the file is heard; it tells how the
file is timed.  A file whose sampled lines scatter around their voice (per-line timing
errors), or whose text the sample does not hear as a whole, gets every window heard.  A
file timed tightly gets, beyond the sample, only the windows holding lines that the
evidence marks as suspect:

- placed over silence (little speech activity under the line),
- no voice onset near where the line's voice should start, in silence,
- near a cut of the map (where the pieces meet, lines may sit in the wrong piece),
- next to a sampled line that the per-line decisions would re-time (a gross miss).

When the suspect windows are most of the file, every window is heard.  Pure numpy: the
engine hears what this module plans.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from . import inference
from .activity import (
    ACTIVITY_FRAME_S,
    ACTIVITY_FRAMES_PER_S,
    SPEECH_THRESHOLD,
    voice_onsets,
)
from .decisions import Heard, heard_as_a_whole, is_evidence
from .timemap import TimeMap
from .windows import Window, spread_sample

SAMPLE_WINDOWS = 12  # windows heard first, spread over the file
SILENT_SHARE = 0.2  # a line over less than this share of speech frames is suspect
ONSET_FAR_S = 0.6  # no voice onset this close to where the line's voice should start ...
SILENT_START_S = 0.3  # ... while the first this much of it is mostly silent: suspect
CUT_NEAR_S = 20.0  # lines this close (subtitle seconds) to a cut are suspect
ALL_WINDOWS_SHARE = 0.6  # suspect windows beyond this share of all: hear every window
WRONG_SHARE = 0.1  # the sample's fit puts more lines than this off or scattered beyond
# the tolerance: hear every window
FAST_SAMPLE = "fast: a sample"  # Plan.reason when only the sample is heard (SyncOptions.fast)
EVERY_LINE = "every line"  # Plan.reason when every window is heard as asked (SyncOptions.every_line)


@dataclass(frozen=True)
class Plan:
    """The windows to hear (the sample's among them), and why."""

    windows: tuple[Window, ...]  # every window to hear, the sample's included, in file order
    total: int  # windows in the file
    reason: str  # why these (for the summary and the report)

    @property
    def every(self) -> bool:
        return len(self.windows) == self.total


@dataclass(frozen=True)
class Listened:
    """How much of a file the per-line pass heard, and why (the summary and the report)."""

    heard: int  # windows of the per-line pass heard
    total: int  # windows in the file under the final map
    why: str
    passages: int = 0  # distinct passages heard in all (verification's probes included)


def sample(windows: Sequence[Window], heard: Collection[Window] = ()) -> list[Window]:
    """The windows heard first: SAMPLE_WINDOWS spread over the file, those ``heard`` already
    (verification's probes) in place of the nearest picks."""
    return spread_sample(windows, SAMPLE_WINDOWS, heard)


def every_window(windows: Sequence[Window], reason: str) -> Plan:
    return Plan(tuple(windows), len(windows), reason)


def plan(
    windows: Sequence[Window],
    sampled: dict[int, Heard],
    mapped_starts: np.ndarray,
    mapped_ends: np.ndarray,
    starts_s: np.ndarray,
    speech: np.ndarray,
    time_map: TimeMap,
    min_confidence: float,
    off: Sequence[int] = (),
    tolerance_s: float = 0.25,
    heard_sample: Collection[Window] | None = None,
) -> Plan:
    """What to hear after the sample (``sampled``: its heard lines).

    mapped_starts, mapped_ends: (n,) the lines under ``time_map`` (media seconds);
    starts_s: (n,) their subtitle times; speech: the activity (ACTIVITY_FRAME_S grid);
    off: the sampled lines that the per-line decisions would re-time (gross misses);
    heard_sample: the sample's windows as heard (None: sample(windows))."""
    if len(windows) <= SAMPLE_WINDOWS:
        return every_window(windows, "the sample is every window")
    if not heard_as_a_whole(sampled, min_confidence):
        return every_window(windows, "the sample's text is not heard as a whole")
    confident = [i for i, h in sampled.items() if h.confidence >= min_confidence and is_evidence(h, speech)]
    deviations = np.array([sampled[i].start_s - mapped_starts[i] for i in confident])  # (n_confident,)
    fit = inference.best_fit(deviations)
    if inference.wrong_share(fit, tolerance_s) > WRONG_SHARE:
        return every_window(windows, f"the sample's lines are off or scatter ({fit.describe()})")
    lead = fit.lead_s
    voiced = np.r_[0, np.cumsum(np.asarray(speech) >= SPEECH_THRESHOLD)]  # (n_frames + 1,) speech frames before
    reasons = {
        "over silence": _over_silence(mapped_starts, mapped_ends, voiced),
        "no voice onset near": _no_onset(mapped_starts + lead, speech, voiced),
        "near a cut": _near_cut(starts_s, time_map),
    }
    placed = np.zeros(mapped_starts.size, bool)  # the lines some window holds
    placed[[i for w in windows for i in w.lines]] = True
    reasons = {name: mask & placed for name, mask in reasons.items()}
    missed = np.zeros(mapped_starts.size, bool)
    missed[list(off)] = True
    chosen = set(sample(windows) if heard_sample is None else heard_sample)
    for k, window in enumerate(windows):
        lines = list(window.lines)
        if any(mask[lines].any() for mask in reasons.values()):
            chosen.add(window)
        if missed[lines].any():  # a gross miss in the sample: its neighbours too
            chosen.update(windows[max(k - 1, 0) : k + 2])
    counts = {name: int(mask.sum()) for name, mask in (*reasons.items(), ("off in the sample", missed)) if mask.any()}
    why = ", ".join(f"{n} {name}" for name, n in counts.items()) or "none"
    if len(chosen) > ALL_WINDOWS_SHARE * len(windows):
        return every_window(windows, f"most windows hold suspect lines ({why})")
    heard = tuple(w for w in windows if w in chosen)
    return Plan(heard, len(windows), f"the sample and the suspect lines' windows (suspect: {why})")


def _over_silence(starts_s: np.ndarray, ends_s: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """(n,) bool: less than SILENT_SHARE of the line's frames are speech (``voiced``: the
    speech frames before each frame, (n_frames + 1,))."""
    first = np.clip(np.floor(starts_s * ACTIVITY_FRAMES_PER_S).astype(np.int64), 0, voiced.size - 1)
    last = np.clip(np.ceil(ends_s * ACTIVITY_FRAMES_PER_S).astype(np.int64), 0, voiced.size - 1)
    frames = last - first
    share = np.where(frames > 0, (voiced[last] - voiced[first]) / np.maximum(frames, 1), 1.0)
    return (frames > 0) & (share < SILENT_SHARE)


def _no_onset(voice_starts_s: np.ndarray, speech: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """(n,) bool: where the line's voice should start is mostly silent for SILENT_START_S,
    and no voice starts within ONSET_FAR_S of it."""
    rises_s = voice_onsets(speech) * ACTIVITY_FRAME_S  # (n_rises,) sorted
    if rises_s.size:
        at = np.clip(np.searchsorted(rises_s, voice_starts_s), 1, rises_s.size) - 1
        nearest = np.minimum(
            np.abs(rises_s[at] - voice_starts_s), np.abs(rises_s[np.minimum(at + 1, rises_s.size - 1)] - voice_starts_s)
        )
    else:
        nearest = np.full(voice_starts_s.size, np.inf)
    span = round(SILENT_START_S * ACTIVITY_FRAMES_PER_S)
    first = np.clip(np.round(voice_starts_s * ACTIVITY_FRAMES_PER_S).astype(np.int64), 0, voiced.size - 1)
    last = np.minimum(first + span, voiced.size - 1)
    silent = (voiced[last] - voiced[first]) < 0.5 * np.maximum(last - first, 1)
    return silent & (nearest > ONSET_FAR_S)


def _near_cut(starts_s: np.ndarray, time_map: TimeMap) -> np.ndarray:
    """(n,) bool: within CUT_NEAR_S (subtitle seconds) of one of the map's cuts."""
    near = np.zeros(starts_s.size, bool)
    for cut in time_map.cuts:
        near |= np.abs(starts_s - cut.at_s) <= CUT_NEAR_S
    return near
