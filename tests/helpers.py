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

    def exit_now(code: int):        # run() ends at once while a model thread lives: here, as sys.exit does
        raise SystemExit(code)
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


def replay_sync(script, model_options, options, threads: int):
    """``subsync.batch.synchronizer_sync`` with a replay listener over ``script`` for the
    model: picklable (a module function), so batch worker processes use it too."""
    from subsync.api import Synchronizer
    from subsync.replay import ReplayListener

    synchronizer = Synchronizer(ReplayListener(list(script), name=f"replay:{model_options.model}"))
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

    def load_listener(spec, device="auto", threads=None, int8=None):
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

    blocks = [f"{i}\n{format_timestamp(s * scale + offset_s)} --> {format_timestamp(e * scale + offset_s)}\n{text}\n"
              for i, (s, e, text) in enumerate(cues, 1)]
    return "\n".join(blocks).encode()


def room_tone(path: Path, seconds: float = 5.0) -> Path:
    """Digital silence as a 16 kHz WAV: media without speech."""
    import wave

    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(b"\x00\x00" * int(16000 * seconds))
    return path
