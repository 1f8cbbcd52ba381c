"""Model-free speech activity on a 10 ms grid (pure numpy).

Frame i covers media time [i * ACTIVITY_FRAME_S, (i + 1) * ACTIVITY_FRAME_S).  The detector:

1. sub-band power (200-8000 Hz in 5 bands) from an STFT of 25 ms windows
   centred on the frames, processed in chunks;
2. a per-band adaptive noise floor: the minimum of each 0.25 s block, then a
   low percentile of those minima over a sliding window of several seconds;
3. SNR = mean over bands of (level - floor), median-filtered over 70 ms;
4. double threshold: a low soft threshold (a few dB above the floor) places the
   boundaries precisely, and a region only counts as speech if it somewhere
   rises well above the floor (the margin grows with the local dynamic range)
   and above an absolute level, so noise flicker is rejected;
5. a light (10 ms) hangover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_RATE_HZ = 16000  # the audio every stage works on (media decodes to it; Whisper's rate)
ACTIVITY_FRAME_S = 0.01  # grid step shared with timemap and the per-line aligner
SPEECH_THRESHOLD = 0.5  # activity >= this is speech (the likelihood's decision point)
ACTIVITY_FRAMES_PER_S = round(1 / ACTIVITY_FRAME_S)
STFT_WINDOW_S = 0.025  # STFT window length
SUBBAND_EDGES_HZ = (200.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)  # SNR is measured per sub-band
STFT_CHUNK_S = 60.0  # STFT this much audio at a time (bounds memory)
STFT_CHUNK_FRAMES = round(STFT_CHUNK_S * ACTIVITY_FRAMES_PER_S)

PRE_SMOOTH_S = 0.03  # level smoothing before taking block minima
BLOCK_S = 0.25  # floor/level statistics work on blocks of this length
FLOOR_WINDOW_S = 8.0  # noise floor: percentile of block minima over this window
FLOOR_PERCENTILE = 30.0
RANGE_WINDOW_S = 20.0  # speech level: percentile of block maxima over this window
RANGE_PERCENTILE = 90.0
MIN_FLOOR_DBFS = -80.0  # band floors never go below white noise of this level

LOW_SNR_DB = 3.5  # soft boundary threshold above the floor
STRONG_FRACTION = 0.3  # a region must peak this fraction of the dynamic range ...
MIN_STRONG_SNR_DB = 6.0  # ... clipped to [MIN, MAX] dB above the floor
MAX_STRONG_SNR_DB = 15.0
STRONG_MIN_DBFS = -55.0  # ... and the frame level must exceed this
SOFTNESS_DB = 2.0  # logistic scale of the soft threshold
REJECTED_WEIGHT = 0.4  # likelihood kept by unconfirmed regions (stays < 0.5)
MEDIAN_S = 0.07  # median smoothing of the SNR
HANGOVER_S = 0.01  # activity is held this long after it drops
EPS_POWER = 1e-12


def speech_activity(audio: np.ndarray, sample_rate: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Speech likelihood per ACTIVITY_FRAME_S frame; float32 (n_frames,) in [0, 1], >= SPEECH_THRESHOLD means speech.

    audio: (n_samples,) float mono in [-1, 1], any sample rate (16 kHz from media.load_audio).
    n_frames = ceil(n_samples / (ACTIVITY_FRAME_S * sample_rate)).
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)  # (n_samples,)
    if audio.size == 0:
        return np.zeros(0, dtype=np.float32)
    return activity_of_levels(band_levels_db(audio, sample_rate), sample_rate)


def activity_of_levels(level_db: np.ndarray, sample_rate: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Speech likelihood per frame (speech_activity) from the sub-band levels; (n_frames,) float32.

    level_db: (n_frames, n_bands), band_levels_db's (or a LevelStream's, the same numbers).
    """
    if level_db.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    snr_db, strong_db = _band_snr(level_db, _min_floor_db(sample_rate))  # (n_frames,), (n_frames,)
    snr_db = _median_filter(snr_db, _odd_frames(MEDIAN_S))
    likelihood = _logistic((snr_db - LOW_SNR_DB) / SOFTNESS_DB)
    loud = _median_filter(_power_sum_db(level_db), _odd_frames(MEDIAN_S)) > STRONG_MIN_DBFS
    confirmed = _confirmed_regions(likelihood >= SPEECH_THRESHOLD, (snr_db >= strong_db) & loud)
    likelihood = np.where(confirmed, likelihood, REJECTED_WEIGHT * likelihood)
    return _hangover(likelihood, round(HANGOVER_S * ACTIVITY_FRAMES_PER_S)).astype(np.float32)


