"""Per-line decisions: what the evidence is, and the lines' new times.

Input: each cue's start and end through the final time map, and where the listener heard
the lines (media seconds, with a confidence).  Output: one LineResult per cue.  Which
heard starts are evidence is decided here; what the evidence says, by the decision model
(inference.py).  Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import inference, listener_errors
from .activity import ACTIVITY_FRAME_S, SPEECH_THRESHOLD
from .inference import Action
from .options import SyncOptions

MIN_GAP_S = 0.04  # re-timed lines end at least this long before the next starts
READING_CHARS_PER_S = 21.0  # readable minimum duration: this many characters per second ...
MIN_DURATION_S = 0.7  # ... but at least this long (or the line's own duration, if shorter)
MIN_VISIBLE_S = 0.1  # a line shown for less than this gets the readable minimum
HEARD_AS_A_WHOLE = 0.5  # fewer aligned lines heard with confidence than this: none is re-timed
ONSET_CHECK_FRAMES = 15  # a heard start must have speech in most of the 0.15 s after it
EDGE_S = 0.05  # a start heard this close to the start or end of the audio is no
# evidence (the decoder puts what it cannot place on the first frame)


@dataclass(frozen=True)
class Word:
    """One word of a line where it is heard, in media seconds; ``confidence`` is its line's
    (the listener scores lines, not single words)."""

    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass(frozen=True)
class Heard:
    """Where a line is heard, in media seconds, and how surely (0..1)."""

    start_s: float
    end_s: float
    confidence: float
    words: tuple[Word, ...] = ()  # its words where heard (empty when the listener gave none)


@dataclass(frozen=True)
class LineResult:
    """What happened to one cue; times in media seconds."""

    index: int  # position in the file (0-based)
    start_s: float  # new start
    end_s: float  # new end
    mapped_start_s: float  # the original start through the final time map
    mapped_end_s: float
    heard_start_s: float | None  # where the line is heard (None: not aligned)
    heard_end_s: float | None
    confidence: float  # 0..1; 0 for lines that were not aligned
    action: Action
    words: tuple[Word, ...] = ()  # where its words are heard (media seconds; empty: not aligned)


def decide(
    mapped_starts: np.ndarray,
    mapped_ends: np.ndarray,
    heard: dict[int, Heard],
    texts: Sequence[str],
    options: SyncOptions,
    retime: bool = True,
    speech: np.ndarray | None = None,
    duration_s: float = np.inf,
    tiled: bool = False,
) -> list[LineResult]:
    """Final times: each line heard with confidence, over speech, is judged by the decision
    model (inference.py): kept where the map puts it, or re-timed (moved as a whole) where
    the model puts it, unless that takes it past a neighbour (_in_order); the others keep
    the map's time.  Every line keeps the map's time
    when not ``retime`` or when the text is not heard as a whole.

    ``speech``: the media's speech activity (ACTIVITY_FRAME_S grid): a start heard in
    silence is no evidence, nor one at the edge of the ``duration_s`` long audio.

    ``tiled``: the cues tile the audio (mapchoice.tiled), so each boundary lies somewhere
    in the pause before its voice, not a lead before it: a line's residual is how far its
    start lies outside that pause (_pause_residuals)."""
    n = mapped_starts.size
    retime = retime and heard_as_a_whole(heard, options.min_confidence)
    evidence = [
        i
        for i in sorted(heard)
        if retime and heard[i].confidence >= options.min_confidence and is_evidence(heard[i], speech, duration_s)
    ]
    shifts = np.zeros(n)
    moved = np.zeros(n, bool)
    if evidence:
        residuals = np.array([heard[i].start_s - mapped_starts[i] for i in evidence])  # (n_evidence,)
        if tiled:
            residuals = _pause_residuals(evidence, mapped_starts, texts, heard, options.min_confidence)
        verdict = inference.judge(residuals, inference.best_fit(residuals), options.keep_tolerance_s)
        shifts[evidence] = verdict.shift_s
        moved[evidence] = verdict.moves
        gains = np.zeros(n)
        gains[evidence] = verdict.gain - verdict.harm
        moved &= _in_order(
            mapped_starts, mapped_ends, shifts, moved, gains, np.array([bool(t) for t in texts], dtype=bool)
        )
        shifts[~moved] = 0.0
    actions = [Action.UNALIGNED if not texts[i] else Action.MAPPED for i in range(n)]
    for i in evidence:
        actions[i] = Action.RETIMED if moved[i] else Action.KEPT
    starts, ends = _tidy(mapped_starts + shifts, mapped_ends + shifts, mapped_starts, mapped_ends, moved, texts)
    return [
        LineResult(
            i,
            float(starts[i]),
            float(ends[i]),
            float(mapped_starts[i]),
            float(mapped_ends[i]),
            heard[i].start_s if i in heard else None,
            heard[i].end_s if i in heard else None,
            heard[i].confidence if i in heard else 0.0,
            actions[i],
            heard[i].words if i in heard else (),
        )
        for i in range(n)
    ]


def _pause_residuals(
    evidence: list[int], mapped_starts: np.ndarray, texts: Sequence[str], heard: dict[int, Heard], min_confidence: float
) -> np.ndarray:
    """(n_evidence,) residuals of lines whose cues tile the audio: 0 when a line's start
    lies in the pause before its voice (pause_starts), else the distance to the nearer
    end of it (positive: the line starts in the previous line's voice).  A line whose
    pause has no known start (the line before it not heard whole) keeps its residual
    from its voice, as in any file."""
    pause_s = pause_starts(evidence, mapped_starts, texts, heard, min_confidence)
    voice_s = np.array([heard[i].start_s for i in evidence])
    mapped = mapped_starts[evidence]
    return np.where(np.isfinite(pause_s), outside_pause(mapped, pause_s, voice_s), voice_s - mapped)


def outside_pause(mapped_s: np.ndarray, pause_s: np.ndarray, voice_s: np.ndarray) -> np.ndarray:
    """(n,) how far each mapped start lies outside its pause [pause_s, voice_s] (0 inside;
    positive: before the pause, negative: after the voice starts); a pause starting at
    -inf bounds the line by its voice alone."""
    return np.clip(mapped_s, pause_s, voice_s) - mapped_s


def pause_starts(
    index: list[int], starts_s: np.ndarray, texts: Sequence[str], heard: dict[int, Heard], min_confidence: float
) -> np.ndarray:
    """(n_index,) where the pause before each line's heard voice starts: the heard end of
    the line before it (in the order of ``starts_s``, (n_lines,)), no later than its own
    heard start; -inf when that line is not heard with confidence, or not heard to its
    last word (a line longer than a window is heard by its first words).  Cues that tile
    the audio put each boundary somewhere in this pause."""
    order = np.argsort(starts_s, kind="stable")
    previous = dict(zip(order[1:].tolist(), order[:-1].tolist()))  # line -> the line before it
    starts = []
    for i in index:
        k = previous.get(i, -1)
        before = heard.get(k)
        start_s = -np.inf
        if before is not None and before.confidence >= min_confidence:
            whole = not before.words or len(before.words) == len(texts[k].split())
            start_s = before.end_s if whole else -np.inf
        starts.append(min(start_s, heard[i].start_s))
    return np.array(starts, dtype=np.float64)


def _in_order(
    mapped_starts: np.ndarray,
    mapped_ends: np.ndarray,
    shifts: np.ndarray,
    moved: np.ndarray,
    priority: np.ndarray,
    spoken: np.ndarray,
) -> np.ndarray:
    """(n,) bool: the moves that keep the lines in order.  Subtitles follow the speech in
    order; a line heard over its neighbour was heard where that neighbour, or the same
    words, are said.  Moves are taken surest first (``priority``, (n,)), each only when
    its line's new start lies after the end of the spoken line before it (after the start
    of one without words: a sign or music cue may span the speech) and before the start of
    the line after it, as those stand."""
    order = np.argsort(mapped_starts, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)  # (n,) place in file order
    starts, ends = mapped_starts.astype(float).copy(), mapped_ends.astype(float).copy()
    keep = np.zeros(moved.size, bool)
    for i in sorted(np.flatnonzero(moved), key=lambda i: -priority[i]):
        new = mapped_starts[i] + shifts[i]
        k = rank[i]
        before = order[k - 1] if k else None
        floor = -np.inf if before is None else (ends[before] if spoken[before] else starts[before])
        if new >= min(floor, mapped_starts[i]) and (k + 1 == order.size or new <= starts[order[k + 1]]):
            starts[i], ends[i], keep[i] = new, mapped_ends[i] + shifts[i], True
    return keep


def is_evidence(heard: Heard, speech: np.ndarray | None, duration_s: float = np.inf) -> bool:
    """Does a heard start say where the line is?  Not when the listener put it (its first
    word's start) within EDGE_S of the audio's start or end, nor when its first word lasts
    longer than the measured listener_errors.MAX_FIRST_WORD_S (the alignment path absorbed
    a pause or other speech into it), nor when most of the ONSET_CHECK_FRAMES after it are
    silent."""
    listened_s = heard.words[0].start_s if heard.words else heard.start_s
    if listened_s < EDGE_S or listened_s > duration_s - EDGE_S:
        return False
    if heard.words and heard.words[0].end_s - heard.words[0].start_s > listener_errors.MAX_FIRST_WORD_S:
        return False
    if speech is None:
        return True
    first = int(round(heard.start_s / ACTIVITY_FRAME_S))
    voiced = np.asarray(speech[first : first + ONSET_CHECK_FRAMES]) >= SPEECH_THRESHOLD
    return not (voiced.size and voiced.mean() < 0.5)


def heard_as_a_whole(heard: dict[int, Heard], min_confidence: float) -> bool:
    """Is the file's text heard as a whole (HEARD_AS_A_WHOLE of the aligned lines heard with
    confidence)?  Otherwise a few lines heard by chance (a translation over singing, another
    language) are no ground to move any line on its own."""
    return bool(heard) and heard_share(heard, min_confidence) >= HEARD_AS_A_WHOLE


def heard_share(heard: dict[int, Heard], min_confidence: float) -> float:
    """Share of the aligned lines heard with confidence (0 when none was aligned)."""
    if not heard:
        return 0.0
    return float(np.mean([h.confidence >= min_confidence for h in heard.values()]))


def _tidy(starts, ends, mapped_starts, mapped_ends, retimed, texts) -> tuple[np.ndarray, np.ndarray]:
    """No negative times, readable minimum durations, and re-timed lines that do not
    overlap their neighbours (lines that keep their timing keep their overlaps)."""
    starts = np.maximum(starts, 0.0)
    for i in np.flatnonzero(retimed):
        readable = max(MIN_DURATION_S, len(texts[i]) / READING_CHARS_PER_S)
        ends[i] = max(ends[i], starts[i] + min(readable, max(mapped_ends[i] - mapped_starts[i], 0.2)))
    # A line shown for (next to) no time at all cannot be read: give it the readable minimum.
    flashes = ~retimed & (ends - starts < MIN_VISIBLE_S)
    for i in np.flatnonzero(flashes):
        ends[i] = starts[i] + max(MIN_DURATION_S, len(texts[i]) / READING_CHARS_PER_S)
    adjusted = retimed | flashes
    order = np.argsort(mapped_starts, kind="stable")
    for a, b in zip(order[:-1], order[1:]):
        if (adjusted[a] or adjusted[b]) and ends[a] > starts[b] - MIN_GAP_S:
            if adjusted[b] and starts[b] < starts[a] + 0.2:
                starts[b] = max(starts[b], ends[a] + MIN_GAP_S)
                ends[b] = max(ends[b], starts[b] + 0.2)
            else:
                ends[a] = max(starts[a] + 0.2, starts[b] - MIN_GAP_S)
    ends = np.maximum(ends, starts + 0.001)
    return starts, ends
