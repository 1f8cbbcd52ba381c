"""Per-line decisions: keep the subtitler's timing, re-time clear misses, map the uncertain.

Input: each cue's start and end through the final time map, and where the listener heard
the lines (media seconds, with a confidence).  Output: one LineResult per cue.  Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .activity import ACTIVITY_FRAME_S, SPEECH_THRESHOLD, voice_onsets
from .options import SyncOptions
from .timemap import LEAD_BAND_S

MIN_GAP_S = 0.04              # re-timed lines end at least this long before the next starts
READING_CHARS_PER_S = 21.0    # readable minimum duration: this many characters per second ...
MIN_DURATION_S = 0.7          # ... but at least this long (or the line's own duration, if shorter)
MIN_VISIBLE_S = 0.1           # a line shown for less than this gets the readable minimum
LEAD_IN_S = 0.15              # where a subtitled line starts before its voice when the file does not
                              # show it: the middle of what subtitlers do (0-300 ms)
DEFAULT_LINGER_S = 0.3        # linger when the file has too few consistent lines
MIN_CONSISTENT_LINES = 5
MIN_STRETCH_S = 0.5           # a slip makes a line heard at least this much longer than shown
END_AGREEMENT_S = 0.5         # heard ends are rougher than starts (pauses, breaths)
JITTER_SIGMA_S = 0.18         # lines scattering this much around their heard starts are re-timed
GROSS_MISS_S = 0.6            # otherwise only lines off by more than this
HEARD_AS_A_WHOLE = 0.5        # fewer aligned lines heard with confidence than this: none is re-timed
MIN_PAUSE_FRAMES = 20         # a silence of 0.2 s (ACTIVITY_FRAME_S frames) between a heard start and
                              # the voice under the subtitle's start: the heard start swallowed it
ONSET_CHECK_FRAMES = 15       # a heard start must have speech in most of the 0.15 s after it
ONSET_NEAR_S = 0.2            # a gross miss needs a voice onset this close to where it is heard
WORD_BASE_S = 0.3             # no one takes longer than this plus WORD_PER_LETTER_S a letter to say
WORD_PER_LETTER_S = 0.1       # a word (10 letters a second: slow speech); a first word heard longer
                              # swallowed a cough, breath, pause or filler before it
DIGIT_LETTERS = 3             # a digit takes as long as this many letters ("1999": nineteen ninety-nine)


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
    words: tuple[Word, ...] = ()        # its words where heard (empty when the listener gave none)


@dataclass(frozen=True)
class LineResult:
    """What happened to one cue; times in media seconds."""

    index: int                  # position in the file (0-based)
    start_s: float              # new start
    end_s: float                # new end
    mapped_start_s: float       # the original start through the final time map
    mapped_end_s: float
    heard_start_s: float | None  # where the line is heard (None: not aligned)
    heard_end_s: float | None
    confidence: float           # 0..1; 0 for lines that were not aligned
    action: str                 # "kept", "retimed", "mapped" (low confidence) or "unaligned" (no words)
    words: tuple[Word, ...] = ()  # where its words are heard (media seconds; empty: not aligned)


def decide(mapped_starts: np.ndarray, mapped_ends: np.ndarray, heard: dict[int, Heard],
           texts: Sequence[str], options: SyncOptions, retime: bool = True,
           speech: np.ndarray | None = None) -> list[LineResult]:
    """Final times: keep agreeing human timing, re-time clear misses, map the uncertain
    (every line, when not ``retime`` or when the text is not heard as a whole).

    ``speech``: the media's speech activity (ACTIVITY_FRAME_S grid), against which heard
    starts are checked: one in silence is no evidence, one before a pause that precedes
    the subtitle's start swallowed the pause (or a filler before it)."""
    n = mapped_starts.size
    retime = retime and heard_as_a_whole(heard, options.min_confidence)
    confident = {i: _evidence(h, mapped_starts[i], speech) for i, h in heard.items()
                 if retime and h.confidence >= options.min_confidence}
    confident = {i: h for i, h in confident.items() if h is not None}
    deviations = np.array([h.start_s - mapped_starts[i] for i, h in confident.items()])
    lead = file_lead(deviations)
    tolerance = keep_tolerance(deviations, options.keep_tolerance_s)
    agree = {i for i, h in confident.items() if abs(h.start_s - mapped_starts[i] - lead) <= tolerance}
    lead_in, linger = _conventions(mapped_starts, mapped_ends, confident, agree)
    rises_s = voice_onsets(speech) * ACTIVITY_FRAME_S if speech is not None and confident else None  # (n_rises,)
    starts, ends = mapped_starts.astype(float).copy(), mapped_ends.astype(float).copy()
    actions = ["unaligned" if not texts[i] else "mapped" for i in range(n)]
    for i in range(n):
        if i in agree:
            actions[i] = "kept"
        elif i in confident and _absorbed_onset(confident[i], mapped_starts[i] + lead, mapped_ends[i], tolerance):
            actions[i] = "mapped"
        elif (i in confident and tolerance > options.keep_tolerance_s
              and not (_shifted_whole(confident[i], mapped_starts[i] + lead, mapped_ends[i])
                       and _onsets_say_moved(confident[i].start_s, mapped_starts[i] + lead, rises_s))):
            # A sound file's line heard far away at one end only, or where the speech activity
            # shows no voice starting (or shows one starting where the line already is): an
            # aligner slip.
            actions[i] = "mapped"
        elif i in confident:
            starts[i] = confident[i].start_s - lead_in
            ends[i] = confident[i].end_s + linger
            actions[i] = "retimed"
    retimed = np.array([a == "retimed" for a in actions])
    starts, ends = _tidy(starts, ends, mapped_starts, mapped_ends, retimed, texts)
    return [
        LineResult(i, float(starts[i]), float(ends[i]), float(mapped_starts[i]), float(mapped_ends[i]),
                   heard[i].start_s if i in heard else None, heard[i].end_s if i in heard else None,
                   heard[i].confidence if i in heard else 0.0, actions[i], heard[i].words if i in heard else ())
        for i in range(n)
    ]


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


