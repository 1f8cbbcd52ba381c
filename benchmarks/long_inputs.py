"""What long inputs cost: the peak memory of `subsync fix` against the media's length (what
`batch --jobs` sizes its workers by, `batch.worker_memory_gb`), and the time and memory of a
reference sync (`fix --reference`) against its number of cues, each in a subprocess of its own.

    python benchmarks/long_inputs.py [--hours 1 3] [--cues 10000 30000 100000] [--out DIR]
                                     [--tree OTHER_CHECKOUT]

The audio is the repository's 11 s JFK clip looped (its subtitle: the clip's line every 11 s,
2 s late); the reference pairs are `tests/helpers.dialogue_cues` and the
same cues 12.5 s late, a cue every 1.5-4 s.  `--tree` runs another checkout's subsync the same way, for a before and
after in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import dialogue_cues, srt_bytes  # noqa: E402

JFK = ROOT / "tests" / "data" / "speech" / "whisper_jfk" / "media.flac"
JFK_LINE = (ROOT / "tests" / "data" / "speech" / "whisper_jfk" / "text.txt").read_text().strip()
JFK_S = 11.0
SPOKEN_S = (0.3, 10.5)  # where the clip's line is spoken in it
REFERENCE_GAPS_S = (1.5, 4.0)  # cue starts this far apart: 100,000 cues span 76 h (SRT's limit: 99 h)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, nargs="*", default=[1.0, 3.0])
    parser.add_argument("--cues", type=int, nargs="*", default=[10000, 30000, 100000])
    parser.add_argument("--tree", type=Path, action="append", default=[], help="another checkout to run as well")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON lines here")
    args = parser.parse_args()
    trees = [ROOT, *args.tree]
    rows = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for hours in args.hours:
            media, subs = _long_audio(scratch, hours)
            for tree in trees:
                rows.append(
                    _measure(
                        tree,
                        {"kind": "audio", "hours": hours},
                        ["fix", media, subs, "--language", "en", "-o", scratch / "out.srt", "-q"],
                    )
                )
        for n in args.cues:
            ref, subs = _reference_pair(scratch, n)
            for tree in trees:
                rows.append(
                    _measure(
                        tree,
                        {"kind": "reference", "cues": n},
                        ["fix", "--reference", ref, subs, "-o", scratch / "out.srt", "-q"],
                    )
                )
    for row in rows:
        print(json.dumps(row))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "long_inputs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def _measure(tree: Path, row: dict, command: list) -> dict:
    """``subsync COMMAND`` from checkout ``tree``: its exit status, wall time and peak RSS
    (the child's own, from wait4)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "subsync", *map(str, command)],
            env=env,
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall_s = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        message = stderr.read().decode(errors="replace").strip()[-200:]
    return {
        **row,
        "tree": str(tree),
        "exit": child.returncode,
        "wall_s": round(wall_s, 1),
        "peak_rss_gb": round(usage.ru_maxrss / 2**20, 3),
        "stderr": message,
    }


def _long_audio(folder: Path, hours: float) -> tuple[Path, Path]:
    from subsync.media import ffmpeg_binary
    from subsync.subtitles import format_timestamp

    media, subs = folder / f"long{hours:g}.flac", folder / f"long{hours:g}.srt"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            str(JFK),
            "-t",
            str(hours * 3600),
            "-ac",
            "1",
            "-ar",
            "16000",
            str(media),
        ],
        check=True,
    )
    n = int(hours * 3600 / JFK_S)
    subs.write_text(
        "\n".join(
            f"{k + 1}\n{format_timestamp(k * JFK_S + SPOKEN_S[0] + 2)} --> "
            f"{format_timestamp(k * JFK_S + SPOKEN_S[1] + 2)}\n{JFK_LINE}\n"
            for k in range(n)
        )
    )
    return media, subs


def _reference_pair(folder: Path, n: int) -> tuple[Path, Path]:
    cues = dialogue_cues(n, gaps_s=REFERENCE_GAPS_S)
    ref, subs = folder / f"ref{n}.srt", folder / f"subs{n}.srt"
    ref.write_bytes(srt_bytes(cues, 0.0, "Bonjour"))
    subs.write_bytes(srt_bytes(cues, 12.5, "Hello"))
    return ref, subs


if __name__ == "__main__":
    main()
