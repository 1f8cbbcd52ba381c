"""The global map from subtitle time to media time (pure numpy).

`global_search` finds scale and offset like ffsubsync: the cues, rasterized on
the ACTIVITY_FRAME_S grid after scaling, are cross-correlated (FFT) with the speech
activity for every candidate framerate ratio; the best scale is then refined
continuously from per-chunk offsets.  `fit_anchors` robustly fits the same
kind of map to (subtitle time, media time) pairs from the per-line aligner, and `refine`
moves a map (cuts included) onto such anchors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from itertools import permutations

import numpy as np

from .activity import ACTIVITY_FRAME_S, ACTIVITY_FRAMES_PER_S, cue_activity

# ---------------------------------------------------------------- the map


@dataclass(frozen=True)
class Cut:
    """Where the subtitle's edit and the media's part: from subtitle time ``at_s`` on,
    media_s = scale * subtitle_s + ``offset_s`` (a new offset, same scale)."""

    at_s: float
    offset_s: float


@dataclass(frozen=True)
class TimeMap:
    scale: float       # media_s = scale * subtitle_s + offset_s (before the first cut)
    offset_s: float
    cuts: tuple[Cut, ...] = ()   # later pieces of the map, in subtitle-time order

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "offset_s", float(self.offset_s))
        object.__setattr__(self, "cuts", tuple(sorted(self.cuts, key=lambda cut: cut.at_s)))
        offsets = [self.offset_s, *(cut.offset_s for cut in self.cuts)]
        if not (np.isfinite(self.scale) and self.scale > 0 and np.all(np.isfinite(offsets))):
            raise ValueError(f"invalid time map: scale={self.scale}, offsets={offsets}")

    @classmethod
    def identity(cls) -> TimeMap:
        return cls(1.0, 0.0)

    def __call__(self, t_s, at_s=None):
        """Subtitle time(s) -> media time(s); float for a scalar, ndarray for an array.

        ``at_s`` (same shape) picks the piece by another time: a cue's end is mapped
        with the piece of its start, so a cue never straddles a cut."""
        t = np.asarray(t_s, dtype=np.float64)
        mapped = self.scale * t + self.offsets_at(t if at_s is None else at_s)
        return float(mapped) if np.ndim(mapped) == 0 else mapped

    def offsets_at(self, t_s) -> np.ndarray:
        """The offset of the piece each subtitle time falls in."""
        t = np.asarray(t_s, dtype=np.float64)
        offsets = np.full(t.shape, self.offset_s)
        for cut in self.cuts:
            offsets[t >= cut.at_s] = cut.offset_s
        return offsets

    def inverse(self, t_s):
        """Media time(s) -> subtitle time(s) (a map without cuts)."""
        if self.cuts:
            raise ValueError("a map with cuts has no single inverse")
        mapped = (np.asarray(t_s, dtype=np.float64) - self.offset_s) / self.scale
        return float(mapped) if np.ndim(mapped) == 0 else mapped

    def without_cuts(self) -> TimeMap:
        return TimeMap(self.scale, self.offset_s)

    def shifted(self, scale: float, delta_s: float) -> TimeMap:
        """The same pieces at ``scale``, every offset moved by ``delta_s``."""
        return TimeMap(scale, self.offset_s + delta_s,
                       tuple(Cut(c.at_s, c.offset_s + delta_s) for c in self.cuts))


# ---------------------------------------------------------------- framerate ratios

FRAMERATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30))


def _framerate_ratios() -> tuple[float, ...]:
    """1.0 and every ratio between two common framerates, both directions, exact de-duplication."""
    ratios = {Fraction(1)} | {a / b for a, b in permutations(FRAMERATES, 2)}
    return tuple(float(ratio) for ratio in sorted(ratios, key=lambda r: (abs(r - 1), r)))


FRAMERATE_RATIOS: tuple[float, ...] = _framerate_ratios()


# ---------------------------------------------------------------- global search

MAX_REFINE_FRACTION = 0.005     # continuous scale refinement: within +-0.5 % of the best ratio
REFINE_CHUNK_S = 120.0          # refinement splits the subtitle span into chunks of about this length
MIN_REFINE_CHUNKS = 4
MAX_REFINE_CHUNKS = 32
MIN_CHUNK_CUES = 3
CHUNK_SEARCH_MARGIN_S = 2.0     # chunk offsets are searched within drift + this of the global offset
VERIFY_RADIUS_S = 1.0           # a refined map is re-correlated within this of its offset
REFINE_ROUNDS = 2
MIN_REFINE_DRIFT_S = 0.06       # a refined scale must move the span's ends by at least this ...
MIN_REFINE_GAIN = 0.002         # ... and raise the full correlation by this fraction
RUNNER_UP_EXCLUSION_S = 1.0     # "clearly different" offsets are at least this far from the best
UNIT_SCALE_PREFERENCE = 0.05    # another ratio must beat scale 1.0 by this fraction of its score


@dataclass(frozen=True)
class GlobalMatch:
    time_map: TimeMap
    score: float          # normalized correlation of the best match, comparable across scales
    runner_up: float      # best score among clearly different offsets (for confidence)


@dataclass(frozen=True)
class _Peak:
    offset_s: float
    score: float
    runner_up: float


class _Reference:
    """Zero-mean speech activity (or a slice of it) and its spectrum, ready to correlate.

    centred: (n,) activity minus the film's mean; start_frame: media frame of
    element 0; rms: the whole film's RMS of `centred` (the same for slices).
    """

    def __init__(self, centred: np.ndarray, start_frame: int, max_raster: int, rms: float) -> None:
        self.centred = centred                                         # (n,) float64
        self.start_frame = start_frame
        self.rms = rms
        self.n_fft = _fast_length(centred.size + max_raster - 1)
        self.spectrum = np.fft.rfft(centred, self.n_fft)               # (n_fft // 2 + 1,)

    def lag_scores(self, raster: np.ndarray, lags: np.ndarray) -> np.ndarray:
        """Normalized correlation for raster[k] ~ media frame k + lag; (n_lags,).

        The sum of centred products over the overlap, divided by what a perfect
        match of that raster would give (its norm times the film's RMS times
        sqrt(raster length)).  Scores of different scales are comparable, and
        an offset that leaves part of the raster outside the film loses the
        missing part, so partial overlaps are penalized as in ffsubsync.
        """
        raster_norm = float(np.linalg.norm(raster))
        if raster_norm <= 1e-6 * np.sqrt(raster.size) or self.rms <= 0:
            return np.zeros(lags.size)                                 # a flat raster carries no timing
        product = np.fft.rfft(raster, self.n_fft)                      # (n_fft // 2 + 1,) complex
        np.conj(product, out=product)
        product *= self.spectrum                                       # (in place: one spectrum less)
        correlation = np.fft.irfft(product, self.n_fft)                # (n_fft,) circular, no wrap
        del product
        local = lags - self.start_frame                                # (n_lags,) into self.centred
        overlaps = (local + raster.size > 0) & (local < self.centred.size)
        numerator = np.where(overlaps, correlation[np.mod(local, self.n_fft)], 0.0)
        return numerator / (raster_norm * self.rms * np.sqrt(raster.size))


def global_search(speech: np.ndarray, starts_s, ends_s, max_offset_s: float = 600.0,
                  scales=FRAMERATE_RATIOS) -> GlobalMatch:
    """Best map media = scale * subtitle + offset from speech activity and cue times.

    speech: (n_frames,) activity on the ACTIVITY_FRAME_S grid (see activity.speech_activity).
    starts_s, ends_s: (n_cues,) subtitle cue times.  |offset| <= max_offset_s.
    Returns the identity with score 0 when there is nothing to correlate.
    """
    return _search(speech, starts_s, ends_s, max_offset_s, scales)[0]


def _search(speech: np.ndarray, starts_s, ends_s, max_offset_s: float,
            scales) -> tuple[GlobalMatch, dict[float, tuple[np.ndarray, np.ndarray]]]:
    """The global match and each scale's (offsets in frames, scores), computed once."""
    speech = np.asarray(speech, dtype=np.float64).reshape(-1)              # (n_frames,)
    starts, ends = _valid_cues(starts_s, ends_s)                            # (n_cues,) each
    scales = tuple(float(scale) for scale in scales)
    if starts.size == 0 or speech.size == 0 or np.ptp(speech) == 0 or not scales:
        return GlobalMatch(TimeMap.identity(), 0.0, 0.0), {}
    centred = speech - speech.mean()                                        # (n_frames,)
    longest = _raster_length(starts, ends, max(scales) * (1 + 2 * MAX_REFINE_FRACTION))
    reference = _Reference(centred, 0, longest, float(np.sqrt(np.mean(centred**2))))
    scores = {scale: _scale_scores(reference, starts, ends, scale, max_offset_s) for scale in scales}
    peaks = {scale: _peak(*scores[scale]) for scale in scales}
    scale = max(peaks, key=lambda candidate: _preference(candidate) * peaks[candidate].score)
    scale, peak = _refine_scale(reference, starts, ends, scale, peaks[scale], max_offset_s)
    match = GlobalMatch(TimeMap(float(scale), float(peak.offset_s)), float(peak.score), float(peak.runner_up))
    return match, scores