def cue_activity(
    starts_s: Sequence[float] | np.ndarray, ends_s: Sequence[float] | np.ndarray, n_frames: int
) -> np.ndarray:
    """1 on frames inside any cue, 0 elsewhere; float32 (n_frames,).

    A frame is inside when its centre lies in [start, end).  Cues may extend
    beyond either end of the grid; those parts are dropped.
    """
    starts = np.asarray(starts_s, dtype=np.float64).reshape(-1)  # (n_cues,)
    ends = np.asarray(ends_s, dtype=np.float64).reshape(-1)  # (n_cues,)
    first = np.clip(np.ceil(starts * ACTIVITY_FRAMES_PER_S - 0.5), 0, n_frames).astype(np.int64)
    stop = np.clip(np.ceil(ends * ACTIVITY_FRAMES_PER_S - 0.5), 0, n_frames).astype(np.int64)
    keep = stop > first
    edges = np.zeros(n_frames + 1, dtype=np.int32)  # (n_frames + 1,)
    np.add.at(edges, first[keep], 1)
    np.add.at(edges, stop[keep], -1)
    return (np.cumsum(edges[:-1]) > 0).astype(np.float32)


VOICE_BEFORE_S = 0.5  # a line's voice onset is looked for from this before its start ...
VOICE_AFTER_S = 0.7  # ... to this after it (a subtitler's lead-in plus a map's error)
VOICE_LINGER_S = 1.2  # its voice end from this before the line's end to VOICE_BEFORE_S after
MIN_SILENCE_S = 0.1  # an onset follows (an end precedes) at least this much silence


def voice_onsets(speech: np.ndarray) -> np.ndarray:
    """Frames where a voice starts: speech right after MIN_SILENCE_S of silence; (n_rises,)."""
    return _voice_turns(speech)[0]


def _voice_turns(speech: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rises, falls): frames of speech right after, and right before, MIN_SILENCE_S of
    silence; beyond the track counts as silence."""
    voiced = np.asarray(speech) >= SPEECH_THRESHOLD  # (n_frames,)
    quiet = round(MIN_SILENCE_S * ACTIVITY_FRAMES_PER_S)
    silent = np.r_[np.ones(quiet, bool), ~voiced, np.ones(quiet, bool)]  # (n_frames + 2q,)
    count = np.r_[0, np.cumsum(silent)]  # silent frames before each index
    k = np.arange(voiced.size) + quiet  # frame k's index in `silent`
    rises = np.flatnonzero(voiced & (count[k] - count[k - quiet] == quiet))
    falls = np.flatnonzero(voiced & (count[k + 1 + quiet] - count[k + 1] == quiet))
    return rises, falls


def voice_edges(speech: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the voice under each line starts and ends, from the speech activity alone.

    speech: (n_frames,) activity; starts_s, ends_s: (n,) lines in media seconds.
    Returns (onsets_s, offsets_s), (n,) each, NaN where none is found: the rise after
    MIN_SILENCE_S of silence nearest the line's start (within -VOICE_BEFORE_S..+VOICE_AFTER_S)
    and the last fall before MIN_SILENCE_S of silence between that onset (the start) and
    VOICE_BEFORE_S after the line's end, no earlier than VOICE_LINGER_S before it.
    """
    rises, falls = _voice_turns(speech)
    onsets = np.full(np.size(starts_s), np.nan)
    offsets = np.full(np.size(starts_s), np.nan)
    for i, (start, end) in enumerate(zip(np.asarray(starts_s, float), np.asarray(ends_s, float))):
        near = _between(rises, start - VOICE_BEFORE_S, start + VOICE_AFTER_S)
        if near.size:
            onsets[i] = near[np.argmin(np.abs(near * ACTIVITY_FRAME_S - start))] * ACTIVITY_FRAME_S
        last = _between(falls, max(onsets[i] if near.size else start, end - VOICE_LINGER_S), end + VOICE_BEFORE_S)
        if last.size:
            offsets[i] = (last[-1] + 1) * ACTIVITY_FRAME_S
    return onsets, offsets


def _between(frames: np.ndarray, from_s: float, to_s: float) -> np.ndarray:
    """The sorted ``frames`` from ``from_s`` to ``to_s`` (both included)."""
    lo = np.searchsorted(frames, from_s * ACTIVITY_FRAMES_PER_S, side="left")
    hi = np.searchsorted(frames, to_s * ACTIVITY_FRAMES_PER_S, side="right")
    return frames[lo:hi]


# ---------------------------------------------------------------- band energies


