"""The benchmark's own arithmetic (benchmarks/): distortions, cuts and cue matching."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import cases
import constants_cv
import distortions
import hearing
import lead_in_bound
import run as bench_run

STARTS = np.arange(10.0, 600.0, 7.0)
ENDS = STARTS + 2.5


@pytest.mark.parametrize("kind", list(distortions.KINDS))
@pytest.mark.parametrize("seed", range(5))
def test_drawn_distortions_stay_in_their_ranges(kind, seed):
    gaps = tuple((e, s) for e, s in zip(ENDS[:-1], STARTS[1:]))
    d = distortions.draw(kind, seed, STARTS, gaps)
    parts = distortions.KINDS[kind]
    assert (5.0 <= abs(d.offset_s) <= 300.0) == ("offset" in parts)
    assert (d.ratio in distortions.RATIOS) == ("drift" in parts)
    assert (d.jitter_s == 0.3) == ("jitter" in parts)
    if "cut" in parts:
        assert 30.0 <= abs(d.cut_s) <= 120.0
        assert any(a < d.cut_at_s < b for a, b in gaps)  # cuts fall in pauses
    else:
        assert d.cut_at_s is None
    assert distortions.draw(kind, seed, STARTS, gaps) == d  # seeded


def test_subtitle_times_apply_ratio_then_offset_and_drop_negative_cues():
    d = distortions.Distortion("offset+drift", offset_s=-30.0, ratio="24/25")
    starts, ends, kept = distortions.subtitle_times(d, STARTS, ENDS)
    np.testing.assert_allclose(starts, STARTS * 24 / 25 - 30.0)
    np.testing.assert_allclose(ends, ENDS * 24 / 25 - 30.0)
    assert np.array_equal(kept, starts >= 0) and not kept.all()


def test_jitter_moves_starts_and_ends_independently_with_sigma():
    d = distortions.Distortion("offset+drift+jitter", jitter_s=0.3, seed=3)
    many = np.arange(0.0, 20000.0, 5.0)
    starts, ends, _ = distortions.subtitle_times(d, many, many + 2.0)
    shift_start, shift_end = starts - many, ends - many - 2.0
    assert np.std(shift_start) == pytest.approx(0.3, rel=0.05)
    assert abs(np.corrcoef(shift_start, shift_end)[0, 1]) < 0.05
    assert np.all(ends >= starts + distortions.MIN_CUE_S)


def _film() -> cases.Film:
    audio = np.zeros(100 * cases.SAMPLE_RATE_HZ, np.float32)
    cues = ((10.0, 12.0, "a"), (40.0, 42.0, "b"), (55.0, 57.0, "c"), (80.0, 82.0, "d"))
    return cases.Film(audio, cues, ())


def test_splice_insert_shifts_later_cues():
    insert = np.ones(30 * cases.SAMPLE_RATE_HZ, np.float32)
    audio, starts, ends = cases.splice(_film(), 50.0, 30.0, insert)
    assert audio.size == 130 * cases.SAMPLE_RATE_HZ
    np.testing.assert_allclose(starts, [10.0, 40.0, 85.0, 110.0])
    np.testing.assert_allclose(ends - starts, 2.0)


def test_splice_removal_drops_the_cues_inside_and_shifts_the_rest():
    audio, starts, _ends = cases.splice(_film(), 30.0, 30.0, None)
    assert audio.size == 70 * cases.SAMPLE_RATE_HZ
    assert starts[0] == 10.0 and np.isnan(starts[1]) and np.isnan(starts[2]) and starts[3] == 50.0


def test_matched_times_follow_text_and_mark_dropped_cues():
    class Cue:
        def __init__(self, start, end, text):
            self.start_s, self.end_s, self.text = start, end, text

    out = [Cue(1.0, 2.0, "hello"), Cue(5.0, 6.0, "again  there"), Cue(7.0, 8.0, "hello")]
    starts, ends = bench_run.matched_times(["hello", "lost", "again\nthere", "hello"], out)
    assert starts.tolist() == [1.0, np.inf, 5.0, 7.0]
    assert ends.tolist() == [2.0, np.inf, 6.0, 8.0]


def test_the_slack_bounds_the_lead_in_and_no_guess_meets_the_human_film_targets():
    """The lead-in always lies in the interval its slack leaves; half the files' slack leaves
    all of 0-300 ms; with it, no guess puts 99 % of films within 125 ms or 98 % of jittered
    lines no worse than the exact map, and the fixed prior does no better than the best guess."""
    rng = np.random.default_rng(1)
    lead = rng.uniform(0.0, 0.3, 1000)
    low, high = lead_in_bound.lead_interval(lead + rng.uniform(0.3, 0.9, 1000))
    assert np.all((low <= lead + 1e-12) & (lead <= high + 1e-12))
    best, prior = lead_in_bound.bounds(50_000, 0), lead_in_bound.bounds(50_000, 0, prior_s=0.15)
    assert best["blind"] == pytest.approx(0.5, abs=0.02)
    assert 0.85 < best["films"] < 0.95 and best["worse"] > 0.05
    assert prior["films"] <= best["films"] and prior["worse"] >= best["worse"]


def test_constants_are_chosen_on_the_other_recordings():
    """Leave one recording out: each recording is scored under the grid point best on the
    others, so a point that wins through one recording is never chosen for it (in sample,
    that recording would carry the choice)."""
    good, bad = constants_cv.Tally(10, 8, 9, 0, 1), constants_cv.Tally(10, 2, 3, 4, 6)
    big_good, big_bad = constants_cv.Tally(100, 90, 100, 0, 0), constants_cv.Tally(100, 0, 0, 100, 100)
    results = {
        (0, "a"): good,
        (0, "b"): good,
        (0, "c"): good,
        (0, "d"): big_bad,  # point 0: fine but on d
        (1, "a"): bad,
        (1, "b"): bad,
        (1, "c"): bad,
        (1, "d"): big_good,
    }  # point 1: d, the biggest
    total = {g: sum((t for (h, _), t in results.items() if h == g), constants_cv.Tally()) for g in (0, 1)}
    assert total[1].score() > total[0].score()  # chosen on every recording, point 1 would win
    held_out, in_sample, chosen = constants_cv.leave_one_out(results, default=1)
    assert chosen == [("a", 1), ("b", 1), ("c", 1), ("d", 0)]  # d's own win does not count for d
    assert held_out == bad + bad + bad + big_bad and in_sample == bad + bad + bad + big_good
    tie = {(0, "a"): good, (1, "a"): good, (0, "b"): good, (1, "b"): good}
    assert [g for _, g in constants_cv.leave_one_out(tie, default=1)[2]] == [1, 1]


def test_a_tally_counts_lines_against_the_exact_map():
    truth = np.array([0.0, 10.0, 20.0, 30.0])
    exact = truth + np.array([0.0, 0.3, -0.1, 0.0])
    got = constants_cv.tally(truth + np.array([0.1, 0.2, 0.6, np.inf]), truth, exact)
    assert got.row() == (4, 1, 2, 2, 3)


def test_first_word_slope_by_least_absolute_deviations_ignores_a_tail():
    """error = -2 * excess on most lines; a fifth heard about a second early (a first
    word stretched over the pause before it) pulls a least-squares slope far from 2, not
    the weighted median."""
    rng = np.random.default_rng(0)
    excess = rng.uniform(0.05, 0.5, 200)
    error = -2.0 * excess + rng.normal(0.0, 0.01, excess.size)
    error[:40] -= rng.uniform(0.8, 1.5, 40)
    least_squares = -np.sum(excess * error) / np.sum(excess**2)
    assert hearing.lad_slope(excess, error) == pytest.approx(2.0, abs=0.15)
    assert abs(least_squares - 2.0) > 0.5
    assert hearing.lad_slope(np.zeros(5), np.ones(5)) == 0.0
