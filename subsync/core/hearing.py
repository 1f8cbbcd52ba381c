"""The engine's ears: windows of lines heard through a Listener, as per-line evidence.

:class:`Hearing` plans windows of lines under a time map, asks the listener where their
words are, and weighs each heard line by the speech activity where it was placed (a
decoder finds fluent text likely even over silence).  It also verifies candidate maps
(which one's lines are best heard where it puts them) and scans the audio for the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import anchors, listener_errors, timemap
from .activity import (
    ACTIVITY_FRAME_S,
    ACTIVITY_FRAMES_PER_S,
    SAMPLE_RATE_HZ,
    SPEECH_THRESHOLD,
    n_frames_for,
)
from .attention import text_score
from .decisions import Heard, Word, is_evidence
from .listener import HeardLine, Listener, Passage, hear_many
from .options import SyncOptions
from .sound import Sound
from .windows import Window, far_window, fullest, plan_windows, spread_sample

Progress = Callable[[str, int, int], None]  # (stage, done, total)

MIN_WINDOW_S = 0.1  # windows with less audio than this are not aligned
VOICED_ENOUGH = 0.25  # a line heard over this share of speech frames is fully credible
VOICELESS_FACTOR = 0.2  # the confidence left to a line placed where no speech is detected
LANGUAGE_WINDOWS = 3  # windows used to detect the spoken language
SCAN_BELOW = 0.5  # verification below this searches the lines' text in the audio ...
MAX_SCAN_S = 1200.0  # ... in media up to this long
SCAN_STEP_S = 10.0
SCAN_BLOCK_S = 15.0
ACCEPT_SCORE = 0.5  # a clear match whose probes score this is taken as it is
FINALISTS = 3  # candidates checked on a second, distant window
SHORT_SPAN_S = 120.0  # subtitles spanning less than this prefer no drift in verification
UNIT_SCALE_MARGIN = 0.05  # verification prefers no drift unless another scale scores this much better


@dataclass(frozen=True)
class Lines:
    """The cues as the engine sees them: spoken text ("" for none) and subtitle times."""

    texts: tuple[str, ...]
    starts_s: np.ndarray  # (n,)
    ends_s: np.ndarray  # (n,)


def voice_factor(voiced: float) -> float:
    """The share of a heard line's confidence left by the speech where it was placed:
    1 from VOICED_ENOUGH of speech frames on, VOICELESS_FACTOR with none."""
    return float(np.clip(voiced / VOICED_ENOUGH, VOICELESS_FACTOR, 1.0))


def line_confidence(likelihood: float, focus: float, voiced: float = 1.0) -> float:
    """0..1 from the decoder's per-token likelihood of the text, the attention's focus
    and the share of speech frames where the line was placed (see attention.text_score)."""
    return float(text_score(likelihood, focus) * voice_factor(voiced))


def voiced_share(speech: np.ndarray, start_s: float, end_s: float) -> float:
    """Share of speech-activity frames within [start_s, end_s] (relative to ``speech``)."""
    first = max(0, int(start_s * ACTIVITY_FRAMES_PER_S))
    frames = speech[first : max(first + 1, int(np.ceil(end_s * ACTIVITY_FRAMES_PER_S)))]
    return float(np.mean(frames >= SPEECH_THRESHOLD)) if frames.size else 0.0


class Hearing:
    """A listener over one file's audio and lines: windows heard, maps verified."""

    def __init__(
        self,
        listener: Listener,
        sound: Sound,
        lines: Lines,
        options: SyncOptions,
        report: Progress,
    ) -> None:
        self.listener, self.sound, self.speech, self.lines = listener, sound, sound.speech, lines
        self.duration_s = sound.duration_s
        self.options, self.report = options, report
        self.language = listener.language_for(options.language)
        self.detected = False  # the language was detected from the audio (not given)
        self._heard: dict[Window, dict[int, Heard]] = {}  # every window heard, once (verify, sample, align)
        keep = timemap.reachable(lines.starts_s, self.duration_s, options.max_offset_s)
        self.span_s = timemap.span_s(lines.starts_s[keep], lines.ends_s[keep])  # the lines the search can place

    def windows(self, time_map: timemap.TimeMap) -> list[Window]:
        starts, ends = timemap.mapped(time_map, self.lines.starts_s, self.lines.ends_s)
        return plan_windows(starts, ends, self.lines.texts, self.duration_s, self.listener.window_s)

    def spoken_language(self) -> str:
        """The spoken language (given, or detected from the audio)."""
        if self.language is None:
            self.language = self.listener.detect_language(_OnDemand(self._voiced_pieces))
            self.detected = True
        return self.language

    # ------------------------------------------------------------ verification

    def verify(
        self, candidates: Sequence[timemap.TimeMap], clear: bool = False, scan: bool = True
    ) -> tuple[timemap.TimeMap, float]:
        """The candidate map under which the lines' text is best heard where it places
        them, and how well it is heard there (the probed lines' mean confidence).

        A ``clear`` first candidate (speech activity put it well ahead) is taken when
        its lines are clearly heard in its fullest window and in one far from it.  Each
        candidate is scored by the confidence of the lines in its fullest window (the
        best few again on a second window, far from the first, to tell scales apart); the
        chosen map's text counts as heard as well as in its best probed window.
        If no candidate is heard at all (text not in the audio), the speech-activity
        best (the first) stays.  A window is heard once, however often it comes up.
        """
        self.spoken_language()
        if clear or len(candidates) == 1:
            probes = self._probe_far_apart(candidates[0])
            if len(candidates) == 1 or min(probes) >= ACCEPT_SCORE:
                return candidates[0], max(probes)
        candidates = list(candidates)
        scores = []
        for done, candidate in enumerate(candidates):
            self.report("verifying offset and drift", done, len(candidates))
            scores.append(self._probe(fullest(self.windows(candidate))))
        # Tie-break towards no drift: a short window hears every ratio about equally well.
        scores = [score - self._drift_penalty(c) for score, c in zip(scores, candidates)]
        if scan and max(scores) < SCAN_BELOW and self.duration_s <= MAX_SCAN_S:
            # Speech activity gave no convincing candidate (speech everywhere, music...):
            # look for a block of lines' text across the whole audio.
            found = self._scan(candidates[0])
            candidates += found
            scores += [self._probe(fullest(self.windows(c))) - self._drift_penalty(c) for c in found]
        return self._final(candidates, scores)

    def _probe_far_apart(self, candidate: timemap.TimeMap) -> list[float]:
        """The candidate's fullest window's score, and that of a window far from it."""
        windows = self.windows(candidate)
        first = fullest(windows)
        second = far_window(windows, first, self.listener.window_s)
        return [self._probe(first), *([self._probe(second)] if second is not None else [])]

    def _final(self, candidates: Sequence[timemap.TimeMap], scores: Sequence[float]) -> tuple[timemap.TimeMap, float]:
        """The best-scored few heard again on a second, distant window; the best total wins."""
        order = np.argsort(-np.asarray(scores), kind="stable")  # best first; a tie keeps the activity's order
        if scores[order[0]] < self.options.min_confidence:
            return candidates[0], float(scores[order[0]])
        finalists = order[:FINALISTS]
        totals, heard = [], []
        for k in finalists:
            windows = self.windows(candidates[k])
            far = far_window(windows, fullest(windows), self.listener.window_s)
            second = self._probe(far) if far is not None else scores[k]
            totals.append(scores[k] + second)
            heard.append(max(scores[k], second))
        self.report("verifying offset and drift", len(candidates), len(candidates))
        best = int(np.argmax(totals))
        return candidates[finalists[best]], float(heard[best])

    def _drift_penalty(self, candidate: timemap.TimeMap) -> float:
        """Short subtitle spans cannot show drift: there, prefer no drift unless clearly better."""
        if self.span_s >= SHORT_SPAN_S or abs(candidate.scale - 1.0) < 1e-9:
            return 0.0
        return UNIT_SCALE_MARGIN

    def _scan(self, reference: timemap.TimeMap) -> list[timemap.TimeMap]:
        """Maps that put a block of lines where its text is heard best in the audio.

        The block is the fullest window's lines under ``reference``, cut to SCAN_BLOCK_S
        of subtitle time; it is heard over windows every SCAN_STEP_S across the media,
        and the best window's heard starts that are evidence (decisions.is_evidence) give
        an offset for each common scale.
        """
        block = fullest(self.windows(reference))
        if block is None:
            return []
        starts = self.lines.starts_s
        lines = tuple(i for i in block.lines if starts[i] - starts[block.lines[0]] <= SCAN_BLOCK_S)
        best: tuple[float, dict[int, Heard]] = (0.0, {})
        positions = np.arange(0.0, max(self.duration_s - SCAN_STEP_S, 0.0) + 1e-9, SCAN_STEP_S)
        for done, start in enumerate(positions):
            self.report("searching the text in the audio", done, len(positions))
            end = min(start + self.listener.window_s, self.duration_s)
            heard = self.hear(Window(float(start), float(end), lines))
            if heard:
                score = float(np.mean([h.confidence for h in heard.values()]))
                if score > best[0]:
                    best = (score, heard)
        evidence = {i: h for i, h in best[1].items() if is_evidence(h, self.speech, self.duration_s)}
        if best[0] < self.options.min_confidence or not evidence:
            return []
        sub = starts[list(evidence)]
        media = np.array([h.start_s for h in evidence.values()])
        weights = np.array([h.confidence for h in evidence.values()])
        return [
            timemap.TimeMap(float(scale), anchors.offset_at(float(scale), sub, media, weights))
            for scale in timemap.COMMON_SCALES
        ]

    def _probe(self, window: Window | None) -> float:
        """The text-length-weighted confidence of a window's lines (0 for no window)."""
        heard = self.hear(window) if window is not None else {}
        weights = [len(self.lines.texts[i]) for i in heard]
        return float(np.average([h.confidence for h in heard.values()], weights=weights)) if heard else 0.0

    # ------------------------------------------------------------ alignment

    def align(self, time_map: timemap.TimeMap, sample: int | None = None) -> dict[int, Heard]:
        """Where the lines of every window (or of ``sample`` windows spread over the
        file) are heard, under ``time_map``."""
        return self.hear_all(spread_sample(self.windows(time_map), sample))

    def hear_all(self, windows: Sequence[Window]) -> dict[int, Heard]:
        """Where the lines of ``windows`` are heard (each window heard once per file; the
        new ones in the listener's batches, listener.hear_many)."""
        new = [w for w in dict.fromkeys(windows) if w not in self._heard]
        self.sound.prefetch([(w.start_s, w.end_s) for w in new])
        batch = max(1, getattr(self.listener, "batch", 1))
        for first in range(0, len(new), batch):
            self.report("aligning lines", first, len(new))
            self._hear_new(new[first : first + batch])
        self.report("aligning lines", len(new), len(new))
        heard: dict[int, Heard] = {}
        for window in windows:
            heard.update(self._heard[window])
        return heard

    @property
    def windows_heard(self) -> int:
        """Distinct windows heard so far in this file."""
        return len(self._heard)

    @property
    def heard_windows(self) -> frozenset[Window]:
        """The windows heard so far (verification's probes, the sample...)."""
        return frozenset(self._heard)

    def hear(self, window: Window) -> dict[int, Heard]:
        """Where each line of ``window`` is heard (media seconds), with its confidence; a
        window heard before (probed in verification, then aligned) is not heard again."""
        if window not in self._heard:
            self._hear_new([window])
        return self._heard[window]

    def _hear_new(self, windows: Sequence[Window]) -> None:
        """Hear ``windows`` (not heard yet; at most the listener's batch) into the cache."""
        passages = [self.passage(w) for w in windows]
        answers = iter(hear_many(self.listener, [p for p in passages if p is not None]))
        for window, passage in zip(windows, passages):
            self._heard[window] = {} if passage is None else self._placed(window, passage, next(answers))

    def passage(self, window: Window) -> Passage | None:
        """What the listener hears for ``window`` (None: too little audio)."""
        samples = self._audio(window.start_s, window.end_s)
        if samples.size < MIN_WINDOW_S * SAMPLE_RATE_HZ:
            return None
        first_frame = int(round(window.start_s * ACTIVITY_FRAMES_PER_S))
        speech = self.speech[first_frame : first_frame + n_frames_for(samples.size)]
        return Passage(
            window.start_s,
            samples,
            speech,
            tuple(window.words(k, self.lines.texts[i]) for k, i in enumerate(window.lines)),
            tuple(window.before.split()),
            tuple(window.after.split()),
            self.language,
        )

    @staticmethod
    def _placed(window: Window, passage: Passage, heard_lines: Sequence[HeardLine] | None) -> dict[int, Heard]:
        """The listener's lines in media seconds, weighed by the speech under each."""
        if heard_lines is None:
            return {}
        return {
            index: _heard(line, window.start_s, voice_factor(voiced_share(passage.speech, line.start_s, line.end_s)))
            for index, line in zip(window.lines, heard_lines)
        }

    def _audio(self, start_s: float, end_s: float) -> np.ndarray:
        return self.sound.clip(start_s, end_s)

    def _voiced_pieces(self) -> list[np.ndarray]:
        """The audio of the LANGUAGE_WINDOWS non-overlapping full windows with the most
        speech (not of where the subtitles' lines happen to be placed: a few seconds of
        speech are easily taken for another language)."""
        voiced = np.concatenate([[0], np.cumsum(self.speech >= SPEECH_THRESHOLD)])
        window = int(self.listener.window_s * ACTIVITY_FRAMES_PER_S)
        step = int(SCAN_STEP_S * ACTIVITY_FRAMES_PER_S)
        firsts = np.arange(0, max(1, voiced.size - window), step)
        counts = voiced[np.minimum(firsts + window, voiced.size - 1)] - voiced[firsts]
        chosen: list[int] = []
        for first in firsts[np.argsort(-counts, kind="stable")]:
            if len(chosen) == LANGUAGE_WINDOWS:
                break
            if all(abs(int(first) - other) >= window for other in chosen):  # no overlap
                chosen.append(int(first))
        spans = [
            (first * ACTIVITY_FRAME_S, min(first * ACTIVITY_FRAME_S + self.listener.window_s, self.duration_s))
            for first in chosen
        ]
        self.sound.prefetch(spans)
        return [self._audio(*span) for span in spans]


