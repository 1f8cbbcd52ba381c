"""Which global map a file gets: the incumbent (from the speech pattern over whole cue
intervals, or verified) unless the heard lines reject it under the decision model
(inference.py) at its false-change rate.  Pure: lines, heard starts and the speech activity
in, a map out; it knows nothing of files, models or the CLI."""

from __future__ import annotations

import numpy as np

from . import anchors, decisions, inference, search, timemap
from .activity import ACTIVITY_FRAME_S
from .decisions import Heard, is_evidence
from .hearing import Hearing, Lines
from .options import SyncOptions

MIN_DRIFT_ANCHOR_SHARE = 0.5  # heard lines must span this share of the subtitles to refit the drift
MIN_REFIT_LINES = 5  # fewer heard lines than this refit no drift
TILE_GAP_S = 0.02  # cues this close to the previous one's end continue it (subtitlers
# leave at least two frames, 66-83 ms, between chained lines) ...
TILED_SHARE = 0.9  # ... and this share of them so: the cues tile the audio


def chosen_map(
    incumbent: timemap.TimeMap,
    lines: Lines,
    heard: dict[int, Heard],
    options: SyncOptions,
    span_s: float,
    hearing: Hearing | None = None,
) -> timemap.TimeMap:
    """The incumbent map (from the speech pattern over whole cue intervals, or verified),
    unless the heard lines reject it for the map refined through them: a likelihood ratio
    test under the decision model at its false-change rate (inference.refit_shift).  The
    drift is refitted only over MIN_DRIFT_ANCHOR_SHARE of the subtitles' span, and kept
    only when it passes the same test against the incumbent's drift with the offset
    refitted (an offset the heard lines correct brings no drift along); a refined
    map that changes the offset alone replaces the incumbent only when the lead the
    incumbent leaves is beyond what any file shows (inference.lead_beyond_range), or the
    heard lines reject it for the refitted offset by the same test, which no lead in range
    can pass (then the input's own offset when the lead it leaves is in range: that cannot
    be told from the subtitler's lead), or when
    the cues tile the audio (``tiled``: the speech pattern then fixes no offset, and the
    cues' boundaries lie in the pauses before each voice): else an offset cannot be told
    from the file's own lead."""
    sub, media, index = _heard_anchors(lines, heard, options, hearing)
    if not sub.size:
        return incumbent
    blind = tiled(lines)  # the speech pattern cannot place tiling cues' offset
    if blind and not incumbent.cuts:
        pause_s = decisions.pause_starts(index, lines.starts_s, lines.texts, heard, options.min_confidence)  # (n,)
        if np.isfinite(pause_s).sum() >= MIN_REFIT_LINES:  # else the pauses say too little: leads, as any file
            return _tiled_map(pause_s, options, sub, media, span_s)
    free = sub.size >= MIN_REFIT_LINES and _drift_free(sub, span_s)
    level = anchors.refine(incumbent, sub, media, np.ones(sub.size), free_scale=False)
    level_fit = inference.best_fit(media - level(sub))
    refined, refined_fit = level, level_fit
    if free:
        drifted = anchors.refine(incumbent, sub, media, np.ones(sub.size), free_scale=True)
        drifted_fit = inference.best_fit(media - drifted(sub))
        # a drift no likelier than the incumbent's with another offset is not taken
        if drifted.scale == incumbent.scale or inference.rejects(level_fit, drifted_fit):
            refined, refined_fit = drifted, drifted_fit
    offset_only = refined.scale == incumbent.scale and not incumbent.cuts
    on_voice = refined.shifted(refined.scale, refined_fit.lead_s)
    incumbent_fit = inference.best_fit(media - incumbent(sub))
    if offset_only and _rejected(incumbent_fit, level_fit):
        # no lead in range explains the heard lines: the offset is off
        if incumbent.scale == 1.0 and not _rejected(inference.best_fit(media - sub), level_fit):
            return timemap.TimeMap.identity()  # the input's own offset explains them: it stands
        return on_voice
    if offset_only:  # tiling cues: the heard lines place them, on their voice
        return on_voice if blind else incumbent
    shift_s = inference.refit_shift(
        media - incumbent(sub), media - refined(sub), keep_lead=not blind, tolerance_s=options.keep_tolerance_s
    )
    if shift_s is None:
        return incumbent
    if not incumbent.cuts:
        return _kept_lead(refined.shifted(refined.scale, shift_s), hearing, blind, on_voice)
    return refined.shifted(refined.scale, shift_s)


