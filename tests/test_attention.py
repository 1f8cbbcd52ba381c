"""DTW and word timing from attention (pure numpy, no model)."""

import itertools

import numpy as np
import pytest

from subsync.core import attention as align
from subsync.whisper.model import TOKEN_FRAME_S as FRAME_S


def brute_force_cost(cost):
    """Minimum path cost by plain dynamic programming, for comparison."""
    n, m = cost.shape
    total = np.full((n, m), np.inf)
    for i, j in itertools.product(range(n), range(m)):
        if i == 0 and j == 0:
            total[i, j] = cost[0, 0]
            continue
        best = min(
            total[i - 1, j - 1] if i and j else np.inf,
            total[i - 1, j] if i else np.inf,
            total[i, j - 1] if j else np.inf,
        )
        total[i, j] = cost[i, j] + best
    return total[-1, -1]


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (6, 1), (5, 9), (9, 5), (12, 40)])
def test_dtw_path_is_monotonic_complete_and_optimal(shape):
    rng = np.random.default_rng(sum(shape))
    cost = rng.random(shape)
    rows, cols = align.dtw(cost)
    assert (rows[0], cols[0]) == (0, 0)
    assert (rows[-1], cols[-1]) == (shape[0] - 1, shape[1] - 1)
    steps = np.stack([np.diff(rows), np.diff(cols)], axis=1)
    assert set(map(tuple, steps)) <= {(1, 1), (1, 0), (0, 1)}
    assert cost[rows, cols].sum() == pytest.approx(brute_force_cost(cost))


def test_dtw_follows_a_cheap_staircase():
    cost = np.ones((3, 9))
    cost[0, 0:3] = cost[1, 3:6] = cost[2, 6:9] = 0.0
    rows, cols = align.dtw(cost)
    assert cost[rows, cols].sum() == 0.0
    entered = cols[np.r_[True, np.diff(rows) > 0]]
    assert list(entered) == [0, 3, 6]


