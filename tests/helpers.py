"""Helpers the test modules share (none imports another test module)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

SUBSYNC = [sys.executable, "-m", "subsync"]
SPEECH = Path(__file__).parent / "data" / "speech"
JFK = SPEECH / "whisper_jfk" / "media.flac"                 # 11 s of one speaker, one line
JFK_TEXT = (SPEECH / "whisper_jfk" / "text.txt").read_text().strip()


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    """``subsync ARGS`` as a user runs it: a subprocess, its output captured as text."""
    kwargs.setdefault("timeout", 600)
    return subprocess.run([*SUBSYNC, *map(str, args)], capture_output=True, text=True, **kwargs)


def one_line_error(proc) -> str:
    """The one ``subsync: error:`` line a failed run ends with (and no traceback)."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("subsync: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr   # progress lines may precede it
    return errors[0]


def dialogue_cues(n: int, seed: int = 3, first_s: float = 3.0,
                  gaps_s: tuple[float, float] = (2.5, 9.0)) -> list[tuple[float, float]]:
    """``n`` irregularly spaced cues, as dialogue is (a periodic pattern is ambiguous): each
    starts a uniform draw from ``gaps_s`` after the one before."""
    rng = np.random.default_rng(seed)
    starts = first_s + np.cumsum(rng.uniform(*gaps_s, n))
    return [(round(float(s), 2), round(float(s + d), 2)) for s, d in zip(starts, rng.uniform(0.8, 2.2, n))]


def srt_bytes(cues, offset_s: float = 0.0, word: str = "Hello", scale: float = 1.0) -> bytes:
    """SRT bytes of ``cues`` moved to ``scale * t + offset_s``, their text "WORD 1", "WORD 2"..."""
    from subsync.subtitles import format_timestamp

    return "\n".join(f"{i}\n{format_timestamp(a * scale + offset_s)} --> {format_timestamp(b * scale + offset_s)}\n"
                     f"{word} {i}\n" for i, (a, b) in enumerate(cues, 1)).encode()


def reference_pair(folder: Path, n: int = 60, offset_s: float = 12.5) -> tuple[Path, Path]:
    """A correctly timed reference (French) and the same cues ``offset_s`` late (English):
    what ``fix --reference`` syncs without audio or model."""
    cues = dialogue_cues(n)
    ref, subs = folder / "good.fr.srt", folder / "bad.srt"
    ref.write_bytes(srt_bytes(cues, 0.0, "Bonjour"))
    subs.write_bytes(srt_bytes(cues, offset_s, "Hello"))
    return ref, subs


# ---------------------------------------------------------------- model-free syncs (engine + replay)
# Synthetic films and the replay listener, shared by test_engine, test_never_worse,
# test_triage and test_api: the engine's decisions on speech-like audio in milliseconds.

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango")


def replay_listener(script, **kwargs):
    """The replay listener hearing ends as the Whisper listener does: 0.12 s later, relative
    to its starts, than the references mark them (the median of start minus end errors,
    machine references, benchmarks/results/hearing.md)."""
    from subsync.replay import ReplayListener

    kwargs.setdefault("end_errors_s", (0.12,))
    return ReplayListener(script, **kwargs)


def film(seconds: float, seed: int = 0) -> list[tuple[float, float, str]]:
    """Lines (true start, true end, text) over ``seconds``: 0.8-4 s long, 0.3-4 s apart."""
    rng = np.random.default_rng(seed)
    lines, t = [], 3.0
    while t < seconds - 5.0:
        length = rng.uniform(0.8, 4.0)
        text = " ".join(rng.choice(WORDS, 3)) + f" line {len(lines)}"
        lines.append((t, t + length, text))
        t += length + rng.uniform(0.3, 4.0)
    return lines


def babble(seconds: float, spans, seed: int = 0) -> np.ndarray:
    """Speech-like audio: band-limited noise (200-3500 Hz) with a 4 Hz syllable rhythm over
    ``spans``, a faint noise floor elsewhere.  (n_samples,) float32.  The voice is 16 s of
    band-limited noise repeated along the audio (an FFT of the whole would cost seconds)."""
    from subsync.core.activity import SAMPLE_RATE_HZ

    rng = np.random.default_rng(seed)
    audio = rng.normal(0, 0.001, int(seconds * SAMPLE_RATE_HZ)).astype(np.float32)
    block = 2 ** 18
    spectrum = np.fft.rfft(rng.normal(0, 1, block))
    freqs = np.fft.rfftfreq(block, 1 / SAMPLE_RATE_HZ)
    spectrum[(freqs < 200) | (freqs > 3500)] = 0
    voice = np.fft.irfft(spectrum, block)
    voice = np.resize((0.1 * voice / voice.std()).astype(np.float32), audio.size)   # (n_samples,)
    longest = max((int(b * SAMPLE_RATE_HZ) - int(a * SAMPLE_RATE_HZ) for a, b in spans), default=0)
    syllables = (0.6 + 0.4 * np.sin(2 * np.pi * 4 * np.arange(longest) / SAMPLE_RATE_HZ)).astype(np.float32)
    for a, b in spans:
        first, last = int(a * SAMPLE_RATE_HZ), min(audio.size, int(b * SAMPLE_RATE_HZ))
        audio[first:last] += voice[first:last] * syllables[: last - first]
    return audio


