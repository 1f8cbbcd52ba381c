"""A film's first and second run beside ffsubsync (issue 25): wall time and peak RSS of
subsync (default, ``--fast``, a second subtitle of the same film with the media cache
warm) and ffsubsync, in the same run; the bench's songs; and where subsync's time goes.

    python benchmarks/pace.py --bench ../shared/bench               # the 2-hour and 3-minute films, the songs
    python benchmarks/pace.py --bench ../shared/bench --profile     # + the stage breakdown of each film
    python benchmarks/pace.py --films 180 --no-songs                # only the 3-minute film

The films are run.py's (cases.py: the bench's utterances on room tone, noise and music,
48 kHz stereo AAC in Matroska, built once under --cache), with subtitles whose only
fault is an offset (+2.5 s): a well-timed release.  Each command runs as a user types it
(systems.py: a subprocess, wall time and peak RSS), with the media cache in a fresh
folder (SUBSYNC_MEDIA_CACHE) so that the first run is cold; a second subtitle (the same
cues 4 s early: a re-download, a copy timed for another release) then runs with it warm,
a third whose cues are the film's joined in pairs (+1 s: the segmentation of another
translation, so that the windows heard fall elsewhere), and the first subtitle again,
whose output must be the same bytes as the uncached run's.  The songs run with their reference lines
+2.5 s, uncached.  ``--profile`` runs the default sync of each film in this process:
the wall time between the progress stages, the model's load (in its thread), and the
cumulative time of the listener's parts under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as cases_mod
import run as run_mod
import systems as systems_mod
from subsync.cache import CACHE_ENV_VAR, STATES_FOLDER

HERE = Path(__file__).resolve().parent
FIRST_OFFSET_S = 2.5  # the first subtitle's fault
SECOND_OFFSET_S = -4.0  # the second subtitle's (same film, warm cache)
JOINED_OFFSET_S = 1.0  # the third's, its cues joined in pairs
SONG_OFFSET_S = 2.5
PARTS = {  # the listener's parts: cProfile's cumulative time of these functions
    "encode": ("model.py", "encode"),
    "decode (text)": ("model.py", "force_align"),
    "DTW and words": ("attention.py", "word_spans"),
    "language detection": ("listener.py", "detect_language"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="built films, ffsubsync's venv")
    parser.add_argument("--films", type=float, nargs="*", default=[7200.0, 180.0], help="film lengths (s)")
    parser.add_argument("--no-songs", action="store_true")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of each film's commands (the table: medians)")
    parser.add_argument("--profile", action="store_true", help="also the stage breakdown, in process")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON lines here")
    args = parser.parse_args()

    ffsubsync = systems_mod.ffsubsync_system(args.cache)
    rows: list[dict] = []
    profiles: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pace-") as tmp:
        work = Path(tmp)
        for seconds in args.films:
            name = f"film_{seconds / 3600:g}h" if seconds >= 3600 else f"film_{seconds / 60:g}min"
            film = run_mod.built_film(args.bench, seconds, run_mod.seed_for(0, name, 0))
            media = run_mod.cached_media(args.cache, f"{name}-s0", film.audio)
            first, second = work / f"{name}.srt", work / f"{name}.second.srt"
            joined = work / f"{name}.joined.srt"
            cases_mod.write_srt([(a + FIRST_OFFSET_S, b + FIRST_OFFSET_S, t) for a, b, t in film.cues], first)
            cases_mod.write_srt([(a + SECOND_OFFSET_S, b + SECOND_OFFSET_S, t) for a, b, t in film.cues], second)
            cases_mod.write_srt(
                [(a + JOINED_OFFSET_S, b + JOINED_OFFSET_S, t) for a, b, t in _pairs(film.cues)], joined
            )
            subtitles = (first, second, joined)
            rounds = [film_rows(name, media, subtitles, work, ffsubsync) for _ in range(args.repeats)]
            rows += [_median_row([r[k] for r in rounds]) for k in range(len(rounds[0]))]
            if args.profile:
                profiles.append(profile(name, media, first))
        if not args.no_songs:
            rows += song_rows(args.bench, work, ffsubsync)
    print(table(rows))
    for text in profiles:
        print(text)
    if args.out:
        with args.out.open("a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")


def _fix(media: Path, subs: Path, out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "subsync", "fix", str(media), str(subs), "-o", str(out), "--quiet", *flags]


def _pairs(cues: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The cues joined two by two (the first's start, the second's end, both texts)."""
    return [
        (pair[0][0], pair[-1][1], "\n".join(text for _, _, text in pair))
        for pair in (cues[k : k + 2] for k in range(0, len(cues), 2))
    ]