COMMON_SCALES = (1.0, 25 / (24000 / 1001), (24000 / 1001) / 25)   # no change, PAL speed-up both ways
PEAKS_PER_SCALE = 3


@dataclass(frozen=True)
class Candidates:
    maps: list[TimeMap]     # best first
    margin: float           # best peak score over the next clearly different one (inf: no other)
    score: float = 0.0      # the best map's normalised correlation (1: the cues are the speech)


def candidate_maps(speech: np.ndarray, starts_s, ends_s, max_offset_s: float = 600.0,
                   scales=FRAMERATE_RATIOS, limit: int = 8) -> Candidates:
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
        if all(abs(candidate.scale - c.scale) > 1e-9 or abs(candidate.offset_s - c.offset_s) > 0.5
               for c in chosen):
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
    rivals = [score for score, m in ranked[1:]
              if np.max(np.abs(m(ends) - best(ends))) > RUNNER_UP_EXCLUSION_S]
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
        scores[max(0, best - exclusion): best + exclusion + 1] = -np.inf
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


def _raster_base(starts: np.ndarray, scale: float) -> int:
    """Frame index (on the scaled subtitle clock) of raster element 0."""
    return int(np.floor(scale * starts.min() * ACTIVITY_FRAMES_PER_S))


def _centred_raster(starts: np.ndarray, ends: np.ndarray, scale: float, base: int,
                    length: int) -> np.ndarray:
    """Zero-mean cue raster on the scaled subtitle clock from frame `base`; (length,)."""
    origin_s = base * ACTIVITY_FRAME_S
    raster = cue_activity(scale * starts - origin_s, scale * ends - origin_s, length).astype(np.float64)
    return raster - raster.mean()


