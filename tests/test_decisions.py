"""The per-line decisions and window planning (pure, no model)."""

from __future__ import annotations

import numpy as np
import pytest

from subsync.core import decisions
from subsync.core.decisions import Heard, Word, decide
from subsync.core.options import SyncOptions
from subsync.core.windows import plan_windows

OPTIONS = SyncOptions()


def test_plan_windows_cover_every_spoken_line_once_within_30_s():
    starts = np.arange(0, 120, 4.0)
    ends = starts + 3.0
    texts = ["word " * 5] * starts.size
    texts[3] = ""                                    # a wordless cue is not aligned
    windows = plan_windows(starts, ends, texts, duration_s=130.0, window_s=30.0)
    aligned = [i for w in windows for i in w.lines]
    assert sorted(aligned) == [i for i in range(starts.size) if i != 3]
    for w in windows:
        assert 0 <= w.start_s < w.end_s <= 130.0
        assert w.end_s - w.start_s <= 30.0 + 1e-9
        assert all(w.start_s <= starts[i] and ends[i] <= w.end_s for i in w.lines)
    # Neighbours that reach into a window lend it part of their words as context.
    assert any(w.before for w in windows[1:])


def heard_at(starts, shift, confidence=0.9):
    return {i: Heard(s + d, s + d + 1.5, confidence) for i, (s, d) in enumerate(zip(starts, shift))}


def test_decide_keeps_agreeing_lines_and_retimes_clear_misses():
    starts = np.arange(20) * 3.0
    rng = np.random.default_rng(0)
    shift = rng.normal(0, 0.35, starts.size)               # sloppy per-line timing
    heard = heard_at(starts + shift, -shift)               # heard at the true times
    mapped = starts + shift
    lines = decide(mapped, mapped + 2.0, heard, ["some words"] * 20, OPTIONS)
    lead = decisions.file_lead(-shift)                     # the file's own lead (here: noise)
    for line, true_start, d in zip(lines, starts, shift):
        if abs(-d - lead) > OPTIONS.keep_tolerance_s:
            assert line.action == "retimed"
            assert line.start_s == pytest.approx(true_start - max(lead, 0.0), abs=0.05)
        else:
            assert line.action == "kept"
            assert line.start_s == mapped[line.index]
    assert all(a.start_s < b.start_s for a, b in zip(lines, lines[1:]))
    assert all(line.end_s - line.start_s >= 0.2 for line in lines)


def _words(start_s: float, first_s: float, texts=("so", "we", "went", "home")) -> tuple[Word, ...]:
    """Words from ``start_s``: the first taking ``first_s`` (to where the second starts),
    the others 0.25 s each."""
    edges = [start_s, start_s + first_s] + [start_s + first_s + 0.25 * k for k in range(1, len(texts))]
    return tuple(Word(t, a, b, 0.9) for t, a, b in zip(texts, edges, edges[1:]))


@pytest.mark.parametrize("first_word_s, end_after_s, action", [
    (0.25, 0.1, "retimed"),     # its words take normal times: shown late
    (1.2, 0.1, "mapped"),       # "so" for 1.2 s: a filler or cough read as its first word
    (1.2, -1.0, "mapped"),      # ... wherever its end is heard
    (None, 0.1, "mapped"),      # no word times: heard longer than shown, ending where it ends
    (None, -1.0, "retimed"),    # no word times, shifted as a whole
])
def test_a_line_heard_early_is_stretched_only_when_its_first_word_is(first_word_s, end_after_s, action):
    """In a sloppy file, a line heard 0.6 s before it is shown was either shown late or
    heard with a cough or filler read as its first word; the first word's time tells
    which.  Without word times, the line's length against what is shown does."""
    starts = np.arange(20) * 3.0
    shift = np.random.default_rng(0).normal(0, 0.35, starts.size)
    shift[5] = 0.6                                         # line 5 shown 0.6 s late
    mapped = starts + shift
    ends = mapped + 2.0
    ends[5] = mapped[5] + 1.2
    heard = heard_at(starts + shift, -shift)               # heard at the true times
    words = () if first_word_s is None else _words(starts[5], first_word_s)
    heard[5] = Heard(starts[5], ends[5] + end_after_s, 0.9, words)
    lines = decide(mapped, ends, heard, ["so we went home"] * 20, OPTIONS)
    assert decisions.scattered(-np.delete(shift, 5))
    assert lines[5].action == action
    if action == "retimed":
        assert lines[5].start_s == pytest.approx(starts[5] - max(decisions.file_lead(-shift), 0.0), abs=0.05)
    else:
        assert lines[5].start_s == mapped[5]


