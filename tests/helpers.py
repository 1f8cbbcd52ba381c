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