def _tiled_map(
    pause_s: np.ndarray, options: SyncOptions, sub: np.ndarray, media: np.ndarray, span_s: float
) -> timemap.TimeMap:
    """The map of cues that tile the audio, from the heard lines alone (their on/off
    pattern is one block: it fixes no offset).  The model: each boundary lies somewhere in
    the pause before its line's voice (from the previous line's heard end to its own heard
    start), not a fixed lead before it, so a scale is judged by how far the boundaries
    fall outside their pauses, at the offset that puts the most of them inside
    (_stabbed).  Scale 1.0 is taken unless the likeliest standard framerate ratio rejects
    it (likelihood ratio test, its rate shared among the ratios) and drifts more than the
    tolerance over the lines, then the likeliest: the speech pattern's scale means nothing
    here.  No fitted drift is tried, as the leads of boundaries placed anywhere in their
    pauses slope as a drift does.  The lines then go on their voice (the offset that leaves
    the heard lines no lead).  Anchors too few, or spanning too little, for a drift get
    scale 1.0.  ``sub``, ``media`` (n,): the anchors (subtitle start, heard start);
    ``pause_s`` (n,): where the pause before each one's voice starts (decisions.
    pause_starts; -inf: unknown, then only its voice bounds it)."""
    free = sub.size >= MIN_REFIT_LINES and _drift_free(sub, span_s)
    scales = timemap.FRAMERATE_RATIOS if free else (1.0,)
    fits = {}  # scale -> the fit of the residuals outside the pauses, at the stabbed offset
    for scale in scales:
        mapped = scale * sub + _stabbed(pause_s - scale * sub, media - scale * sub)  # (n,)
        fits[scale] = inference.best_fit(decisions.outside_pause(mapped, pause_s, media))
    scale = _no_drift_unless_rejected(fits, sub, options.keep_tolerance_s)
    level = timemap.TimeMap(scale, anchors.offset_at(scale, sub, media, np.ones(sub.size)))
    return level.shifted(scale, inference.best_fit(media - level(sub)).lead_s)


def _stabbed(low_s: np.ndarray, high_s: np.ndarray) -> float:
    """The middle of the widest stretch of values that lie in the most intervals
    [low_s, high_s] ((n,) each; a low may be -inf: then the stretch's high end)."""
    points = np.r_[low_s, high_s]
    steps = np.r_[np.ones(low_s.size), -np.ones(high_s.size)]
    order = np.lexsort((-steps, points))  # at one point an interval opens before one closes
    points, depth = points[order], np.cumsum(steps[order])
    deepest = np.flatnonzero(depth == depth.max())  # each opens a stretch to the next point
    widths = points[np.minimum(deepest + 1, points.size - 1)] - points[deepest]
    k = deepest[int(np.argmax(widths))]
    low, high = points[k], points[min(k + 1, points.size - 1)]
    return float(high) if not np.isfinite(low) else float(0.5 * (low + high))


def _no_drift_unless_rejected(fits: dict[float, inference.FileFit], sub_s: np.ndarray, tolerance_s: float) -> float:
    """The likeliest scale of ``fits`` (scale -> fit), unless 1.0 is among them and the
    likeliest either does not reject it (the test's rate shared among the other scales)
    or drifts less than ``tolerance_s`` over the lines at subtitle times ``sub_s`` (n,): a
    drift that moves no line out of place relative to the others is not worth the risk of
    being wrong (no change is what most files need).  Between two ratios 0.1 % apart
    (25/24 and 25/23.976) the likelihood picks."""
    likeliest = max(fits, key=lambda scale: fits[scale].log_likelihood)
    if 1.0 not in fits:
        return likeliest
    rejected = inference.rejects(fits[1.0], fits[likeliest], alternatives=max(1, len(fits) - 1))
    matters = abs(likeliest - 1.0) * float(np.ptp(sub_s)) > tolerance_s  # the drift over the lines
    return likeliest if rejected and matters else 1.0


