"""The decision model (core/inference.py) against the listener's measured errors, out of sample.

The heard starts are drawn from the errors of bench recordings that the model's error
distribution was not fitted on (benchmarks/results/hearing-raw.json, split in two folds by
recording, as benchmarks/decision_model.py does), tails included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from subsync.core import decisions, inference, mapchoice
from subsync.core.decisions import Heard, Word
from subsync.core.hearing import Lines
from subsync.core.options import SyncOptions
from subsync.core.timemap import TimeMap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import decision_model

RAW = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "hearing-raw.json").read_text())
SPLITS = decision_model.splits(RAW, singing=False)  # (model's recordings, drawn recordings), twice
FOLDS = [np.concatenate(drawn) for _, drawn in SPLITS]
MODELS = [decision_model.fold_model("speech", fitted) for fitted, _ in SPLITS[::-1]]  # MODELS[k]: fold k's


def _held_out(k: int) -> tuple[tuple[inference.ErrorModel, ...], np.ndarray]:
    """The error model fitted on fold k, and the other fold's errors to draw from."""
    return (MODELS[k],), FOLDS[1 - k]


def test_the_errors_drawn_are_out_of_sample():
    """Each fold's model is made from one half of the speech recordings and the starts are
    drawn from the other half's measured errors: no recording is both, and together the
    folds draw from every recording (what holds whatever the listener's errors are)."""
    speech = [c for c in RAW["cases"] if not c["singing"]]
    assert len(SPLITS) == 2 and len(speech) >= 4 and sum(fold.size for fold in FOLDS) >= 100
    for (fitted, drawn), fold, model, other in zip(SPLITS, FOLDS, MODELS[::-1], MODELS):
        assert len(fitted) + len(drawn) == len(speech) and fitted and drawn
        assert np.array_equal(fold, np.concatenate(drawn))
        assert not any(a.size and any(a is b or np.array_equal(a, b) for b in fitted) for a in drawn)
        made = decision_model.fold_model("speech", fitted).density  # made from the other half
        assert np.array_equal(model.density, made) and not np.array_equal(other.density, made)


def test_files_whose_only_fault_is_global_keep_their_lines():
    """Proof (a), lines: 50 files of 5-500 lines on the map (their subtitler's own scatter,
    N(0, 40 ms), and lead 0-300 ms): at most 1 % of all lines moved more than 100 ms
    (measured: 0 of 4,879 lines; 1 of 10,143 in benchmarks/decision_model.py's 100 files)."""
    rng = np.random.default_rng(0)
    lines = harmed = 0
    for draw in range(50):
        models, errors = _held_out(draw % 2)
        n = int(np.exp(rng.uniform(np.log(5), np.log(500))))
        residuals, true, _ = decision_model.draw_file("global", rng, errors, n)
        verdict = inference.judge(residuals, inference.best_fit(residuals, models), 0.25, models)
        lines += n
        harmed += int(np.sum(verdict.moves & (np.abs(verdict.shift_s - true) > 0.1)))
    assert harmed <= 0.01 * lines, (harmed, lines)


def _film_lines(rng, n: int) -> tuple[Lines, np.ndarray]:
    gaps = rng.uniform(1.0, 4.0, n)
    starts = np.cumsum(gaps) + 5.0
    ends = starts + rng.uniform(0.8, 3.0, n)
    return Lines(tuple(f"line {k}" for k in range(n)), starts, ends), starts


def test_a_right_map_is_not_replaced_by_heard_lines():
    """Proof (a), the map: heard lines of files whose only fault is global (the incumbent map
    is the true one) leave it within 20 ms in at least 99 % of the draws (here every one of
    50; one in the 100 that continue these draws moves it 0.14 s)."""
    rng = np.random.default_rng(1)
    kept = draws = 0
    for draw in range(50):
        _, errors = _held_out(draw % 2)
        n = int(np.exp(rng.uniform(np.log(5), np.log(500))))
        lines, starts = _film_lines(rng, n)
        true = TimeMap(25 / 23.976, 12.0)
        lead = rng.uniform(0.0, 0.3)
        heard = {
            k: Heard(float(true(starts[k]) + lead + rng.normal(0, 0.04) + rng.choice(errors)), 0.0, 0.9)
            for k in range(n)
        }
        chosen = mapchoice.chosen_map(true, lines, heard, SyncOptions(), float(np.ptp(starts)))
        moved = np.abs(chosen(lines.starts_s) - true(lines.starts_s))
        kept += bool(moved.max() <= 0.02)
        draws += 1
    assert kept >= 0.99 * draws


