"""A media file's audio track as the engine needs it (core.sound.Sound), analysed once.

What a run learns from an audio track that does not depend on the subtitle is its
speech activity, its length and where its first sample sits on the player's clock.  The
activity is computed while ffmpeg decodes (core.activity.LevelStream: the samples go by
read by read, never all in memory; a long track in parts decoded at once, each part's
levels from its own stream: media.stream_audio_parts), and kept in the media cache (cache.py) under the
file's content fingerprint (fingerprint.py: a copy hits, a changed file misses), the
track and the analysis's version.  The stretches the listener hears of a long track are
then decoded alone, by ffmpeg seeks (media.Clips); a short one is decoded whole on every
run and sliced.  With or without the cache, the same samples, so the same output bytes.
Voice edges are not kept: they are a few milliseconds' work on the activity.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import MediaCache
from .core import activity
from .core.activity import ACTIVITY_FRAME_S, SAMPLE_RATE_HZ, STFT_CHUNK_S, LevelStream, activity_of_levels
from .core.sound import Sound, in_memory
from .fileio import regular_file
from .fingerprint import fingerprint
from .media import PARTS_LAYOUT, Clips, Decoded, Part, load_audio, stream_audio_parts

IN_MEMORY_S = 600.0  # a track at most this long (38 MB of samples) is decoded whole on every
# run and its windows sliced from memory; a longer one's windows are decoded alone by seeks.
# Measured on a 3-minute film: hearing ~20 windows by seeks took 2-6 s more than slicing.

HOP_SAMPLES = round(ACTIVITY_FRAME_S * SAMPLE_RATE_HZ)  # samples per activity frame

# The analysis's version: the activity's code, the decode's rate and the parts a long track
# is decoded in.  A change to any gives every entry a new key (old entries age out of the cache).
ANALYSIS_VERSION = hashlib.blake2b(
    Path(activity.__file__).read_bytes() + f"{SAMPLE_RATE_HZ}|{PARTS_LAYOUT}".encode(), digest_size=6
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
    return _analysed(path, audio_track, slot_of(path, audio_track, cache), keep_samples=False)[0]


@dataclass(frozen=True)
class CacheSlot:
    """Where one audio track's analysis lives in a cache, and what models detected in it:
    the file is fingerprinted once for both (slot_of)."""

    cache: MediaCache
    key: str  # content, track and analysis version

    def analysis(self) -> TrackAnalysis | None:
        found = self.cache.get(self.key)
        return TrackAnalysis.from_arrays(found) if found is not None else None

    def keep(self, analysis: TrackAnalysis) -> None:
        with contextlib.suppress(OSError):  # (a read-only or full SUBSYNC_HOME: the run goes on uncached)
            self.cache.put(self.key, analysis.to_arrays())


def slot_of(path: str | os.PathLike, audio_track: int | None, cache: MediaCache | None) -> CacheSlot | None:
    """The cache slot of a track's analysis (None: no cache, not a regular file, or
    unreadable; the decode then names the problem)."""
    if cache is None or not regular_file(path):  # (a FIFO would block the fingerprint's read)
        return None
    try:
        digest = fingerprint(path).digest
    except OSError:
        return None
    return CacheSlot(cache, f"{digest}-a{0 if audio_track is None else audio_track}-{ANALYSIS_VERSION}")


def _analysed(
    path: str | os.PathLike, audio_track: int | None, slot: CacheSlot | None, keep_samples: bool
) -> tuple[TrackAnalysis, np.ndarray | None]:
    """analysed(), and (``keep_samples``) the track's samples when the decode just made
    held at most IN_MEMORY_S of them ((n_samples,) float32; else None)."""
    analysis = slot.analysis() if slot is not None else None
    if analysis is not None:
        return analysis, None
    streams: list[LevelStream] = []
    kept: _ShortKeeper | None = None

    def start(parts: Sequence[Part]) -> list[Callable[[np.ndarray], None]]:
        """Each part's levels (frames from its first sample to its stop) from its samples."""
        nonlocal kept
        streams[:] = [
            LevelStream(
                first_frame=part.first // HOP_SAMPLES,
                n_frames=None if part.stop is None else (part.stop - part.first) // HOP_SAMPLES,
                origin=part.origin,
            )
            for part in parts
        ]
        kept = _ShortKeeper() if keep_samples and len(parts) == 1 else None
        return [stream.feed if kept is None else kept.tee(stream.feed) for stream in streams]

    decoded = stream_audio_parts(path, audio_track, start, STFT_CHUNK_S)
    levels = np.concatenate([stream.levels_db() for stream in streams])
    analysis = TrackAnalysis(activity_of_levels(levels), decoded)
    if slot is not None:
        slot.keep(analysis)
    return analysis, None if kept is None else kept.samples()


class _ShortKeeper:
    """The samples of a stream while it is at most IN_MEMORY_S long; none once it is longer."""

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] | None = []
        self._count = 0

    def tee(self, consume: Callable[[np.ndarray], None]) -> Callable[[np.ndarray], None]:
        def both(samples: np.ndarray) -> None:
            consume(samples)
            self._count += samples.size
            if self._pieces is not None and self._count <= IN_MEMORY_S * SAMPLE_RATE_HZ:
                self._pieces.append(samples)
            else:
                self._pieces = None

        return both

    def samples(self) -> np.ndarray | None:
        if self._pieces is None:
            return None
        return np.concatenate(self._pieces) if self._pieces else np.zeros(0, np.float32)


@contextmanager
def sound_of(path: str | os.PathLike, audio_track: int | None, slot: CacheSlot | None) -> Iterator[Sound]:
    """The Sound of one audio track of ``path``: its analysis (analysed) and its stretches.
    A track of at most IN_MEMORY_S is decoded whole on every run, cached or not, and its
    stretches sliced from memory (a few short ffmpeg runs cost more than one); a longer
    one's stretches are decoded alone as the listener asks for them (media.Clips; their
    decoders end with the block).  Either way a run with the cache hears the samples a
    run without it hears."""
    analysis, samples = _analysed(path, audio_track, slot, keep_samples=True)
    if samples is None and analysis.decoded.n_samples <= IN_MEMORY_S * SAMPLE_RATE_HZ:
        samples = load_audio(path, audio_track)  # (a short track's analysis came from the cache)
    if samples is not None:
        yield in_memory(samples, analysis.speech)
        return
    clips = Clips(path, audio_track, analysis.decoded)
    try:
        yield Sound(analysis.speech, analysis.decoded.n_samples, clips.clip, clips.prefetch)
    finally:
        clips.close()


def remembered_language(slot: CacheSlot | None, model: str) -> tuple[str | None, Callable[[str], None]]:
    """The language ``model`` detected in this track before (None: never, or no cache),
    and a function that remembers the one it detects now.  Detection hears the track's
    fullest stretches (chosen from its activity), so it gives the same answer every time."""
    if slot is None:
        return None, lambda language: None
    entry = f"{slot.key}-lang-{hashlib.blake2b(model.encode(), digest_size=6).hexdigest()}"
    found = slot.cache.get(entry)
    known = str(found["language"]) if found is not None and "language" in found else None

    def remember(language: str) -> None:
        with contextlib.suppress(OSError):
            slot.cache.put(entry, {"language": np.array(language)})

    return known, remember
