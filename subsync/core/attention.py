"""Word and line timing from cross-attention (pure numpy, knows nothing of files or models).

The decoder reads a window's text while it cross-attends over the window's audio frames.
The alignment heads' attention, normalised and smoothed as in openai/whisper's
``timing.py``, is a token-by-frame similarity; a monotonic DTW path through it gives each
token the frames it is spoken in.  Word boundaries are where the path enters a word's
first token.

DTW must place every frame somewhere, so the silence before a word after a pause is
absorbed into that word (its start lands too early) and the silence after a word into it
(its end lands too late).  :func:`snap_to_speech` moves such boundaries onto the
speech-activity edges inside the word's span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activity import SPEECH_THRESHOLD

MEDIAN_FILTER_WIDTH = 7  # frames, as in whisper.timing
MIN_WORD_S = 0.04  # a snapped word keeps at least this duration
MIN_SILENCE_S = 0.06  # a boundary moves only across a silence at least this long
ONSET_FRACTION = 0.5  # a word starts where its attention is half-way risen
RISE_FRAMES = 3  # ... and stays risen this many frames
PEAK_MARGIN_S = 0.1  # attention within this of a line's span counts as on target


@dataclass(frozen=True)
class WordSpans:
    """Per-word times, in seconds from the start of the window's audio."""

    start_s: np.ndarray  # (n_words,)
    end_s: np.ndarray  # (n_words,)


def median_filter(x: np.ndarray, width: int) -> np.ndarray:
    """Median over a centred window of odd ``width`` along the last axis (reflect padding)."""
    if width % 2 == 0:
        raise ValueError(f"median filter width must be odd, not {width}")
    if width <= 1 or x.shape[-1] == 0:
        return x
    pad = width // 2
    mode = "reflect" if x.shape[-1] > pad else "edge"
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode=mode)  # type: ignore[call-overload]
    if width == 7:
        return _median_of_7(padded)
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=-1)  # (..., n, width)
    return np.sort(windows, axis=-1)[..., pad]  # the middle of an odd window; 4x np.median's speed


# Comparators of an optimal sorting network for 7 inputs; the fourth output is the median.
_SORT_7 = (
    (0, 6),
    (2, 3),
    (4, 5),
    (0, 2),
    (1, 4),
    (3, 6),
    (0, 1),
    (2, 5),
    (3, 4),
    (1, 2),
    (4, 6),
    (2, 3),
    (4, 5),
    (1, 2),
    (3, 4),
    (5, 6),
)


def _median_of_7(padded: np.ndarray) -> np.ndarray:
    """Sliding median of width 7 along the last axis of an already padded array: a
    sorting network over seven shifted views, element-wise (twice np.sort's speed)."""
    n = padded.shape[-1] - 6
    lanes = [padded[..., k : k + n] for k in range(7)]
    for a, b in _SORT_7:
        lanes[a], lanes[b] = np.minimum(lanes[a], lanes[b]), np.maximum(lanes[a], lanes[b])
    return lanes[3]


def attention_matrix(attention: np.ndarray) -> np.ndarray:
    """(n_rows, n_frames) similarity from (n_heads, n_rows, n_frames) attention weights.

    Each head is standardised over the rows (tokens), median-filtered along time and the
    heads are averaged, as whisper.timing does.
    """
    attention = np.asarray(attention, dtype=np.float32)
    mean = attention.mean(axis=1, keepdims=True)
    std = attention.std(axis=1, keepdims=True)
    standard = (attention - mean) / np.maximum(std, 1e-9)
    return median_filter(standard, MEDIAN_FILTER_WIDTH).mean(axis=0)


