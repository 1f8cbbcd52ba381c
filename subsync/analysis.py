"""A media file's audio track as the engine needs it (core.sound.Sound), analysed once.

What a run learns from an audio track that does not depend on the subtitle is its
speech activity, its length and where its first sample sits on the player's clock.  The
activity is computed while ffmpeg decodes (core.activity.LevelStream: the samples go by
read by read, never all in memory), and kept in the media cache (cache.py) under the
file's content fingerprint (fingerprint.py: a copy hits, a changed file misses), the
track and the analysis's version.  The stretches the listener hears are then decoded
alone, by ffmpeg seeks (media.Clips), with or without the cache: the same samples, so
the same output bytes.  Voice edges are not kept: they are a few milliseconds' work on
the activity.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import MediaCache
from .core import activity
from .core.activity import SAMPLE_RATE_HZ, LevelStream, activity_of_levels
from .core.sound import Sound
from .fileio import regular_file
from .fingerprint import fingerprint
from .media import Clips, Decoded, stream_audio

# The analysis's version: the activity's code and the decode's rate.  A change to either
# gives every entry a new key (old entries age out of the cache).
ANALYSIS_VERSION = hashlib.blake2b(
    Path(activity.__file__).read_bytes() + f"{SAMPLE_RATE_HZ}".encode(), digest_size=6
).hexdigest()


@dataclass(frozen=True)
class TrackAnalysis:
    """What one audio track of a media file is, independently of any subtitle."""

    speech: np.ndarray  # (n_frames,) float32 speech likelihood per ACTIVITY_FRAME_S
    decoded: Decoded  # its length in samples and where its first sample sits

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "speech": self.speech,
            "n_samples": np.array(self.decoded.n_samples, dtype=np.int64),
            "lead": np.array(self.decoded.lead, dtype=np.int64),
            "origin_s": np.array(self.decoded.origin_s, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TrackAnalysis | None:
        """The analysis an entry holds; None when the entry is not one."""
        try:
            decoded = Decoded(int(arrays["n_samples"]), int(arrays["lead"]), float(arrays["origin_s"]))
            speech = np.asarray(arrays["speech"], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            return None
        return cls(speech, decoded) if speech.ndim == 1 else None


def analysed(path: str | os.PathLike, audio_track: int | None, cache: MediaCache | None) -> TrackAnalysis:
    """The analysis of audio track ``audio_track`` of ``path`` (None: the first): from
    ``cache`` when it holds this content's, else decoded (and stored there).  MediaError
    as media.load_audio raises it; a cache that cannot be written is no error."""
    key = _key(path, audio_track) if cache is not None else None
    if cache is not None and key is not None:
        found = cache.get(key)
        analysis = TrackAnalysis.from_arrays(found) if found is not None else None
        if analysis is not None:
            return analysis
    levels = LevelStream()
    decoded = stream_audio(path, audio_track, levels.feed)
    analysis = TrackAnalysis(activity_of_levels(levels.levels_db()), decoded)
    if cache is not None and key is not None:
        with contextlib.suppress(OSError):  # (a read-only or full SUBSYNC_HOME: the run goes on uncached)
            cache.put(key, analysis.to_arrays())
    return analysis


@contextmanager
def sound_of(path: str | os.PathLike, audio_track: int | None, cache: MediaCache | None) -> Iterator[Sound]:
    """The Sound of one audio track of ``path``: its analysis (analysed) and its clips,
    decoded alone as the listener asks for them; the clips' decoders end with the block."""
    analysis = analysed(path, audio_track, cache)
    clips = Clips(path, audio_track, analysis.decoded)
    try:
        yield Sound(analysis.speech, analysis.decoded.n_samples, clips.clip, clips.prefetch)
    finally:
        clips.close()


def remembered_language(
    path: str | os.PathLike, audio_track: int | None, model: str, cache: MediaCache | None
) -> tuple[str | None, Callable[[str], None]]:
    """The language ``model`` detected in this track before (None: never, or no cache),
    and a function that remembers the one it detects now.  Detection hears the track's
    fullest stretches (chosen from its activity), so it gives the same answer every time."""
    key = _key(path, audio_track) if cache is not None else None
    if cache is None or key is None:
        return None, lambda language: None
    entry = f"{key}-lang-{hashlib.blake2b(model.encode(), digest_size=6).hexdigest()}"
    found = cache.get(entry)
    known = str(found["language"]) if found is not None and "language" in found else None

    def remember(language: str) -> None:
        with contextlib.suppress(OSError):
            cache.put(entry, {"language": np.array(language)})

    return known, remember


def _key(path: str | os.PathLike, audio_track: int | None) -> str | None:
    """The cache key of a track's analysis: content, track and version (None: not a
    regular file, or unreadable; the decode then names the problem)."""
    if not regular_file(path):
        return None  # (a FIFO would block the fingerprint's read)
    try:
        digest = fingerprint(path).digest
    except OSError:
        return None
    return f"{digest}-a{0 if audio_track is None else audio_track}-{ANALYSIS_VERSION}"