def file_lead(deviations_s: np.ndarray) -> float:
    """The file's convention: how far its lines start before they are heard (the median
    deviation, clipped to what subtitlers do, LEAD_BAND_S); 0 with too few lines."""
    if deviations_s.size < MIN_CONSISTENT_LINES:
        return 0.0
    return float(np.clip(np.median(deviations_s), *LEAD_BAND_S))


def _evidence(heard: Heard, mapped_start_s: float, speech: np.ndarray | None) -> Heard | None:
    """What a heard line says about its start, checked against the speech activity: None
    for a start in silence (no evidence); a start before a pause that ends before the
    voice under the subtitle's own start (its lead-in at most LEAD_BAND_S after it) is
    moved past that pause (the words the subtitle shows start there: the first word
    swallowed the pause, or a filler before it)."""
    if speech is None:
        return heard
    first = int(round(heard.start_s / ACTIVITY_FRAME_S))
    voiced = np.asarray(speech[first : first + ONSET_CHECK_FRAMES]) >= SPEECH_THRESHOLD
    if voiced.size and voiced.mean() < 0.5:
        return None
    last = int(round((mapped_start_s + LEAD_BAND_S[1]) / ACTIVITY_FRAME_S))   # the voice may start after it
    if last - first <= MIN_PAUSE_FRAMES:
        return heard
    silent = np.asarray(speech[first:last]) < SPEECH_THRESHOLD              # (last - first,)
    runs = np.flatnonzero(np.diff(np.r_[0, silent.astype(np.int8), 0]))     # run edges
    pauses = [(a, b) for a, b in zip(runs[::2], runs[1::2]) if b - a >= MIN_PAUSE_FRAMES]
    if not pauses:
        return heard
    onset_s = (first + pauses[-1][1]) * ACTIVITY_FRAME_S
    return replace(heard, start_s=onset_s) if onset_s < heard.end_s else heard


def _absorbed_onset(heard: Heard, mapped_start_s: float, mapped_end_s: float, tolerance_s: float) -> bool:
    """Heard early only because its first word swallowed a cough, breath, filler or pause?

    With word times (two words or more), the stretch shows where it is: the first word
    takes longer than anyone says it (_first_word_swallowed).  A line heard early whose
    first word takes a normal time was shown late.  Otherwise (no word times, or text
    written without spaces, one "word" a line): a line whose start alone is early, while
    it is heard ending where the subtitle ends, so that it is heard longer than it is shown
    by more than the tolerance, was stretched by the aligner.
    """
    early = heard.start_s < mapped_start_s - tolerance_s
    carried, spoken = _spoken_words(heard)
    if len(spoken) >= 2:
        return early and _first_word_swallowed(heard.start_s, spoken, carried)
    # Heard ends run late after pauses, so a line shifted as a whole can look stretched
    # by a few hundred ms; a slip stretches it by more.
    stretched = (heard.end_s - heard.start_s) - (mapped_end_s - mapped_start_s) > max(tolerance_s, MIN_STRETCH_S)
    ends_agree = abs(heard.end_s - mapped_end_s) <= max(tolerance_s, END_AGREEMENT_S)
    return early and stretched and ends_agree


