"""The systems compared: each runs as the command a user would type, in a subprocess
whose wall time and peak memory (RSS, the process and the children it waited for)
are measured."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import venv
from dataclasses import dataclass
from pathlib import Path

FFSUBSYNC_VERSION = "0.5.1"
TIMEOUT_S = 1800


@dataclass(frozen=True)
class Run:
    wall_s: float
    peak_rss_mb: float
    error: str | None            # last line of stderr when the command failed


@dataclass(frozen=True)
class System:
    name: str
    command: tuple[str, ...] | None      # None: the distorted input itself is the output
    language_flag: bool = False          # gets --language

    def run(self, media: Path, subs: Path, out: Path, language: str | None = None) -> Run:
        if self.command is None:
            out.write_bytes(subs.read_bytes())
            return Run(0.0, 0.0, None)
        argv = [part.format(media=media, subs=subs, out=out) for part in self.command]
        if self.language_flag and language:
            argv += ["--language", language]
        return measured(argv)


def measured(argv: list[str]) -> Run:
    """Run ``argv``; wall time, and peak RSS from wait4 (the largest of the process and
    the descendants it reaped, e.g. ffmpeg)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
        timer = threading.Timer(TIMEOUT_S, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stderr.seek(0)
        text = stderr.read().decode(errors="replace")
    error = None
    if process.returncode != 0:
        lines = [line for line in text.splitlines() if line.strip()]
        error = (lines[-1].strip() if lines else f"exit {process.returncode}")[:200]
    return Run(wall, usage.ru_maxrss / 1024, error)


def subsync_systems() -> list[System]:
    fix = (sys.executable, "-m", "subsync", "fix", "{media}", "{subs}", "-o", "{out}", "--quiet")
    return [System("subsync", fix), System("subsync --fast", (*fix, "--fast"))]


def input_system() -> System:
    return System("input (untouched)", None)


def ffsubsync_system(cache: Path) -> System:
    """ffsubsync from PyPI in its own virtual environment under ``cache`` (made once).
    It searches the same offset range as subsync (its default is 60 s)."""
    home = cache / f"ffsubsync-{FFSUBSYNC_VERSION}"
    executable = home / "bin" / "ffsubsync"
    if not executable.exists():
        venv.create(home, with_pip=True, clear=True)
        subprocess.run([str(home / "bin" / "pip"), "install", "-q", f"ffsubsync=={FFSUBSYNC_VERSION}"],
                       check=True)
    return System(f"ffsubsync {FFSUBSYNC_VERSION}",
                  (str(executable), "{media}", "-i", "{subs}", "-o", "{out}", "--max-offset-seconds", "600"))
