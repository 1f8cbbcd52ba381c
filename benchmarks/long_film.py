"""Build a film-length test file from the bench clips, with exact cue times.

    python benchmarks/long_film.py OUT.webm [--seconds 7200] [--bench ../shared/bench]

Clips with cue references are laid end to end in random order with 1-6 s silences
between them (light noise added), encoded as Opus; OUT.srt gets every clip's cues at their
new times and OUT.distorted.srt the same made for a 25 fps release and 37 s late.  Then:

    /usr/bin/time -v subsync fix OUT.webm OUT.distorted.srt -o OUT.synced.srt
    python benchmarks/long_film.py --score OUT.srt OUT.synced.srt
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from subsync.media import SAMPLE_RATE, ffmpeg_binary, load_audio
from subsync.subtitles import format_timestamp, read_srt

RATIO = 25 / 23.976
OFFSET_S = 37.0


def build(out: Path, seconds: float, bench: Path, seed: int) -> None:
    manifest = json.loads((bench / "manifest.json").read_text())
    cases = [c for c in manifest if "cue" in c["levels"] and c["duration_s"] >= 10]
    clips = {c["id"]: load_audio(bench / c["id"] / c["media"]) for c in cases}
    refs = {c["id"]: read_srt(bench / c["id"] / "reference.srt") for c in cases}
    rng = np.random.default_rng(seed)
    pieces, cues, t = [], [], 0.0
    while t < seconds:
        case = cases[rng.integers(len(cases))]
        gap = rng.uniform(1, 6)
        pieces.append(np.zeros(int(gap * SAMPLE_RATE), np.float32))
        t += gap
        audio = clips[case["id"]]
        cues += [(t + c.start_s, t + c.end_s, c.text) for c in refs[case["id"]].cues
                 if c.end_s <= audio.size / SAMPLE_RATE]
        pieces.append(audio)
        t += audio.size / SAMPLE_RATE
    audio = np.concatenate(pieces) + rng.normal(0, 0.003, sum(p.size for p in pieces)).astype(np.float32)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run([ffmpeg_binary(), "-y", "-loglevel", "error", "-f", "s16le", "-ar", str(SAMPLE_RATE),
                    "-ac", "1", "-i", "-", "-c:a", "libopus", "-b:a", "32k", str(out)], input=pcm, check=True)
    for name, scale, offset in (("srt", 1.0, 0.0), ("distorted.srt", RATIO, OFFSET_S)):
        with open(out.with_suffix("." + name), "w", encoding="utf-8") as f:
            for i, (start, end, text) in enumerate(cues, 1):
                f.write(f"{i}\n{format_timestamp(start * scale + offset)} --> "
                        f"{format_timestamp(end * scale + offset)}\n{text}\n\n")
    print(f"{out}: {t:.0f} s, {len(cues)} cues")


def score(reference: Path, synced: Path) -> None:
    ref = np.array([c.start_s for c in read_srt(reference).cues])
    new = np.array([c.start_s for c in read_srt(synced).cues])
    error = np.abs(new - ref)
    print(f"{error.size} cues: within 125 ms {np.mean(error <= 0.125):.1%}, within 250 ms "
          f"{np.mean(error <= 0.25):.1%}, median {np.median(error) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--seconds", type=float, default=7200.0)
    parser.add_argument("--bench", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score", action="store_true", help="score REFERENCE.srt SYNCED.srt")
    args = parser.parse_args()
    if args.score:
        score(*args.paths)
    else:
        build(args.paths[0], args.seconds, args.bench, args.seed)


if __name__ == "__main__":
    main()