def _search_scale(reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float,
                  max_offset_s: float, centre_s: float | None = None) -> _Peak:
    """Best offset for one scale within +-max_offset_s (within VERIFY_RADIUS_S of centre_s if given)."""
    offsets, scores = _scale_scores(reference, starts, ends, scale, max_offset_s)
    allowed = None
    if centre_s is not None:
        allowed = np.abs(offsets * ACTIVITY_FRAME_S - centre_s) <= VERIFY_RADIUS_S
    return _peak(offsets, scores, allowed)


def _scale_scores(reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float,
                  max_offset_s: float) -> tuple[np.ndarray, np.ndarray]:
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
        left, centre, right = scores[best - 1:best + 2]
        curvature = left - 2 * centre + right
        if curvature < 0:
            shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    far = np.abs(offsets - offsets[best]) > RUNNER_UP_EXCLUSION_S * ACTIVITY_FRAMES_PER_S
    runner_up = float(scores[far].max()) if far.any() else 0.0
    return _Peak((offsets[best] + shift) * ACTIVITY_FRAME_S, float(scores[best]), runner_up)


def _fast_length(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast for pocketfft)."""
    best = 1 << max(0, (n - 1).bit_length())                # the power of two always works
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

def _refine_scale(reference: _Reference, starts: np.ndarray, ends: np.ndarray,
                  scale: float, peak: _Peak, max_offset_s: float) -> tuple[float, _Peak]:
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
            break   # within the noise of the chunk offsets: keep the (standard) scale
        checked = _search_scale(reference, starts, ends, candidate.scale, max_offset_s, candidate.offset_s)
        if checked.score <= best_peak.score * (1 + MIN_REFINE_GAIN):
            break
        best_scale, best_peak = candidate.scale, checked
    return best_scale, best_peak


def _chunk_fit(reference: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float,
               offset_s: float) -> TimeMap | None:
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
    return fit_anchors(np.array(sub_s), np.array(media_s), np.array(weights),
                       prior=TimeMap(scale, offset_s), max_residual_s=CHUNK_SEARCH_MARGIN_S / 4)


def _chunk_offset(film: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float,
                  offset_s: float, radius_s: float) -> _Peak | None:
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

CUT_CHUNK_S = 40.0          # cues are grouped into chunks of about this much subtitle time
MIN_CUT_CHUNK_CUES = 3      # (chunks with fewer cues join their neighbour)
CUT_BIN_S = 0.25            # chunk offsets are compared on this grid; a step of one bin is free
CUT_PENALTY = 1.5           # a cut must raise the chunks' summed correlation by this much
MIN_CUT_S = 1.5             # pieces whose offsets differ by less than this are one piece
CUT_REFINE_RADIUS_S = 0.5   # a piece's offset is refined within this of its grid offset


def find_cuts(speech: np.ndarray, starts_s, ends_s, base: TimeMap, max_offset_s: float = 600.0,
              penalty: float = CUT_PENALTY) -> TimeMap:
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
    speech = np.asarray(speech, dtype=np.float64).reshape(-1)              # (n_frames,)
    starts, ends = _valid_cues(starts_s, ends_s)
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], ends[order]                              # (n_cues,) each
    chunks = _cut_chunks(starts, ends)
    if len(chunks) < 2 or speech.size == 0 or np.ptp(speech) == 0:
        return base
    centred = speech - speech.mean()
    film = _Reference(centred, 0, 1, float(np.sqrt(np.mean(centred ** 2))))
    n_bins = int(np.floor(max_offset_s / CUT_BIN_S))
    grid_s = base.offset_s + CUT_BIN_S * np.arange(-n_bins, n_bins + 1)     # (n_offsets,)
    scores = np.stack([_binned_scores(film, starts[c], ends[c], base.scale, grid_s) for c in chunks])
    path = _best_path(scores, penalty)                                     # (n_chunks,) grid index
    pieces = _pieces(path, grid_s)
    if len(pieces) < 2:
        return base
    offsets = [_piece_offset(film, starts, ends, chunks, first, stop, base.scale, grid_s[path[first]])
               for first, stop in pieces]
    cut_cues = [_cut_cue(centred, starts, ends, base.scale, chunks, pieces[k - 1], pieces[k],
                         offsets[k - 1], offsets[k]) for k in range(1, len(pieces))]
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


def _binned_scores(film: _Reference, starts: np.ndarray, ends: np.ndarray, scale: float,
                   grid_s: np.ndarray) -> np.ndarray:
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
    offsets = np.arange(lowest, highest + 1)                               # frames
    frame_scores = piece.lag_scores(raster, offsets + base)
    centres = np.round(grid_s * ACTIVITY_FRAMES_PER_S).astype(int) - lowest         # (n_grid,) into offsets
    window = np.clip(centres[:, None] + np.arange(-half, half + 1)[None, :], 0, offsets.size - 1)
    return frame_scores[window].max(axis=1)


def _best_path(scores: np.ndarray, penalty: float) -> np.ndarray:
    """Viterbi over (n_chunks, n_grid) scores: a step of one bin is free, a jump costs ``penalty``."""
    n_chunks, n_grid = scores.shape
    total = scores[0].copy()
    back = np.zeros((n_chunks, n_grid), dtype=np.int64)
    for c in range(1, n_chunks):
        padded = np.concatenate([[-np.inf], total, [-np.inf]])
        neighbours = np.stack([padded[:-2], padded[1:-1], padded[2:]])        # (3, n_grid)
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


def _piece_offset(film: _Reference, starts: np.ndarray, ends: np.ndarray, chunks: list[np.ndarray],
                  first: int, stop: int, scale: float, near_s: float) -> float:
    """The offset of a piece's cues, refined near its grid offset."""
    members = np.concatenate(chunks[first:stop])
    found = _chunk_offset(film, starts[members], ends[members], scale, near_s, CUT_REFINE_RADIUS_S)
    return float(found.offset_s) if found is not None else float(near_s)