def film_rows(name: str, media: Path, subtitles: tuple[Path, Path, Path], work: Path, ffsubsync) -> list[dict]:
    """Each command once on ``media``; the media cache cold for the first cached run."""
    first, second, joined = subtitles
    cache = work / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ[CACHE_ENV_VAR] = str(cache)
    out = {key: work / f"{name}.out-{key}.srt" for key in ("ffs", "nocache", "cold", "warm", "joined", "again", "fast")}
    runs = {
        "ffsubsync": ffsubsync.run(media, first, out["ffs"]),
        "subsync --no-cache": systems_mod.measured(_fix(media, first, out["nocache"], "--no-cache")),
        "subsync, cache cold": systems_mod.measured(_fix(media, first, out["cold"])),
        "subsync, a second subtitle, cache warm": systems_mod.measured(_fix(media, second, out["warm"])),
        "subsync, its cues joined in pairs, cache warm": systems_mod.measured(_fix(media, joined, out["joined"])),
        "subsync, the first again, cache warm": systems_mod.measured(_fix(media, first, out["again"])),
        "subsync --fast --no-cache": systems_mod.measured(_fix(media, first, out["fast"], "--fast", "--no-cache")),
    }
    same = all(p.exists() for p in (out["nocache"], out["cold"], out["again"])) and (
        out["nocache"].read_bytes() == out["cold"].read_bytes() == out["again"].read_bytes()
    )
    hours = _duration_s(media) / 3600
    analyses_mb = sum(p.stat().st_size for p in cache.glob("*.npz")) / 1e6
    states = list((cache / STATES_FOLDER).glob("*.npz"))
    return [
        {
            "case": name,
            "command": command,
            "wall_s": round(run.wall_s, 2),
            "peak_rss_mb": round(run.peak_rss_mb),
            "error": run.error,
            "same_bytes": same,
            "cache_mb_per_hour": round(analyses_mb / hours, 2) if hours else None,
            "states": len(states),
            "states_mb": round(sum(p.stat().st_size for p in states) / 1e6, 1),
        }
        for command, run in runs.items()
    ]


