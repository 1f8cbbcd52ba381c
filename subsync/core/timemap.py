"""The map from subtitle time to media time, and the framerate ratios it may use (pure numpy).

Where maps come from: search.py (the cues' on/off pattern against the speech activity,
cuts included) and anchors.py (a map fitted through heard lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import permutations

import numpy as np

# ---------------------------------------------------------------- the map


@dataclass(frozen=True)
class Cut:
    """Where the subtitle's edit and the media's part: from subtitle time ``at_s`` on,
    media_s = scale * subtitle_s + ``offset_s`` (a new offset, same scale)."""

    at_s: float
    offset_s: float


@dataclass(frozen=True)
class TimeMap:
    scale: float  # media_s = scale * subtitle_s + offset_s (before the first cut)
    offset_s: float
    cuts: tuple[Cut, ...] = ()  # later pieces of the map, in subtitle-time order

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "offset_s", float(self.offset_s))
        object.__setattr__(self, "cuts", tuple(sorted(self.cuts, key=lambda cut: cut.at_s)))
        offsets = [self.offset_s, *(cut.offset_s for cut in self.cuts)]
        if not (np.isfinite(self.scale) and self.scale > 0 and np.all(np.isfinite(offsets))):
            raise ValueError(f"invalid time map: scale={self.scale}, offsets={offsets}")

    @classmethod
    def identity(cls) -> TimeMap:
        return cls(1.0, 0.0)

    def __call__(self, t_s, at_s=None):
        """Subtitle time(s) -> media time(s); float for a scalar, ndarray for an array.

        ``at_s`` (same shape) picks the piece by another time: a cue's end is mapped
        with the piece of its start, so a cue never straddles a cut."""
        t = np.asarray(t_s, dtype=np.float64)
        mapped = self.scale * t + self.offsets_at(t if at_s is None else at_s)
        return float(mapped) if np.ndim(mapped) == 0 else mapped

    def offsets_at(self, t_s) -> np.ndarray:
        """The offset of the piece each subtitle time falls in."""
        t = np.asarray(t_s, dtype=np.float64)
        offsets = np.full(t.shape, self.offset_s)
        for cut in self.cuts:
            offsets[t >= cut.at_s] = cut.offset_s
        return offsets

    def inverse(self, t_s):
        """Media time(s) -> subtitle time(s) (a map without cuts)."""
        if self.cuts:
            raise ValueError("a map with cuts has no single inverse")
        mapped = (np.asarray(t_s, dtype=np.float64) - self.offset_s) / self.scale
        return float(mapped) if np.ndim(mapped) == 0 else mapped

    def without_cuts(self) -> TimeMap:
        return TimeMap(self.scale, self.offset_s)

    def shifted(self, scale: float, delta_s: float) -> TimeMap:
        """The same pieces at ``scale``, every offset moved by ``delta_s``."""
        return TimeMap(scale, self.offset_s + delta_s, tuple(Cut(c.at_s, c.offset_s + delta_s) for c in self.cuts))


# ---------------------------------------------------------------- framerate ratios

FRAMERATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30))


def _framerate_ratios() -> tuple[float, ...]:
    """1.0 and every ratio between two common framerates, both directions, exact de-duplication."""
    ratios = {Fraction(1)} | {a / b for a, b in permutations(FRAMERATES, 2)}
    return tuple(float(ratio) for ratio in sorted(ratios, key=lambda r: (abs(r - 1), r)))


FRAMERATE_RATIOS: tuple[float, ...] = _framerate_ratios()
COMMON_SCALES = (1.0, 25 / (24000 / 1001), (24000 / 1001) / 25)  # no change, PAL speed-up both ways


def reachable(starts_s: np.ndarray, media_s: float, max_offset_s: float) -> np.ndarray:
    """(n,) bool: cues that some searched map (|offset| <= max_offset_s, any framerate
    ratio) can place in media ``media_s`` long.  A stray cue at 99:59:59 under a minute of
    audio cannot be matched, and must not stretch a search or a file's span over hours."""
    return np.asarray(starts_s) <= (media_s + max_offset_s) / min(FRAMERATE_RATIOS)


def span_s(starts_s: np.ndarray, ends_s: np.ndarray) -> float:
    """From the first cue's start to the last one's end (0 for no cue)."""
    return float(np.max(ends_s) - np.min(starts_s)) if np.size(starts_s) else 0.0


def mapped(time_map: TimeMap, starts_s: np.ndarray, ends_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cue starts and ends through the map; an end takes its start's piece of a cut map."""
    return time_map(starts_s), time_map(ends_s, starts_s)
