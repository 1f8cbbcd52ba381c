"""A film's first and second run at ffsubsync's pace (issue 25): wall time and peak RSS of
subsync (default, ``--fast``, a second subtitle of the same film with the media cache
warm) beside ffsubsync, in the same run, and where subsync's time goes (``--profile``).

    python benchmarks/pace.py --bench ../shared/bench                # 2-hour film and 3-minute film
    python benchmarks/pace.py --bench ../shared/bench --profile      # + the stage breakdown
    python benchmarks/pace.py --bench ../shared/bench --hours 0.05   # only the 3-minute film

The films are run.py's (cases.py: the bench's utterances on room tone, noise and music,
48 kHz stereo AAC in Matroska), with subtitles whose only fault is an offset (+2.5 s):
what a well-timed release with a delayed audio track needs.  Each system runs as the
command a user types (systems.py), with ``SUBSYNC_HOME`` pointed at a fresh folder so the
first run's cache is cold; a second subtitle (the same cues, another offset) then runs
against the warm cache.  The two outputs of the same subtitle, with and without the
cache, are compared byte for byte.  The stage breakdown runs the same sync in this
process under cProfile and sums the time spent inside each stage's functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases as cases_mod
import run as run_mod
import systems as systems_mod

HERE = Path(__file__).resolve().parent
OFFSET_S = 2.5  # the first subtitle's fault
SECOND_OFFSET_S = -4.0  # the second subtitle's (same film, same cache)
FILMS = {2.0: "film_2h", 0.05: "film_3min"}

# Stage -> the functions whose cumulative time is the stage's (cProfile names: file:function).
STAGES = {
    "decode (ffmpeg)": ("media.py:load_audio", "media.py:clip_audio"),
    "speech activity": ("activity.py:speech_activity",),
    "offset search": ("search.py:candidate_maps", "engine.py:_match"),
    "model load": ("listener.py:load_listener",),
    "encode": ("model.py:encode",),
    "decode (text)": ("model.py:_decoder_pass", "model.py:decode"),
    "DTW": ("attention.py:dtw", "attention.py:align"),
    "media cache": ("analysis.py:cached_analysis", "cache.py:get", "cache.py:put"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="built films, ffsubsync's venv")
    parser.add_argument("--hours", type=float, nargs="*", default=[2.0, 0.05])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each command (the table gives each)")
    parser.add_argument("--profile", action="store_true", help="also the stage breakdown, in process")
    parser.add_argument("--no-ffsubsync", action="store_true")
    args = parser.parse_args()

    ffsubsync = None if args.no_ffsubsync else systems_mod.ffsubsync_system(args.cache)
    rows = []
    for hours in args.hours:
        name = FILMS.get(hours, f"film_{hours:g}h")
        film = cases_mod.build_film(run_mod.utterances(args.bench), hours * 3600.0, run_mod.seed_for(0, name, 0))
        media = run_mod.cached_media(args.cache, f"{name}-s0", film.audio)
        with tempfile.TemporaryDirectory(prefix="pace-") as tmp:
            work = Path(tmp)
            first, second = work / "first.srt", work / "second.srt"
            cases_mod.write_srt([(a + OFFSET_S, b + OFFSET_S, t) for a, b, t in film.cues], first)
            cases_mod.write_srt([(a + SECOND_OFFSET_S, b + SECOND_OFFSET_S, t) for a, b, t in film.cues], second)
            for repeat in range(args.repeats):
                rows += film_rows(name, media, first, second, work, ffsubsync, repeat)
            if args.profile:
                print_profile(name, media, first, work)
    print_table(rows)


def film_rows(name: str, media: Path, first: Path, second: Path, work: Path, ffsubsync, repeat: int) -> list[dict]:
    """Each command once on ``media``, the cache cold for the first subsync run."""
    home = work / f"home-{repeat}"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["SUBSYNC_HOME"] = str(home)
    model_home = Path(os.environ.get("PACE_MODELS", Path.home() / ".cache" / "subsync")) / "models"
    if model_home.exists():  # the converted model, not converted again (that is not the film's cost)
        (home / "models").parent.mkdir(parents=True, exist_ok=True)
        os.symlink(model_home, home / "models")
    fix = [sys.executable, "-m", "subsync", "fix", str(media)]
    runs = {}
    if ffsubsync is not None:
        runs["ffsubsync"] = ffsubsync.run(media, first, work / "ffs.srt")
    runs["subsync --no-cache"] = systems_mod.measured(
        [*fix, str(first), "-o", str(work / "nocache.srt"), "--quiet", "--no-cache"]
    )
    runs["subsync (first, cold cache)"] = systems_mod.measured(
        [*fix, str(first), "-o", str(work / "cold.srt"), "--quiet"]
    )
    runs["subsync (second subtitle, warm cache)"] = systems_mod.measured(
        [*fix, str(second), "-o", str(work / "warm.srt"), "--quiet"]
    )
    runs["subsync (same subtitle, warm cache)"] = systems_mod.measured(
        [*fix, str(first), "-o", str(work / "again.srt"), "--quiet"]
    )
    runs["subsync --fast"] = systems_mod.measured(
        [*fix, str(first), "-o", str(work / "fast.srt"), "--quiet", "--fast", "--no-cache"]
    )
    same = _same(work / "nocache.srt", work / "cold.srt", work / "again.srt")
    cache_mb = (
        sum(f.stat().st_size for f in (home / "media").rglob("*") if f.is_file()) / 1e6
        if (home / "media").exists()
        else 0.0
    )
    return [
        {
            "film": name,
            "system": system,
            "wall_s": run.wall_s,
            "rss_mb": run.peak_rss_mb,
            "error": run.error,
            "same_bytes": same,
            "cache_mb": cache_mb,
        }
        for system, run in runs.items()
    ]


def _same(*paths: Path) -> bool | None:
    if not all(p.exists() for p in paths):
        return None
    data = [p.read_bytes() for p in paths]
    return all(d == data[0] for d in data)


def print_table(rows: list[dict]) -> None:
    print("| film | command | wall s | x ffsubsync | peak RSS MB | note |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        base = next((r["wall_s"] for r in rows if r["film"] == row["film"] and r["system"] == "ffsubsync"), None)
        ratio = f"{row['wall_s'] / base:.2f}" if base else "-"
        note = row["error"] or (
            "" if row["system"] == "ffsubsync" else f"cache {row['cache_mb']:.1f} MB, outputs same: {row['same_bytes']}"
        )
        print(f"| {row['film']} | {row['system']} | {row['wall_s']:.1f} | {ratio} | {row['rss_mb']:.0f} | {note} |")


def print_profile(name: str, media: Path, subs: Path, work: Path) -> None:
    """The default sync of ``subs`` in this process under cProfile; the cumulative time of
    each stage's functions (stages overlap where one calls another, and the model loads in
    a thread cProfile does not see: its time is measured around the load)."""
    import subsync
    from subsync.whisper import listener as listener_mod

    load_s: list[float] = []
    load = listener_mod.load_listener

    def timed_load(*a, **k):
        started = time.perf_counter()
        try:
            return load(*a, **k)
        finally:
            load_s.append(time.perf_counter() - started)

    listener_mod.load_listener = timed_load
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    subsync.sync(media, subs, use_cache=False)
    profile.disable()
    wall = time.perf_counter() - started
    listener_mod.load_listener = load
    stats = pstats.Stats(profile)
    cumulative: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = f"{Path(filename).name}:{function}"
        cumulative[key] = max(cumulative.get(key, 0.0), ct)
    print(f"\n{name}: in-process default sync {wall:.1f} s (under cProfile)")
    for stage, keys in STAGES.items():
        seconds = sum(cumulative.get(key, 0.0) for key in keys)
        if stage == "model load":
            seconds = sum(load_s)
        print(f"  {stage:<20} {seconds:6.2f} s")
    print("  top functions by own time:")
    own = sorted(
        ((tt, f"{Path(f).name}:{fn}") for (f, _l, fn), (_c, _n, tt, _ct, _cl) in stats.stats.items()), reverse=True
    )  # type: ignore[attr-defined]
    for tt, key in own[:12]:
        print(f"    {tt:6.2f} s  {key}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
