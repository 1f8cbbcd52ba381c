"""The Whisper listener: hears subtitle lines with the alignment heads' cross-attention.

The decoder is teacher-forced with a window's words; the alignment heads' attention,
followed through DTW (core.attention), gives each word its span, corrected by the
model's measured onset biases and snapped to the speech activity.  A line's score joins
the decoder's likelihood of its text and how focused its attention is on its span.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..core import attention
from ..core.activity import ACTIVITY_FRAME_S, SAMPLE_RATE_HZ, speech_activity
from ..core.listener import HeardLine, HeardWord, Passage
from ..errors import EnglishOnlyModelError, UnknownLanguageError
from .model import MAX_FRAMES, MAX_TEXT_TOKENS, TOKEN_FRAME_S, WINDOW_S

if TYPE_CHECKING:  # pragma: no cover
    from .model import ForcedAlignment, WhisperModel


@dataclass(frozen=True)
class HeardWords:
    """Where each word of a text is heard in up to WINDOW_S of audio."""

    spans: attention.WordSpans  # seconds from the audio's start, onset-corrected, snapped to speech
    forced: ForcedAlignment  # the decoder's attention and token log-probabilities
    token_start: np.ndarray  # (n_words + 1,) each word's first token row, and the end
    frame_s: float  # encoder frame length
    start_bias_s: np.ndarray  # (n_words,) the onset correction added to each start


GPU_BATCH = 8  # windows encoded together on a GPU.  On the CPU one at a time: int8's
# dynamic quantization scales activations per batch (a batch would change
# the results), and batches of 4 are no faster there (0.35 against 0.32 s
# a window, base, 2 cores)


def attention_spans(
    model: WhisperModel, samples: np.ndarray, words: Sequence[str], language: str | None, encoded=None
) -> tuple[attention.WordSpans, ForcedAlignment, list[int]] | None:
    """Teacher-force ``words`` over ``samples`` (SAMPLE_RATE_HZ, at most WINDOW_S) and read
    each word's span from the alignment heads (DTW, attention-rise onsets), as the attention
    has it: no onset correction, no snapping.  Also the decoder's output and each word's
    token count.  None when the text is empty or longer than the decoder's context.
    ``encoded``: the samples' encoder states (1, 1500, d) when already computed."""
    tokens = model.tokenize_words(list(words))
    counts = [len(t) for t in tokens]
    flat = [t for ts in tokens for t in ts]
    if not flat or len(flat) > MAX_TEXT_TOKENS:
        return None
    n_frames = min(MAX_FRAMES, int(np.ceil(samples.size / SAMPLE_RATE_HZ / TOKEN_FRAME_S)))
    if encoded is None:
        encoded = model.encode(model.log_mel([samples]))
    forced = model.force_align(encoded, flat, language, n_frames)
    return attention.word_spans(forced.attention, counts, TOKEN_FRAME_S), forced, counts


def heard_words(
    model: WhisperModel,
    samples: np.ndarray,
    words: Sequence[str],
    language: str | None,
    speech: np.ndarray | None = None,
    line_starts: Sequence[int] = (),
    encoded=None,
) -> HeardWords | None:
    """:func:`attention_spans` corrected by the model's onset bias (its line-onset bias for
    the words at ``line_starts``, the first words of subtitle lines) and snapped to
    ``speech`` (activity of the same audio; computed when None)."""
    found = attention_spans(model, samples, words, language, encoded)
    if found is None:
        return None
    spans, forced, counts = found
    start_bias = np.full(len(counts), model.onset_bias_s)
    start_bias[np.asarray(line_starts, dtype=int)] = model.line_onset_bias_s
    spans = attention.WordSpans(spans.start_s + start_bias, spans.end_s + model.onset_bias_s)
    if speech is None:
        speech = speech_activity(samples)
    spans = attention.snap_to_speech(spans, speech, ACTIVITY_FRAME_S)
    return HeardWords(spans, forced, np.concatenate([[0], np.cumsum(counts)]).astype(int), TOKEN_FRAME_S, start_bias)


class StateStore(Protocol):
    """Where a window's encoder states outlive the run (subsync.cache.MediaCache is one)."""

    def get(self, key: str) -> dict[str, np.ndarray] | None: ...

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None: ...