def script(truth, score: float = 0.9) -> list:
    """The replay script of ``truth`` ((start, end, text)): each line said where it is."""
    from subsync.replay import Utterance

    return [Utterance(text, s, e, score) for s, e, text in truth]


def engine_sync(audio, lines, listener=None, **options):
    """engine.sync_audio of ``lines`` to ``audio`` with ``listener`` (None: it must not be
    asked for) and SyncOptions(**options)."""
    from subsync.core import engine
    from subsync.core.options import SyncOptions

    def listen():
        if listener is None:
            raise AssertionError("the listener was asked for")
        return listener
    return engine.sync_audio(audio, lines, SyncOptions(**options), listen, lambda *_: None)


# The Whisper listener's measured hearing errors (benchmarks/results/hearing-raw.json, made by
# benchmarks/hearing.py): per heard, spoken line with a first word, its start error, the
# length of its first word and its end error.

_MEASURED: dict[str, tuple] = {}


def measured_errors() -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(start errors, first-word lengths, end errors) of the measured lines, paired (read once)."""
    import json

    if "errors" in _MEASURED:
        return _MEASURED["errors"]

    raw = json.loads((Path(__file__).resolve().parent.parent / "benchmarks" / "results"
                      / "hearing-raw.json").read_text())
    heard = [(line["heard"]["start_s"] - line["start_s"], line["heard"]["first_word_s"],
              line["heard"]["end_s"] - line["end_s"])
             for case in raw["cases"] if not case["singing"] for line in case["lines"]
             if line["heard"] and line["spoken"] and line["heard"]["first_word_s"] is not None]
    _MEASURED["errors"] = tuple(tuple(column) for column in zip(*heard))
    return _MEASURED["errors"]


def measured_listener(voices, seed: int, **kwargs):
    """The replay listener hearing ``voices`` ((start, end, text)) with the measured errors."""
    from subsync.replay import ReplayListener, Utterance

    starts, first_words, ends = measured_errors()
    return ReplayListener([Utterance(t, s, e) for s, e, t in voices], start_errors_s=starts,
                          first_words_s=first_words, end_errors_s=ends, seed=seed, **kwargs)


def human_times(voices, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """How a subtitler times lines spoken at ``voices`` ((start, end, text)): a file-wide
    lead-in of 100-250 ms and linger of 300-900 ms, each line varying by +-50 ms, at
    least 0.7 s or 21 characters a second on screen, never into the next line."""
    rng = np.random.default_rng(seed)
    lead, linger = rng.uniform(0.1, 0.25), rng.uniform(0.3, 0.9)
    starts = np.array([s for s, _, _ in voices]) - lead + rng.uniform(-0.05, 0.05, len(voices))
    ends = np.array([e for _, e, _ in voices]) + linger + rng.uniform(-0.05, 0.05, len(voices))
    ends = np.maximum(ends, starts + np.maximum(0.7, [len(t) / 21 for _, _, t in voices]))
    ends[:-1] = np.minimum(ends[:-1], starts[1:] - 0.04)
    return starts, ends


def subtitle(voices, starts, ends, scale: float, offset_s: float):
    """The human-timed subtitle with a global fault: subtitle time = (media - offset) / scale."""
    from subsync.core.hearing import Lines

    return Lines(tuple(t for _, _, t in voices), (starts - offset_s) / scale, (ends - offset_s) / scale)


def unmoved(placed) -> np.ndarray:
    """Per line: within 50 ms of where the final map puts it."""
    return np.array([abs(line.start_s - line.mapped_start_s) <= 0.05 for line in placed.lines])


def restored(placed, starts) -> np.ndarray:
    """Per line: the start within 250 ms of the subtitler's own timing.  The speech pattern
    fixes a map only up to the lines' slack (a lead of 100-250 ms and a linger of 300-900 ms
    here), and no convention of where lines start moves it: what the activity map leaves."""
    return np.abs(np.array([line.start_s for line in placed.lines]) - starts) <= 0.25


def near(placed, starts) -> np.ndarray:
    """Per line: the start within 500 ms of the subtitler's own timing (on a short file with
    long lingers, the activity's map can leave lines up to half their slack away)."""
    return np.abs(np.array([line.start_s for line in placed.lines]) - starts) <= 0.5
