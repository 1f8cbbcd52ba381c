"""Maps from the cues' on/off pattern against the speech activity (pure numpy).

`global_search` finds scale and offset like ffsubsync: the cues, rasterized on the
ACTIVITY_FRAME_S grid after scaling, are cross-correlated (FFT) with the speech activity
for every candidate framerate ratio; the best scale is then refined continuously from
per-chunk offsets.  `candidate_maps` ranks the best few and says how decisive the best
is; `find_cuts` splits a map into pieces where chunks of cues match at other offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activity import ACTIVITY_FRAME_S, ACTIVITY_FRAMES_PER_S, cue_activity
from .anchors import fit_anchors
from .timemap import COMMON_SCALES, FRAMERATE_RATIOS, Cut, TimeMap

# ---------------------------------------------------------------- global search

MAX_REFINE_FRACTION = 0.005  # continuous scale refinement: within +-0.5 % of the best ratio
REFINE_CHUNK_S = 120.0  # refinement splits the subtitle span into chunks of about this length
MIN_REFINE_CHUNKS = 4
MAX_REFINE_CHUNKS = 32
MIN_CHUNK_CUES = 3
CHUNK_SEARCH_MARGIN_S = 2.0  # chunk offsets are searched within drift + this of the global offset
VERIFY_RADIUS_S = 1.0  # a refined map is re-correlated within this of its offset
REFINE_ROUNDS = 2
MIN_REFINE_DRIFT_S = 0.06  # a refined scale must move the span's ends by at least this ...
MIN_REFINE_GAIN = 0.002  # ... and raise the full correlation by this fraction
RUNNER_UP_EXCLUSION_S = 1.0  # "clearly different" offsets are at least this far from the best
FLAT_SCORE = 1e-6  # scores this close (relative) are equal: float rounding
UNIT_SCALE_PREFERENCE = 0.05  # another ratio must beat scale 1.0 by this fraction of its score


@dataclass(frozen=True)
class GlobalMatch:
    time_map: TimeMap
    score: float  # normalized correlation of the best match, comparable across scales
    runner_up: float  # best score among clearly different offsets (for confidence)


@dataclass(frozen=True)
class _Peak:
    offset_s: float
    score: float
    runner_up: float


class _Reference:
    """Zero-mean speech activity (or a slice of it) and its spectrum, ready to correlate.

    centred: (n,) activity minus the film's mean; start_frame: media frame of
    element 0; rms: the whole film's RMS of `centred` (the same for slices); lags: the
    lowest and highest lag (media frames) `lag_scores` will be asked for (None: any),
    so that the FFT is only as long as those lags need.
    """

    def __init__(
        self, centred: np.ndarray, start_frame: int, max_raster: int, rms: float, lags: tuple[int, int] | None = None
    ) -> None:
        self.centred = centred  # (n,) float64
        self.start_frame = start_frame
        self.rms = rms
        self.max_raster = max_raster
        self.lags = lags
        local = None if lags is None else (lags[0] - start_frame, lags[1] - start_frame)
        self.n_fft = _fast_length(_correlation_length(centred.size, max_raster, local))
        self.spectrum = np.fft.rfft(centred, self.n_fft)  # (n_fft // 2 + 1,)

    def lag_scores(self, raster: np.ndarray, lags: np.ndarray) -> np.ndarray:
        """Normalized correlation for raster[k] ~ media frame k + lag; (n_lags,).

        The sum of centred products over the overlap, divided by what a perfect
        match of that raster would give (its norm times the film's RMS times
        sqrt(raster length)).  Scores of different scales are comparable, and
        an offset that leaves part of the raster outside the film loses the
        missing part, so partial overlaps are penalized as in ffsubsync.
        """
        if self.lags is not None:  # (the FFT is only as long as what it was built for needs)
            if lags.size and (lags.min() < self.lags[0] or lags.max() > self.lags[1]):
                raise ValueError(f"lags {lags.min()}..{lags.max()} outside the {self.lags} it was built for")
            if raster.size > self.max_raster:
                raise ValueError(f"a raster of {raster.size} frames, longer than the {self.max_raster} built for")
        raster_norm = float(np.linalg.norm(raster))
        if raster_norm <= 1e-6 * np.sqrt(raster.size) or self.rms <= 0:
            return np.zeros(lags.size)  # a flat raster carries no timing
        product = np.fft.rfft(raster, self.n_fft)  # (n_fft // 2 + 1,) complex
        np.conj(product, out=product)
        product *= self.spectrum  # (in place: one spectrum less)
        correlation = np.fft.irfft(product, self.n_fft)  # (n_fft,) circular, no wrap at the lags asked
        del product
        local = lags - self.start_frame  # (n_lags,) into self.centred
        overlaps = (local + raster.size > 0) & (local < self.centred.size)
        numerator = np.where(overlaps, correlation[np.mod(local, self.n_fft)], 0.0)
        return numerator / (raster_norm * self.rms * np.sqrt(raster.size))


def global_search(
    speech: np.ndarray, starts_s, ends_s, max_offset_s: float = 600.0, scales=FRAMERATE_RATIOS
) -> GlobalMatch:
    """Best map media = scale * subtitle + offset from speech activity and cue times.

    speech: (n_frames,) activity on the ACTIVITY_FRAME_S grid (see activity.speech_activity).
    starts_s, ends_s: (n_cues,) subtitle cue times.  |offset| <= max_offset_s.
    Returns the identity with score 0 when there is nothing to correlate.
    """
    return _search(speech, starts_s, ends_s, max_offset_s, scales)[0]


def offset_at(speech: np.ndarray, starts_s, ends_s, scale: float, low_s: float, high_s: float) -> float | None:
    """The offset (seconds, within [low_s, high_s]) at which the cues' on/off pattern at
    a fixed ``scale`` best matches ``speech``: the speech pattern's own offset for a scale
    found another way.  None when there is nothing to correlate, or when the best match
    in the window is at its edge (the pattern prefers an offset outside it, or is flat, as
    one cue longer than its speech is: it says nothing of where in the window)."""
    speech = np.asarray(speech, dtype=np.float64).reshape(-1)  # (n_frames,)
    starts, ends = _valid_cues(starts_s, ends_s)  # (n_cues,) each
    if starts.size == 0 or speech.size == 0 or np.ptp(speech) == 0 or high_s < low_s:
        return None
    centred = speech - speech.mean()  # (n_frames,)
    reach_s = max(abs(low_s), abs(high_s)) + ACTIVITY_FRAME_S
    lags = _lag_bounds(starts, scale, scale, reach_s)
    reference = _Reference(centred, 0, _raster_length(starts, ends, scale), float(np.sqrt(np.mean(centred**2))), lags)
    offsets, scores = _scale_scores(reference, starts, ends, scale, reach_s)
    offsets_s = offsets * ACTIVITY_FRAME_S
    inside = (offsets_s >= low_s - 1e-9) & (offsets_s <= high_s + 1e-9)
    allowed = np.flatnonzero(inside)
    if allowed.size < 3 or not np.any(scores[allowed] > 0):
        return None
    best = allowed[np.argmax(scores[allowed])]
    flat = FLAT_SCORE * max(abs(float(scores[best])), 1e-12)  # rounding, not a rise
    if scores[best] - max(scores[allowed[0]], scores[allowed[-1]]) <= flat:
        return None
    return float(np.clip(_peak(offsets, scores, inside).offset_s, low_s, high_s))


def _search(
    speech: np.ndarray, starts_s, ends_s, max_offset_s: float, scales
) -> tuple[GlobalMatch, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """The global match and each scale's (offsets in frames, scores), computed once."""
    speech = np.asarray(speech, dtype=np.float64).reshape(-1)  # (n_frames,)
    starts, ends = _valid_cues(starts_s, ends_s)  # (n_cues,) each
    scales = tuple(float(scale) for scale in scales)
    if starts.size == 0 or speech.size == 0 or np.ptp(speech) == 0 or not scales:
        return GlobalMatch(TimeMap.identity(), 0.0, 0.0), {}
    centred = speech - speech.mean()  # (n_frames,)
    lowest, highest = min(scales) * (1 - 2 * MAX_REFINE_FRACTION), max(scales) * (1 + 2 * MAX_REFINE_FRACTION)
    longest = _raster_length(starts, ends, highest) + 1  # (refinement stays within these scales;
    # +1: a raster's floor-and-ceil length is not monotone in its scale by a frame)
    lags = _lag_bounds(starts, lowest, highest, max_offset_s)
    reference = _Reference(centred, 0, longest, float(np.sqrt(np.mean(centred**2))), lags)
    scores = {scale: _scale_scores(reference, starts, ends, scale, max_offset_s) for scale in scales}
    peaks = {scale: _peak(*scores[scale]) for scale in scales}
    scale = max(peaks, key=lambda candidate: _preference(candidate) * peaks[candidate].score)
    scale, peak = _refine_scale(reference, starts, ends, scale, peaks[scale], max_offset_s)
    match = GlobalMatch(TimeMap(float(scale), float(peak.offset_s)), float(peak.score), float(peak.runner_up))
    return match, scores


