"""subsync.activity on synthetic signals with known speech/pause positions."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from subsync.core.activity import (
    ACTIVITY_FRAME_S,
    ACTIVITY_FRAMES_PER_S,
    SAMPLE_RATE_HZ,
    cue_activity,
    n_frames_for,
    speech_activity,
)
from subsync.media import load_audio

TOLERANCE_S = 0.03
SENTENCES = (
    "From fairest creatures we desire increase.",
    "Happy families are all alike.",
    "The quick brown fox jumps over the lazy dog.",
    "Several thousand people attended the fair.",
)


# ---------------------------------------------------------------- helpers


def _edges(activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) where activity rises to >= 0.5 and where it falls below."""
    on = (activity >= 0.5).astype(np.int8)
    change = np.diff(on, prepend=np.int8(0), append=np.int8(0))
    return np.nonzero(change == 1)[0] * ACTIVITY_FRAME_S, np.nonzero(change == -1)[0] * ACTIVITY_FRAME_S


def _place(segments: list[np.ndarray], gaps_s: list[float], tail_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate gap, segment, gap, segment, ...; returns audio (n,) and spans (n_segments, 2) in s."""
    parts, spans, cursor = [], [], 0
    for segment, gap_s in zip(segments, gaps_s):
        gap = round(gap_s * SAMPLE_RATE_HZ)
        parts += [np.zeros(gap, np.float32), segment.astype(np.float32)]
        spans.append(((cursor + gap) / SAMPLE_RATE_HZ, (cursor + gap + segment.size) / SAMPLE_RATE_HZ))
        cursor += gap + segment.size
    parts.append(np.zeros(round(tail_s * SAMPLE_RATE_HZ), np.float32))
    return np.concatenate(parts), np.array(spans)


def _tone_burst(seconds: float, f0_hz: float, amplitude: float) -> np.ndarray:
    """A harmonic complex (f0 and its harmonics up to 4 kHz, 1/h amplitudes), peak `amplitude`."""
    t = np.arange(round(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    harmonics = np.arange(1, int(4000 // f0_hz) + 1)
    tone = (np.sin(2 * np.pi * f0_hz * np.outer(t, harmonics)) / harmonics).sum(axis=1)
    return (amplitude * tone / np.abs(tone).max()).astype(np.float32)


def _add_noise(audio: np.ndarray, rms: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (audio + rms * rng.standard_normal(audio.size)).astype(np.float32)


def _assert_boundaries(
    activity: np.ndarray, spans: np.ndarray, tolerance_s: float = TOLERANCE_S, min_fraction: float = 1.0
) -> None:
    rises, falls = _edges(activity)
    assert rises.size and falls.size
    onset_errors = np.array([np.min(np.abs(rises - start)) for start in spans[:, 0]])
    offset_errors = np.array([np.min(np.abs(falls - end)) for end in spans[:, 1]])
    assert np.mean(onset_errors <= tolerance_s) >= min_fraction, onset_errors
    assert np.mean(offset_errors <= tolerance_s) >= min_fraction, offset_errors


def _speech_inside_fraction(activity: np.ndarray, spans: np.ndarray, margin_s: float = 0.05) -> tuple[float, float]:
    """(fraction of frames inside spans that are active, fraction outside that are active)."""
    n = activity.size
    inside = cue_activity(spans[:, 0] + margin_s, spans[:, 1] - margin_s, n) > 0
    near = cue_activity(spans[:, 0] - margin_s, spans[:, 1] + margin_s, n) > 0
    on = activity >= 0.5
    return float(on[inside].mean()), float(on[~near].mean())


@pytest.fixture(scope="module")
def espeak_utterances(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    binary = shutil.which("espeak-ng")
    if binary is None:
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("espeak")
    utterances = []
    for index, sentence in enumerate(SENTENCES):
        wav = folder / f"u{index}.wav"
        subprocess.run([binary, "-v", "en-us", "-s", "165", "-w", str(wav), sentence], check=True, capture_output=True)
        utterances.append(_trimmed(load_audio(wav)))
    return utterances


def _trimmed(audio: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    loud = np.nonzero(np.abs(audio) > threshold)[0]
    return audio[loud[0] : loud[-1] + 1]


# ---------------------------------------------------------------- speech_activity


def test_output_shape_dtype_and_range():
    audio = _add_noise(np.zeros(SAMPLE_RATE_HZ * 3 + 77, np.float32), 1e-3)
    activity = speech_activity(audio)
    assert activity.dtype == np.float32
    assert (
        activity.shape == (-(-audio.size // round(SAMPLE_RATE_HZ * ACTIVITY_FRAME_S)),) == (n_frames_for(audio.size),)
    )
    assert np.all((activity >= 0) & (activity <= 1))


@pytest.mark.parametrize("n_samples", [0, 1, 159, 160, 1000])
def test_tiny_inputs(n_samples):
    activity = speech_activity(np.zeros(n_samples, np.float32))
    assert activity.shape == (-(-n_samples // 160),)
    assert np.all(activity < 0.5)


def test_digital_silence_is_inactive():
    assert np.all(speech_activity(np.zeros(SAMPLE_RATE_HZ * 5, np.float32)) < 0.5)


@pytest.mark.parametrize("rms", [0.001, 0.05, 0.3])
def test_stationary_white_noise_is_inactive(rms):
    activity = speech_activity(_add_noise(np.zeros(SAMPLE_RATE_HZ * 20, np.float32), rms))
    assert np.mean(activity >= 0.5) < 0.02


def test_tone_bursts_clean():
    bursts = [_tone_burst(d, f, a) for d, f, a in [(0.8, 220, 0.5), (0.3, 110, 0.2), (1.5, 300, 0.05), (0.5, 150, 0.3)]]
    audio, spans = _place(bursts, [0.7, 0.4, 1.3, 0.25])
    activity = speech_activity(_add_noise(audio, 1e-4))
    _assert_boundaries(activity, spans)
    inside, outside = _speech_inside_fraction(activity, spans)
    assert inside > 0.99 and outside < 0.01


def test_tone_bursts_in_noise():
    bursts = [_tone_burst(0.6, 100 + 30 * k, 0.1) for k in range(6)]
    audio, spans = _place(bursts, [0.5, 0.8, 0.35, 1.2, 0.6, 2.0])
    activity = speech_activity(_add_noise(audio, 0.01, seed=3))  # ~14 dB SNR
    _assert_boundaries(activity, spans)


def test_level_does_not_matter():
    bursts = [_tone_burst(0.5, 180, 0.3) for _ in range(4)]
    audio, _spans = _place(bursts, [0.5, 0.6, 0.3, 1.0])
    audio = _add_noise(audio, 3e-3)
    loud, quiet = speech_activity(audio), speech_activity(audio * 0.05)
    assert np.mean((loud >= 0.5) == (quiet >= 0.5)) > 0.99


@pytest.mark.parametrize("sample_rate", [8000, 22050, 44100, 48000])
def test_other_sample_rates(sample_rate):
    t = np.arange(sample_rate * 3) / sample_rate
    audio = np.where((t >= 1.0) & (t < 2.0), 0.3 * np.sin(2 * np.pi * 600 * t), 0.0)
    activity = speech_activity(_add_noise(audio.astype(np.float32), 1e-4), sample_rate)
    assert (
        activity.size == n_frames_for(audio.size, sample_rate) == -(-audio.size * ACTIVITY_FRAMES_PER_S // sample_rate)
    )
    rises, falls = _edges(activity)
    assert rises.size == 1 and abs(rises[0] - 1.0) <= TOLERANCE_S and abs(falls[0] - 2.0) <= TOLERANCE_S


def test_espeak_pauses_are_sharp(espeak_utterances):
    audio, spans = _place(espeak_utterances, [0.6, 0.45, 1.1, 0.3])
    activity = speech_activity(_add_noise(audio, 3e-5))
    _assert_boundaries(activity, spans)
    inside, outside = _speech_inside_fraction(activity, spans)
    assert inside > 0.95 and outside < 0.01


def test_espeak_under_noise_degrades_gracefully(espeak_utterances):
    audio, spans = _place(espeak_utterances, [0.8, 0.5, 1.2, 0.4])
    speech_rms = np.sqrt(np.mean(np.concatenate(espeak_utterances) ** 2))
    activity = speech_activity(_add_noise(audio, speech_rms / 10, seed=5))  # 20 dB SNR
    _assert_boundaries(activity, spans, tolerance_s=0.1, min_fraction=0.75)
    inside, outside = _speech_inside_fraction(activity, spans)
    assert inside > 0.8 and outside < 0.05


def test_slow_noise_drift_is_followed():
    """Background noise that doubles in level over a minute must not read as speech."""
    seconds = 60
    rng = np.random.default_rng(7)
    envelope = np.linspace(0.005, 0.04, seconds * SAMPLE_RATE_HZ)
    activity = speech_activity((envelope * rng.standard_normal(envelope.size)).astype(np.float32))
    assert np.mean(activity >= 0.5) < 0.02


# ---------------------------------------------------------------- cue_activity


def test_cue_activity_grid():
    raster = cue_activity([0.10, 0.5], [0.30, 0.52], 100)
    assert raster.dtype == np.float32 and raster.shape == (100,)
    assert np.array_equal(np.nonzero(raster)[0], np.r_[10:30, 50:52])


def test_cue_activity_clips_and_overlaps():
    raster = cue_activity([-5.0, 0.95, 0.2, 0.25], [0.05, 9.0, 0.4, 0.3], ACTIVITY_FRAMES_PER_S)
    expected = np.zeros(ACTIVITY_FRAMES_PER_S, np.float32)
    expected[:5] = 1
    expected[20:40] = 1
    expected[95:] = 1
    assert np.array_equal(raster, expected)


def test_cue_activity_empty_and_degenerate():
    assert cue_activity([], [], 10).sum() == 0
    assert cue_activity([0.5], [0.5], 100).sum() == 0  # zero length
    assert cue_activity([0.5], [0.2], 100).sum() == 0  # end before start
    assert cue_activity([20.0], [30.0], 100).sum() == 0  # beyond the grid
    assert cue_activity([0.0], [1.0], 0).shape == (0,)


@pytest.mark.parametrize("piece", [999, 160 * 6000 - 1, 524288])
def test_the_activity_of_a_stream_is_the_activity_of_the_whole(piece):
    """Levels computed read by read as a decoder's pipe hands them over (LevelStream, the
    memory of one STFT chunk) are the whole-audio levels to the bit, whatever the reads'
    sizes, at the stream's start and end, and across chunk boundaries."""
    from subsync.core.activity import STFT_CHUNK_FRAMES, LevelStream, activity_of_levels, band_levels_db

    rng = np.random.default_rng(piece)
    length = 2 * STFT_CHUNK_FRAMES * 160 + 12345  # two chunks and a bit (16 kHz: 160 samples a frame)
    audio = _add_noise((0.1 * np.sin(np.arange(length) / 7.0) * (rng.random(length) > 0.3)).astype(np.float32), 1e-3)
    for size in (0, 1, 401, 160 * STFT_CHUNK_FRAMES, length):
        stream = LevelStream()
        step = piece if size > 20000 else max(1, size // 3)  # (short streams: a few reads, not 401)
        for first in range(0, size, step):
            stream.feed(audio[first : min(first + step, size)])
        assert stream.n_samples == size
        levels = stream.levels_db()
        np.testing.assert_array_equal(levels, band_levels_db(audio[:size]))
        np.testing.assert_array_equal(activity_of_levels(levels), speech_activity(audio[:size]))


def test_the_levels_of_a_track_in_parts_are_the_levels_of_the_whole():
    """A track decoded in parts (media.stream_audio_parts) has each part's levels computed
    alone, from its samples and a little either side (LevelStream's first_frame, n_frames
    and origin): joined, they are the whole track's levels to the bit."""
    from subsync.core.activity import STFT_CHUNK_FRAMES, LevelStream, band_levels_db

    rng = np.random.default_rng(5)
    hop = 160  # samples a frame at 16 kHz
    length = 3 * STFT_CHUNK_FRAMES * hop + 4321
    audio = _add_noise((0.1 * np.sin(np.arange(length) / 5.0) * (rng.random(length) > 0.4)).astype(np.float32), 1e-3)
    overlap = 16000
    seams = [STFT_CHUNK_FRAMES * hop, 2 * STFT_CHUNK_FRAMES * hop]
    joined = []
    for first, stop in zip([0, *seams], [*seams, None]):
        origin = max(0, first - overlap)
        stream = LevelStream(
            first_frame=first // hop, n_frames=None if stop is None else (stop - first) // hop, origin=origin
        )
        samples = audio[origin : length if stop is None else stop + overlap]
        for at in range(0, samples.size, 99991):
            stream.feed(samples[at : at + 99991])
        joined.append(stream.levels_db())
    assert [part.shape[0] for part in joined[:2]] == [STFT_CHUNK_FRAMES, STFT_CHUNK_FRAMES]
    np.testing.assert_array_equal(np.concatenate(joined), band_levels_db(audio))
