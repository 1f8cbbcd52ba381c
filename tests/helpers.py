"""Helpers the test modules share (none imports another test module)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import numpy as np

SUBSYNC = [sys.executable, "-m", "subsync"]
SPEECH = Path(__file__).parent / "data" / "speech"
JFK = SPEECH / "whisper_jfk" / "media.flac"  # 11 s of one speaker, one line
JFK_TEXT = (SPEECH / "whisper_jfk" / "text.txt").read_text().strip()


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    """``subsync ARGS`` as a user runs it: a subprocess, its output captured as text."""
    kwargs.setdefault("timeout", 600)
    return subprocess.run([*SUBSYNC, *map(str, args)], capture_output=True, text=True, **kwargs)


def interruptible() -> None:
    """``preexec_fn`` for a child the test sends SIGINT, as a terminal's Ctrl-C: its SIGINT
    back to the default.  A suite started in the background of a shell without job control
    (``pytest &``, cron, some CI runners) inherits SIGINT ignored, and a Python started with
    it ignored keeps ignoring it: the child would never see the signal."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_line_error(proc) -> str:
    """The one ``subsync: error:`` line a failed run ends with (and no traceback)."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("subsync: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr  # progress lines may precede it
    return errors[0]


def dialogue_cues(
    n: int, seed: int = 3, first_s: float = 3.0, gaps_s: tuple[float, float] = (2.5, 9.0)
) -> list[tuple[float, float]]:
    """``n`` irregularly spaced cues, as dialogue is (a periodic pattern is ambiguous): each
    starts a uniform draw from ``gaps_s`` after the one before."""
    rng = np.random.default_rng(seed)
    starts = first_s + np.cumsum(rng.uniform(*gaps_s, n))
    return [(round(float(s), 2), round(float(s + d), 2)) for s, d in zip(starts, rng.uniform(0.8, 2.2, n))]


def srt_bytes(cues, offset_s: float = 0.0, word: str = "Hello", scale: float = 1.0) -> bytes:
    """SRT bytes of ``cues`` moved to ``scale * t + offset_s``, their text "WORD 1", "WORD 2"..."""
    from subsync.subtitles import format_timestamp

    return "\n".join(
        f"{i}\n{format_timestamp(a * scale + offset_s)} --> {format_timestamp(b * scale + offset_s)}\n{word} {i}\n"
        for i, (a, b) in enumerate(cues, 1)
    ).encode()


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

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
)


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
    lines: list[tuple[float, float, str]] = []
    t = 3.0
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
    block = 2**18
    spectrum = np.fft.rfft(rng.normal(0, 1, block))
    freqs = np.fft.rfftfreq(block, 1 / SAMPLE_RATE_HZ)
    spectrum[(freqs < 200) | (freqs > 3500)] = 0
    voice = np.fft.irfft(spectrum, block)
    voice = np.resize((0.1 * voice / voice.std()).astype(np.float32), audio.size)  # (n_samples,)
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

    raw = json.loads(
        (Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "hearing-raw.json").read_text()
    )
    heard = [
        (
            line["heard"]["start_s"] - line["start_s"],
            line["heard"]["first_word_s"],
            line["heard"]["end_s"] - line["end_s"],
        )
        for case in raw["cases"]
        if not case["singing"]
        for line in case["lines"]
        if line["heard"] and line["spoken"] and line["heard"]["first_word_s"] is not None
    ]
    _MEASURED["errors"] = tuple(tuple(column) for column in zip(*heard))
    return _MEASURED["errors"]


def measured_listener(voices, seed: int, **kwargs):
    """The replay listener hearing ``voices`` ((start, end, text)) with the measured errors."""
    from subsync.replay import ReplayListener, Utterance

    starts, first_words, ends = measured_errors()
    return ReplayListener(
        [Utterance(t, s, e) for s, e, t in voices],
        start_errors_s=starts,
        first_words_s=first_words,
        end_errors_s=ends,
        seed=seed,
        **kwargs,
    )


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


# ---------------------------------------------------------------- the CLI in-process, the replay listener


class Invoked:
    """What one in-process ``subsync`` run gave: its exit status, stdout and stderr (the
    fields of subprocess.CompletedProcess that the tests read)."""

    def __init__(self, args, returncode: int, stdout: str, stderr: str) -> None:
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    def __repr__(self) -> str:
        return f"Invoked({self.args!r}, returncode={self.returncode}, stderr={self.stderr!r})"


def invoke(*args, env: dict | None = None) -> Invoked:
    """``subsync ARGS`` in this process, through the console entry point ``cli.run()``
    (click's usage errors become one line there), with stdin, stdout and stderr those of
    click's CliRunner (stderr kept apart, not a terminal).  The exit status is the one
    ``run()`` exits with."""
    import os

    from click.testing import CliRunner

    from subsync import cli

    argv = ["subsync", *map(str, args)]
    saved_argv, saved_exit = sys.argv, os._exit

    def exit_now(status: int) -> NoReturn:  # run() ends at once while a model thread lives: here, as sys.exit does
        raise SystemExit(status)

    code = 0
    with CliRunner().isolation(env=env) as streams:
        sys.argv, os._exit = argv, exit_now
        try:
            cli.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv, os._exit = saved_argv, saved_exit
        stdout, stderr = streams[0].getvalue().decode(), streams[1].getvalue().decode()
    return Invoked(argv[1:], code, stdout, stderr)


def jfk_script():
    """Where JFK's one line is said in JFK (``And so`` from 0.32 s to the end of ``country``
    at 10.6 s): the replay listener's script for the JFK clip."""
    from subsync.replay import Utterance

    return (Utterance(JFK_TEXT, 0.32, 10.6),)