PEAKS_PER_SCALE = 3


@dataclass(frozen=True)
class Candidates:
    maps: list[TimeMap]  # best first
    margin: float  # best peak score over the next clearly different one (inf: no other)
    score: float = 0.0  # the best map's normalised correlation (1: the cues are the speech)


def candidate_maps(
    speech: np.ndarray, starts_s, ends_s, max_offset_s: float = 600.0, scales=FRAMERATE_RATIOS, limit: int = 8
) -> Candidates:
    """The most likely maps, best first, for a model to verify.

    Short files correlate with a wrong ratio or offset by chance almost as well as
    with the right one, so the best few peaks of each scale compete: the ``limit``
    best by score (unit scale slightly preferred), plus the two best of each of the
    common scales (no change, 25 <-> 23.976).  The refined global best comes first.
    """
    match, scores = _search(speech, starts_s, ends_s, max_offset_s, scales)
    if not scores:
        return Candidates([match.time_map], 0.0, match.score)
    ranked, common = [], []
    for scale, (offsets, lag_scores) in scores.items():
        for rank, (offset_s, score) in enumerate(_top_peaks(offsets, lag_scores)):
            ranked.append((score * _preference(scale), TimeMap(scale, offset_s)))
            if rank < 2 and any(abs(scale - c) < 1e-9 for c in COMMON_SCALES):
                common.append(TimeMap(scale, offset_s))
    ranked.sort(key=lambda item: -item[0])
    chosen = [match.time_map]
    for candidate in [m for _, m in ranked[:limit]] + common:
        if all(abs(candidate.scale - c.scale) > 1e-9 or abs(candidate.offset_s - c.offset_s) > 0.5 for c in chosen):
            chosen.append(candidate)
    return Candidates(chosen, _margin(ranked, starts_s), match.score)