def test_a_drift_the_activity_missed_is_taken_from_the_heard_lines():
    """A map whose drift is wrong (25/24 where the file needs 25/23.976 over 20 minutes: 1.2 s
    at the end) is replaced.  The old map shows no lead to keep (its residuals spread over
    the drift's 1.2 s, centred 0.7 s off, beyond what subtitlers use), so the lines go on
    their voice: within 0.3 s of the true map, whose own 0.15 s lead no one can hear."""
    rng = np.random.default_rng(2)
    lines, starts = _film_lines(rng, 400)
    true, wrong = TimeMap(25 / 23.976, 3.0), TimeMap(25 / 24, 3.0)
    _, errors = _held_out(0)
    heard = {k: Heard(float(true(starts[k]) + 0.15 + rng.choice(errors)), 0.0, 0.9) for k in range(400)}
    chosen = mapchoice.chosen_map(wrong, lines, heard, SyncOptions(), float(np.ptp(starts)))
    assert chosen.scale == pytest.approx(25 / 23.976, rel=1e-5)
    assert np.abs(chosen(starts) - true(starts)).max() <= 0.3


@pytest.mark.parametrize("true_scale", [25 / (24000 / 1001), 25 / 24, 1.0])
def test_a_wrong_speech_pattern_scale_gives_way_to_the_likeliest_standard_ratio(true_scale):
    """A 90 s file whose speech pattern chose a wrong scale (0.834, as a 36-line recording's
    did): the heard lines reject it for the drift they fit, snapped to the standard ratio
    that explains them, 1.0 included.  25/24 and 25/23.976 are 0.1 % apart (90 ms over the
    file); a rule that preferred the ratio nearer 1.0 took 25/24 where the file needed
    25/23.976, and left 8 of 36 lines beyond 250 ms."""
    rng = np.random.default_rng(5)
    lines, starts = _film_lines(rng, 36)
    _, errors = _held_out(1)
    true = TimeMap(true_scale, -18.4)
    heard = {k: Heard(float(true(starts[k]) + 0.2 + rng.choice(errors)), 0.0, 0.9) for k in range(36)}
    chosen = mapchoice.chosen_map(TimeMap(0.8341667, -2.03), lines, heard, SyncOptions(), float(np.ptp(starts)))
    assert chosen.scale == pytest.approx(true_scale, rel=1e-6), chosen


def test_the_input_offset_stands_only_when_the_heard_lines_do_not_reject_it():
    """A wrong activity map (9.3 s off) on a file whose subtitles are 2.5 s early: the heard
    lines reject it and the input's own offset alike (a lead in range with every line in
    the tail explains nothing; this left a 93 s recording 2.5 s off, exit 0), so the map
    goes where they put the voice.  When the input is right, it stands."""
    rng = np.random.default_rng(4)
    lines, starts = _film_lines(rng, 30)
    _, errors = _held_out(0)
    for true_offset_s, expected_s in ((2.5, 2.5), (0.1, 0.0)):
        heard = {k: Heard(float(starts[k] + true_offset_s + rng.choice(errors)), 0.0, 0.9) for k in range(30)}
        chosen = mapchoice.chosen_map(TimeMap(1.0, -6.84), lines, heard, SyncOptions(), float(np.ptp(starts)))
        assert chosen.scale == 1.0 and chosen.offset_s == pytest.approx(expected_s, abs=0.15), chosen


