"""The systems compared: each runs as the command a user would type, in a subprocess
whose wall time and peak memory (RSS, the process and the children it waited for)
are measured."""

from __future__ import annotations

import os
import subprocess
import sys
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
    error: str | None  # last line of stderr when the command failed


@dataclass(frozen=True)
class System:
    name: str
    command: tuple[str, ...] | None  # None: the distorted input itself is the output
    language_flag: bool = False  # gets --language
    reference_command: tuple[str, ...] | None = None  # syncing to a {reference} subtitle

    def run(
        self, media: Path, subs: Path, out: Path, language: str | None = None, reference: Path | None = None
    ) -> Run:
        if self.command is None:
            out.write_bytes(subs.read_bytes())
            return Run(0.0, 0.0, None)
        command = self.command if reference is None else self.reference_command
        assert command is not None, f"{self.name} cannot sync to a reference"
        argv = [part.format(media=media, subs=subs, out=out, reference=reference) for part in command]
        if self.language_flag and language:
            argv += ["--language", language]
        return measured(argv)


# Runs one command and reports its rusage.  A child forked from the benchmark itself
# would count the benchmark's memory as its own peak (Linux keeps the pre-exec RSS in
# ru_maxrss), so commands are started from this small helper process.
_HELPER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, file=sys.stdout)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def measured(argv: list[str]) -> Run:
    """Run ``argv``; wall time, and peak RSS from wait4 (the largest of the process and
    the descendants it reaped, e.g. ffmpeg)."""
    started = time.perf_counter()
    # `python -m subsync` puts the current directory ahead of PYTHONPATH: run from a checkout,
    # an A/B pointing PYTHONPATH at another one would time this one's code (Python 3.11+ heeds this).
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", _HELPER, *argv], capture_output=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return Run(time.perf_counter() - started, 0.0, f"timed out after {TIMEOUT_S} s")
    wall = time.perf_counter() - started
    lines = done.stdout.decode().split()
    rss_mb = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else 0.0
    error = None
    if done.returncode != 0:
        messages = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        error = (messages[-1].strip() if messages else f"exit {done.returncode}")[:200]
    return Run(wall, rss_mb, error)


def subsync_systems() -> list[System]:
    fix = (sys.executable, "-m", "subsync", "fix", "{media}", "{subs}", "-o", "{out}", "--quiet")
    to_reference = (
        sys.executable,
        "-m",
        "subsync",
        "fix",
        "--reference",
        "{reference}",
        "{subs}",
        "-o",
        "{out}",
        "--quiet",
    )
    return [System("subsync", fix, reference_command=to_reference), System("subsync --fast", (*fix, "--fast"))]


def input_system() -> System:
    return System("input (untouched)", None)


def ffsubsync_system(cache: Path) -> System:
    """ffsubsync from PyPI in its own virtual environment under ``cache`` (made once).
    It searches the same offset range as subsync (its default is 60 s)."""
    home = cache / f"ffsubsync-{FFSUBSYNC_VERSION}"
    executable = home / "bin" / "ffsubsync"
    if not executable.exists():
        venv.create(home, with_pip=True, clear=True)
        done = subprocess.run(
            [str(home / "bin" / "pip"), "install", "-q", f"ffsubsync=={FFSUBSYNC_VERSION}"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pip could not install ffsubsync=={FFSUBSYNC_VERSION}: {done.stderr.strip()[-300:]}")
    return System(
        f"ffsubsync {FFSUBSYNC_VERSION}",
        (str(executable), "{media}", "-i", "{subs}", "-o", "{out}", "--max-offset-seconds", "600"),
        reference_command=(
            str(executable),
            "{reference}",
            "-i",
            "{subs}",
            "-o",
            "{out}",
            "--max-offset-seconds",
            "600",
        ),
    )