def _median_row(rows: list[dict]) -> dict:
    """One command's rounds as one row: the median wall time (all of them listed), the
    largest peak RSS."""
    walls = sorted(row["wall_s"] for row in rows)
    median = walls[len(walls) // 2] if len(walls) % 2 else (walls[len(walls) // 2 - 1] + walls[len(walls) // 2]) / 2
    return {
        **rows[0],
        "wall_s": round(median, 2),
        "walls_s": [row["wall_s"] for row in rows],
        "peak_rss_mb": max(row["peak_rss_mb"] for row in rows),
        "error": next((row["error"] for row in rows if row["error"]), None),
        "same_bytes": all(row["same_bytes"] for row in rows),
    }


def _duration_s(media: Path) -> float:
    from subsync.media import media_duration_s

    return media_duration_s(media) or 0.0


def song_rows(bench: Path, work: Path, ffsubsync) -> list[dict]:
    """The bench's songs (level ``line``), their reference lines +2.5 s, uncached."""
    from subsync.subtitles import read_srt

    rows = []
    for case in cases_mod.bench_manifest(bench):
        if "line" not in case["levels"]:
            continue
        folder = bench / case["id"]
        cues = [
            (c.start_s + SONG_OFFSET_S, c.end_s + SONG_OFFSET_S, c.text)
            for c in read_srt(folder / "reference.srt").cues
        ]
        subs = work / f"{case['id']}.srt"
        cases_mod.write_srt(cues, subs)
        media = folder / case["media"]
        for command, run in (
            ("ffsubsync", ffsubsync.run(media, subs, work / "song.ffs.srt")),
            ("subsync --no-cache", systems_mod.measured(_fix(media, subs, work / "song.srt", "--no-cache"))),
        ):
            rows.append(
                {
                    "case": case["id"],
                    "command": command,
                    "wall_s": round(run.wall_s, 2),
                    "peak_rss_mb": round(run.peak_rss_mb),
                    "error": run.error,
                }
            )
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| case | command | wall s (median) | × ffsubsync | peak RSS MB | note |", "|---|---|---|---|---|---|"]
    for row in rows:
        base = next((r["wall_s"] for r in rows if r["case"] == row["case"] and r["command"] == "ffsubsync"), None)
        ratio = f"{row['wall_s'] / base:.2f}" if base and row["command"] != "ffsubsync" else ""
        note = row["error"] or (
            f"rounds: {', '.join(f'{w:.1f}' for w in row['walls_s'])}" if len(row.get("walls_s", [])) > 1 else ""
        )
        if row.get("cache_mb_per_hour") is not None and "cache" in row["command"]:
            note += f"; outputs with and without the cache the same bytes: {row['same_bytes']}"
        lines.append(
            f"| {row['case']} | {row['command']} | {row['wall_s']:.1f} | {ratio} | {row['peak_rss_mb']} | {note} |"
        )
    cold = {r["case"]: r["wall_s"] for r in rows if r["command"] == "subsync, cache cold"}
    for row in rows:
        if "warm" in row["command"] and cold.get(row["case"]):
            lines.append(f"\n{row['case']}, {row['command']}: {row['wall_s'] / cold[row['case']]:.2f} of the cold run.")
    cache = [r["cache_mb_per_hour"] for r in rows if r.get("cache_mb_per_hour")]
    if cache:
        lines.append(f"\nMedia cache: {max(cache):.2f} MB per hour of media (the analyses).")
    for row in rows:
        if row["command"] == "subsync, cache cold" and row.get("states"):
            lines.append(f"\n{row['case']}: {row['states']} windows' encoder states kept, {row['states_mb']} MB.")
    return "\n".join(lines)


def profile(name: str, media: Path, subs: Path) -> str:
    """The default sync of ``subs`` in this process, uncached: the wall time of each
    progress stage, the model's load, and the listener's parts under cProfile."""
    import subsync
    from subsync.whisper import listener as listener_mod

    marks: list[tuple[str, float]] = []
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if not marks or marks[-1][0] != stage:
            marks.append((stage, time.perf_counter() - started))

    load = listener_mod.load_listener
    loaded: list[tuple[float, float]] = []

    def timed_load(*args, **kwargs):
        began = time.perf_counter()
        try:
            return load(*args, **kwargs)
        finally:
            loaded.append((began - started, time.perf_counter() - began))

    listener_mod.load_listener = timed_load
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        subsync.sync(media, subs, progress=progress, cache=False)
    finally:
        profiler.disable()
        listener_mod.load_listener = load
    wall = time.perf_counter() - started
    marks.append(("done", wall))
    lines = [f"\n{name}, default, uncached, in process under cProfile: {wall:.1f} s"]
    lines += [f"  {stage:<32} {later - at:6.2f} s" for (stage, at), (_, later) in zip(marks, marks[1:])]
    lines += [f"  model load (its own thread, from {at:.2f} s) {took:6.2f} s" for at, took in loaded]
    cumulative: dict[tuple[str, str], float] = {}
    for (filename, _line, function), row in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        key = (Path(filename).name, function)
        cumulative[key] = max(cumulative.get(key, 0.0), row[3])
    lines += [f"  {part:<32} {cumulative.get(key, 0.0):6.2f} s (cumulative)" for part, key in PARTS.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