def _cut_cue(centred: np.ndarray, starts: np.ndarray, ends: np.ndarray, scale: float,
             chunks: list[np.ndarray], before: tuple[int, int], after: tuple[int, int],
             offset_before_s: float, offset_after_s: float) -> int:
    """The first cue of the later piece: among the cues of the chunks on either side of the
    jump, the split that lets the two offsets explain the speech under the cues best."""
    cues = np.concatenate([chunks[before[1] - 1], chunks[after[0]]])          # candidates, in order
    cumulative = np.concatenate([[0.0], np.cumsum(centred)])

    def explained(offset_s: float) -> np.ndarray:                           # (n_candidates,)
        first = np.clip(np.round((scale * starts[cues] + offset_s) * ACTIVITY_FRAMES_PER_S), 0, centred.size)
        stop = np.clip(np.round((scale * ends[cues] + offset_s) * ACTIVITY_FRAMES_PER_S), 0, centred.size)
        return cumulative[stop.astype(int)] - cumulative[first.astype(int)]

    early, late = explained(offset_before_s), explained(offset_after_s)
    # split k = 1..n-1: cues[:k] take the earlier offset, cues[k:] the later
    totals = np.cumsum(early)[:-1] + np.cumsum(late[::-1])[::-1][1:]      # (n_candidates - 1,)
    return int(cues[1 + int(np.argmax(totals))])