def _margin(ranked: list[tuple[float, TimeMap]], starts_s) -> float:
    """Best score over the best of the maps that place some cue more than
    RUNNER_UP_EXCLUSION_S elsewhere (a neighbouring ratio that differs by a fraction of a
    second over the file is the same answer, not a rival)."""
    if not ranked or ranked[0][0] <= 0:
        return 0.0
    ends = np.array([np.min(starts_s), np.max(starts_s)], dtype=float)
    best = ranked[0][1]
    rivals = [score for score, m in ranked[1:] if np.max(np.abs(m(ends) - best(ends))) > RUNNER_UP_EXCLUSION_S]
    return float(ranked[0][0] / rivals[0]) if rivals and rivals[0] > 0 else float("inf")


def _top_peaks(offsets: np.ndarray, scores: np.ndarray) -> list[tuple[float, float]]:
    """Up to PEAKS_PER_SCALE (offset_s, score) local maxima, at least a second apart."""
    scores = scores.copy()
    peaks = []
    exclusion = int(RUNNER_UP_EXCLUSION_S * ACTIVITY_FRAMES_PER_S)
    for _ in range(PEAKS_PER_SCALE):
        best = int(np.argmax(scores))
        if not np.isfinite(scores[best]) or scores[best] <= 0:
            break
        peaks.append((float(offsets[best] * ACTIVITY_FRAME_S), float(scores[best])))
        scores[max(0, best - exclusion) : best + exclusion + 1] = -np.inf
    return peaks


