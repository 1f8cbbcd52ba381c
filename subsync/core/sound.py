"""What the engine needs of a media file's audio: its speech activity, its length, and
the stretches the listener hears, on demand.

Decoding a film's audio once to compute its speech activity, and again (by seeks) for
the few windows the listener hears, keeps a 2-hour film's samples out of memory and lets
a cached activity (subsync.analysis) stand in for the first decode.  ``in_memory`` wraps
samples already decoded (tests, benchmarks, the reference-free paths).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .activity import SAMPLE_RATE_HZ, speech_activity

Span = tuple[float, float]  # (start_s, end_s) on the media's clock


def _nothing(spans: Sequence[Span]) -> None:
    """No prefetching (samples in memory are at hand)."""


@dataclass(frozen=True)
class Sound:
    """One audio track of a media file, as the engine sees it."""

    speech: np.ndarray  # (n_frames,) speech likelihood per ACTIVITY_FRAME_S (activity.speech_activity)
    n_samples: int  # the track's length in samples at SAMPLE_RATE_HZ
    clip: Callable[[float, float], np.ndarray]  # (start_s, end_s) -> its samples: (samples_in(start_s,
    # end_s, n_samples),) float32 in [-1, 1]
    prefetch: Callable[[Sequence[Span]], None] = field(default=_nothing)  # spans about to be clipped

    @property
    def duration_s(self) -> float:
        return self.n_samples / SAMPLE_RATE_HZ


def sample_range(start_s: float, end_s: float, n_samples: int) -> tuple[int, int]:
    """The samples [first, last) a clip of [start_s, end_s) holds in a track of ``n_samples``:
    from round(start_s * rate), round((end_s - start_s) * rate) of them, cut at the end."""
    first = max(0, int(round(start_s * SAMPLE_RATE_HZ)))
    count = max(0, int(round((end_s - start_s) * SAMPLE_RATE_HZ)))
    return min(first, n_samples), min(first + count, n_samples)


def in_memory(audio: np.ndarray, speech: np.ndarray | None = None) -> Sound:
    """A Sound over decoded samples (float32 mono at SAMPLE_RATE_HZ, (n_samples,)); its
    activity is computed unless given."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)

    def clip(start_s: float, end_s: float) -> np.ndarray:
        first, last = sample_range(start_s, end_s, audio.size)
        return audio[first:last]

    return Sound(speech_activity(audio) if speech is None else speech, audio.size, clip)
