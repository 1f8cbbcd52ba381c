"""Which lines are heard together: windows of consecutive lines under a time map."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

PAD_S = 2.0  # audio kept before a window's first line and after its last (+- GRID_S / 2;
# less at the audio's ends, and after a line longer than window_s - 2 * PAD_S)
GRID_S = 1.0  # a window's edges fall on this grid of media time, so two
# subtitles of one film whose lines fall alike (a re-download, a re-timed copy) hear
# the same samples, whose encoder states the listener may then have cached


@dataclass(frozen=True)
class Window:
    start_s: float  # media time of the window's first sample
    end_s: float
    lines: tuple[int, ...]  # cue indices aligned here (their times are used)
    before: str = ""  # context text heard before the first line (times discarded)
    after: str = ""  # context text heard after the last line
    shares: tuple[float, ...] = ()  # per line, the share of its mapped time inside the window:
    # a line longer than a window is heard by that share of its
    # first words (empty: every line whole)

    def words(self, k: int, text: str) -> tuple[str, ...]:
        """The words of the window's k-th line (``text``) that it hears: all of them, or
        the first ones, as many as the share of the line's time inside the window."""
        words = tuple(text.split())
        share = self.shares[k] if self.shares else 1.0
        return words if share >= 1.0 else words[: max(1, int(np.ceil(share * len(words))))]


def plan_windows(
    mapped_starts: np.ndarray, mapped_ends: np.ndarray, texts: Sequence[str], duration_s: float, window_s: float
) -> list[Window]:
    """Group consecutive spoken lines into windows of at most ``window_s`` of audio.

    Each window spans its lines' mapped times plus PAD_S on each side, its edges rounded
    to the GRID_S grid; lines that only partly fall inside contribute the share of their
    words that does, as context.  A line longer than a window opens one of its own, which
    hears the share of its first words that its time inside gives (Window.shares): its
    start is heard, not skipped.
    """
    order = [
        i
        for i in np.argsort(mapped_starts, kind="stable")
        if texts[i] and mapped_ends[i] > 0 and mapped_starts[i] < duration_s
    ]
    windows: list[Window] = []
    k = 0
    while k < len(order):
        first = k
        group = [order[k]]
        # Which lines: by their times alone (a map's offset moves them all, not the group).
        # Rounded, the edges may reach beyond window_s: the end is cut there, which leaves
        # each line the loop adds at least PAD_S - GRID_S / 2 (its end is within window_s -
        # PAD_S of the unrounded start, and the rounded one at most GRID_S / 2 later); a
        # first line longer than window_s - 2 * PAD_S may lose its last words (Window.shares).
        reach_s = max(0.0, mapped_starts[order[k]] - PAD_S) + window_s
        k += 1
        while k < len(order) and mapped_ends[order[k]] + PAD_S <= reach_s:
            group.append(order[k])
            k += 1
        start = max(0.0, _on_grid(mapped_starts[order[first]] - PAD_S))
        end = min(duration_s, start + window_s, _on_grid(max(mapped_ends[i] for i in group) + PAD_S))
        previous = order[first - 1] if first > 0 else None
        following = order[k] if k < len(order) else None
        before = _context(previous, -1, start, end, mapped_starts, mapped_ends, texts)
        after = _context(following, +1, start, end, mapped_starts, mapped_ends, texts)
        shares = tuple(_inside(start, end, mapped_starts[i], mapped_ends[i]) for i in group)
        windows.append(
            Window(start, end, tuple(int(i) for i in group), before, after, shares if min(shares) < 1.0 else ())
        )
    return windows


def _on_grid(time_s: float) -> float:
    """The GRID_S grid's point nearest ``time_s``."""
    return GRID_S * float(np.floor(time_s / GRID_S + 0.5))


def _inside(start: float, end: float, line_start: float, line_end: float) -> float:
    """Share of a line's [line_start, line_end] inside [start, end] (1 for an empty line)."""
    length = line_end - line_start
    if length <= 0:
        return 1.0
    return float(np.clip((min(end, line_end) - max(start, line_start)) / length, 0.0, 1.0))


def _context(line, direction, start, end, starts, ends, texts) -> str:
    """Words of the neighbouring ``line`` (None: none) that its mapped time puts inside
    [start, end]: its last words before a window (direction -1), its first after (+1)."""
    if line is None or ends[line] - starts[line] <= 0:
        return ""
    words = texts[line].split()
    n = int(round(_inside(start, end, starts[line], ends[line]) * len(words)))
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


def spread_sample(windows: Sequence[Window], count: int | None, prefer: Collection[Window] = ()) -> list[Window]:
    """``count`` windows spread evenly over the file (all of them when None or fewer); a
    ``prefer``red one (heard already) takes the place of the spread's nearest pick within
    half a stride of it, so a window verification probed is not one more to hear."""
    if count is None or len(windows) <= count:
        return list(windows)
    picks = [int(k) for k in np.unique(np.linspace(0, len(windows) - 1, count).round())]
    half_stride = (len(windows) - 1) / max(1, count - 1) / 2
    taken: set[int] = set()  # picks already given to a preferred window
    for index, window in enumerate(windows):
        if window not in prefer:
            continue
        free = [k for k in range(len(picks)) if k not in taken]
        nearest = min(free, key=lambda k: abs(picks[k] - index), default=None)
        if nearest is not None and abs(picks[nearest] - index) <= half_stride:
            picks[nearest] = index
            taken.add(nearest)
    return [windows[k] for k in sorted(set(picks))]