def _preference(scale: float) -> float:
    """Tie-break towards no framerate change: short clips often match a wrong ratio by chance."""
    return 1.0 + UNIT_SCALE_PREFERENCE if abs(scale - 1.0) < 1e-12 else 1.0


def _valid_cues(starts_s, ends_s) -> tuple[np.ndarray, np.ndarray]:
    starts = np.asarray(starts_s, dtype=np.float64).reshape(-1)
    ends = np.asarray(ends_s, dtype=np.float64).reshape(-1)
    keep = np.isfinite(starts) & np.isfinite(ends) & (ends > starts)
    return starts[keep], ends[keep]


def _raster_length(starts: np.ndarray, ends: np.ndarray, scale: float) -> int:
    """Frames from the raster base to just past the last (scaled) cue end."""
    return int(np.ceil(scale * ends.max() * ACTIVITY_FRAMES_PER_S)) - _raster_base(starts, scale) + 1


def _lag_bounds(starts: np.ndarray, low_scale: float, high_scale: float, max_offset_s: float) -> tuple[int, int]:
    """The lowest and highest lag (media frames) `_scale_scores` asks for at scales within
    [low_scale, high_scale] and offsets within +-max_offset_s."""
    limit = int(np.floor(max_offset_s * ACTIVITY_FRAMES_PER_S))
    bases = (_raster_base(starts, low_scale), _raster_base(starts, high_scale))
    return min(bases) - limit, max(bases) + limit


def _correlation_length(n_media: int, n_raster: int, lags: tuple[int, int] | None) -> int:
    """The shortest circular correlation that equals the linear one at local ``lags``.

    The linear correlation of a raster with the media is non-zero at lags from
    -(n_raster - 1) to n_media - 1; one of length n adds to each lag k its values at
    k +- n, which stay outside that support for every lag asked when n >= n_media - lowest
    and n >= highest + n_raster (and n holds both signals).  None: every lag (the linear
    length)."""
    linear = n_media + n_raster - 1
    if lags is None:
        return linear
    return min(linear, max(n_media, n_raster, n_media - lags[0], lags[1] + n_raster))


def _raster_base(starts: np.ndarray, scale: float) -> int:
    """Frame index (on the scaled subtitle clock) of raster element 0."""
    return int(np.floor(scale * starts.min() * ACTIVITY_FRAMES_PER_S))


def _centred_raster(starts: np.ndarray, ends: np.ndarray, scale: float, base: int, length: int) -> np.ndarray:
    """Zero-mean cue raster on the scaled subtitle clock from frame `base`; (length,)."""
    origin_s = base * ACTIVITY_FRAME_S
    raster = cue_activity(scale * starts - origin_s, scale * ends - origin_s, length).astype(np.float64)
    return raster - raster.mean()


def _search_scale(
    reference: _Reference,
    starts: np.ndarray,
    ends: np.ndarray,
    scale: float,
    max_offset_s: float,
    centre_s: float | None = None,
) -> _Peak:
    """Best offset for one scale within +-max_offset_s (within VERIFY_RADIUS_S of centre_s if given)."""
    offsets, scores = _scale_scores(reference, starts, ends, scale, max_offset_s)
    allowed = None
    if centre_s is not None:
        allowed = np.abs(offsets * ACTIVITY_FRAME_S - centre_s) <= VERIFY_RADIUS_S
    return _peak(offsets, scores, allowed)