def band_levels_db(audio: np.ndarray, sample_rate: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Sub-band power in dB (re full scale) per frame; float32 (n_frames, n_bands)."""
    stft = _Stft(sample_rate)
    n_frames = n_frames_for(audio.size, sample_rate)
    levels = np.empty((n_frames, stft.n_bands), dtype=np.float32)
    for first in range(0, n_frames, STFT_CHUNK_FRAMES):
        count = min(STFT_CHUNK_FRAMES, n_frames - first)
        levels[first : first + count] = stft.levels_db(audio, first, count)
    return levels


class LevelStream:
    """band_levels_db of audio that arrives in pieces (a decoder's pipe), with the memory of
    one STFT chunk instead of the whole audio: the same frames in the same chunks, so the
    same numbers to the bit.  feed() the pieces in order, then levels_db().

    A stream may compute only frames ``first_frame`` to ``first_frame + n_frames`` (None:
    to its end) of a longer audio, its first piece being that audio's samples from
    ``origin`` on (zeros before 0 and after the stream's end): one part of a track decoded
    in parts.  With ``first_frame`` a multiple of STFT_CHUNK_FRAMES its chunks are the
    whole stream's, so the parts' levels joined are the whole's when their samples are."""

    def __init__(
        self, sample_rate: int = SAMPLE_RATE_HZ, first_frame: int = 0, n_frames: int | None = None, origin: int = 0
    ) -> None:
        self._stft = _Stft(sample_rate)
        self._first_frame, self._n_frames = first_frame, n_frames
        self._buffer = np.zeros(0, dtype=np.float32)  # samples from self._origin on ...
        self._pieces: list[np.ndarray] = []  # ... then these, not yet joined to it
        self._origin = origin  # the audio's index of self._buffer[0]
        self._start = origin  # the audio's index of the first sample fed
        self._received = 0  # samples fed so far
        self._chunks: list[np.ndarray] = []  # (STFT_CHUNK_FRAMES, n_bands) each, done

    def feed(self, samples: np.ndarray) -> None:
        """The next samples of the stream; (m,) float32."""
        self._pieces.append(np.asarray(samples, dtype=np.float32).reshape(-1))
        self._received += samples.size
        while True:
            first = self._first_frame + len(self._chunks) * STFT_CHUNK_FRAMES
            count = STFT_CHUNK_FRAMES if self._n_frames is None else min(STFT_CHUNK_FRAMES, self._end_frame() - first)
            if count <= 0 or self._stft.span(first, count)[1] > self._start + self._received:
                return  # (the chunk's last window is not all here yet, or no frame is left)
            self._join()
            self._chunks.append(self._stft.levels_db(self._buffer, first, count, self._origin))
            keep_from = self._stft.span(first + count, 1)[0]  # the next chunk's first sample
            drop = max(0, keep_from - self._origin)
            self._buffer, self._origin = self._buffer[drop:], self._origin + drop

    def _end_frame(self) -> int:
        """The frame after the last one computed."""
        if self._n_frames is not None:
            return self._first_frame + self._n_frames
        return n_frames_for(self._start + self._received, self._stft.sample_rate)

    def _join(self) -> None:
        if self._pieces:
            self._buffer = np.concatenate([self._buffer, *self._pieces])
            self._pieces = []

    @property
    def n_samples(self) -> int:
        return self._received

    def levels_db(self) -> np.ndarray:
        """Every frame's levels once the stream has ended; (n_frames, n_bands) float32."""
        self._join()
        end = max(self._first_frame, self._end_frame())
        done = self._first_frame + sum(chunk.shape[0] for chunk in self._chunks)
        tail = [
            self._stft.levels_db(self._buffer, first, min(STFT_CHUNK_FRAMES, end - first), self._origin)
            for first in range(done, end, STFT_CHUNK_FRAMES)
        ]
        levels = np.concatenate([*self._chunks, *tail]) if self._chunks or tail else None
        return np.zeros((0, self._stft.n_bands), np.float32) if levels is None else levels[: end - self._first_frame]


class _Stft:
    """The sub-band STFT of band_levels_db: frame geometry, taper and band sums."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.hop = ACTIVITY_FRAME_S * sample_rate  # samples per frame (may be fractional)
        self.window = round(STFT_WINDOW_S * sample_rate)
        self.n_fft = 1 << (self.window - 1).bit_length()
        self.bins = _band_bins(self.n_fft, sample_rate)  # (n_bands + 1,)
        taper = np.hanning(self.window).astype(np.float32)
        # Parseval with a unit-energy taper: band power = mean square of the frame; full-scale sine -> -3 dB.
        self.taper = taper * np.float32(np.sqrt(2.0 / (self.n_fft * np.sum(taper**2))))
        self.n_bands = self.bins.size - 1

    def span(self, first: int, count: int) -> tuple[int, int]:
        """The samples [lo, hi) that frames first..first+count-1 cover (lo < 0 at the start)."""
        starts = self._starts(first, count)
        return int(starts[0]), int(starts[-1]) + self.window

    def _starts(self, first: int, count: int) -> np.ndarray:
        """Each frame's first sample: windows centred on (first + k + 0.5) * hop; (count,)."""
        return np.round((np.arange(first, first + count) + 0.5) * self.hop).astype(np.int64) - self.window // 2

    def levels_db(self, audio: np.ndarray, first: int, count: int, origin: int = 0) -> np.ndarray:
        """Frames first..first+count-1 of a stream whose samples from ``origin`` on are
        ``audio`` (zeros before 0 and after its end); (count, n_bands) float32."""
        frames = self._frames(audio, first, count, origin)  # (count, window)
        spectrum = np.fft.rfft(frames * self.taper, n=self.n_fft, axis=1)
        power = spectrum.real**2 + spectrum.imag**2  # (count, n_fft // 2 + 1)
        # Summed band by band, not by a matrix product: BLAS's threads would spin between
        # the chunks on the cores that ffmpeg decodes on (a fifth of this stage's time on 2).
        bands = np.stack([power[:, lo:hi].sum(axis=1) for lo, hi in zip(self.bins[:-1], self.bins[1:])], axis=1)
        return (10.0 * np.log10(bands + np.float32(EPS_POWER))).astype(np.float32)  # (count, n_bands)

    def _frames(self, audio: np.ndarray, first: int, count: int, origin: int) -> np.ndarray:
        """The frames' windows, zero-padded past the stream's ends; (count, window)."""
        starts = self._starts(first, count)
        lo, hi = int(starts[0]), int(starts[-1]) + self.window  # sample range covered by the chunk
        end = origin + audio.size
        piece = audio[max(lo, origin) - origin : max(min(hi, end), origin) - origin]
        pad_before = max(0, -lo)
        piece = np.pad(piece, (pad_before, (hi - lo) - pad_before - piece.size))
        offsets = starts - lo  # (count,)
        if count > 1 and np.all(np.diff(offsets) == offsets[1] - offsets[0]):  # integral hop: strided view
            return sliding_window_view(piece, self.window)[offsets[0] :: offsets[1] - offsets[0]][:count]
        return piece[offsets[:, None] + np.arange(self.window)[None, :]]


def _band_edges(sample_rate: int) -> np.ndarray:
    """Sub-band edges in Hz, cut at Nyquist; (n_bands + 1,)."""
    nyquist = sample_rate / 2
    edges = {min(edge, nyquist) for edge in SUBBAND_EDGES_HZ}
    return np.array(sorted(edges))


def _band_bins(n_fft: int, sample_rate: int) -> np.ndarray:
    """The rfft bins of each sub-band: band i holds bins bins[i] to bins[i + 1] (those at
    or above its low edge and below its high one); (n_bands + 1,)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)  # (n_bins,)
    return np.searchsorted(freqs, _band_edges(sample_rate), side="left")


def _min_floor_db(sample_rate: int) -> np.ndarray:
    """Per-band level of white noise at MIN_FLOOR_DBFS; (n_bands,).

    Without it a band that a codec left empty (mp3 low-pass) has a floor near
    -inf and any leakage into it reads as a large SNR.
    """
    widths = np.diff(_band_edges(sample_rate))
    return (MIN_FLOOR_DBFS + 10.0 * np.log10(widths / (sample_rate / 2))).astype(np.float32)


# ---------------------------------------------------------------- thresholding


def _band_snr(level_db: np.ndarray, min_floor_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band-mean SNR over the adaptive floor, and the SNR a region must reach somewhere.

    level_db: (n_frames, n_bands), min_floor_db: (n_bands,)
    -> (snr_db (n_frames,), strong_snr_db (n_frames,)).
    """
    smooth_db = _moving_average(level_db, _odd_frames(PRE_SMOOTH_S))  # (n_frames, n_bands)
    floor_db = np.maximum(_sliding_block_stat(smooth_db, np.min, FLOOR_PERCENTILE, FLOOR_WINDOW_S), min_floor_db)
    top_db = _sliding_block_stat(smooth_db, np.max, RANGE_PERCENTILE, RANGE_WINDOW_S)
    snr_db = (level_db - floor_db).mean(axis=1)  # (n_frames,)
    range_db = (top_db - floor_db).mean(axis=1)  # (n_frames,)
    strong_db = np.clip(STRONG_FRACTION * range_db, MIN_STRONG_SNR_DB, MAX_STRONG_SNR_DB)
    return snr_db.astype(np.float32), strong_db.astype(np.float32)


def _power_sum_db(level_db: np.ndarray) -> np.ndarray:
    """dB of the power summed over bands; (n_frames, n_bands) -> (n_frames,)."""
    power = np.power(np.float32(10.0), level_db / np.float32(10.0))
    return (10.0 * np.log10(power.sum(axis=1) + np.float32(EPS_POWER))).astype(np.float32)


def _sliding_block_stat(
    values: np.ndarray, block_reduce: Callable[..., np.ndarray], percentile: float, window_s: float
) -> np.ndarray:
    """Percentile over a centred window of per-block extremes, back on the frame grid.

    values: (n, n_bands) -> (n, n_bands).  Per-block statistics keep this cheap
    on long films: a 2-hour film has only 28 800 blocks.
    """
    block = round(BLOCK_S * ACTIVITY_FRAMES_PER_S)
    n, n_bands = values.shape
    n_blocks = -(-n // block)
    padded = np.pad(values, ((0, n_blocks * block - n), (0, 0)), mode="edge")
    per_block = block_reduce(padded.reshape(n_blocks, block, n_bands), axis=1)  # (n_blocks, n_bands)
    half = max(1, round(window_s / BLOCK_S / 2))
    if n_blocks <= half:
        # The whole recording fits in one window: padding would only replicate its edges.
        stat = np.broadcast_to(np.percentile(per_block, percentile, axis=0), per_block.shape)
    else:
        extended = np.pad(per_block, ((half, half), (0, 0)), mode="reflect")
        windows = sliding_window_view(extended, 2 * half + 1, axis=0)  # (n_blocks, n_bands, 2*half+1)
        stat = np.percentile(windows, percentile, axis=-1)  # (n_blocks, n_bands)
    centres = (np.arange(n_blocks) + 0.5) * block
    frames = np.arange(n)
    return np.stack([np.interp(frames, centres, stat[:, band]) for band in range(n_bands)], axis=1).astype(np.float32)


def _confirmed_regions(candidate: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Runs of `candidate` that contain at least one `strong` frame; bool (n,)."""
    rises = np.diff(candidate.astype(np.int8), prepend=np.int8(0)) == 1
    label = np.cumsum(rises) * candidate  # (n,), 0 outside runs
    confirmed = np.zeros(int(label.max()) + 1, dtype=bool)  # (n_runs + 1,)
    confirmed[label[strong & candidate]] = True
    confirmed[0] = False
    return confirmed[label]


def _logistic(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


# ---------------------------------------------------------------- smoothing


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along axis 0 with edge padding; (n, ...) -> (n, ...)."""
    if width <= 1:
        return values
    half = width // 2
    padded = np.pad(values.astype(np.float64), [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    sums = np.cumsum(padded, axis=0)
    sums = np.concatenate([np.zeros_like(sums[:1]), sums], axis=0)
    return ((sums[width:] - sums[:-width]) / width).astype(np.float32)


def _median_filter(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running median with edge padding; (n,) -> (n,)."""
    if width <= 1 or values.size == 0:
        return values
    half = width // 2
    windows = sliding_window_view(np.pad(values, half, mode="edge"), width)  # (n, width)
    out = np.empty_like(values)
    step = STFT_CHUNK_FRAMES * 10
    for first in range(0, values.size, step):
        out[first : first + step] = np.median(windows[first : first + step], axis=1)
    return out


def _hangover(values: np.ndarray, frames: int) -> np.ndarray:
    """Hold activity for `frames` frames after it drops (a trailing running maximum); (n,) -> (n,)."""
    held = values.copy()
    for lag in range(1, frames + 1):
        np.maximum(held[lag:], values[:-lag], out=held[lag:])
    return held


def n_frames_for(n_samples: int, sample_rate: int = SAMPLE_RATE_HZ) -> int:
    """Number of ACTIVITY_FRAME_S frames that cover n_samples: the last, partial frame counts."""
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, not {sample_rate}")
    return int(np.ceil(n_samples / (ACTIVITY_FRAME_S * sample_rate) - 1e-9))


def _odd_frames(seconds: float) -> int:
    return 2 * (round(seconds * ACTIVITY_FRAMES_PER_S) // 2) + 1