def _judged_draw(kind: str, rng, draw: int, n_lines: int = 200):
    """One drawn file of ``kind`` judged out of sample: (error after, true displacement,
    displaced mask), (n_lines,) each."""
    models, errors = _held_out(draw % 2)
    residuals, true, displaced = decision_model.draw_file(kind, rng, errors, n_lines)
    verdict = inference.judge(residuals, inference.best_fit(residuals, models), 0.25, models)
    return verdict.shift_s - true, true, displaced


def test_displaced_lines_are_put_back_and_the_others_stay():
    """Proof (b): 20 % of the lines displaced by 0.5-3 s.  Measured out of sample (100
    draws, as benchmarks/decision_model.py): 71 % of them come back within 250 ms (the
    issue's target is 90 %; what limits it is the listener's tail: one evidence start in
    twenty is heard 0.15-0.5 s early or 0.2-0.45 s late, which a line shown that far off
    looks like).  Of the others, 1.1 % are harmed (put more than 250 ms off): the lines
    whose heard start is in that tail, in files where one line in five is off; the test
    holds them under 1.5 %.  (The 40 drawn here: 74 % back, 1.0 % harmed.)"""
    rng = np.random.default_rng(3)
    displaced_total = restored = harmed = others = 0
    for draw in range(40):
        after, _true, displaced = _judged_draw("displaced", rng, draw)
        displaced_total += displaced.sum()
        restored += np.sum(displaced & (np.abs(after) <= 0.25))
        others += np.sum(~displaced)
        harmed += np.sum(~displaced & (np.abs(after) > 0.25))
    assert restored >= 0.65 * displaced_total
    assert harmed <= 0.015 * others


def test_jittered_lines_come_closer():
    """Every line off by N(0, 300 ms): more lines within 250 ms after than before (measured
    out of sample: 60.1 % to 73.4 %, 2.4 % made worse; the issue's targets are 75 % and
    2 %; the 15 files here: 16.8 points closer, 2.7 % worse)."""
    rng = np.random.default_rng(4)
    before = after_count = worse = total = 0
    for draw in range(15):
        after, true, _ = _judged_draw("jitter", rng, draw)
        before += np.sum(np.abs(true) <= 0.25)
        after_count += np.sum(np.abs(after) <= 0.25)
        worse += np.sum(np.abs(after) > np.abs(true) + 0.25)
        total += true.size
    assert after_count >= before + 0.1 * total
    assert worse <= 0.04 * total


def test_the_fit_reads_the_file():
    """The file's lead, spread and off share come from its residuals.  The spread is what
    the residuals' scatter leaves beyond the model's own errors (drawn here from the other
    fold, whose scatter differs)."""
    rng = np.random.default_rng(5)
    residuals = 0.2 + rng.normal(0, 0.3, 400) + rng.choice(FOLDS[0], 400)
    fit = inference.best_fit(residuals, (MODELS[1],))
    assert fit.lead_s == pytest.approx(0.2, abs=0.08)
    left = np.sqrt(0.3**2 + np.var(FOLDS[0]) - np.var(FOLDS[1]))
    assert fit.spread_s == pytest.approx(left, abs=0.08)
    tight = inference.best_fit(0.1 + rng.choice(FOLDS[0], 400), (MODELS[1],))
    assert tight.spread_s < 0.1 and tight.off_share < 0.05


def test_a_line_heard_beyond_any_window_stays():
    """A start heard further from the map than a window reaches is the listener's failure."""
    residuals = np.r_[np.zeros(50), 6.0]
    verdict = inference.judge(residuals, inference.best_fit(residuals), 0.25)
    assert not verdict.moves.any()


def test_actions_read_as_their_names():
    assert str(inference.Action.RETIMED) == "retimed" and f"{inference.Action.KEPT}" == "kept"
    assert json.dumps([inference.Action.MAPPED]) == '["mapped"]'


