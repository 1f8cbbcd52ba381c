"""The per-line decisions and window planning (pure, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from subsync.core import decisions
from subsync.core.decisions import Heard, decide
from subsync.core.options import SyncOptions
from subsync.core.windows import GRID_S, PAD_S, plan_windows

OPTIONS = SyncOptions()


def test_plan_windows_cover_every_spoken_line_once_within_30_s():
    starts = np.arange(0, 120, 4.0)
    ends = starts + 3.0
    texts = ["word " * 5] * starts.size
    texts[3] = ""  # a wordless cue is not aligned
    windows = plan_windows(starts, ends, texts, duration_s=130.0, window_s=30.0)
    aligned = [i for w in windows for i in w.lines]
    assert sorted(aligned) == [i for i in range(starts.size) if i != 3]
    for w in windows:
        assert 0 <= w.start_s < w.end_s <= 130.0
        assert w.end_s - w.start_s <= 30.0 + 1e-9
        assert all(w.start_s <= starts[i] and ends[i] <= w.end_s for i in w.lines)
    # Neighbours that reach into a window lend it part of their words as context.
    assert any(w.before for w in windows[1:])


def test_window_edges_fall_on_the_grid_so_a_map_a_few_ms_apart_hears_the_same_audio():
    """Two subtitles of one film whose lines a map puts a few milliseconds apart (a
    re-download, a copy timed for another release) get windows of the same samples, so
    the listener's kept encoder states serve both: each edge is its lines' PAD_S rounded to
    the GRID_S grid (cut at the audio's start and end), and changes only where a shift
    carries it across a rounding point.  Every line is inside its window with PAD_S +-
    GRID_S / 2 of audio each side, except at the audio's ends."""
    rng = np.random.default_rng(5)
    starts = np.r_[0.3, np.cumsum(rng.uniform(1.5, 6.0, 60)) + 2.37]  # (61,) the first line at 0.3 s
    ends = starts + rng.uniform(0.8, 3.0, starts.size)
    duration_s = float(ends[-1]) + 0.6  # (the last line's padding cut by the audio's end)
    texts = ["some words here"] * starts.size

    def edges(window, shift_s: float) -> tuple[float, float]:
        first, last = starts[list(window.lines)].min() + shift_s, ends[list(window.lines)].max() + shift_s
        start = max(0.0, np.floor((first - PAD_S) / GRID_S + 0.5) * GRID_S)
        return start, min(duration_s, start + 30.0, np.floor((last + PAD_S) / GRID_S + 0.5) * GRID_S)

    windows = plan_windows(starts, ends, texts, duration_s=duration_s, window_s=30.0)
    assert windows[0].start_s == 0.0 and windows[-1].end_s == duration_s
    for shift_s in (0.0, 0.004, -0.013, 0.021):
        shifted = plan_windows(starts + shift_s, ends + shift_s, texts, duration_s=duration_s, window_s=30.0)
        assert [w.lines for w in shifted] == [w.lines for w in windows]  # (an offset moves no line to another)
        assert [(w.start_s, w.end_s) for w in shifted] == [edges(w, shift_s) for w in windows]
        assert sum((w.start_s, w.end_s) != (v.start_s, v.end_s) for w, v in zip(windows, shifted)) <= 1
    for w in windows:
        first, last = starts[list(w.lines)].min(), ends[list(w.lines)].max()
        assert w.start_s <= first and last <= w.end_s and w.end_s - w.start_s <= 30.0
        assert w.start_s == 0.0 or PAD_S - GRID_S / 2 <= first - w.start_s <= PAD_S + GRID_S / 2
        assert w.end_s == duration_s or PAD_S - GRID_S / 2 <= w.end_s - last <= PAD_S + GRID_S / 2


def test_a_line_longer_than_a_window_is_heard_by_its_first_words():
    """A 90 s line between short ones opens a window of its own, which hears the share of
    its words that its time inside gives; the short lines are heard whole."""
    starts = np.array([0.0, 5.0, 100.0])
    ends = np.array([3.0, 95.0, 103.0])
    texts = ["a short line", " ".join(f"w{k}" for k in range(180)), "another short line"]
    windows = plan_windows(starts, ends, texts, duration_s=110.0, window_s=30.0)
    long = next(w for w in windows if 1 in w.lines)
    k = long.lines.index(1)
    assert long.end_s - long.start_s == pytest.approx(30.0)
    share = (long.end_s - 5.0) / 90.0  # 28 of its 90 s inside
    assert long.words(k, texts[1]) == tuple(texts[1].split())[: int(np.ceil(share * 180))]
    for w in windows:
        for j, i in enumerate(w.lines):
            if i != 1:
                assert w.words(j, texts[i]) == tuple(texts[i].split())


def heard_at(starts, shift, confidence=0.9):
    return {i: Heard(s + d, s + d + 1.5, confidence) for i, (s, d) in enumerate(zip(starts, shift))}


def test_decide_retimes_lines_shown_far_from_their_voice_and_keeps_the_others():
    """A sound file (lines within 40 ms of the map, lead 120 ms) with eight lines shown 1.5-2.5 s
    away from their voice: those eight move, as a whole, to where they are heard less the
    file's lead; the others keep the map's time exactly.  (With four, one in ten, the
    model's share of off lines and the listener's tails leave them on the map; so do lines
    heard 1.5-2.5 s early, which the listener does to 4 % of its lines.)"""
    starts = np.arange(40) * 3.0 + 5.0
    rng = np.random.default_rng(0)
    voice = starts + 0.12 + rng.normal(0, 0.04, starts.size)
    mapped = starts.copy()
    off = {3: 2.0, 7: 1.6, 11: 2.5, 15: 2.2, 20: 2.5, 26: 2.0, 30: 1.7, 33: 1.8}
    for k, d in off.items():
        mapped[k] = starts[k] - d  # shown d early (d > 0) or late
    heard = heard_at(voice, np.zeros(starts.size))
    lines = decide(mapped, mapped + 2.0, heard, ["some words"] * 40, OPTIONS)
    for line in lines:
        if line.index in off:
            assert line.action == "retimed"
            assert line.start_s == pytest.approx(starts[line.index], abs=0.15)
            assert line.end_s - line.start_s == pytest.approx(2.0, abs=1e-6)  # its own linger
        else:
            assert line.action == "kept" and line.start_s == mapped[line.index]


def test_decide_leaves_a_tight_file_alone_and_low_confidence_on_the_map():
    starts = np.arange(20) * 3.0 + 5.0
    noise = np.random.default_rng(1).normal(0, 0.04, starts.size)
    noise[5] = 0.4  # an aligner slip in a sound file
    heard = heard_at(starts, noise)
    heard[7] = Heard(starts[7] + 2.0, starts[7] + 3.0, 0.1)  # unsure
    lines = decide(starts, starts + 2.0, heard, ["words"] * 20, OPTIONS)
    assert [line.action for line in lines].count("kept") == 19
    assert lines[7].action == "mapped" and lines[7].start_s == starts[7]


def test_a_start_heard_at_the_edge_of_the_audio_is_no_evidence():
    """The decoder puts what it cannot place on the first frame: a line "heard" at 0.000 s
    says nothing (mechanism 1 of the issue: every line went 1 s early)."""
    assert not decisions.is_evidence(Heard(0.0, 2.0, 0.9), None, 60.0)
    assert not decisions.is_evidence(Heard(59.98, 60.0, 0.9), None, 60.0)
    assert decisions.is_evidence(Heard(1.0, 2.0, 0.9), None, 60.0)


def test_decide_gives_flashing_lines_a_readable_duration():
    starts = np.array([1.0, 1.5, 5.0])
    ends = np.array([1.0, 3.0, 5.02])  # zero and 20 ms long in the input
    lines = decide(starts, ends, {}, ["Hello there.", "Next line", "x"], OPTIONS)
    assert lines[0].end_s == pytest.approx(1.5 - decisions.MIN_GAP_S)  # up to the next line
    assert lines[2].end_s - lines[2].start_s == pytest.approx(decisions.MIN_DURATION_S)
    assert lines[1].start_s == 1.5 and lines[1].end_s == 3.0  # untouched


def test_decide_never_leaves_a_zero_or_negative_duration():
    starts = np.array([1.0, 2.0, 3.0])
    heard = {0: Heard(2.9, 2.95, 0.9), 1: Heard(2.9, 2.9, 0.9), 2: Heard(0.0, 0.01, 0.9)}
    lines = decide(starts, starts + 0.8, heard, ["a b", "c", "d"], OPTIONS)
    assert all(line.end_s > line.start_s >= 0 for line in lines)


def test_a_line_heard_past_its_neighbour_stays_and_the_others_still_move():
    """Lines 3 s apart, a fifth of them shown 1.6-2.4 s early (they move back to their voice);
    one more line heard 4 s late, past the next line's start (where the same words are said
    again): it stays, and the lines around it still move."""
    starts = np.arange(40) * 3.0 + 5.0
    voice = starts + 0.1
    mapped = starts.copy()
    early = [k for k in range(40) if k % 5 == 2]
    mapped[early] -= np.linspace(1.6, 2.4, len(early))
    heard = heard_at(voice, np.zeros(40))
    heard[20] = Heard(voice[20] + 4.0, voice[20] + 5.5, 0.9)  # beyond line 21
    lines = decide(mapped, mapped + 1.5, heard, ["some words"] * 40, OPTIONS)
    assert lines[20].action == "kept" and lines[20].start_s == mapped[20]
    assert all(lines[k].action == "retimed" and abs(lines[k].start_s - starts[k]) <= 0.15 for k in early)
    assert all(a.start_s <= b.start_s for a, b in zip(lines, lines[1:]))
