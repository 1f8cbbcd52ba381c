"""Throughput of `subsync batch` with one worker against several, on the same machine and
episodes: N copies of bench recordings, each with its own distorted subtitle, synced with
`--jobs 1` and `--jobs J`; wall time, pairs per minute, and whether the outputs are the
same bytes.

    python benchmarks/batch_jobs.py --episodes 8 --jobs 2 [--bench ../shared/bench]
    python benchmarks/batch_jobs.py --build-only DIR            # the episodes, to sync elsewhere
    python benchmarks/batch_jobs.py --episodes-dir DIR --jobs 8 --model MODEL --device cpu
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cases as cases_mod  # noqa: E402
import distortions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--model", default="base")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--build-only", type=Path, help="only write the episodes into this folder")
    parser.add_argument("--episodes-dir", type=Path, help="sync these episodes (built by --build-only)")
    args = parser.parse_args()
    if args.build_only:
        _build(args.bench, args.episodes, args.build_only)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.episodes_dir or _build(args.bench, args.episodes, Path(tmp) / "episodes")
        options = ["--model", args.model, "--device", args.device]
        rows = {jobs: _run(folder, Path(tmp) / f"out{jobs}", jobs, options) for jobs in (1, args.jobs)}
        same = rows[1]["outputs"] == rows[args.jobs]["outputs"]
        args.episodes = len(list(folder.glob("*.srt")))
    figures = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "episodes": args.episodes,
        "same_bytes": same,
        **{f"jobs{jobs}": {k: v for k, v in row.items() if k != "outputs"} for jobs, row in rows.items()},
    }
    figures["speed_up"] = round(rows[1]["wall_s"] / rows[args.jobs]["wall_s"], 2)
    print(json.dumps(figures, indent=1))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1) + "\n")


def _build(bench: Path, episodes: int, folder: Path) -> Path:
    """``episodes`` copies of the reliable bench clips of 30 s or more, each with its own
    offset and drift."""
    clips = [c for c in cases_mod.clip_cases(bench) if c.reliable and c.duration_s >= 30]
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(episodes):
        clip = clips[k % len(clips)]
        media = folder / f"Show.S01E{k + 1:02d}{clip.media.suffix}"
        shutil.copy(clip.media, media)
        distortion = distortions.draw("offset+drift", 1000 + k, clip.starts_s, media_s=clip.duration_s)
        starts, ends, kept = distortions.subtitle_times(distortion, clip.starts_s, clip.ends_s)
        cases_mod.write_srt(
            [(s, e, t) for s, e, t, keep in zip(starts, ends, clip.texts, kept) if keep], media.with_suffix(".srt")
        )
    return folder


def _run(folder: Path, out: Path, jobs: int, options: list[str]) -> dict:
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "subsync",
            "batch",
            str(folder),
            "--out-dir",
            str(out),
            "--jobs",
            str(jobs),
            "--quiet",
            *options,
        ],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    records = [json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()]
    return {
        "wall_s": round(wall, 1),
        "pairs_per_min": round(60 * len(records) / wall, 2),
        "statuses": sorted({r["status"] for r in records}),
        "exit": proc.returncode,
        "outputs": {p.name: p.read_bytes() for p in out.glob("*.synced.srt")},
    }


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