@pytest.mark.parametrize("words, swallowed", [
    ((("...", 0.0, 0.1), ("so", 0.1, 1.3), ("we", 1.3, 1.5)), True),   # "..." is not said: "so" is first
    ((("so", 0.0, 0.25), ("we", 0.25, 0.5)), False),
    ((("1999", 0.0, 1.0), ("was", 1.0, 1.2)), False),                  # a number is read as words
    ((("so", 0.0, 0.1), ("we", 1.4, 1.6), ("went", 1.6, 1.9)), True),  # "so" put apart from the rest
])
def test_a_first_word_is_swallowed_when_it_takes_longer_than_anyone_says_it(words, swallowed):
    heard = Heard(0.0, 2.0, 0.9, tuple(Word(t, a, b, 0.9) for t, a, b in words))
    carried, spoken = decisions._spoken_words(heard)
    assert carried == () and decisions._first_word_swallowed(heard.start_s, spoken) == swallowed


@pytest.mark.parametrize("words, swallowed", [
    # the aligner put "workers" on a breath and stretched "of" over the pause: both are said
    # from the voice's start, in 0.56 s
    ((("workers", 5.36, 6.37), ("of", 6.43, 10.03), ("the", 10.07, 10.17), ("world", 10.23, 10.96)), False),
    # "so" before the pause and "we" stretched 1.5 s past the voice's start: a slip
    ((("so", 5.0, 6.0), ("we", 6.1, 11.0), ("went", 11.0, 11.3)), True),
    # "so" before the pause, "we" from 9.9 s: "so we" takes 1.09 s from the voice's start, a slip
    ((("so", 5.0, 6.0), ("we", 9.9, 10.6), ("went", 10.6, 11.0)), True),
    # a word of no length before the start counts its letters all the same
    ((("workers", 9.0, 9.0), ("of", 9.51, 10.03), ("the", 10.07, 10.17), ("world", 10.23, 10.96)), False),
])
def test_words_put_before_a_pause_are_said_after_it(words, swallowed):
    """A heard start moved past a pause (to the voice at 9.51 s) leaves the words the aligner
    put before it behind; they are said from the voice's start on, with the first word after
    it, and its time is judged against all their letters."""
    heard = Heard(9.51, 11.0, 0.9, tuple(Word(t, a, b, 0.9) for t, a, b in words))
    assert decisions._absorbed_onset(heard, 10.09, 12.85, 0.15) == swallowed


def test_text_without_spaces_is_judged_by_its_length_not_as_one_long_word():
    """A Chinese line is one "word" to split(): its length against what is shown decides, as
    without word times (a line shown late, heard as long as shown, is not a slip)."""
    line = Heard(10.0, 12.2, 0.9, (Word("我们明天早上一起回家吧", 10.0, 12.2, 0.9),))
    assert not decisions._absorbed_onset(line, 10.6, 12.8, 0.15)        # shifted whole: shown late
    stretched = Heard(10.0, 12.8, 0.9, line.words)                      # heard 0.6 s longer, same end
    assert decisions._absorbed_onset(stretched, 10.6, 12.8, 0.15)


def test_decide_leaves_a_tight_file_alone_and_low_confidence_on_the_map():
    starts = np.arange(20) * 3.0
    noise = np.random.default_rng(1).normal(0, 0.04, starts.size)
    noise[5] = 0.4                                         # an aligner slip in a sound file
    heard = heard_at(starts, noise)
    heard[7] = Heard(starts[7] + 2.0, starts[7] + 3.0, 0.1)  # unsure
    lines = decide(starts, starts + 2.0, heard, ["words"] * 20, OPTIONS)
    assert [line.action for line in lines].count("kept") == 19
    assert lines[7].action == "mapped" and lines[7].start_s == starts[7]


def test_decide_gives_flashing_lines_a_readable_duration():
    starts = np.array([1.0, 1.5, 5.0])
    ends = np.array([1.0, 3.0, 5.02])                      # zero and 20 ms long in the input
    lines = decide(starts, ends, {}, ["Hello there.", "Next line", "x"], OPTIONS)
    assert lines[0].end_s == pytest.approx(1.5 - decisions.MIN_GAP_S)    # up to the next line
    assert lines[2].end_s - lines[2].start_s == pytest.approx(decisions.MIN_DURATION_S)
    assert lines[1].start_s == 1.5 and lines[1].end_s == 3.0            # untouched


def test_decide_never_leaves_a_zero_or_negative_duration():
    starts = np.array([1.0, 2.0, 3.0])
    heard = {0: Heard(2.9, 2.95, 0.9), 1: Heard(2.9, 2.9, 0.9), 2: Heard(0.0, 0.01, 0.9)}
    lines = decide(starts, starts + 0.8, heard, ["a b", "c", "d"], OPTIONS)
    assert all(line.end_s > line.start_s >= 0 for line in lines)
