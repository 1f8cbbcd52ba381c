"""Which lines are heard together: windows of consecutive lines under a time map."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PAD_S = 2.0                   # audio kept before a window's first line and after its last


@dataclass(frozen=True)
class Window:
    start_s: float                  # media time of the window's first sample
    end_s: float
    lines: tuple[int, ...]          # cue indices aligned here (their times are used)
    before: str = ""                # context text heard before the first line (times discarded)
    after: str = ""                 # context text heard after the last line


def plan_windows(mapped_starts: np.ndarray, mapped_ends: np.ndarray, texts: Sequence[str],
                 duration_s: float, window_s: float) -> list[Window]:
    """Group consecutive spoken lines into windows of at most ``window_s`` of audio.

    Each window spans its lines' mapped times plus PAD_S on each side; lines that only
    partly fall inside contribute the share of their words that does, as context.
    """
    order = [i for i in np.argsort(mapped_starts, kind="stable") if texts[i]
             and mapped_ends[i] > 0 and mapped_starts[i] < duration_s]
    windows: list[Window] = []
    k = 0
    while k < len(order):
        first = k
        group = [order[k]]
        start = max(0.0, mapped_starts[order[k]] - PAD_S)
        k += 1
        while k < len(order) and mapped_ends[order[k]] + PAD_S - start <= window_s:
            group.append(order[k])
            k += 1
        end = min(duration_s, start + window_s, max(mapped_ends[i] for i in group) + PAD_S)
        previous = order[first - 1] if first > 0 else None
        following = order[k] if k < len(order) else None
        before = _context(previous, -1, start, end, mapped_starts, mapped_ends, texts)
        after = _context(following, +1, start, end, mapped_starts, mapped_ends, texts)
        windows.append(Window(start, end, tuple(int(i) for i in group), before, after))
    return windows


def _context(line, direction, start, end, starts, ends, texts) -> str:
    """Words of the neighbouring ``line`` (None: none) that its mapped time puts inside
    [start, end]: its last words before a window (direction -1), its first after (+1)."""
    if line is None:
        return ""
    length = ends[line] - starts[line]
    if length <= 0:
        return ""
    inside = (min(end, ends[line]) - max(start, starts[line])) / length
    words = texts[line].split()
    n = int(round(np.clip(inside, 0.0, 1.0) * len(words)))
    if n == 0:
        return ""
    return " ".join(words[-n:] if direction < 0 else words[:n])


def fullest(windows: Sequence[Window]) -> Window | None:
    """The window with the most spoken lines (the earliest among equals)."""
    return max(windows, key=lambda w: len(w.lines), default=None)


def far_window(windows: Sequence[Window], first: Window | None, min_distance_s: float) -> Window | None:
    """A well-filled window as far as possible from ``first`` (at least ``min_distance_s``
    away, a window's length), where a wrong drift shows most."""
    if first is None:
        return None
    enough = max(1, len(first.lines) // 2)
    far = [w for w in windows if len(w.lines) >= enough and abs(w.start_s - first.start_s) >= min_distance_s]
    return max(far, key=lambda w: abs(w.start_s - first.start_s), default=None)


def spread_sample(windows: Sequence[Window], count: int | None) -> list[Window]:
    """``count`` windows spread evenly over the file (all of them when None or fewer)."""
    if count is None or len(windows) <= count:
        return list(windows)
    return [windows[int(k)] for k in np.unique(np.linspace(0, len(windows) - 1, count).round())]