def _kept_lead(
    fallback: timemap.TimeMap, hearing: Hearing | None, blind: bool, on_voice: timemap.TimeMap
) -> timemap.TimeMap:
    """A drift the heard lines chose, with the subtitler's own lead: the speech pattern's
    map at its scale near where the heard lines put the voice (_pattern_map); ``fallback``
    when the cues tile the audio (their pattern fixes no offset: the lines go on their
    voice) or the pattern gives nothing.  (An offset alone that the heard lines choose
    puts the lines on their voice: on a file of one cue, its pattern put it 0.5 s off.)"""
    if blind or hearing is None:
        return fallback
    return _pattern_map(hearing, on_voice) or fallback


def _rejected(fit: inference.FileFit, refined: inference.FileFit) -> bool:
    """Do the heard lines reject a map (its ``fit``) for the one refined through them: the
    lead it leaves is beyond any file's, or the likelihood ratio test rejects it (an
    in-range lead with most lines in the tail explains nothing)?"""
    return inference.lead_beyond_range(fit) or inference.rejects(fit, refined)


def _pattern_map(hearing: Hearing, on_voice: timemap.TimeMap) -> timemap.TimeMap | None:
    """The speech pattern's map at the scale the heard lines found: its offset searched
    where the file's lead can lie (inference.LEAD_RANGE_S) from the map that puts the
    lines on their voice.  A drift refit keeps the subtitler's own lead as the global map
    does: the lead the heard lines show under the rejected map is no measure of it (its
    residuals slope with the drift).  None when the pattern gives nothing."""
    starts, ends = searched_cues(hearing.lines, hearing.speech, hearing.options)
    offset_s = search.offset_at(
        hearing.speech,
        starts,
        ends,
        on_voice.scale,
        on_voice.offset_s - inference.LEAD_RANGE_S[1],
        on_voice.offset_s - inference.LEAD_RANGE_S[0],
    )
    return None if offset_s is None else timemap.TimeMap(on_voice.scale, offset_s)


def tiled(lines: Lines) -> bool:
    """Do the cues tile their span (each starts within TILE_GAP_S of the previous one's end,
    TILED_SHARE of them or more, as audiobook and read-along captions do)?  Their on/off
    pattern is then one block: it fixes the span, not where the lines lie within it."""
    order = np.argsort(lines.starts_s, kind="stable")
    gaps = lines.starts_s[order][1:] - lines.ends_s[order][:-1]  # (n - 1,)
    return gaps.size >= MIN_REFIT_LINES and float(np.mean(np.abs(gaps) <= TILE_GAP_S)) >= TILED_SHARE


def _heard_anchors(
    lines: Lines, heard: dict[int, Heard], options: SyncOptions, hearing: Hearing | None = None
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(subtitle start, heard start) of the lines whose heard start is evidence (heard with
    confidence, over speech, not at the audio's edge), (n,) each, and their numbers."""
    speech, duration_s = (hearing.speech, hearing.duration_s) if hearing else (None, np.inf)
    index = [
        i
        for i in sorted(heard)
        if heard[i].confidence >= options.min_confidence and is_evidence(heard[i], speech, duration_s)
    ]
    return lines.starts_s[index], np.array([heard[i].start_s for i in index]), index


def _drift_free(sub_s: np.ndarray, span_s: float) -> bool:
    """Do anchors at subtitle times ``sub_s`` (n,) span enough of the searched cues (span_s)
    to refit the drift (MIN_DRIFT_ANCHOR_SHARE)?"""
    return float(sub_s.max() - sub_s.min()) >= MIN_DRIFT_ANCHOR_SHARE * span_s


def searched_cues(lines: Lines, speech: np.ndarray, options: SyncOptions) -> tuple[np.ndarray, np.ndarray]:
    """The spoken cues that timemap.reachable keeps (all of them when it keeps none): what
    the searches match and whose span the drift rules read; the others fall outside the
    media, mapped."""
    starts_s, ends_s = spoken_cues(lines)
    keep = timemap.reachable(starts_s, speech.size * ACTIVITY_FRAME_S, options.max_offset_s)
    return (starts_s[keep], ends_s[keep]) if keep.any() else (starts_s, ends_s)


def spoken_cues(lines: Lines) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the cues with words to hear (all cues when none has)."""
    spoken = np.array([bool(text) for text in lines.texts], dtype=bool)
    if not spoken.any():
        return lines.starts_s, lines.ends_s
    return lines.starts_s[spoken], lines.ends_s[spoken]
