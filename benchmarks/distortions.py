"""Accuracy on ../shared/bench: reference subtitles distorted in seeded ways, synced back.

    python benchmarks/distortions.py [--bench ../shared/bench] [--seed 0] [--model base]

For every case with a cue-level reference (10 s or longer), two distortions:
  od   offset (0.5-20 s late) and a framerate ratio (25/23.976 or its inverse);
       scored: share of cue starts within 125 ms of the reference.
  jit  the same plus per-line jitter (sigma 300 ms, each cue shifted as a whole);
       scored: share within 250 ms.
The references are machine alignments (see the bench README), so they mark speech onsets.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from subsync.model import WhisperModel
from subsync.pipeline import sync
from subsync.subtitles import parse_srt_bytes, read_srt, render_srt

RATIOS = (25 / 23.976, 23.976 / 25)
TOLERANCE_S = {"od": 0.125, "jit": 0.250}


def distort(doc, rng, jitter_s):
    ratio = RATIOS[rng.integers(len(RATIOS))]
    offset = rng.uniform(0.5, 20.0)
    starts = np.array([c.start_s for c in doc.cues])
    ends = np.array([c.end_s for c in doc.cues])
    shift = rng.normal(0, jitter_s, starts.size) if jitter_s else 0.0
    new_starts = (starts + shift) * ratio + offset
    new_ends = np.maximum((ends + shift) * ratio + offset, new_starts + 0.1)
    return parse_srt_bytes(render_srt(doc, list(zip(new_starts, new_ends)))), starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="base")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = WhisperModel(args.model, device="auto", threads=args.threads)
    rng = np.random.default_rng(args.seed)
    manifest = json.loads((args.bench / "manifest.json").read_text())
    errors = {"od": [], "jit": []}
    for case in manifest:
        if "cue" not in case["levels"] or case["duration_s"] < 10:
            continue
        if not model.multilingual and case["language"] != "en":
            continue
        folder = args.bench / case["id"]
        reference = read_srt(folder / "reference.srt")
        for mode in ("od", "jit"):
            distorted, true_starts = distort(reference, rng, 0.3 if mode == "jit" else 0.0)
            started = time.perf_counter()
            result = sync(folder / case["media"], distorted, model=model, language=case["language"])
            error = np.abs(np.array([line.start_s for line in result.lines]) - true_starts)
            errors[mode].extend(error)
            print(f"{case['id']:28s} {mode:3s} cues={error.size:3d} "
                  f"within={np.mean(error <= TOLERANCE_S[mode]):.2f} median={np.median(error):.3f}s "
                  f"{result.counts()} {time.perf_counter() - started:.1f}s", flush=True)
    for mode, values in errors.items():
        values = np.array(values)
        print(f"TOTAL {mode}: {np.mean(values <= TOLERANCE_S[mode]):.3f} of {values.size} cue starts "
              f"within {TOLERANCE_S[mode] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
