"""The engine: audio and lines in, new times out, through the stages of a sync.

1. Speech activity of the audio, and the cues' own on/off pattern against it, give
   candidate global maps (offset and framerate drift) and how far the best one leads.
2. Cuts are looked for under the best map; the candidates are verified by hearing their
   lines (a decisive activity match in --fast mode needs no listener at all).
3. Lines are heard under the chosen map, confident ones refine it, and each line keeps
   its human timing, is re-timed, or keeps the map's time (decisions.py).
4. The self-check: a result that would likely make the file worse carries a refusal.

It knows no files and no model: the caller decodes the audio, cleans the cue texts and
hands over a function that gives a :class:`~subsync.core.listener.Listener` when one is
first needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import AlignmentError, NoSpeechError
from . import timemap, triage
from .activity import (ACTIVITY_FRAME_S, ACTIVITY_FRAMES_PER_S, SAMPLE_RATE_HZ, SPEECH_THRESHOLD, cue_activity,
                       speech_activity, voice_edges)
from .decisions import LEAD_IN_S, Heard, LineResult, decide, heard_as_a_whole, heard_share
from .hearing import Hearing, Lines, Progress
from .listener import Listener
from .options import SyncOptions

EDGE_S = 1.0                  # a global offset this close to +-max_offset is at the search's edge
MIN_SPEECH_S = 0.2            # media with less detected speech than this is refused
REALIGN_SHIFT_S = 1.0         # re-run the alignment when refining the map moves lines this far
                              # (windows have windows.PAD_S of slack on each side)
MIN_DRIFT_SPAN_S = 20.0       # subtitles spanning less than this: only the common framerate ratios
FAST_WINDOWS = triage.SAMPLE_WINDOWS   # --fast fits the map on this many windows spread over the file
DECISIVE_MARGIN = 1.3         # an activity match this far ahead of the next is decisive (--fast
                              # then needs no model) ...
CLEAR_MARGIN = 1.08           # ... this far, clear (the model checks it on two windows only) ...
MIN_DECISIVE_SPAN_S = 300.0   # ... over subtitles spanning at least this long
MAP_MARGIN = 0.1              # a refined map replaces the incumbent when it explains this much
                              # more of the heard lines (timemap.anchor_agreement) ...
HELD_OUT_T = 2.0              # ... or (explaining no fewer) the heard lines it was not fitted on
                              # better by this many standard errors (timemap.held_out) ...
HELD_OUT_MIN_S = 0.01         # ... and by this much a line on average (hundreds of lines make a
                              # few ms "significant": a listener's own bias) ...
FOLD_DRIFT_S = 0.02           # ... with a drift every fold finds: the folds' refits disagree by less
                              # than this over the heard lines' span (half a frame)
MIN_DRIFT_ANCHOR_SHARE = 0.5  # heard lines must span this share of the subtitles to refit the drift
HEARD_SLACK_BIAS_S = -0.12    # heard start minus heard end errors (median, bench onset references)
ACTIVITY_SLACK_BIAS_S = 0.0   # the same for the activity's voice edges
FREE_END_S = 0.5             # a line whose next starts this long after its end lingers as its subtitler chose
INPUT_BAND_S = 0.15          # a map that moves every line by less than this keeps the file as it is
MIN_LEAD_LINES = 3            # lines with a voice (and free ends) needed to place the lead-in and measure slack
MIN_LEAD_SHIFT_S = 0.06       # the map moves for its lead-in only by more than this
TRUSTED_MARGIN = 1.2          # an activity match this far ahead of any other, over MIN_DECISIVE_SPAN_S,
                              # stands without the text (translated subtitles); another episode's
                              # subtitles score 1.0-1.1
REFERENCE_MARGIN = 1.1        # a reference whose cues match the subtitles' no better, over
                              # MIN_DECISIVE_SPAN_S, is refused (another episode: 1.00-1.03)
MAX_OUTSIDE_SHARE = 0.5       # more of the lines than this beyond the end of the media: the
                              # subtitles are not of this media (a longer recording's), refused
MIN_HEARD_SHARE = 0.2         # fewer of the spoken lines heard than this, and no trusted activity
                              # match: the subtitles are refused (another episode, no speech)


@dataclass(frozen=True)
class Labels:
    """How messages name the inputs."""

    media: str = "the media"
    subs: str = "the subtitles"
    audio: str = "the audio"            # "the audio track 2" when one was chosen


@dataclass(frozen=True)
class Placement:
    """New times for every line, and how they were found."""

    lines: tuple[LineResult, ...]
    time_map: timemap.TimeMap       # final map: media_s = scale * subtitle_s + offset_s (+ cuts)
    global_map: timemap.TimeMap     # the speech-activity (or verified) map before refinement
    language: str = ""
    model: str = ""                 # the listener's name ("" when none was needed)
    text_heard: bool = True         # False: speech activity alone placed the lines
    margin: float = float("inf")    # the activity match's score over its best rival's
    text_score: float | None = None  # how well the text is heard under the chosen map
    refusal: str = ""               # why the self-check refuses this result ("": it passes)
    media_s: float = float("inf")   # the media's length (lines placed beyond it fall outside)
    listened: triage.Listened | None = None   # windows the per-line pass heard, and why (None: none)

    @property
    def outside(self) -> int:
        """How many lines start beyond the end of the media."""
        return sum(line.start_s >= self.media_s for line in self.lines)


@dataclass(frozen=True)
class _Match:
    """What the speech pattern says: candidate maps, best first, and how decisive."""

    maps: tuple[timemap.TimeMap, ...]
    margin: float
    span_s: float                   # the spoken cues' span (subtitle seconds)

    @property
    def long(self) -> bool:
        return self.span_s >= MIN_DECISIVE_SPAN_S

    @property
    def decisive(self) -> bool:     # far ahead of any other: the answer (films, episodes)
        return self.long and self.margin >= DECISIVE_MARGIN

    @property
    def clear(self) -> bool:        # clearly ahead: a light check by the listener suffices
        return self.long and self.margin >= CLEAR_MARGIN

    @property
    def trusted(self) -> bool:      # stands without the text (translated subtitles)
        return self.long and self.margin >= TRUSTED_MARGIN


def sync_audio(audio: np.ndarray, lines: Lines, options: SyncOptions, listener: Callable[[], Listener],
               report: Progress, labels: Labels = Labels()) -> Placement:
    """Place ``lines`` in ``audio`` (float32 mono at SAMPLE_RATE_HZ).  ``listener()`` is
    called once, when a listener is first needed.  Raises NoSpeechError (a RefusedError)
    for audio without speech and AlignmentError for a map at the edge of the offset search; a result the
    self-check refuses comes back with ``refusal`` set."""
    media_s = audio.size / SAMPLE_RATE_HZ
    options = _bounded(options, media_s, lines)
    return _outside_refused(replace(_sync_audio(audio, lines, options, listener, report, labels), media_s=media_s),
                            labels)


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
    return replace(placement, refusal=(
        f"{labels.subs}: {outside} of its {len(placement.lines)} lines would start beyond the end of "
        f"{labels.media} ({placement.media_s:.1f} s): the subtitles of a longer recording?"))


def _sync_audio(audio: np.ndarray, lines: Lines, options: SyncOptions, listener: Callable[[], Listener],
                report: Progress, labels: Labels) -> Placement:
    speech = speech_activity(audio)                                      # (n_frames,) 10 ms
    if not has_speech(speech):
        raise NoSpeechError(f"{labels.media}: no speech detected in {labels.audio}; nothing to sync to")
    report("searching offset and drift", 0, 1)
    match = _search(speech, lines, options)
    if options.fast and match.decisive:
        global_map = _with_cuts(speech, lines, match.maps[0], options)
        time_map = _placed_by_activity(global_map, lines, speech)
        placed = _mapped_lines(time_map, lines, options, labels)
        return Placement(placed, time_map, global_map, options.language or "", margin=match.margin)
    report("loading model", 0, 1)
    hearing = Hearing(listener(), audio, speech, lines, options, report)
    cut = _with_cuts(speech, lines, match.maps[0], options)
    candidates = [cut, *match.maps] if cut.cuts else list(match.maps)   # the plain map still competes
    foreign = options.subs_language is not None and options.subs_language != hearing.spoken_language()
    global_map, score = (candidates[0], 0.0) if foreign else hearing.verify(candidates, match.clear,
                                                                             scan=not match.trusted)
    if not foreign and score < options.min_confidence:
        # The probed windows may all lie where the map is wrong (a part the media lacks):
        # before deciding that the text is not heard, listen to a sample across the file.
        sampled = hearing.align(global_map, FAST_WINDOWS)
        if heard_share(sampled, options.min_confidence) >= MIN_HEARD_SHARE:
            score = max(h.confidence for h in sampled.values())
    if foreign or score < options.min_confidence:
        return _unheard(hearing, cut, match, None if foreign else score, labels)
    if global_map != match.maps[0] and not global_map.cuts:    # (the best one's cuts were weighed
        global_map = _with_cuts(speech, lines, global_map, options)   # above: chosen plain, it stays so)
    return _heard(hearing, global_map, match, score, labels)


def has_speech(speech: np.ndarray) -> bool:
    """Does the activity hold MIN_SPEECH_S of speech or more?"""
    return bool(np.count_nonzero(speech >= SPEECH_THRESHOLD) * ACTIVITY_FRAME_S >= MIN_SPEECH_S)


def _heard(hearing: Hearing, global_map: timemap.TimeMap, match: _Match, score: float,
           labels: Labels) -> Placement:
    """Lines heard under the chosen map, which they may replace; then each line decided."""
    lines, options = hearing.lines, hearing.options
    heard, plan = _listen(hearing, global_map, match.span_s)
    time_map = global_map
    if heard_as_a_whole(heard, options.min_confidence):   # else a few lines heard by chance move nothing
        time_map = _chosen(global_map, lines, heard, options, match.span_s)
        shift = np.abs(time_map(lines.starts_s) - global_map(lines.starts_s))
        if shift.max() > REALIGN_SHIFT_S:   # windows placed by a map this far off missed lines
            heard, plan = _listen(hearing, time_map, match.span_s)
            time_map = _refined(time_map, lines, heard, options, match.span_s) or time_map
        time_map = _kept_input(_with_lead(time_map, lines, _heard_voice(heard, options)), lines)
    else:
        time_map = _placed_by_activity(time_map, lines, hearing.speech)
    placed = decide(*timemap.mapped(time_map, lines.starts_s, lines.ends_s), heard, lines.texts, options,
                    retime=not options.fast, speech=hearing.speech)
    _check_found(global_map, placed, options, labels)
    placement = Placement(tuple(placed), time_map, global_map, hearing.language or "", hearing.listener.name,
                          margin=match.margin, text_score=score,
                          listened=triage.Listened(len(plan.windows), plan.total, plan.reason,
                                                   hearing.windows_heard))
    share = heard_share(heard, options.min_confidence)
    if share < MIN_HEARD_SHARE and not match.trusted:
        return replace(placement, refusal=(
            f"only {100 * share:.0f} % of the lines are heard where the map puts them "
            f"(activity margin {match.margin:.2f}): another episode, or another edit?{_detected(hearing)}"))
    return placement


def _listen(hearing: Hearing, time_map: timemap.TimeMap, span_s: float) -> tuple[dict[int, Heard], triage.Plan]:
    """The lines heard under ``time_map``: a sample (--fast), every window (--every-line),
    or the triage's plan (the sample, then the suspect lines' windows; triage.py).  The
    plan reads the lines under the map the sample itself refines (as _chosen will), so a
    drift the speech pattern got slightly wrong is not taken for scattered timing."""
    options, lines = hearing.options, hearing.lines
    windows = hearing.windows(time_map)
    if options.fast:
        plan = triage.Plan(tuple(triage.sample(windows)), len(windows), "--fast: a sample")
    elif options.every_line:
        plan = triage.every_window(windows, "--every-line")
    else:
        sampled = hearing.hear_all(triage.sample(windows))
        guide = time_map
        if heard_as_a_whole(sampled, options.min_confidence):
            guide = _chosen(time_map, lines, sampled, options, span_s)
        starts, ends = timemap.mapped(guide, lines.starts_s, lines.ends_s)
        off = [line.index for line in decide(starts, ends, sampled, lines.texts, options, speech=hearing.speech)
               if line.action == "retimed"]
        plan = triage.plan(windows, sampled, starts, ends, lines.starts_s, hearing.speech, guide,
                           options.min_confidence, off)
    return hearing.hear_all(plan.windows), plan


def _chosen(incumbent: timemap.TimeMap, lines: Lines, heard: dict[int, Heard],
            options: SyncOptions, span_s: float) -> timemap.TimeMap:
    """The incumbent map (from the speech pattern over whole cue intervals, or verified),
    unless the map refined through the heard lines explains them better: by MAP_MARGIN on
    timemap.anchor_agreement, the same measure for both, or, explaining no fewer, on the
    heard lines it was not fitted on (timemap.held_out: HELD_OUT_T standard errors and
    HELD_OUT_MIN_S a line; a drift between two neighbouring framerate ratios, 0.1 %, moves
    no line by 250 ms in a few minutes), with a new drift only if leaving out any fold of
    them does not change it (FOLD_DRIFT_S: scattered anchors let noise pick a slope now and
    then, which one fold's refit does not share; a drift off the standard ratios, which
    fits a little differently in each fold, must win on the first measure).  Heard starts
    carry the listener's errors and the subtitler's lead-in, so a refinement must earn its
    place."""
    sub, media, weights = _anchors(lines, heard, options)
    if not sub.size:
        return incumbent
    free = _drift_free(sub, span_s)
    refined = timemap.refine(incumbent, sub, media, weights, free_scale=free)
    gain = (timemap.anchor_agreement(refined, sub, media, weights)
            - timemap.anchor_agreement(incumbent, sub, media, weights))
    if gain >= MAP_MARGIN:
        return refined
    if gain < 0:
        return incumbent
    # Each fold refits the drift if the whole does: leaving out the first or last line must
    # not shrink the span below MIN_DRIFT_ANCHOR_SHARE and keep the incumbent's scale.
    refit = lambda *anchors: timemap.refine(incumbent, *anchors, free_scale=free)   # noqa: E731
    test = timemap.held_out(incumbent, refit, sub, media, weights)
    same_drift = refined.scale == incumbent.scale or test.drift_spread_s <= FOLD_DRIFT_S
    won = test.t >= HELD_OUT_T and test.gain_s >= HELD_OUT_MIN_S and same_drift
    return refined if won else incumbent


def _unheard(hearing: Hearing, cut_map: timemap.TimeMap, match: _Match, score: float | None,
             labels: Labels) -> Placement:
    """The text is not heard anywhere (another language, another episode): the speech
    activity alone places the lines, if it is sure enough (else a refusal)."""
    time_map = _placed_by_activity(cut_map, hearing.lines, hearing.speech)
    placed = _mapped_lines(time_map, hearing.lines, hearing.options, labels)
    refusal = "" if match.trusted else (
        f"{labels.subs}: {'its language is not spoken' if score is None else 'no line of it is heard'} in "
        f"{labels.media} and the speech pattern matches no offset clearly "
        f"(activity margin {match.margin:.2f}): another episode, or no dialogue?{_detected(hearing)}")
    return Placement(placed, time_map, cut_map, hearing.language or "", hearing.listener.name, text_heard=False,
                     margin=match.margin, text_score=score, refusal=refusal)


def _detected(hearing: Hearing) -> str:
    """A hint when the spoken language was detected, not given: a few seconds of speech
    are easily taken for another language, and text heard in the wrong one is not heard."""
    if not hearing.detected:
        return ""
    return f" (the speech was taken for language {hearing.language!r}; if it is another, give it with --language)"


def sync_cues(reference: Lines, lines: Lines, options: SyncOptions, labels: Labels = Labels()) -> Placement:
    """Place ``lines`` by the timing of ``reference``, correctly timed cues of the same
    release (any language): the reference's cues stand in for the speech activity, and
    every line moves by the offset and drift found."""
    ref_starts, ref_ends = _spoken_cues(reference)
    options = _bounded(options, float(ref_ends.max()) + 1.0, lines)
    n_frames = int(np.ceil((ref_ends.max() + 1.0) * ACTIVITY_FRAMES_PER_S))
    speech = cue_activity(ref_starts, ref_ends, n_frames)                # (n_frames,) 10 ms
    match = _search(speech, lines, options)
    time_map = _with_cuts(speech, lines, match.maps[0], options)
    placed = decide(*timemap.mapped(time_map, lines.starts_s, lines.ends_s), {}, lines.texts, options,
                    retime=False)
    # (over a short span, chance matches score as well as the true one: no verdict)
    refusal = "" if match.margin >= REFERENCE_MARGIN or not match.long else (
        f"{labels.subs}: its cues match the reference's at no offset clearly (margin {match.margin:.2f}): "
        "another episode or release?")
    return Placement(tuple(placed), time_map, time_map, margin=match.margin, refusal=refusal)


def map_lines(time_map: timemap.TimeMap, lines: Lines, options: SyncOptions = SyncOptions()) -> tuple[LineResult, ...]:
    """Every line moved by ``time_map``, none re-timed on its own."""
    return tuple(decide(*timemap.mapped(time_map, lines.starts_s, lines.ends_s), {}, lines.texts, options,
                        retime=False))


def _mapped_lines(time_map: timemap.TimeMap, lines: Lines, options: SyncOptions,
                  labels: Labels) -> tuple[LineResult, ...]:
    placed = map_lines(time_map, lines, options)
    _check_found(time_map, placed, options, labels)
    return placed


def _with_lead(time_map: timemap.TimeMap, lines: Lines, voice: _Voice) -> timemap.TimeMap:
    """``time_map`` moved so that the lines start where a subtitler would put them.

    The speech pattern fixes a map only up to the lines' lead-in and linger: cue intervals
    longer than the speech under them match it equally well anywhere within their slack,
    and a file-wide lead-in cannot be told from an offset.  The voice under the lines
    (heard, or from the activity) tells the slack (how long lines whose end is free, the
    next line FREE_END_S or more after them, run beyond their speech at both ends
    together) and where the voice starts under the map.  Lines are put LEAD_IN_S before
    their voice (half their slack when that is less: cues that mark the speech itself
    have none; the prior itself when too few lines have free ends to tell), and the map
    moves when that puts them more than MIN_LEAD_SHIFT_S from where they are."""
    if voice.index.size < MIN_LEAD_LINES:
        return time_map
    starts, ends = timemap.mapped(time_map, lines.starts_s[voice.index], lines.ends_s[voice.index])
    lead = voice.starts_s - starts                                       # (n,) voice after line start
    linger = ends - voice.ends_s                                         # (n,) line end after voice
    free = _free_ends(lines)[voice.index]                                # (n,)
    wanted = LEAD_IN_S                      # lines chained end to start show no slack: the prior
    if free.sum() >= MIN_LEAD_LINES:
        slack = float(np.median(lead[free] + linger[free])) - voice.slack_bias_s
        wanted = float(np.clip(slack / 2, 0.0, LEAD_IN_S))
    shift = float(np.median(lead)) - wanted
    if abs(shift) < MIN_LEAD_SHIFT_S:
        return time_map
    return time_map.shifted(time_map.scale, shift)


@dataclass(frozen=True)
class _Voice:
    """Where the voice under some lines starts and ends (media seconds), (n,) each."""

    index: np.ndarray               # (n,) line numbers
    starts_s: np.ndarray
    ends_s: np.ndarray
    slack_bias_s: float             # the source's median (start error - end error)


def _heard_voice(heard: dict[int, Heard], options: SyncOptions) -> _Voice:
    confident = _confident(heard, options)
    return _Voice(np.array(confident, dtype=np.int64), np.array([heard[i].start_s for i in confident]),
                  np.array([heard[i].end_s for i in confident]), HEARD_SLACK_BIAS_S)


def _activity_voice(speech: np.ndarray, time_map: timemap.TimeMap, lines: Lines) -> _Voice:
    spoken = np.flatnonzero([bool(text) for text in lines.texts])
    onsets, offsets = voice_edges(speech, *timemap.mapped(time_map, lines.starts_s[spoken], lines.ends_s[spoken]))
    found = np.isfinite(onsets) & np.isfinite(offsets)
    return _Voice(spoken[found], onsets[found], offsets[found], ACTIVITY_SLACK_BIAS_S)


def _free_ends(lines: Lines) -> np.ndarray:
    """(n_lines,) bool: the next line starts FREE_END_S or more after this one ends (the
    last line's end is free), so its linger is the subtitler's choice, not the next line's."""
    order = np.argsort(lines.starts_s, kind="stable")
    gaps = np.full(lines.starts_s.size, np.inf)
    gaps[order[:-1]] = lines.starts_s[order[1:]] - lines.ends_s[order[:-1]]
    return gaps >= FREE_END_S


def _placed_by_activity(time_map: timemap.TimeMap, lines: Lines, speech: np.ndarray) -> timemap.TimeMap:
    """``time_map`` with the lead-in placed from the speech activity's voice edges (nothing
    heard), or the input kept (_kept_input)."""
    return _kept_input(_with_lead(time_map, lines, _activity_voice(speech, time_map, lines)), lines)


def _kept_input(time_map: timemap.TimeMap, lines: Lines) -> timemap.TimeMap:
    """The identity when ``time_map`` moves no line by more than INPUT_BAND_S: a file-wide
    shift that small is within what the lead-in convention leaves open, and a file that
    was right stays as it was."""
    moved = np.abs(time_map(lines.starts_s) - lines.starts_s) if lines.starts_s.size else np.zeros(1)
    return timemap.TimeMap.identity() if moved.max() <= INPUT_BAND_S else time_map


def _confident(heard: dict[int, Heard], options: SyncOptions) -> list[int]:
    """The lines heard with confidence."""
    return [i for i, h in heard.items() if h.confidence >= options.min_confidence]


def _anchors(lines: Lines, heard: dict[int, Heard], options: SyncOptions) -> tuple[np.ndarray, ...]:
    """(subtitle start, heard start, confidence) of the lines heard with confidence, (n,) each."""
    confident = _confident(heard, options)
    return (lines.starts_s[confident], np.array([heard[i].start_s for i in confident]),
            np.array([heard[i].confidence for i in confident]))


def _refined(prior: timemap.TimeMap, lines: Lines, heard: dict[int, Heard],
             options: SyncOptions, span_s: float) -> timemap.TimeMap | None:
    """``prior`` fitted through the confident lines' (subtitle start, heard start) pairs
    (None: no such line); see _refit."""
    sub, media, weights = _anchors(lines, heard, options)
    return _refit(prior, sub, media, weights, span_s) if sub.size else None


def _refit(prior: timemap.TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray,
           span_s: float) -> timemap.TimeMap:
    """``prior`` fitted through (subtitle start, heard start) anchors, (n,) each.  The scale
    is refitted only when the anchors span at least MIN_DRIFT_ANCHOR_SHARE of ``span_s``,
    the searched cues' span: a drift fitted on a short stretch of a file is noise that
    moves every line beyond it."""
    return timemap.refine(prior, sub, media, weights, free_scale=_drift_free(sub, span_s))


def _drift_free(sub_s: np.ndarray, span_s: float) -> bool:
    """Do anchors at subtitle times ``sub_s`` (n,) span enough of the searched cues (span_s)
    to refit the drift (MIN_DRIFT_ANCHOR_SHARE)?"""
    return float(sub_s.max() - sub_s.min()) >= MIN_DRIFT_ANCHOR_SHARE * span_s


def _with_cuts(speech: np.ndarray, lines: Lines, time_map: timemap.TimeMap,
               options: SyncOptions) -> timemap.TimeMap:
    """``time_map`` with the cuts the spoken cues' pattern shows (if options.cuts)."""
    if not options.cuts:
        return time_map
    return timemap.find_cuts(speech, *_searched_cues(lines, speech, options), time_map, options.max_offset_s)


def _searched_cues(lines: Lines, speech: np.ndarray, options: SyncOptions) -> tuple[np.ndarray, np.ndarray]:
    """The spoken cues that timemap.reachable keeps (all of them when it keeps none): what
    the searches match and whose span the drift rules read; the others fall outside the
    media, mapped."""
    starts_s, ends_s = _spoken_cues(lines)
    keep = timemap.reachable(starts_s, speech.size * ACTIVITY_FRAME_S, options.max_offset_s)
    return (starts_s[keep], ends_s[keep]) if keep.any() else (starts_s, ends_s)


def _spoken_cues(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the cues with words to hear (all cues when none has)."""
    spoken = np.array([bool(text) for text in lines.texts], dtype=bool)
    if not spoken.any():
        return lines.starts_s, lines.ends_s
    return lines.starts_s[spoken], lines.ends_s[spoken]


def _search(speech: np.ndarray, lines: Lines, options: SyncOptions) -> _Match:
    """Candidate maps from the spoken cues' pattern against ``speech``."""
    starts, ends = _searched_cues(lines, speech, options)
    # Over a short span the cue pattern cannot tell framerates apart: only the common ones.
    span_s = timemap.span_s(starts, ends)
    scales = timemap.FRAMERATE_RATIOS if span_s >= MIN_DRIFT_SPAN_S else timemap.COMMON_SCALES
    found = timemap.candidate_maps(speech, starts, ends, options.max_offset_s, scales)
    return _Match(tuple(found.maps), found.margin, span_s)


def _check_found(global_map: timemap.TimeMap, lines: Sequence[LineResult], options: SyncOptions,
                 labels: Labels) -> None:
    """Refuse a map found at the edge of the offset search when no line was heard there:
    the true offset most likely lies beyond the search, and the result would be noise."""
    heard_any = any(line.action in ("kept", "retimed") for line in lines)
    at_edge = abs(global_map.offset_s) >= options.max_offset_s - EDGE_S
    if at_edge and not heard_any:
        raise AlignmentError(
            f"{labels.subs}: no line is heard in {labels.media} within the searched offsets "
            f"(+-{options.max_offset_s:g} s); if the subtitles are further off, raise --max-offset")