def _tiling_paragraphs(rng, true: TimeMap, n: int = 20):
    """Paragraph cues of 35-140 s that tile their span, each heard by its first 60 of 200
    words from its voice (half its pause after its boundary) under ``true``: (lines,
    heard, boundaries in subtitle time)."""
    lengths = rng.uniform(35.0, 140.0, n)
    bounds = np.r_[0.0, np.cumsum(lengths)[:-1]]  # (n,) subtitle times
    texts = tuple(" ".join(f"w{k}_{j}" for j in range(200)) for k in range(n))
    lines = Lines(texts, bounds, bounds + lengths)
    heard = {}
    for k in range(n):
        voice = float(true(bounds[k]) + 0.5 * rng.uniform(0.3, 1.5))
        words = tuple(Word(f"w{k}_{j}", voice + 0.3 * j, voice + 0.3 * j + 0.25, 0.9) for j in range(60))
        heard[k] = Heard(voice, voice + 18.0, 0.9, words)
    return lines, heard, bounds


@pytest.mark.parametrize("true_scale", [25 / (24000 / 1001), 0.96, 1.0])
def test_tiling_paragraphs_heard_by_their_first_words_keep_a_drift_the_heard_lines_show(true_scale):
    """Every cue longer than a window, so no pause before a voice has a known start (the
    line before is heard by its first words only): the pauses say nothing of the scale,
    and the heard starts fit the drift as in any file.  A first version of the tiling
    model read the unknown pause starts as no bound, found every ratio equally likely and
    kept 1.0: lines up to 38 s off."""
    rng = np.random.default_rng(3)
    true = TimeMap(true_scale, 24.0)
    lines, heard, bounds = _tiling_paragraphs(rng, true)
    assert mapchoice.tiled(lines)
    chosen = mapchoice.chosen_map(TimeMap(1.0, 20.0), lines, heard, SyncOptions(), float(lines.ends_s[-1]))
    assert chosen.scale == pytest.approx(true_scale, rel=1e-6), chosen
    assert np.abs(chosen(bounds) - true(bounds)).max() <= 0.5


def test_the_pause_before_a_voice_starts_where_the_line_before_is_heard_to_end():
    """decisions.pause_starts: the heard end of the line before (in start order), capped at
    the line's own heard start; unknown (-inf) when that line is not heard with confidence,
    or heard by its first words only."""
    starts = np.array([0.0, 4.0, 8.0, 12.0])
    texts = ("a b", "c d", "e f", "g h")
    heard = {
        0: Heard(0.2, 3.5, 0.9, (Word("a", 0.2, 1.0, 0.9), Word("b", 1.2, 3.5, 0.9))),
        1: Heard(4.3, 9.0, 0.9, (Word("c", 4.3, 5.0, 0.9), Word("d", 5.2, 9.0, 0.9))),  # runs past 2's voice
        2: Heard(8.2, 9.5, 0.9, (Word("e", 8.2, 9.5, 0.9),)),  # its first word only
        3: Heard(12.4, 14.0, 0.9, (Word("g", 12.4, 13.0, 0.9), Word("h", 13.1, 14.0, 0.9))),
    }
    got = decisions.pause_starts([0, 1, 2, 3], starts, texts, heard, 0.35)
    assert got[0] == -np.inf and got[1] == 3.5 and got[2] == 8.2 and got[3] == -np.inf
    heard[0] = Heard(0.2, 3.5, 0.1, heard[0].words)  # not heard with confidence
    assert decisions.pause_starts([1], starts, texts, heard, 0.35)[0] == -np.inf


def test_the_stabbed_offset_is_the_middle_of_the_stretch_most_pauses_share():
    """mapchoice._stabbed: the middle of the widest stretch inside the most intervals; the
    high end when that stretch is unbounded below."""
    assert mapchoice._stabbed(np.array([1.0]), np.array([3.0])) == 2.0
    assert mapchoice._stabbed(np.array([0.0, 1.0, 5.0]), np.array([2.0, 3.0, 6.0])) == 1.5
    assert mapchoice._stabbed(np.array([-np.inf, -np.inf]), np.array([4.0, 2.0])) == 2.0
    assert mapchoice._stabbed(np.array([0.0, 0.0]), np.array([0.0, 0.0])) == 0.0
