"""A listener that replays where things are said: the engine's decisions without weights.

:class:`ReplayListener` hears from a *script*: where each text is spoken in the media
(recorded from a real run with :class:`RecordingListener`, or written from a reference
with known times), each heard start and end displaced by an error drawn from a given
distribution (for example the aligner's measured start errors, tails included).  A line
whose text is not spoken inside the passage is placed where a forced aligner puts text
it cannot hear, in the passage's middle, with a low score.  It answers the same protocol
as the Whisper listener, so every path of the engine runs in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .core.activity import SAMPLE_RATE_HZ
from .core.listener import HeardLine, HeardWord, Listener, Passage

_WORD_RE = re.compile(r"[^\w']+")


@dataclass(frozen=True, slots=True)
class Utterance:
    """One text spoken in the media, in media seconds: a line of a replay script (a
    reference with known times, or what a real listener heard)."""

    text: str
    start_s: float
    end_s: float
    score: float = 0.9          # how surely a listener hears it there (0..1)


def _key(words: Sequence[str]) -> str:
    """Words compared without case and punctuation."""
    return " ".join(w for w in (_WORD_RE.sub("", word).lower() for word in words) if w)


@dataclass
class ReplayListener:
    """A Listener over a script of utterances.

    start_errors_s / end_errors_s: the heard-minus-true error distribution (seconds) to
    draw from, one draw per utterance and seed (the same line heard twice is heard the
    same way, as a deterministic model would).  max_words: more words in one passage
    than this cannot be taken at once (as a decoder's context).  ``passages`` records
    every passage heard."""

    script: Sequence[Utterance]
    language: str = "en"
    start_errors_s: Sequence[float] = (0.0,)
    end_errors_s: Sequence[float] = (0.0,)
    seed: int = 0
    unheard_score: float = 0.05
    max_words: int | None = None
    name: str = "replay"
    window_s: float = 30.0
    passages: list[Passage] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._by_text: dict[str, list[int]] = {}
        for k, utterance in enumerate(self.script):
            self._by_text.setdefault(_key(utterance.text.split()), []).append(k)

    def language_for(self, requested: str | None) -> str | None:
        return requested

    def detect_language(self, pieces: Sequence[np.ndarray]) -> str:
        return self.language

    def hear(self, passage: Passage) -> tuple[HeardLine, ...] | None:
        self.passages.append(passage)
        n_words = len(passage.before) + sum(len(line) for line in passage.lines) + len(passage.after)
        if n_words == 0 or (self.max_words is not None and n_words > self.max_words):
            return None
        length_s = passage.samples.size / SAMPLE_RATE_HZ
        return tuple(self._line(words, passage.start_s, length_s) for words in passage.lines)

    def _line(self, words: tuple[str, ...], origin_s: float, length_s: float) -> HeardLine:
        spoken = self._spoken_in(_key(words), origin_s, origin_s + length_s)
        if spoken is None:               # not said here: placed mid-passage, unsure
            start_s, end_s, score = 0.4 * length_s, 0.6 * length_s, self.unheard_score
        else:
            utterance = self.script[spoken]
            rng = np.random.default_rng([self.seed, spoken])
            start_s = utterance.start_s + float(rng.choice(self.start_errors_s)) - origin_s
            end_s = utterance.end_s + float(rng.choice(self.end_errors_s)) - origin_s
            score = utterance.score
        start_s = float(np.clip(start_s, 0.0, length_s))
        end_s = float(np.clip(end_s, start_s, length_s))
        edges = np.linspace(start_s, end_s, len(words) + 1)
        return HeardLine(tuple(HeardWord(w, float(a), float(b)) for w, a, b in zip(words, edges, edges[1:])),
                         float(score))

    def _spoken_in(self, key: str, first_s: float, last_s: float) -> int | None:
        """The utterance of this text whose middle lies in [first_s, last_s] (None: none)."""
        for k in self._by_text.get(key, ()):
            middle = (self.script[k].start_s + self.script[k].end_s) / 2
            if first_s <= middle <= last_s:
                return k
        return None


class RecordingListener:
    """Wraps a listener and records what it heard, in media time, as a replayable script."""

    def __init__(self, inner: Listener) -> None:
        self.inner = inner
        self.name, self.window_s = inner.name, inner.window_s
        self.heard: list[Utterance] = []

    def language_for(self, requested: str | None) -> str | None:
        return self.inner.language_for(requested)

    def detect_language(self, pieces: Sequence[np.ndarray]) -> str:
        return self.inner.detect_language(pieces)

    def hear(self, passage: Passage) -> tuple[HeardLine, ...] | None:
        heard = self.inner.hear(passage)
        for words, line in zip(passage.lines, heard or ()):
            self.heard.append(Utterance(" ".join(words), passage.start_s + line.start_s,
                                        passage.start_s + line.end_s, line.score))
        return heard

    def script(self) -> list[Utterance]:
        """The utterances heard, most confident first for each text (as ReplayListener reads them)."""
        return sorted(self.heard, key=lambda u: -u.score)