class _OnDemand(Sequence[np.ndarray]):
    """Audio pieces decoded when first read: a listener that knows the language already
    (detected in this track before, api's media cache) answers without them."""

    def __init__(self, make: Callable[[], list[np.ndarray]]) -> None:
        self._make = make
        self._pieces: list[np.ndarray] | None = None

    def _made(self) -> list[np.ndarray]:
        if self._pieces is None:
            self._pieces = self._make()
        return self._pieces

    def __len__(self) -> int:
        return len(self._made())

    def __getitem__(self, index):  # (an int or a slice, as a list's)
        return self._made()[index]


def voice_onset_s(
    first_word_start_s: float,
    first_word_end_s: float,
    knee_s: float = listener_errors.FIRST_WORD_KNEE_S,
    slope: float = listener_errors.FIRST_WORD_SLOPE,
) -> float:
    """Where a heard line's voice starts: its first word's start, moved later by ``slope``
    times how much longer than ``knee_s`` (longer than nine in ten first words last) that
    word is heard.  The alignment path must place every frame: it stretches a line's
    first word over the pause or breath before it, so the longer the word is heard past
    what words last, the earlier its start lands (measured on the bench with
    benchmarks/hearing.py; listener_errors.py).  Never past the word's end."""
    excess_s = max(0.0, (first_word_end_s - first_word_start_s) - knee_s)
    return float(min(first_word_start_s + slope * excess_s, first_word_end_s))


def _heard(line: HeardLine, start_s: float, voice: float) -> Heard:
    """A listener's line (times from its passage's ``start_s``) in media seconds, its start
    where its first word says the voice starts (voice_onset_s), its score weighed by how
    much of it lies on speech (``voice``, voice_factor).  Its words are as heard."""
    confidence = float(line.score * voice)
    first = line.words[0]
    return Heard(
        start_s + voice_onset_s(first.start_s, first.end_s),
        start_s + line.end_s,
        confidence,
        tuple(Word(w.word, start_s + w.start_s, start_s + w.end_s, confidence) for w in line.words),
    )