class WhisperListener:
    """A :class:`~subsync.core.listener.Listener` backed by a loaded WhisperModel.

    ``states``: where each window's encoder states are kept, by the window's samples
    (WhisperModel.states_key), so that a window heard again (another subtitle of the same
    film) skips the encoder; the same states, so the same results.  Used one window at a
    time (the CPU); a GPU's batches are encoded as they come."""

    window_s = WINDOW_S

    def __init__(self, model: WhisperModel, states: StateStore | None = None) -> None:
        self.model = model
        self.name = model.spec
        self.batch = GPU_BATCH if model.device.startswith("cuda") and not model.int8 else 1
        self.states = states if self.batch == 1 else None
        self.states_reused = 0  # windows whose encoder states came from ``states``

    def language_for(self, requested: str | None) -> str | None:
        model = self.model
        if not model.multilingual and requested not in (None, "en"):
            raise EnglishOnlyModelError(model.spec, requested)
        language = requested if model.multilingual else "en"
        if language and model.multilingual and language not in model.language_ids:
            raise UnknownLanguageError(model.spec, language)
        return language

    def detect_language(self, pieces: Sequence[np.ndarray]) -> str:
        probs = self.model.detect_language(self.model.encode(self.model.log_mel(list(pieces))))
        return max(probs, key=lambda language: probs[language])

    def hear(self, passage: Passage, encoded=None) -> tuple[HeardLine, ...] | None:
        if encoded is None and self.states is not None:
            encoded = self._encoded(passage.samples, self.states)
        before, lines = passage.before, passage.lines
        all_words = [*before, *[w for words in lines for w in words], *passage.after]
        firsts = [int(k) for k in np.cumsum([len(before), *[len(w) for w in lines[:-1]]])]
        words = heard_words(
            self.model,
            passage.samples,
            all_words,
            passage.language,
            passage.speech,
            line_starts=firsts,
            encoded=encoded,
        )
        if words is None:
            return None
        heard = []
        for first_word, line_words in zip(firsts, lines):
            heard.append(self._line(words, int(first_word), line_words))
        return tuple(heard)

    def hear_many(self, passages: Sequence[Passage]) -> list[tuple[HeardLine, ...] | None]:
        """:meth:`hear` for each passage, their audio encoded in one batch (the decoder
        still reads each passage's text on its own)."""
        if not passages:
            return []
        encoded = self.model.encode(self.model.log_mel([p.samples for p in passages]))  # (n, 1500, d)
        return [self.hear(passage, encoded[k : k + 1]) for k, passage in enumerate(passages)]

    def _encoded(self, samples: np.ndarray, states: StateStore):
        """The window's encoder states (1, 1500, d): kept ones, else computed and kept (a
        store that cannot be written costs the next run the encoding, nothing else)."""
        key = self.model.states_key(samples)
        stored = states.get(key)
        kept = None if stored is None or "states" not in stored else self.model.states_of(stored["states"])
        if kept is not None:
            self.states_reused += 1
            return kept
        encoded = self.model.encode(self.model.log_mel([samples]))
        with contextlib.suppress(OSError):
            states.put(key, {"states": encoded.cpu().numpy()})
        return encoded

    def _line(self, words: HeardWords, first: int, line_words: Sequence[str]) -> HeardLine:
        """One line's words and score from the window's heard words."""
        last = first + len(line_words) - 1
        spans = words.spans
        placed = tuple(
            HeardWord(word, float(spans.start_s[k]), float(spans.end_s[k]))
            for k, word in zip(range(first, last + 1), line_words)
        )
        rows = slice(words.token_start[first], words.token_start[last + 1])
        likelihood = float(np.exp(words.forced.token_logprobs[rows].mean()))
        focus = attention.span_mass(
            words.forced.attention,
            rows,
            placed[0].start_s - words.start_bias_s[first],
            placed[-1].end_s - self.model.onset_bias_s,
            words.frame_s,
        )
        return HeardLine(placed, attention.text_score(likelihood, focus))


def load_listener(
    spec: str,
    device: str = "auto",
    threads: int | None = None,
    int8: bool | None = None,
    states: StateStore | None = None,
) -> WhisperListener:
    """Load (converting once if needed) the model ``spec`` and wrap it as a listener
    (``states``: where windows' encoder states are kept, see WhisperListener)."""
    from .model import WhisperModel

    return WhisperListener(WhisperModel(spec, device, threads, int8), states)