def textbook_dtw(cost):
    """The minimum-cost path by the plain recurrence, cell by cell, each from its cheapest
    neighbour, ties to the diagonal, then from above (dtw's documented order)."""
    n, m = cost.shape
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    step = np.zeros((n + 1, m + 1), dtype=int)
    for i, j in itertools.product(range(1, n + 1), range(1, m + 1)):
        options = (total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
        step[i, j] = int(np.argmin(options))
        total[i, j] = cost[i - 1, j - 1] + options[step[i, j]]
    path, (i, j) = [], (n, m)
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        i, j = {0: (i - 1, j - 1), 1: (i - 1, j), 2: (i, j - 1)}[step[i, j]]
    path += [(k - 1, 0) for k in range(i - 1, 0, -1)] + [(0, k - 1) for k in range(j - 1, 0, -1)]
    rows, cols = zip(*path[::-1])
    return np.array(rows), np.array(cols)


def test_dtw_is_the_textbook_recurrence_and_keeps_out_of_infinite_cells():
    """dtw (row by row, vectorised) gives the plain recurrence's paths on real-valued costs
    (ties included), and tables with infinite or NaN cells still get a finite path."""
    rng = np.random.default_rng(8)
    for k in range(60):
        cost = rng.normal(size=(int(rng.integers(1, 25)), int(rng.integers(1, 120))))
        if k % 2:
            cost = np.round(cost)  # many ties
        for mine, plain in zip(align.dtw(cost), textbook_dtw(cost)):
            assert np.array_equal(mine, plain)
    rows, cols = align.dtw(np.array([[0.0, 0.0, np.inf, 0.0], [np.inf, 0.0, 0.0, 0.0]]))
    assert list(cols) == [0, 1, 2, 3] and list(rows) == [0, 0, 1, 1]
    holes = rng.normal(size=(6, 40))
    holes[2, 5:30] = np.inf
    rows, cols = align.dtw(holes)
    assert np.isfinite(holes[rows, cols]).all()
    for mine, plain in zip((rows, cols), textbook_dtw(holes)):
        assert np.array_equal(mine, plain)
    holes[2, 5:30] = np.nan  # (no cost to compare: a whole path still)
    rows, cols = align.dtw(holes)
    assert (rows[0], cols[0], rows[-1], cols[-1]) == (0, 0, 5, 39)
    assert set(np.diff(rows)) <= {0, 1} and set(np.diff(cols)) <= {0, 1}


def test_median_filter_matches_naive_median():
    rng = np.random.default_rng(3)
    x = rng.random((2, 30))
    filtered = align.median_filter(x, 7)
    padded = np.pad(x, [(0, 0), (3, 3)], mode="reflect")
    naive = np.array([[np.median(padded[r, i : i + 7]) for i in range(30)] for r in range(2)])
    np.testing.assert_allclose(filtered, naive)
    assert align.median_filter(x, 1) is x


def synthetic_attention(token_frames, n_frames, n_heads=4, seed=0):
    """(heads, n_tokens + 1, n_frames) attention-like weights, token k on frames token_frames[k],
    with independent noise in each head."""
    rng = np.random.default_rng(seed)
    attention = 0.01 + 0.005 * rng.random((n_heads, len(token_frames), n_frames))
    for k, (first, last) in enumerate(token_frames):
        attention[:, k, first:last] += 1.0
    return attention


def test_word_spans_recover_planted_words():
    # Three words: 2, 1 and 2 tokens, then end-of-text; a pause (frames 60-100) before word 3.
    token_frames = [(10, 20), (20, 30), (30, 60), (100, 115), (115, 130), (130, 150)]
    spans = align.word_spans(synthetic_attention(token_frames, 150), [2, 1, 2], FRAME_S)
    np.testing.assert_allclose(spans.start_s, np.array([10, 30, 100]) * FRAME_S, atol=2 * FRAME_S)
    # An end before a pause may lie anywhere in the pause (snap_to_speech trims it); not so here.
    assert spans.end_s[0] == pytest.approx(30 * FRAME_S, abs=2 * FRAME_S)
    assert 58 * FRAME_S <= spans.end_s[1] <= 100 * FRAME_S


def test_word_after_a_pause_does_not_absorb_the_pause():
    # Plain DTW may enter word 2's row anywhere in the pause; the onset refinement must
    # put the start where word 2's attention rises (frame 100), not at the end of word 1.
    token_frames = [(0, 40), (100, 140), (140, 150)]
    attention = synthetic_attention(token_frames, 150)
    matrix = align.attention_matrix(attention)
    rows, cols = align.dtw(-matrix)
    dtw_start = cols[np.r_[True, np.diff(rows) > 0]][1] * FRAME_S
    spans = align.word_spans(attention, [1, 1], FRAME_S)
    assert spans.start_s[1] == pytest.approx(100 * FRAME_S, abs=3 * FRAME_S)
    assert spans.start_s[1] >= dtw_start


def test_rise_onsets_moves_only_forward_within_the_span():
    rows = np.zeros((2, 50))
    rows[0, 20:30] = 1.0  # word 0 spoken from frame 20 although DTW entered at 5
    rows[1, 30:50] = 1.0  # word 1 spoken from its DTW start
    starts = align.rise_onsets(rows, np.array([5, 30]) * FRAME_S, np.array([30, 50]) * FRAME_S, FRAME_S)
    np.testing.assert_allclose(starts, np.array([20, 30]) * FRAME_S)


def test_snap_to_speech_moves_boundaries_out_of_silence():
    speech = np.zeros(300, dtype=np.float32)  # 10 ms grid, 3 s
    speech[50:100] = 1.0  # word 0 spoken 0.5-1.0 s
    speech[150:250] = 1.0  # word 1 spoken 1.5-2.5 s
    spans = align.WordSpans(np.array([0.45, 1.0]), np.array([1.0, 2.8]))
    snapped = align.snap_to_speech(spans, speech, 0.01)
    np.testing.assert_allclose(snapped.start_s, [0.45, 1.5])  # 50 ms lead is not a pause
    np.testing.assert_allclose(snapped.end_s, [1.0, 2.5])


def test_snap_to_speech_leaves_words_without_speech_alone():
    spans = align.WordSpans(np.array([0.2]), np.array([0.6]))
    snapped = align.snap_to_speech(spans, np.zeros(100), 0.01)
    np.testing.assert_allclose(snapped.start_s, [0.2])
    np.testing.assert_allclose(snapped.end_s, [0.6])


def test_span_mass_is_high_on_target_and_low_elsewhere():
    attention = synthetic_attention([(50, 60), (60, 70), (70, 100)], 100)
    on = align.span_mass(attention, slice(0, 2), 50 * FRAME_S, 70 * FRAME_S, FRAME_S)
    off = align.span_mass(attention, slice(0, 2), 0.0, 20 * FRAME_S, FRAME_S)
    assert on > 0.8 > 0.2 > off


@pytest.mark.parametrize("shape", [(3, 40, 200), (5,), (2, 6)])
def test_median_filter_of_width_7_is_the_exact_sliding_median(shape):
    x = np.random.default_rng(0).normal(size=shape)
    pad = 3
    mode = "reflect" if shape[-1] > pad else "edge"
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode=mode)
    expected = np.median(np.lib.stride_tricks.sliding_window_view(padded, 7, axis=-1), axis=-1)
    assert np.array_equal(align.median_filter(x, 7), expected)