# ---------------------------------------------------------------- robust anchor fit

MIN_ANCHORS_FOR_SCALE = 3
MIN_SPAN_FOR_SCALE_S = 20.0
RANSAC_TRIALS = 300
IRLS_ITERATIONS = 20


def fit_anchors(sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray | None = None,
                prior: TimeMap | None = None, max_residual_s: float = 0.5) -> TimeMap:
    """Robust line media_s ~ scale * sub_s + offset through anchor pairs; (n,) arrays.

    Candidate lines (the prior's scale, Theil-Sen, RANSAC pairs) are ranked by
    the weight of anchors within max_residual_s; the best is polished by
    iteratively reweighted least squares (Tukey weights with cutoff
    max_residual_s, times the given weights).  With fewer than 3 usable anchors
    or a span under 20 s, only the offset is fitted (weighted median) and the
    prior's scale is kept.  No anchors: the prior (or identity) unchanged.
    """
    prior = prior or TimeMap.identity()
    sub, media, weight = _usable_anchors(sub_s, media_s, weights)          # (n,) each
    if sub.size == 0:
        return prior
    if sub.size < MIN_ANCHORS_FOR_SCALE or np.ptp(sub) < MIN_SPAN_FOR_SCALE_S:
        return TimeMap(prior.scale, weighted_median(media - prior.scale * sub, weight))
    lines = _candidate_lines(sub, media, weight, prior)                    # (n_lines, 2)
    scale, offset = lines[np.argmax(_inlier_weight(lines, sub, media, weight, max_residual_s))]
    scale, offset = _irls(sub, media, weight, scale, offset, max_residual_s)
    inliers = np.abs(media - (scale * sub + offset)) <= max_residual_s
    if inliers.sum() < MIN_ANCHORS_FOR_SCALE or np.ptp(sub[inliers]) < MIN_SPAN_FOR_SCALE_S or scale <= 0:
        return TimeMap(prior.scale, weighted_median(media - prior.scale * sub, weight))
    return TimeMap(float(scale), float(offset))