def _spoken_words(heard: Heard) -> tuple[tuple[Word, ...], tuple[Word, ...]]:
    """The line's words that are said (some letter or digit: not "..." or a lone dash), split
    at its heard start: those the aligner put before it (a start _evidence moved past a
    pause, to where the voice starts: they are said from there on) and the others."""
    said = [w for w in heard.words if any(ch.isalnum() for ch in w.text)]
    return (tuple(w for w in said if w.end_s <= heard.start_s),
            tuple(w for w in said if w.end_s > heard.start_s))


def _first_word_swallowed(start_s: float, spoken: Sequence[Word], carried: Sequence[Word] = ()) -> bool:
    """Does the first of the ``spoken`` words (two or more) take longer than anyone takes
    to say it (WORD_BASE_S plus WORD_PER_LETTER_S a letter, a digit counting as
    DIGIT_LETTERS: numbers are read as words), from where it starts (not before the line's
    heard start ``start_s``) to where the next word starts?  Words ``carried`` over a pause
    (placed before ``start_s``) are said from ``start_s`` on, with the first word: the time
    is then taken from ``start_s``, and their letters count.  A filler, cough or breath
    before the line is read as its first word (or the first word is put on it, apart from
    the rest)."""
    letters = sum(DIGIT_LETTERS if ch.isdigit() else 1 for w in (*carried, spoken[0]) for ch in w.text if ch.isalnum())
    begin_s = start_s if carried else max(spoken[0].start_s, start_s)
    return spoken[1].start_s - begin_s > WORD_BASE_S + WORD_PER_LETTER_S * letters


def _onsets_say_moved(heard_start_s: float, mapped_start_s: float, rises_s: np.ndarray | None) -> bool:
    """Does the speech activity back a gross miss?  A voice starts (after MIN_SILENCE_S of
    silence) within ONSET_NEAR_S of the heard start, and none where the line already is
    (from ONSET_NEAR_S before its mapped start to LEAD_BAND_S after it).  ``rises_s``: the
    activity's voice onsets (seconds); without them there is nothing to check (True)."""
    if rises_s is None:
        return True
    near_heard = np.any(np.abs(rises_s - heard_start_s) <= ONSET_NEAR_S)
    near_line = np.any((rises_s >= mapped_start_s - ONSET_NEAR_S) & (rises_s <= mapped_start_s + LEAD_BAND_S[1]))
    return bool(near_heard and not near_line)


def _shifted_whole(heard: Heard, mapped_start_s: float, mapped_end_s: float) -> bool:
    """Is the line heard displaced as a whole (start and end moved the same way)?"""
    start_shift = heard.start_s - mapped_start_s
    end_shift = heard.end_s - mapped_end_s
    return start_shift * end_shift > 0 and abs(end_shift) >= 0.5 * abs(start_shift)


def keep_tolerance(deviations_s: np.ndarray, tolerance_s: float) -> float:
    """How far a line's start may be from where it is heard and still keep its timing.

    deviations_s: (n,) heard start minus mapped start of confident lines.  When they
    scatter like per-line timing errors (robust sigma >= JITTER_SIGMA_S), lines beyond
    ``tolerance_s`` are re-timed.  When they are tight, the file's timing is sound and
    only gross misses (beyond GROSS_MISS_S) are: a few hundred ms there is the
    subtitler's choice or the aligner's error, not a mistake to fix.
    """
    return tolerance_s if scattered(deviations_s) else max(tolerance_s, GROSS_MISS_S)


def scattered(deviations_s: np.ndarray) -> bool:
    """Do heard-minus-mapped starts (n,) scatter like per-line timing errors (robust sigma
    at least JITTER_SIGMA_S, over MIN_CONSISTENT_LINES or more lines)?"""
    if deviations_s.size < MIN_CONSISTENT_LINES:
        return False
    sigma = 1.4826 * np.median(np.abs(deviations_s - np.median(deviations_s)))
    return bool(sigma >= JITTER_SIGMA_S)


def _conventions(mapped_starts, mapped_ends, confident, agree) -> tuple[float, float]:
    """The file's own lead-in (start before voice) and linger (end after voice)."""
    if len(agree) < MIN_CONSISTENT_LINES:
        return LEAD_IN_S, DEFAULT_LINGER_S
    lead = np.median([confident[i].start_s - mapped_starts[i] for i in agree])
    linger = np.median([mapped_ends[i] - confident[i].end_s for i in agree])
    return float(max(lead, 0.0)), float(np.clip(linger, 0.0, 1.5))


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
