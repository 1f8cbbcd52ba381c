"""The engine: audio and lines in, new times out, through the stages of a sync.

1. Speech activity of the audio, and the cues' own on/off pattern against it, give
   candidate global maps (offset and framerate drift) and how far the best one leads.
2. Cuts are looked for under the best map; the candidates are verified by hearing their
   lines (a decisive activity match in --fast mode needs no listener at all).
3. Lines are heard under the chosen map; they replace it only by the decision model's
   likelihood ratio test (mapchoice.py, inference.py), and each line keeps the map's time
   or is re-timed as the model decides (decisions.py, inference.py).
4. The self-check: a result that would likely make the file worse carries a refusal.

It knows no files and no model: the caller decodes the audio, cleans the cue texts and
hands over a function that gives a :class:`~subsync.core.listener.Listener` when one is
first needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import NoSpeechError, OffsetBeyondSearchError
from . import search, timemap, triage
from .activity import (
    ACTIVITY_FRAME_S,
    ACTIVITY_FRAMES_PER_S,
    SPEECH_THRESHOLD,
    cue_activity,
)
from .decisions import (
    Heard,
    LineResult,
    decide,
    heard_as_a_whole,
    heard_share,
)
from .hearing import Hearing, Lines, Progress
from .inference import Action
from .listener import Listener
from .mapchoice import chosen_map, searched_cues, spoken_cues, tiled
from .options import SyncOptions
from .sound import Sound, in_memory

EDGE_S = 1.0  # a global offset this close to +-max_offset is at the search's edge
MIN_SPEECH_S = 0.2  # media with less detected speech than this is refused
REALIGN_SHIFT_S = 1.0  # re-run the alignment when refining the map moves lines this far
# (windows have windows.PAD_S of slack on each side)
MIN_DRIFT_SPAN_S = 20.0  # subtitles spanning less than this: only the common framerate ratios
FAST_WINDOWS = triage.SAMPLE_WINDOWS  # --fast fits the map on this many windows spread over the file
DECISIVE_MARGIN = 1.3  # an activity match this far ahead of the next is decisive (--fast
# then needs no model) ...
CLEAR_MARGIN = 1.08  # ... this far, clear (the model checks it on two windows only) ...
MIN_DECISIVE_SPAN_S = 300.0  # ... over subtitles spanning at least this long
INPUT_BAND_S = 0.15  # a map that moves every line by less than this keeps the file as it is
TRUSTED_MARGIN = 1.2  # an activity match this far ahead of any other, over MIN_DECISIVE_SPAN_S,
# stands without the text (translated subtitles); another episode's
# subtitles score 1.0-1.1
REFERENCE_MARGIN = 1.1  # a reference whose cues match the subtitles' no better, over
# MIN_DECISIVE_SPAN_S, is refused (another episode: 1.00-1.03)
MAX_OUTSIDE_SHARE = 0.5  # more of the lines than this beyond the end of the media: the
# subtitles are not of this media (a longer recording's), refused
MIN_HEARD_SHARE = 0.2  # fewer of the spoken lines heard than this, and no trusted activity
# match: the subtitles are refused (another episode, no speech)


@dataclass(frozen=True)
class Labels:
    """How messages name the inputs."""

    media: str = "the media"
    subs: str = "the subtitles"
    audio: str = "the audio"  # "the audio track 2" when one was chosen


@dataclass(frozen=True)
class Placement:
    """New times for every line, and how they were found."""

    lines: tuple[LineResult, ...]
    time_map: timemap.TimeMap  # final map: media_s = scale * subtitle_s + offset_s (+ cuts)
    global_map: timemap.TimeMap  # the speech-activity (or verified) map before refinement
    language: str = ""
    model: str = ""  # the listener's name ("" when none was needed)
    text_heard: bool = True  # False: speech activity alone placed the lines
    margin: float = float("inf")  # the activity match's score over its best rival's
    text_score: float | None = None  # how well the text is heard under the chosen map
    refusal: str = ""  # why the self-check refuses this result ("": it passes)
    media_s: float = float("inf")  # the media's length (lines placed beyond it fall outside)
    listened: triage.Listened | None = None  # windows the per-line pass heard, and why (None: none)
    detected_language: str | None = None  # the spoken language as detected, not given (None:
    # given, or no listener heard the lines)

    @property
    def outside(self) -> int:
        """How many lines start beyond the end of the media."""
        return sum(line.start_s >= self.media_s for line in self.lines)


@dataclass(frozen=True)
class _Match:
    """What the speech pattern says: candidate maps, best first, and how decisive."""

    maps: tuple[timemap.TimeMap, ...]
    margin: float
    span_s: float  # the spoken cues' span (subtitle seconds)

    @property
    def long(self) -> bool:
        return self.span_s >= MIN_DECISIVE_SPAN_S

    @property
    def decisive(self) -> bool:  # far ahead of any other: the answer (films, episodes)
        return self.long and self.margin >= DECISIVE_MARGIN

    @property
    def clear(self) -> bool:  # clearly ahead: a light check by the listener suffices
        return self.long and self.margin >= CLEAR_MARGIN

    @property
    def trusted(self) -> bool:  # stands without the text (translated subtitles)
        return self.long and self.margin >= TRUSTED_MARGIN


def sync_audio(
    audio: np.ndarray,
    lines: Lines,
    options: SyncOptions,
    listener: Callable[[], Listener],
    report: Progress,
    labels: Labels = Labels(),
) -> Placement:
    """:func:`sync_sound` of decoded samples (float32 mono at SAMPLE_RATE_HZ, (n_samples,))."""
    return sync_sound(in_memory(audio), lines, options, listener, report, labels)


def sync_sound(
    sound: Sound,
    lines: Lines,
    options: SyncOptions,
    listener: Callable[[], Listener],
    report: Progress,
    labels: Labels = Labels(),
) -> Placement:
    """Place ``lines`` in ``sound`` (an audio track's activity, length and clips).
    ``listener()`` is called once, when a listener is first needed.  Raises NoSpeechError
    (a RefusedError) for audio without speech and OffsetBeyondSearchError (an
    AlignmentError) for a map at the edge of the offset search; a result the self-check
    refuses comes back with ``refusal`` set."""
    options = _bounded(options, sound.duration_s, lines)
    return _outside_refused(
        replace(_sync_sound(sound, lines, options, listener, report, labels), media_s=sound.duration_s), labels
    )


def _bounded(options: SyncOptions, timeline_s: float, lines: Lines) -> SyncOptions:
    """``options`` with the offset search no wider than can matter: an offset beyond the
    media's length plus the subtitles' last end (at the largest framerate ratio) leaves
    no cue over the media, so the search's cost follows the two lengths, not the option."""
    last_end_s = float(np.max(lines.ends_s)) if lines.ends_s.size else 0.0
    reach_s = timeline_s + max(timemap.FRAMERATE_RATIOS) * max(last_end_s, 0.0) + 2 * EDGE_S
    return replace(options, max_offset_s=min(options.max_offset_s, reach_s))


def _outside_refused(placement: Placement, labels: Labels) -> Placement:
    """``placement`` refused when more than MAX_OUTSIDE_SHARE of its lines start beyond
    the end of the media: a stray cue is the subtitler's, most of the file is another
    recording's."""
    outside = placement.outside
    if placement.refusal or outside <= MAX_OUTSIDE_SHARE * len(placement.lines):
        return placement
    return replace(
        placement,
        refusal=(
            f"{labels.subs}: {outside} of its {len(placement.lines)} lines would start beyond the end of "
            f"{labels.media} ({placement.media_s:.1f} s): the subtitles of a longer recording?"
        ),
    )


def _sync_sound(
    sound: Sound,
    lines: Lines,
    options: SyncOptions,
    listener: Callable[[], Listener],
    report: Progress,
    labels: Labels,
) -> Placement:
    speech = sound.speech  # (n_frames,) 10 ms
    if not has_speech(speech):
        raise NoSpeechError(f"{labels.media}: no speech detected in {labels.audio}; nothing to sync to")
    report("searching offset and drift", 0, 1)
    match = _search(speech, lines, options)
    if options.fast and match.decisive:
        global_map = _with_cuts(speech, lines, match.maps[0], options)
        time_map = _placed_by_activity(global_map, lines)
        placed = _mapped_lines(time_map, lines, options, labels)
        return Placement(placed, time_map, global_map, options.language or "", margin=match.margin)
    report("loading model", 0, 1)
    hearing = Hearing(listener(), sound, lines, options, report)
    cut = _with_cuts(speech, lines, match.maps[0], options)
    candidates = [cut, *match.maps] if cut.cuts else list(match.maps)  # the plain map still competes
    foreign = options.subs_language is not None and options.subs_language != hearing.spoken_language()
    global_map, score = (
        (candidates[0], 0.0) if foreign else hearing.verify(candidates, match.clear, scan=not match.trusted)
    )
    if not foreign and score < options.min_confidence:
        # The probed windows may all lie where the map is wrong (a part the media lacks):
        # before deciding that the text is not heard, listen to a sample across the file.
        sampled = hearing.align(global_map, FAST_WINDOWS)
        if heard_share(sampled, options.min_confidence) >= MIN_HEARD_SHARE:
            score = max(h.confidence for h in sampled.values())
    if foreign or score < options.min_confidence:
        return _unheard(hearing, cut, match, None if foreign else score, labels)
    if global_map != match.maps[0] and not global_map.cuts:  # (the best one's cuts were weighed
        global_map = _with_cuts(speech, lines, global_map, options)  # above: chosen plain, it stays so)
    return _heard(hearing, global_map, match, score, labels)


def has_speech(speech: np.ndarray) -> bool:
    """Does the activity hold MIN_SPEECH_S of speech or more?"""
    return bool(np.count_nonzero(speech >= SPEECH_THRESHOLD) * ACTIVITY_FRAME_S >= MIN_SPEECH_S)


def _heard(hearing: Hearing, global_map: timemap.TimeMap, match: _Match, score: float, labels: Labels) -> Placement:
    """Lines heard under the chosen map, which they may replace; then each line decided."""
    lines, options = hearing.lines, hearing.options
    heard, plan = _listen(hearing, global_map, match.span_s)
    time_map = global_map
    if heard_as_a_whole(heard, options.min_confidence):  # else a few lines heard by chance move nothing
        time_map = chosen_map(global_map, lines, heard, options, match.span_s, hearing)
        shift = np.abs(time_map(lines.starts_s) - global_map(lines.starts_s))
        if shift.max() > REALIGN_SHIFT_S:  # windows placed by a map this far off missed lines
            heard, plan = _listen(hearing, time_map, match.span_s)
            time_map = chosen_map(time_map, lines, heard, options, match.span_s, hearing)
    time_map = _kept_input(time_map, lines)
    tiling = tiled(lines)
    placed = decide(
        *timemap.mapped(time_map, lines.starts_s, lines.ends_s),
        heard,
        lines.texts,
        options,
        retime=not options.fast,
        speech=hearing.speech,
        duration_s=hearing.duration_s,
        tiled=tiling,
    )
    _check_found(global_map, placed, options, labels)
    placement = Placement(
        tuple(placed),
        time_map,
        global_map,
        hearing.language or "",
        hearing.listener.name,
        margin=match.margin,
        text_score=score,
        listened=triage.Listened(len(plan.windows), plan.total, plan.reason, hearing.windows_heard),
        detected_language=_detected_language(hearing),
    )
    share = heard_share(heard, options.min_confidence)
    if share < MIN_HEARD_SHARE and not match.trusted:
        return replace(
            placement,
            refusal=(
                f"only {100 * share:.0f} % of the lines are heard where the map puts them "
                f"(activity margin {match.margin:.2f}): another episode, or another edit?{_detected(hearing)}"
            ),
        )
    if tiling and not heard_as_a_whole(heard, options.min_confidence):
        return replace(
            placement,
            refusal=(
                f"its cues tile the audio, so their timing pattern places nothing, and only {100 * share:.0f} % "
                f"of the lines are heard: too few to place the rest{_detected(hearing)}"
            ),
        )
    return placement


def _listen(hearing: Hearing, time_map: timemap.TimeMap, span_s: float) -> tuple[dict[int, Heard], triage.Plan]:
    """The lines heard under ``time_map``: a sample (--fast), every window (--every-line),
    or the triage's plan (the sample, then the suspect lines' windows; triage.py).  The
    plan reads the lines under the map the sample itself refines (as _chosen will), so a
    drift the speech pattern got slightly wrong is not taken for scattered timing."""
    options, lines = hearing.options, hearing.lines
    windows = hearing.windows(time_map)
    if options.fast:
        plan = triage.Plan(tuple(triage.sample(windows, hearing.heard_windows)), len(windows), triage.FAST_SAMPLE)
    elif options.every_line:
        plan = triage.every_window(windows, triage.EVERY_LINE)
    else:
        sample = triage.sample(windows, hearing.heard_windows)
        sampled = hearing.hear_all(sample)
        guide = time_map
        if heard_as_a_whole(sampled, options.min_confidence):
            guide = chosen_map(time_map, lines, sampled, options, span_s, hearing)
        starts, ends = timemap.mapped(guide, lines.starts_s, lines.ends_s)
        off = [
            line.index
            for line in decide(
                starts,
                ends,
                sampled,
                lines.texts,
                options,
                speech=hearing.speech,
                duration_s=hearing.duration_s,
                tiled=tiled(lines),
            )
            if line.action is Action.RETIMED
        ]
        plan = triage.plan(
            windows,
            sampled,
            starts,
            ends,
            lines.starts_s,
            hearing.speech,
            guide,
            options.min_confidence,
            off,
            options.keep_tolerance_s,
            sample,
        )
    return hearing.hear_all(plan.windows), plan


def _unheard(
    hearing: Hearing, cut_map: timemap.TimeMap, match: _Match, score: float | None, labels: Labels
) -> Placement:
    """The text is not heard anywhere (another language, another episode): the speech
    activity alone places the lines, if it is sure enough (else a refusal)."""
    time_map = _placed_by_activity(cut_map, hearing.lines)
    placed = _mapped_lines(time_map, hearing.lines, hearing.options, labels)
    refusal = (
        ""
        if match.trusted
        else (
            f"{labels.subs}: {'its language is not spoken' if score is None else 'no line of it is heard'} in "
            f"{labels.media} and the speech pattern matches no offset clearly "
            f"(activity margin {match.margin:.2f}): another episode, or no dialogue?{_detected(hearing)}"
        )
    )
    return Placement(
        placed,
        time_map,
        cut_map,
        hearing.language or "",
        hearing.listener.name,
        text_heard=False,
        margin=match.margin,
        text_score=score,
        refusal=refusal,
        detected_language=_detected_language(hearing),
    )


def _detected_language(hearing: Hearing) -> str | None:
    """The spoken language when it was detected, not given (None when given)."""
    return hearing.language if hearing.detected else None


def _detected(hearing: Hearing) -> str:
    """A note when the spoken language was detected, not given: a few seconds of speech
    are easily taken for another language, and text heard in the wrong one is not heard
    (the placement's ``detected_language`` carries the language for callers' advice)."""
    language = _detected_language(hearing)
    return "" if language is None else language_note(language)


def language_note(language: str, advice: str = "") -> str:
    """What a refusal says when the spoken language was detected: ``" (the speech was
    taken for language 'en')"``; ``advice`` goes inside the parentheses, after it (the
    command line's: how to give another)."""
    return f" (the speech was taken for language {language!r}{advice})"


def sync_cues(reference: Lines, lines: Lines, options: SyncOptions, labels: Labels = Labels()) -> Placement:
    """Place ``lines`` by the timing of ``reference``, correctly timed cues of the same
    release (any language): the reference's cues stand in for the speech activity, and
    every line moves by the offset and drift found."""
    ref_starts, ref_ends = spoken_cues(reference)
    options = _bounded(options, float(ref_ends.max()) + 1.0, lines)
    n_frames = int(np.ceil((ref_ends.max() + 1.0) * ACTIVITY_FRAMES_PER_S))
    speech = cue_activity(ref_starts, ref_ends, n_frames)  # (n_frames,) 10 ms
    match = _search(speech, lines, options)
    time_map = _with_cuts(speech, lines, match.maps[0], options)
    placed = decide(*timemap.mapped(time_map, lines.starts_s, lines.ends_s), {}, lines.texts, options, retime=False)
    # (over a short span, chance matches score as well as the true one: no verdict)
    refusal = (
        ""
        if match.margin >= REFERENCE_MARGIN or not match.long
        else (
            f"{labels.subs}: its cues match the reference's at no offset clearly (margin {match.margin:.2f}): "
            "another episode or release?"
        )
    )
    return Placement(tuple(placed), time_map, time_map, margin=match.margin, refusal=refusal)


def map_lines(time_map: timemap.TimeMap, lines: Lines, options: SyncOptions | None = None) -> tuple[LineResult, ...]:
    """Every line moved by ``time_map``, none re-timed on its own."""
    return tuple(
        decide(
            *timemap.mapped(time_map, lines.starts_s, lines.ends_s),
            {},
            lines.texts,
            options or SyncOptions(),
            retime=False,
        )
    )


def _mapped_lines(
    time_map: timemap.TimeMap, lines: Lines, options: SyncOptions, labels: Labels
) -> tuple[LineResult, ...]:
    placed = map_lines(time_map, lines, options)
    _check_found(time_map, placed, options, labels)
    return placed


def _placed_by_activity(time_map: timemap.TimeMap, lines: Lines) -> timemap.TimeMap:
    """The speech activity's map as it is (the subtitler's lead kept), or the input kept
    (_kept_input): no convention of where lines start moves a map."""
    return _kept_input(time_map, lines)


def _kept_input(time_map: timemap.TimeMap, lines: Lines) -> timemap.TimeMap:
    """The identity when ``time_map`` moves no line by more than INPUT_BAND_S: a file-wide
    shift that small is within what the lead-in convention leaves open, and a file that
    was right stays as it was."""
    moved = np.abs(time_map(lines.starts_s) - lines.starts_s) if lines.starts_s.size else np.zeros(1)
    return timemap.TimeMap.identity() if moved.max() <= INPUT_BAND_S else time_map


def _with_cuts(speech: np.ndarray, lines: Lines, time_map: timemap.TimeMap, options: SyncOptions) -> timemap.TimeMap:
    """``time_map`` with the cuts the spoken cues' pattern shows (if options.cuts)."""
    if not options.cuts:
        return time_map
    return search.find_cuts(speech, *searched_cues(lines, speech, options), time_map, options.max_offset_s)


def _search(speech: np.ndarray, lines: Lines, options: SyncOptions) -> _Match:
    """Candidate maps from the spoken cues' pattern against ``speech``."""
    starts, ends = searched_cues(lines, speech, options)
    # Over a short span the cue pattern cannot tell framerates apart: only the common ones.
    span_s = timemap.span_s(starts, ends)
    scales = timemap.FRAMERATE_RATIOS if span_s >= MIN_DRIFT_SPAN_S else timemap.COMMON_SCALES
    found = search.candidate_maps(speech, starts, ends, options.max_offset_s, scales)
    return _Match(tuple(found.maps), found.margin, span_s)


def _check_found(
    global_map: timemap.TimeMap, lines: Sequence[LineResult], options: SyncOptions, labels: Labels
) -> None:
    """Refuse a map found at the edge of the offset search when no line was heard there:
    the true offset most likely lies beyond the search, and the result would be noise."""
    heard_any = any(line.action in (Action.KEPT, Action.RETIMED) for line in lines)
    at_edge = abs(global_map.offset_s) >= options.max_offset_s - EDGE_S
    if at_edge and not heard_any:
        raise OffsetBeyondSearchError(labels.subs, labels.media, options.max_offset_s)