def _usable_anchors(sub_s, media_s, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = np.asarray(sub_s, dtype=np.float64).reshape(-1)
    media = np.asarray(media_s, dtype=np.float64).reshape(-1)
    if sub.shape != media.shape:
        raise ValueError(f"{sub.size} subtitle times but {media.size} media times")
    weight = np.ones_like(sub) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if weight.shape != sub.shape:
        raise ValueError(f"{weight.size} weights for {sub.size} anchors")
    keep = np.isfinite(sub) & np.isfinite(media) & np.isfinite(weight) & (weight > 0)
    return sub[keep], media[keep], weight[keep]


def _candidate_lines(sub: np.ndarray, media: np.ndarray, weight: np.ndarray,
                     prior: TimeMap) -> np.ndarray:
    """(scale, offset) rows: prior scale with median offset, Theil-Sen, and RANSAC pair lines."""
    lines = [(prior.scale, weighted_median(media - prior.scale * sub, weight)),
             _theil_sen(sub, media, weight)]
    rng = np.random.default_rng(0)
    first = rng.choice(sub.size, RANSAC_TRIALS, p=weight / weight.sum())
    second = rng.choice(sub.size, RANSAC_TRIALS, p=weight / weight.sum())
    apart = np.abs(sub[second] - sub[first]) >= MIN_SPAN_FOR_SCALE_S / 4
    first, second = first[apart], second[apart]
    slopes = (media[second] - media[first]) / (sub[second] - sub[first])
    lines += list(zip(slopes, media[first] - slopes * sub[first]))
    lines = np.array(lines, dtype=np.float64)
    return lines[np.isfinite(lines).all(axis=1) & (lines[:, 0] > 0)]


def _theil_sen(sub: np.ndarray, media: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted Theil-Sen line over (a sample of) anchor pairs."""
    n = sub.size
    if n * (n - 1) // 2 > 200_000:
        rng = np.random.default_rng(1)
        i, j = rng.integers(0, n, 200_000), rng.integers(0, n, 200_000)
    else:
        i, j = np.triu_indices(n, k=1)
    dt = sub[j] - sub[i]
    ok = np.abs(dt) > 1e-9
    if not ok.any():
        return 1.0, weighted_median(media - sub, weight)
    slope = weighted_median((media[j] - media[i])[ok] / dt[ok], (weight[i] * weight[j])[ok])
    return slope, weighted_median(media - slope * sub, weight)


def _inlier_weight(lines: np.ndarray, sub: np.ndarray, media: np.ndarray, weight: np.ndarray,
                   max_residual_s: float) -> np.ndarray:
    """Total weight of anchors within max_residual_s of each line; (n_lines,)."""
    residual = media[None, :] - (lines[:, :1] * sub[None, :] + lines[:, 1:])   # (n_lines, n)
    return ((np.abs(residual) <= max_residual_s) * weight[None, :]).sum(axis=1)


def _irls(sub: np.ndarray, media: np.ndarray, weight: np.ndarray, scale: float, offset: float,
          cutoff_s: float) -> tuple[float, float]:
    """Iteratively reweighted least squares with Tukey bisquare weights."""
    for _ in range(IRLS_ITERATIONS):
        residual = media - (scale * sub + offset)
        tukey = np.clip(1 - (residual / cutoff_s) ** 2, 0, None) ** 2
        fitted = _weighted_line(sub, media, weight * tukey)
        if fitted is None:
            break
        change = abs(fitted[0] - scale) * np.ptp(sub) + abs(fitted[1] - offset)
        scale, offset = fitted
        if change < 1e-6:
            break
    return scale, offset


def _weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float] | None:
    total = w.sum()
    if total <= 0 or np.count_nonzero(w) < 2:
        return None
    mx, my = (w * x).sum() / total, (w * y).sum() / total
    sxx = (w * (x - mx) ** 2).sum()
    if sxx <= 1e-12:
        return None
    slope = (w * (x - mx) * (y - my)).sum() / sxx
    return float(slope), float(my - slope * mx)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


# ---------------------------------------------------------------- anchors from heard lines

MIN_RATIO_SPAN_S = 4.0        # anchors spanning less than this only fix the offset
SNAP_DRIFT_S = 0.25           # a fitted scale snaps to a framerate ratio that differs by less than
MIN_SNAP_FRACTION = 0.0005    # this drift over the anchors' span, clipped to these fractions
MAX_SNAP_FRACTION = 0.01
ANCHOR_RESIDUAL_S = 0.5       # anchors farther than this from a map count as outliers


def fit_subtitle_anchors(sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray,
                         prior: TimeMap) -> TimeMap:
    """The map through (subtitle start, heard start) anchors of aligned lines; (n,) arrays.

    Enough anchors over a long enough span: a robust fit (fit_anchors), snapped to a
    standard framerate ratio within the slope's noise.  A short span: the standard ratio
    that explains the anchors clearly best (else the prior's).  Fewer than 3: the offset.
    """
    sub = np.asarray(sub_s, dtype=np.float64)
    media = np.asarray(media_s, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if sub.size >= MIN_ANCHORS_FOR_SCALE and np.ptp(sub) >= MIN_SPAN_FOR_SCALE_S:
        fitted = fit_anchors(sub, media, weights, prior=prior, max_residual_s=ANCHOR_RESIDUAL_S)
        return _snap_to_ratio(fitted, sub, media, weights)
    if sub.size >= MIN_ANCHORS_FOR_SCALE and np.ptp(sub) >= MIN_RATIO_SPAN_S:
        return _best_ratio(prior, sub, media, weights)
    return TimeMap(prior.scale, offset_at(prior.scale, sub, media, weights))


def offset_at(scale: float, sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray) -> float:
    """The weighted-median offset of anchors at a given scale."""
    return weighted_median(media_s - scale * sub_s, weights)


def _spread(time_map: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> float:
    """Weighted median distance of anchors from the map (capped per anchor)."""
    return weighted_median(np.minimum(np.abs(media - time_map(sub)), ANCHOR_RESIDUAL_S), weights)


def _best_ratio(prior: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> TimeMap:
    """Anchors spanning too little time for a fitted slope: choose among the standard
    ratios (the prior's scale unless another explains the anchors clearly better)."""
    best = TimeMap(prior.scale, offset_at(prior.scale, sub, media, weights))
    for scale in FRAMERATE_RATIOS:
        candidate = TimeMap(float(scale), offset_at(float(scale), sub, media, weights))
        if _spread(candidate, sub, media, weights) < 0.7 * _spread(best, sub, media, weights) - 0.01:
            best = candidate
    return best


def _snap_to_ratio(fitted: TimeMap, sub: np.ndarray, media: np.ndarray, weights: np.ndarray) -> TimeMap:
    """Prefer an exact framerate ratio (or no drift) next to a fitted scale.

    A fit through lines that span little time has a noisy slope.  Among the standard
    ratios within the slope's noise (SNAP_DRIFT_S over the anchors' span), the one that
    explains the anchors best replaces the fit if it explains them about as well.
    """
    span = max(float(np.ptp(sub)), 1e-9)
    tolerance = float(np.clip(SNAP_DRIFT_S / span, MIN_SNAP_FRACTION, MAX_SNAP_FRACTION))
    ratios = [float(r) for r in (1.0, *FRAMERATE_RATIOS) if abs(r / fitted.scale - 1) <= tolerance]
    if not ratios:
        return fitted
    standards = [TimeMap(r, offset_at(r, sub, media, weights)) for r in ratios]
    spreads = [_spread(m, sub, media, weights) for m in standards]
    best = standards[int(np.argmin(spreads))]
    return best if min(spreads) <= _spread(fitted, sub, media, weights) * 1.25 + 0.01 else fitted


MIN_PIECE_ANCHORS = 5         # a piece of a cut map moves by its own residual when heard this often
LEAD_BAND_S = (-0.1, 0.5)     # heard start minus subtitle start that a file's own convention may
                              # show: subtitlers start lines 0-300 ms before the voice, heard
                              # onsets scatter about 0.1 s around it
AGREEMENT_S = 0.25            # an anchor this close to a map (plus the file's lead) agrees with it


def refine(prior: TimeMap, sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray,
           free_scale: bool = True) -> TimeMap:
    """``prior`` fitted through anchors (subtitle start, heard media start), (n,) each.

    A map with cuts is fitted as one line through the anchors with the cuts' jumps taken
    out (scale and first offset; the offset only, at the prior's scale, unless
    ``free_scale``), then each piece with MIN_PIECE_ANCHORS anchors or more near the line
    moves by their weighted median residual."""
    jumps = prior.offsets_at(sub_s) - prior.offset_s                     # (n,) 0 before any cut
    if free_scale:
        fitted = fit_subtitle_anchors(sub_s, media_s - jumps, weights, prior.without_cuts())
    else:
        fitted = TimeMap(prior.scale, offset_at(prior.scale, sub_s, media_s - jumps, weights))
    refined = prior.shifted(fitted.scale, fitted.offset_s - prior.offset_s)
    if not prior.cuts:
        return refined
    residual = media_s - refined(sub_s)
    piece = np.searchsorted([cut.at_s for cut in refined.cuts], sub_s, side="right")   # (n,) 0 = first
    offsets = [refined.offset_s, *(cut.offset_s for cut in refined.cuts)]
    for k in range(len(offsets)):
        members = (piece == k) & (np.abs(residual) <= ANCHOR_RESIDUAL_S)
        if members.sum() >= MIN_PIECE_ANCHORS:
            offsets[k] += weighted_median(residual[members], weights[members])
    cuts = tuple(Cut(cut.at_s, offset) for cut, offset in zip(refined.cuts, offsets[1:]))
    return TimeMap(refined.scale, offsets[0], cuts)


def anchor_agreement(time_map: TimeMap, sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray) -> float:
    """The weighted share of anchors that ``time_map`` explains: within AGREEMENT_S of the
    map plus the file's lead (the anchors' weighted median residual, clipped to
    LEAD_BAND_S).  Any lead a subtitler may use costs nothing; a map off by more, or with
    the wrong drift, leaves anchors out.  The same measure for every candidate map."""
    residual = media_s - time_map(sub_s)
    return float(np.sum(weights[np.abs(residual - _lead(residual, weights)) <= AGREEMENT_S]) / np.sum(weights))


def _lead(residual_s: np.ndarray, weights: np.ndarray) -> float:
    """The file's lead that anchors' residuals from a map show: their weighted median,
    clipped to LEAD_BAND_S (what subtitlers do)."""
    return float(np.clip(weighted_median(residual_s, weights), *LEAD_BAND_S))


HELD_OUT_FOLDS = 5            # anchors are split into this many folds, interleaved in subtitle time
MIN_HELD_OUT_ANCHORS = 20     # fewer anchors than this: no held-out comparison (0)


@dataclass(frozen=True)
class HeldOut:
    """How maps refitted without each fold of anchors fare on that fold against an incumbent."""

    t: float                  # paired t statistic of the per-anchor losses (positive: refits better)
    gain_s: float             # their weighted mean difference, seconds a line
    drift_spread_s: float     # how far the folds' refits disagree on the drift: the spread of their
                              # scales times the anchors' span (0: every fold finds the same ratio)


def held_out(incumbent: TimeMap, refit: Callable[[np.ndarray, np.ndarray, np.ndarray], TimeMap],
             sub_s: np.ndarray, media_s: np.ndarray, weights: np.ndarray) -> HeldOut:
    """How much better maps ``refit`` through anchors explain anchors they were not fitted
    on than ``incumbent`` does, and whether they agree on the drift.

    Each fold of the anchors (subtitle start, heard start), (n,) each, is held out in
    turn; ``refit(sub, media, weights)`` is fitted on the others.  An anchor's loss under
    a map is its distance from the map plus the lead that the fitting anchors show
    (their weighted median residual, clipped to LEAD_BAND_S), capped at AGREEMENT_S.
    A refit only fits the anchors it was given better, so in-sample losses always favour
    it; held-out ones do not.  A drift the anchors pin is found by every fold (a standard
    ratio, snapped); one that noise makes differs from fold to fold.  HeldOut(0, 0, inf)
    with fewer than MIN_HELD_OUT_ANCHORS anchors."""
    sub, media, weight = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (sub_s, media_s, weights))
    n = sub.size
    if n < MIN_HELD_OUT_ANCHORS or weight.sum() <= 0:
        return HeldOut(0.0, 0.0, np.inf)
    fold = np.empty(n, dtype=np.int64)
    fold[np.argsort(sub, kind="stable")] = np.arange(n) % HELD_OUT_FOLDS    # (n,) each fold spans the file
    difference = np.zeros(n)                                                # (n,) incumbent loss - refit loss
    scales = []
    for k in range(HELD_OUT_FOLDS):
        fit, held = fold != k, fold == k
        refitted = refit(sub[fit], media[fit], weight[fit])
        scales.append(refitted.scale)
        for time_map, sign in ((incumbent, 1.0), (refitted, -1.0)):
            lead = _lead(media[fit] - time_map(sub[fit]), weight[fit])
            distance = np.abs(media[held] - time_map(sub[held]) - lead)
            difference[held] += sign * np.minimum(distance, AGREEMENT_S)
    drift_spread_s = float(np.ptp(scales) * np.ptp(sub))
    mean = float(np.sum(weight * difference) / np.sum(weight))
    spread = float(np.sqrt(np.sum(weight * (difference - mean) ** 2) / np.sum(weight) / n))
    if spread <= 1e-12:                 # every anchor the same difference (exact anchors)
        return HeldOut(float(np.copysign(np.inf, mean)) if abs(mean) > 1e-12 else 0.0, mean, drift_spread_s)
    return HeldOut(mean / spread, mean, drift_spread_s)


def reachable(starts_s: np.ndarray, media_s: float, max_offset_s: float) -> np.ndarray:
    """(n,) bool: cues that some searched map (|offset| <= max_offset_s, any framerate
    ratio) can place in media ``media_s`` long.  A stray cue at 99:59:59 under a minute of
    audio cannot be matched, and must not stretch a search or a file's span over hours."""
    return np.asarray(starts_s) <= (media_s + max_offset_s) / min(FRAMERATE_RATIOS)


def span_s(starts_s: np.ndarray, ends_s: np.ndarray) -> float:
    """From the first cue's start to the last one's end (0 for no cue)."""
    return float(np.max(ends_s) - np.min(starts_s)) if np.size(starts_s) else 0.0


def mapped(time_map: TimeMap, starts_s: np.ndarray, ends_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cue starts and ends through the map; an end takes its start's piece of a cut map."""
    return time_map(starts_s), time_map(ends_s, starts_s)
