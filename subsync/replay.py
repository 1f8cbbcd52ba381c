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

from .core import listener_errors
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
    score: float = 0.9  # how surely a listener hears it there (0..1)
    voice_start_s: float | None = None  # where its words are really said from, when ``start_s`` is
    # heard earlier (a first word stretched over a pause or a
    # filler, as aligners do); None: from start_s


def _key(words: Sequence[str]) -> str:
    """Words compared without case and punctuation."""
    return " ".join(w for w in (_WORD_RE.sub("", word).lower() for word in words) if w)


@dataclass
class ReplayListener:
    """A Listener over a script of utterances.

    start_errors_s / end_errors_s: the heard-minus-true error distribution (seconds) to
    draw from, one draw per utterance and seed (the same line heard twice is heard the
    same way, as a deterministic model would).  first_words_s: how long the first word
    was heard with each start error (paired with start_errors_s, as the hearing report
    records them); without it a first word lasts what a line's first word typically does
    (listener_errors.FIRST_WORD_S), so the engine's onset correction leaves the start
    error as drawn.  max_words: more words in one passage than this cannot be taken at
    once (as a decoder's context).  ``passages`` records every passage heard."""

    script: Sequence[Utterance]
    language: str = "en"
    start_errors_s: Sequence[float] = (0.0,)
    end_errors_s: Sequence[float] = (0.0,)
    first_words_s: Sequence[float] | None = None
    seed: int = 0
    unheard_score: float = 0.05
    max_words: int | None = None
    name: str = "replay"
    window_s: float = 30.0
    passages: list[Passage] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.first_words_s is not None and len(self.first_words_s) != len(self.start_errors_s):
            raise ValueError("first_words_s pairs with start_errors_s: give as many of each")
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
        spoken, said = self._spoken_in(_key(words), origin_s, origin_s + length_s)
        first_s = listener_errors.FIRST_WORD_S
        if spoken is None:  # not said here: placed mid-passage, unsure
            start_s, end_s = 0.4 * length_s, 0.6 * length_s
            first_end_s = start_s + first_s
            score = self.unheard_score
        else:
            utterance = self.script[spoken]
            rng = np.random.default_rng([self.seed, spoken])
            drawn = int(rng.integers(len(self.start_errors_s)))
            start_s = utterance.start_s - origin_s + float(self.start_errors_s[drawn])
            said_end_s = utterance.start_s + said * (utterance.end_s - utterance.start_s)
            end_s = said_end_s - origin_s + float(rng.choice(self.end_errors_s))
            if utterance.voice_start_s is not None:  # the first word stretched back over a pause
                first_end_s = utterance.voice_start_s - origin_s + first_s
            else:
                first_end_s = start_s + (first_s if self.first_words_s is None else float(self.first_words_s[drawn]))
            score = utterance.score
        start_s = float(np.clip(start_s, 0.0, length_s))
        end_s = float(np.clip(end_s, start_s, length_s))
        edges = _word_edges(words, start_s, first_end_s, end_s)
        return HeardLine(
            tuple(HeardWord(w, float(a), float(b)) for w, a, b in zip(words, edges, edges[1:])), float(score)
        )

    def _spoken_in(self, key: str, first_s: float, last_s: float) -> tuple[int | None, float]:
        """The utterance of this text whose middle lies in [first_s, last_s], or one that
        starts there with these as its first words (a line longer than the passage, heard
        by its beginning), and the share of its words they are; (None, 0) when none."""
        for k in self._by_text.get(key, ()):
            middle = (self.script[k].start_s + self.script[k].end_s) / 2
            if first_s <= middle <= last_s:
                return k, 1.0
        for text, ks in self._by_text.items():
            if key and text.startswith(key + " "):
                for k in ks:
                    if first_s <= self.script[k].start_s <= last_s:
                        return k, len(key.split()) / len(text.split())
        return None, 0.0


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
            self.heard.append(
                Utterance(" ".join(words), passage.start_s + line.start_s, passage.start_s + line.end_s, line.score)
            )
        return heard

    def script(self) -> list[Utterance]:
        """The utterances heard, most confident first for each text (as ReplayListener reads them)."""
        return sorted(self.heard, key=lambda u: -u.score)


def _word_edges(words: Sequence[str], start_s: float, first_end_s: float, end_s: float) -> np.ndarray:
    """(n_words + 1,) word boundaries of a line heard from ``start_s`` to ``end_s``: the
    first word ends at ``first_end_s`` (a one-word line's at ``end_s``), the others share
    the rest by their letters."""
    if len(words) == 1:
        return np.array([start_s, end_s])
    first_end_s = float(np.clip(first_end_s, start_s, end_s))
    letters = np.array([max(1, len(_WORD_RE.sub("", word))) for word in words[1:]], dtype=np.float64)
    rest = first_end_s + (end_s - first_end_s) * np.cumsum(letters) / letters.sum()
    return np.concatenate([[start_s, first_end_s], rest])