def _scale_scores(
    reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float, max_offset_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(offsets in frames, correlation scores), each (n_offsets,), of one scale over +-max_offset_s."""
    limit = int(np.floor(max_offset_s * ACTIVITY_FRAMES_PER_S))
    offsets = np.arange(-limit, limit + 1)
    base = _raster_base(starts, scale)
    raster = _centred_raster(starts, ends, scale, base, _raster_length(starts, ends, scale))
    return offsets, reference.lag_scores(raster, offsets + base)


def _peak(offsets: np.ndarray, scores: np.ndarray, allowed: np.ndarray | None = None) -> _Peak:
    """Sub-frame peak (parabolic) among `allowed` offsets, and the best score at clearly different ones."""
    if allowed is None or not allowed.any():
        best = int(np.argmax(scores))
    else:
        best = int(np.flatnonzero(allowed)[np.argmax(scores[allowed])])
    shift = 0.0
    if 0 < best < scores.size - 1:
        left, centre, right = scores[best - 1 : best + 2]
        curvature = left - 2 * centre + right
        if curvature < 0:
            shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    far = np.abs(offsets - offsets[best]) > RUNNER_UP_EXCLUSION_S * ACTIVITY_FRAMES_PER_S
    runner_up = float(scores[far].max()) if far.any() else 0.0
    return _Peak((offsets[best] + shift) * ACTIVITY_FRAME_S, float(scores[best]), runner_up)


def _fast_length(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast for pocketfft)."""
    best = 1 << max(0, (n - 1).bit_length())  # the power of two always works
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < n:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


# ---------------------------------------------------------------- continuous scale refinement


def _refine_scale(
    reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float, peak: _Peak, max_offset_s: float
) -> tuple[float, _Peak]:
    """Refine a framerate ratio continuously (within +-0.5 %) from per-chunk offsets.

    Each chunk of cues is correlated on its own at the current scale; a robust
    line through the chunk offsets gives the drift.  A refined map is kept only
    if the full correlation confirms it.
    """
    best_scale, best_peak = scale, peak
    span_s = ends.max() - starts.min()
    for _ in range(REFINE_ROUNDS):
        candidate = _chunk_fit(reference, starts, ends, best_scale, best_peak.offset_s)
        if candidate is None or abs(candidate.scale / scale - 1) > MAX_REFINE_FRACTION * 1.2:
            break
        if abs(candidate.scale - best_scale) * span_s < MIN_REFINE_DRIFT_S:
            break  # within the noise of the chunk offsets: keep the (standard) scale
        checked = _search_scale(reference, starts, ends, candidate.scale, max_offset_s, candidate.offset_s)
        if checked.score <= best_peak.score * (1 + MIN_REFINE_GAIN):
            break
        best_scale, best_peak = candidate.scale, checked
    return best_scale, best_peak


def _chunk_fit(
    reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float, offset_s: float
) -> TimeMap | None:
    """Fit a map through the best offsets of time chunks of the cues (at `scale`); None if too few."""
    span_s = ends.max() - starts.min()
    n_chunks = int(np.clip(round(span_s / REFINE_CHUNK_S), MIN_REFINE_CHUNKS, MAX_REFINE_CHUNKS))
    edges = np.linspace(starts.min(), ends.max(), n_chunks + 1)
    chunk_of = np.clip(np.searchsorted(edges, starts, side="right") - 1, 0, n_chunks - 1)
    radius_s = MAX_REFINE_FRACTION * scale * span_s + CHUNK_SEARCH_MARGIN_S
    sub_s, media_s, weights = [], [], []
    for chunk in range(n_chunks):
        members = chunk_of == chunk
        if members.sum() < MIN_CHUNK_CUES:
            continue
        found = _chunk_offset(reference, starts[members], ends[members], scale, offset_s, radius_s)
        if found is None or found.score <= 0:
            continue
        centre = float(np.mean((starts[members] + ends[members]) / 2))
        sub_s.append(centre)
        media_s.append(scale * centre + found.offset_s)
        weights.append(found.score)
    if len(sub_s) < MIN_REFINE_CHUNKS // 2 + 1:
        return None
    return fit_anchors(
        np.array(sub_s),
        np.array(media_s),
        np.array(weights),
        prior=TimeMap(scale, offset_s),
        max_residual_s=CHUNK_SEARCH_MARGIN_S / 4,
    )


def _chunk_offset(
    film: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float, offset_s: float, radius_s: float
) -> _Peak | None:
    """Best offset of one chunk of cues within radius_s of offset_s, on a slice of the film."""
    base = _raster_base(starts, scale)
    length = _raster_length(starts, ends, scale)
    raster = _centred_raster(starts, ends, scale, base, length)
    centre = int(round(offset_s * ACTIVITY_FRAMES_PER_S))
    radius = int(np.ceil(radius_s * ACTIVITY_FRAMES_PER_S))
    first = max(0, base + centre - radius)
    stop = min(film.centred.size, base + centre + radius + length)
    if stop - first <= 0:
        return None
    reference = _Reference(film.centred[first:stop], first, length, film.rms)
    offsets = np.arange(centre - radius, centre + radius + 1)
    return _peak(offsets, reference.lag_scores(raster, offsets + base))


# ---------------------------------------------------------------- cuts: a piecewise map

CUT_CHUNK_S = 40.0  # cues are grouped into chunks of about this much subtitle time
MIN_CUT_CHUNK_CUES = 3  # (chunks with fewer cues join their neighbour)
CUT_BIN_S = 0.25  # chunk offsets are compared on this grid; a step of one bin is free
CUT_PENALTY = 1.5  # a cut must raise the chunks' summed correlation by this much
MIN_CUT_S = 1.5  # pieces whose offsets differ by less than this are one piece
CUT_REFINE_RADIUS_S = 0.5  # a piece's offset is refined within this of its grid offset


def find_cuts(
    speech: np.ndarray, starts_s, ends_s, base: TimeMap, max_offset_s: float = 600.0, penalty: float = CUT_PENALTY
) -> TimeMap:
    """``base`` with cuts where the subtitle's edit parts from the media's.

    The cues are grouped into chunks of about CUT_CHUNK_S; each chunk is correlated
    with the speech at every offset within +-max_offset_s of ``base`` (at its scale).
    The best path of offsets through the chunks (Viterbi) may step one CUT_BIN_S bin
    per chunk for free and jump anywhere for ``penalty``, in units of a chunk's
    normalised correlation: a clean file's chunks agree, and no chance peak of a
    chunk or two pays for leaving and coming back.  Each jump becomes a cut, placed at
    the cue where the two pieces' offsets explain the speech best.  Returns ``base``
    itself when no cut pays.
    """
    speech = np.asarray(speech, dtype=np.float64).reshape(-1)  # (n_frames,)
    starts, ends = _valid_cues(starts_s, ends_s)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]  # (n_cues,) each
    chunks = _cut_chunks(starts, ends)
    if len(chunks) < 2 or speech.size == 0 or np.ptp(speech) == 0:
        return base
    centred = speech - speech.mean()
    film = _Reference(centred, 0, 1, float(np.sqrt(np.mean(centred**2))))
    n_bins = int(np.floor(max_offset_s / CUT_BIN_S))
    grid_s = base.offset_s + CUT_BIN_S * np.arange(-n_bins, n_bins + 1)  # (n_offsets,)
    scores = np.stack([_binned_scores(film, starts[c], ends[c], base.scale, grid_s) for c in chunks])
    path = _best_path(scores, penalty)  # (n_chunks,) grid index
    pieces = _pieces(path, grid_s)
    if len(pieces) < 2:
        return base
    offsets = [
        _piece_offset(film, starts, ends, chunks, first, stop, base.scale, grid_s[path[first]])
        for first, stop in pieces
    ]
    cut_cues = [
        _cut_cue(centred, starts, ends, base.scale, chunks, pieces[k - 1], pieces[k], offsets[k - 1], offsets[k])
        for k in range(1, len(pieces))
    ]
    cuts = tuple(Cut(float(starts[cue]), offset) for cue, offset in zip(cut_cues, offsets[1:]))
    return TimeMap(base.scale, offsets[0], cuts)