def script_from_srt(path: Path, shift_s: float = 0.0):
    """A replay script from a correctly timed subtitle: each cue's text said at its times."""
    from subsync.replay import Utterance
    from subsync.subtitles import read_srt

    return tuple(Utterance(cue.text, cue.start_s + shift_s, cue.end_s + shift_s) for cue in read_srt(path).cues)


def replay_sync(script, model_options, options, threads: int, cache: bool = True):
    """``subsync.batch.synchronizer_sync`` with a replay listener over ``script`` for the
    model: picklable (a module function), so batch worker processes use it too."""
    from subsync.api import Synchronizer
    from subsync.replay import ReplayListener

    synchronizer = Synchronizer(ReplayListener(list(script), name=f"replay:{model_options.model}"), cache=cache)
    return lambda pair, report: synchronizer.sync(pair.media, pair.subs, options, progress=report)


def use_replay(monkeypatch, script) -> list:
    """The CLI's (and the library's) model is a replay listener over ``script``: in this
    process (whisper.listener.load_listener) and in batch worker processes
    (batch.synchronizer_sync).  Returns the list of model specs loaded in this process, one
    per load, so a test can tell whether (and which) model was asked for."""
    import functools

    from subsync import batch
    from subsync.replay import ReplayListener
    from subsync.whisper import listener

    loaded: list = []

    def load_listener(spec, device="auto", threads=None, int8=None, states=None):
        loaded.append(spec)
        return ReplayListener(list(script), name=f"replay:{spec}")

    monkeypatch.setattr(listener, "load_listener", load_listener)
    monkeypatch.setattr(batch, "synchronizer_sync", functools.partial(replay_sync, tuple(script)))
    return loaded


def srt_starts(data: bytes | str) -> list[float]:
    """The start times (seconds) of the cues in SRT text."""
    from subsync.subtitles import parse_subtitle_bytes

    doc = parse_subtitle_bytes(data.encode() if isinstance(data, str) else data)
    return [cue.start_s for cue in doc.cues]


def distorted_srt(cues, scale: float, offset_s: float) -> bytes:
    """SRT bytes of ``cues`` ((start_s, end_s, text), ...) with subtitle time = scale * true time + offset_s."""
    from subsync.subtitles import format_timestamp

    blocks = [
        f"{i}\n{format_timestamp(s * scale + offset_s)} --> {format_timestamp(e * scale + offset_s)}\n{text}\n"
        for i, (s, e, text) in enumerate(cues, 1)
    ]
    return "\n".join(blocks).encode()


def ffmpeg(*parts: str | os.PathLike) -> bytes:
    """Run ffmpeg quietly (no stdin, outputs overwritten) and return its stdout: each str part
    is split into words (``"-map 0:v -c:v mpeg4"``), each path kept whole.  CalledProcessError
    when ffmpeg fails."""
    from subsync.media import ffmpeg_binary

    argv = [word for part in parts for word in (part.split() if isinstance(part, str) else [os.fspath(part)])]
    quiet = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    done = subprocess.run(
        [ffmpeg_binary(), *quiet, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=True, timeout=120
    )
    return done.stdout


def write_wav(path: Path, audio: np.ndarray, rate_hz: int = 16000) -> Path:
    """``audio`` (n,) float in [-1, 1] as a mono 16-bit WAV at ``rate_hz``."""
    import wave

    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate_hz)
        f.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def room_tone(path: Path, seconds: float = 5.0) -> Path:
    """Digital silence as a 16 kHz WAV: media without speech."""
    return write_wav(path, np.zeros(int(16000 * seconds), np.float32))


def two_tracks(folder: Path) -> Path:
    """A movie whose first audio track is silence and whose second (tagged English) is JFK."""
    movie = folder / "commentary.mkv"
    ffmpeg(
        "-f lavfi -t 11 -i anullsrc=r=16000:cl=mono -i",
        JFK,
        "-map 0:a -map 1:a -c:a flac -metadata:s:a:1 language=eng",
        movie,
    )
    return movie
