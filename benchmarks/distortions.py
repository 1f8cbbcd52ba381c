"""Seeded distortions of a case's timing: what a subtitle made for another release looks like.

Subtitle time = (true time, with per-line jitter) * scale + offset.  A cut changes the
media instead (see cases.splice): the subtitle keeps the original edit's times.  Cues
that a negative offset would put before 0 s are not in the subtitle file (as with a
release that lacks the media's intro).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OFFSET_S = (5.0, 300.0)  # magnitude range (clips: up to half their length)
RATIOS = {"25/23.976": 25 / 23.976, "23.976/25": 23.976 / 25, "24/25": 24 / 25}
JITTER_S = 0.3  # sigma, on starts and ends
CUT_S = (30.0, 120.0)
MIN_CUE_S = 0.1
MAX_DROPPED = 0.1  # a negative offset that would drop more of a clip's cues is flipped

# name -> the parts it combines
KINDS = {
    "offset": ("offset",),
    "drift": ("drift",),
    "offset+drift": ("offset", "drift"),
    "offset+drift+jitter": ("offset", "drift", "jitter"),
    "cut": ("cut",),
    "offset+drift+cut": ("offset", "drift", "cut"),
}


@dataclass(frozen=True)
class Distortion:
    kind: str
    offset_s: float = 0.0
    ratio: str = "1"  # key of RATIOS, or "1"
    jitter_s: float = 0.0
    cut_at_s: float | None = None  # media time of the cut (None: no cut)
    cut_s: float = 0.0  # > 0: a stretch inserted into the media; < 0: removed
    seed: int = 0

    @property
    def scale(self) -> float:
        return RATIOS.get(self.ratio, 1.0)

    def describe(self) -> str:
        parts = []
        if self.offset_s:
            parts.append(f"offset {self.offset_s:+.1f} s")
        if self.ratio != "1":
            parts.append(f"ratio {self.ratio}")
        if self.jitter_s:
            parts.append(f"jitter {self.jitter_s * 1000:.0f} ms")
        if self.cut_at_s is not None:
            parts.append(
                f"{'inserted' if self.cut_s > 0 else 'removed'} {abs(self.cut_s):.0f} s at {self.cut_at_s:.0f} s"
            )
        return ", ".join(parts) or "none"


def draw(kind: str, seed: int, starts_s: np.ndarray, gaps: tuple = (), media_s: float = np.inf) -> Distortion:
    """A distortion of ``kind`` drawn from ``seed``; ``starts_s`` are the true cue starts,
    ``gaps`` the pauses a cut may fall in (cuts happen between scenes).  Offsets stay
    within half of ``media_s``: a subtitle wholly outside its media is no sync problem."""
    rng = np.random.default_rng(seed)
    parts = KINDS[kind]
    offset = ratio = None
    jitter = JITTER_S if "jitter" in parts else 0.0
    cut_at, cut = None, 0.0
    if "drift" in parts:
        ratio = list(RATIOS)[rng.integers(len(RATIOS))]
    if "offset" in parts:
        largest = min(OFFSET_S[1], max(OFFSET_S[0], media_s / 2))
        offset = float(rng.uniform(OFFSET_S[0], largest) * rng.choice([-1, 1]))
        scaled = starts_s * RATIOS.get(ratio or "1", 1.0)
        if np.mean(scaled + offset < 0) > MAX_DROPPED:
            offset = -offset
    if "cut" in parts:
        middle = [g for g in gaps if 0.3 * starts_s.max() < g[0] < 0.7 * starts_s.max()]
        gap = middle[rng.integers(len(middle))] if middle else (starts_s.max() / 2, starts_s.max() / 2)
        cut_at = float((gap[0] + gap[1]) / 2)
        cut = float(rng.uniform(*CUT_S) * rng.choice([-1, 1]))
    return Distortion(kind, offset or 0.0, ratio or "1", jitter, cut_at, cut, seed)


def subtitle_times(
    distortion: Distortion, starts_s: np.ndarray, ends_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, kept) of the distorted subtitle from the original edit's true times;
    ``kept`` marks the cues that stay in the file."""
    rng = np.random.default_rng(distortion.seed + 1)
    starts, ends = starts_s.astype(float).copy(), ends_s.astype(float).copy()
    if distortion.jitter_s:
        starts += rng.normal(0, distortion.jitter_s, starts.size)
        ends += rng.normal(0, distortion.jitter_s, ends.size)
    starts = starts * distortion.scale + distortion.offset_s
    ends = np.maximum(ends * distortion.scale + distortion.offset_s, starts + MIN_CUE_S)
    return starts, ends, starts >= 0