def _cut_chunks(starts: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    """Index arrays of consecutive cues, about CUT_CHUNK_S of subtitle time each, with at
    least MIN_CUT_CHUNK_CUES cues (a short tail joins the chunk before it)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in range(starts.size):
        if current and starts[i] - starts[current[0]] >= CUT_CHUNK_S and len(current) >= MIN_CUT_CHUNK_CUES:
            chunks.append(current)
            current = []
        current.append(i)
    if current:
        if chunks and len(current) < MIN_CUT_CHUNK_CUES:
            chunks[-1].extend(current)
        else:
            chunks.append(current)
    return [np.array(chunk) for chunk in chunks]


def _binned_scores(
    film: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float, grid_s: np.ndarray
) -> np.ndarray:
    """A chunk's best normalised correlation within each CUT_BIN_S bin of offsets; (n_grid,)."""
    base = _raster_base(starts, scale)
    length = _raster_length(starts, ends, scale)
    raster = _centred_raster(starts, ends, scale, base, length)
    half = int(round(CUT_BIN_S * ACTIVITY_FRAMES_PER_S / 2))
    lowest = int(np.floor(grid_s[0] * ACTIVITY_FRAMES_PER_S)) - half
    highest = int(np.ceil(grid_s[-1] * ACTIVITY_FRAMES_PER_S)) + half
    first = max(0, base + lowest)
    stop = min(film.centred.size, base + highest + length)
    if stop - first <= 0:
        return np.zeros(grid_s.size)
    piece = _Reference(film.centred[first:stop], first, length, film.rms)
    offsets = np.arange(lowest, highest + 1)  # frames
    frame_scores = piece.lag_scores(raster, offsets + base)
    centres = np.round(grid_s * ACTIVITY_FRAMES_PER_S).astype(int) - lowest  # (n_grid,) into offsets
    window = np.clip(centres[:, None] + np.arange(-half, half + 1)[None, :], 0, offsets.size - 1)
    return frame_scores[window].max(axis=1)


def _best_path(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Viterbi over (n_chunks, n_grid) scores: a step of one bin is free, a jump costs ``penalty``."""
    n_chunks, n_grid = scores.shape
    total = scores[0].copy()
    back = np.zeros((n_chunks, n_grid), dtype=np.int64)
    for c in range(1, n_chunks):
        padded = np.concatenate([[-np.inf], total, [-np.inf]])
        neighbours = np.stack([padded[:-2], padded[1:-1], padded[2:]])  # (3, n_grid)
        step = np.argmax(neighbours, axis=0)
        stay = neighbours[step, np.arange(n_grid)]
        jump_from = int(np.argmax(total))
        jump = total[jump_from] - penalty
        back[c] = np.where(stay >= jump, np.arange(n_grid) + step - 1, jump_from)
        total = scores[c] + np.maximum(stay, jump)
    path = np.empty(n_chunks, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for c in range(n_chunks - 1, 0, -1):
        path[c - 1] = back[c, path[c]]
    return path


def _pieces(path: np.ndarray, grid_s: np.ndarray) -> list[tuple[int, int]]:
    """(first chunk, stop chunk) of each run of the path without a jump of MIN_CUT_S."""
    pieces, first = [], 0
    for c in range(1, path.size):
        if abs(grid_s[path[c]] - grid_s[path[c - 1]]) >= MIN_CUT_S:
            pieces.append((first, c))
            first = c
    pieces.append((first, path.size))
    return pieces


def _piece_offset(
    film: _Reference,
    starts: np.ndarray,
    ends: np.ndarray,
    chunks: list[np.ndarray],
    first: int,
    stop: int,
    scale: float,
    near_s: float,
) -> float:
    """The offset of a piece's cues, refined near its grid offset."""
    members = np.concatenate(chunks[first:stop])
    found = _chunk_offset(film, starts[members], ends[members], scale, near_s, CUT_REFINE_RADIUS_S)
    return float(found.offset_s) if found is not None else float(near_s)


def _cut_cue(
    centred: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    scale: float,
    chunks: list[np.ndarray],
    before: tuple[int, int],
    after: tuple[int, int],
    offset_before_s: float,
    offset_after_s: float,
) -> int:
    """The first cue of the later piece: among the cues of the chunks on either side of the
    jump, the split that lets the two offsets explain the speech under the cues best."""
    cues = np.concatenate([chunks[before[1] - 1], chunks[after[0]]])  # candidates, in order
    cumulative = np.concatenate([[0.0], np.cumsum(centred)])

    def explained(offset_s: float) -> np.ndarray:  # (n_candidates,)
        first = np.clip(np.round((scale * starts[cues] + offset_s) * ACTIVITY_FRAMES_PER_S), 0, centred.size)
        stop = np.clip(np.round((scale * ends[cues] + offset_s) * ACTIVITY_FRAMES_PER_S), 0, centred.size)
        return cumulative[stop.astype(int)] - cumulative[first.astype(int)]

    early, late = explained(offset_before_s), explained(offset_after_s)
    # split k = 1..n-1: cues[:k] take the earlier offset, cues[k:] the later
    totals = np.cumsum(early)[:-1] + np.cumsum(late[::-1])[::-1][1:]  # (n_candidates - 1,)
    return int(cues[1 + int(np.argmax(totals))])
