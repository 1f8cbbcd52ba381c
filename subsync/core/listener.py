"""The seam between the engine and whatever hears speech: a small protocol and its data.

The engine never calls a model.  It asks a *listener* to hear the words of a few subtitle
lines in a stretch of audio (a :class:`Passage`) and gets back, per line, where its words
are heard and how sure the listener is (:class:`HeardLine`).  The Whisper listener
(``subsync.whisper.listener``) reads them from the alignment heads' cross-attention; the
replay listener (``subsync.replay``) from recorded or drawn timings, so that every
decision of the engine can be exercised without weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Passage:
    """What to listen for: the words of some subtitle lines in up to ``window_s`` of audio."""

    start_s: float  # media time of samples[0]
    samples: np.ndarray  # (n_samples,) float32 mono at SAMPLE_RATE_HZ
    speech: np.ndarray  # (n_frames,) speech activity of those samples (ACTIVITY_FRAME_S grid)
    lines: tuple[tuple[str, ...], ...]  # the words of each line to place
    before: tuple[str, ...] = ()  # context words heard just before the first line (not placed)
    after: tuple[str, ...] = ()  # context words heard just after the last line
    language: str | None = None  # the spoken language (ISO 639-1)


@dataclass(frozen=True)
class HeardWord:
    word: str
    start_s: float  # seconds from the passage's start
    end_s: float


@dataclass(frozen=True)
class HeardLine:
    """Where one line's words are heard in a passage, and how sure the listener is."""

    words: tuple[HeardWord, ...]  # in order, times from the passage's start
    score: float  # 0..1: how likely the text is spoken where it was placed

    @property
    def start_s(self) -> float:
        return self.words[0].start_s

    @property
    def end_s(self) -> float:
        return self.words[-1].end_s


@runtime_checkable
class Listener(Protocol):
    """Hears subtitle lines in audio.  Implementations: Whisper, replay."""

    name: str  # for reports: the model spec ("base", a directory...)
    window_s: float  # the longest passage it hears at once

    def language_for(self, requested: str | None) -> str | None:
        """The language to hear in, given the user's choice (None: to be detected); raises
        a SubsyncError for one it cannot hear."""

    def detect_language(self, pieces: Sequence[np.ndarray]) -> str:
        """The language spoken in these stretches of audio (each at most window_s)."""

    def hear(self, passage: Passage) -> tuple[HeardLine, ...] | None:
        """Each of ``passage.lines`` placed in its audio (one HeardLine per line, in order),
        or None when the listener cannot take that much text at once."""


def hear_many(listener: Listener, passages: Sequence[Passage]) -> list[tuple[HeardLine, ...] | None]:
    """``listener.hear`` for each passage (at most ``listener.batch`` of them), through the
    listener's own ``hear_many`` where it batches (a GPU encodes several windows at once);
    the same results as one at a time."""
    if getattr(listener, "batch", 1) <= 1 or not hasattr(listener, "hear_many"):
        return [listener.hear(passage) for passage in passages]
    return list(listener.hear_many(passages))