def dtw(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotonic minimum-cost path through (n_rows, n_cols) ``cost`` from (0, 0) to (-1, -1).

    Steps are diagonal, down (next row, same column) or right (same row, next column);
    among equal costs diagonal first, then down.  Returns (row_indices, col_indices),
    each (path_length,).

    Row by row: with a[j] the best of coming diagonally or from above, a row's totals
    t[j] = cost[j] + min(a[j], t[j-1]) are t = S + running minimum of (a - S_before),
    S the row's cumulative cost, so each row (a token, tens per window) is a few
    vectorised operations over the frames instead of a sweep of anti-diagonals.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if not np.isfinite(cost).all():  # a row's running sum would carry an inf or NaN along it
        return _dtw_by_diagonals(cost)
    n_rows, n_cols = cost.shape
    total = np.full((n_rows + 1, n_cols + 1), np.inf)
    total[0, 0] = 0.0
    step = np.zeros((n_rows + 1, n_cols + 1), dtype=np.int8)  # 0 diagonal, 1 down, 2 right
    for i in range(1, n_rows + 1):
        diagonal, above = total[i - 1, :-1], total[i - 1, 1:]  # (n_cols,) each
        entering = np.minimum(diagonal, above)  # a[j]
        row = cost[i - 1]
        cumulative = np.cumsum(row)  # S[j]
        before = cumulative - row  # S[j - 1]
        offered = entering - before  # (n_cols,) inf where unreachable
        best = np.minimum.accumulate(offered)
        total[i, 1:] = cumulative + best
        from_left = np.zeros(n_cols, dtype=bool)
        from_left[1:] = offered[1:] > best[:-1]  # t[j-1] < a[j]
        step[i, 1:] = np.where(from_left, 2, np.where(above < diagonal, 1, 0))
    return _backtrace(step, n_rows, n_cols)


def _dtw_by_diagonals(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dtw` by a sweep of anti-diagonals, each cell from its three neighbours (slower:
    for tables with infinite or NaN costs, which the row-wise sums cannot carry)."""
    n_rows, n_cols = cost.shape
    total = np.full((n_rows + 1, n_cols + 1), np.inf)
    total[0, 0] = 0.0
    step = np.zeros((n_rows + 1, n_cols + 1), dtype=np.int8)  # 0 diagonal, 1 down, 2 right
    for diagonal in range(2, n_rows + n_cols + 1):
        i = np.arange(max(1, diagonal - n_cols), min(n_rows, diagonal - 1) + 1)
        j = diagonal - i
        options = np.stack([total[i - 1, j - 1], total[i - 1, j], total[i, j - 1]])  # (3, n)
        choice = np.argmin(options, axis=0)
        total[i, j] = cost[i - 1, j - 1] + options[choice, np.arange(i.size)]
        step[i, j] = choice
    return _backtrace(step, n_rows, n_cols)


def _backtrace(step: np.ndarray, n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = n_rows, n_cols
    rows, cols = [], []
    while i > 0 and j > 0:
        rows.append(i - 1)
        cols.append(j - 1)
        move = step[i, j]
        if move == 0:
            i, j = i - 1, j - 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    # Off the table's edge: the rest of the path runs along the first row or column.
    while i > 1:
        i -= 1
        rows.append(i - 1)
        cols.append(0)
    while j > 1:
        j -= 1
        rows.append(0)
        cols.append(j - 1)
    return np.array(rows[::-1]), np.array(cols[::-1])


def word_spans(attention: np.ndarray, word_token_counts: list[int], frame_s: float) -> WordSpans:
    """Word start/end times from the alignment heads' attention of one window.

    attention: (n_heads, n_text_tokens + 1, n_frames); row r attends while the decoder
    predicts text token r (the last row predicts end-of-text).
    word_token_counts: tokens per word, summing to n_text_tokens.
    """
    matrix = attention_matrix(attention)  # (n_text + 1, n_frames)
    rows, cols = dtw(-matrix)  # (path,), (path,)
    # The frame where the path first reaches each row: the row's token starts there.
    entered = np.ones(rows.size, dtype=bool)
    entered[1:] = np.diff(rows) > 0
    row_start_s = cols[entered] * frame_s  # (n_text + 1,)
    boundaries = np.concatenate([[0], np.cumsum(word_token_counts)]).astype(int)  # (n_words + 1,)
    starts = rise_onsets(matrix[boundaries[:-1]], row_start_s[boundaries[:-1]], row_start_s[boundaries[1:]], frame_s)
    return WordSpans(starts, row_start_s[boundaries[1:]])


def rise_onsets(first_rows: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, frame_s: float) -> np.ndarray:
    """Word starts moved forward to where the word's first token's attention rises.

    first_rows: (n_words, n_frames) similarity rows of each word's first token.  DTW
    enters a word as soon as the previous one is done, silence included; the word's own
    attention rises only where it is spoken.  The start becomes the first frame inside
    the DTW span whose similarity reaches ONSET_FRACTION of the way from the span's
    minimum to its maximum and stays there for RISE_FRAMES.  (n_words,) seconds.
    """
    starts = np.asarray(start_s, dtype=np.float64).copy()
    for k in range(starts.size):
        first = int(round(start_s[k] / frame_s))
        last = max(first + 1, int(round(end_s[k] / frame_s)))
        row = first_rows[k, first:last]
        if row.size < 2:
            continue
        threshold = row.min() + ONSET_FRACTION * (row.max() - row.min())
        above = row >= threshold
        # The rise must last RISE_FRAMES: a lone frame of noise in a pause is no onset.
        held = np.lib.stride_tricks.sliding_window_view(np.r_[above, [True] * (RISE_FRAMES - 1)], RISE_FRAMES).all(
            axis=1
        )
        starts[k] = (first + int(np.argmax(held))) * frame_s
    return starts


def snap_to_speech(spans: WordSpans, speech: np.ndarray, speech_frame_s: float) -> WordSpans:
    """Move word starts that lie in silence forward, and ends that lie in silence back,
    to the speech-activity edge inside the word's own span.

    speech: (n_frames,) activity on a ``speech_frame_s`` grid aligned with the window's
    start.  A boundary moves only when a silence of at least MIN_SILENCE_S precedes the
    first speech frame in the word (or follows the last one), and the word keeps at
    least MIN_WORD_S.  Words with no speech inside are left where DTW put them.
    """
    voiced = np.asarray(speech) >= SPEECH_THRESHOLD
    starts, ends = spans.start_s.copy(), spans.end_s.copy()
    min_silence = max(1, round(MIN_SILENCE_S / speech_frame_s))
    for k in range(starts.size):
        first = int(np.floor(starts[k] / speech_frame_s))
        last = int(np.ceil(ends[k] / speech_frame_s))
        inside = voiced[max(first, 0) : max(min(last, voiced.size), 0)]
        if inside.size == 0 or not inside.any():
            continue
        lead = int(np.argmax(inside))
        trail = int(np.argmax(inside[::-1]))
        new_start = (first + lead) * speech_frame_s if lead >= min_silence else starts[k]
        new_end = (last - trail) * speech_frame_s if trail >= min_silence else ends[k]
        if new_end - new_start >= MIN_WORD_S:
            starts[k], ends[k] = max(starts[k], new_start), min(ends[k], new_end)
    return WordSpans(starts, ends)


def span_mass(attention: np.ndarray, row_slice: slice, start_s: float, end_s: float, frame_s: float) -> float:
    """Share of the rows' attention (mean over heads) that falls within the span +- PEAK_MARGIN_S.

    attention: (n_heads, n_rows, n_frames), each row summing to one over the frames.
    A line whose attention is focused where DTW put it scores near 1; diffuse or
    misplaced attention scores low.
    """
    rows = np.asarray(attention)[:, row_slice, :].mean(axis=0)  # (n_line_rows, n_frames)
    if rows.size == 0:
        return 0.0
    first = max(0, int(np.floor((start_s - PEAK_MARGIN_S) / frame_s)))
    last = min(rows.shape[1], int(np.ceil((end_s + PEAK_MARGIN_S) / frame_s)))
    inside = rows[:, first:last].sum(axis=1) / np.maximum(rows.sum(axis=1), 1e-9)
    return float(inside.mean())


def text_score(likelihood: float, focus: float) -> float:
    """0..1: how surely a line's text is spoken where the attention placed it.

    likelihood: the decoder's geometric-mean token probability of the text (really
    spoken text scores well above 0.1, text that is not is near 0); focus: the share of
    the line's attention on its aligned span (see :func:`span_mass`)."""
    likely = float(np.clip(np.log10(max(likelihood, 1e-6)) + 2.0, 0.0, 1.5) / 1.5)
    return float(np.sqrt(likely * np.clip(focus, 0.0, 1.0)))
