"""Accuracy on ../shared/bench: reference subtitles distorted in seeded ways, synced back.

    python benchmarks/distortions.py [--bench ../shared/bench] [--seed 0] [--model base]

For every case with a cue-level reference (10 s or longer), two distortions:
  od   offset (0.5-20 s late) and a framerate ratio (25/23.976 or its inverse);
       scored: share of cue starts within 125 ms of the reference.
  jit  the same plus per-line jitter (sigma 300 ms, each cue shifted as a whole);
       scored: share within 250 ms.
The references are machine alignments (see the bench README), so they mark speech onsets.
With --ffsubsync PATH, ffsubsync syncs the same distorted files in the same run (a cue it
drops counts as a miss).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from subsync.errors import SubsyncError
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
    parser.add_argument("--ffsubsync", help="path of an ffsubsync executable to compare with")
    args = parser.parse_args()
    model = WhisperModel(args.model, device="auto", threads=args.threads)
    rng = np.random.default_rng(args.seed)
    manifest = json.loads((args.bench / "manifest.json").read_text())
    errors = {"od": [], "jit": []}
    peer = {"od": [], "jit": []}
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
            line = (f"{case['id']:28s} {mode:3s} cues={error.size:3d} "
                    f"within={np.mean(error <= TOLERANCE_S[mode]):.2f} median={np.median(error):.3f}s "
                    f"{result.counts()} {time.perf_counter() - started:.1f}s")
            if args.ffsubsync:
                peer_error = ffsubsync_errors(args.ffsubsync, folder / case["media"], distorted, true_starts)
                peer[mode].extend(peer_error)
                line += f" | ffsubsync within={np.mean(peer_error <= TOLERANCE_S[mode]):.2f}"
            print(line, flush=True)
    for mode in errors:
        for name, values in (("subsync", errors[mode]), ("ffsubsync", peer[mode])):
            if values:
                values = np.array(values)
                print(f"TOTAL {mode} {name}: {np.mean(values <= TOLERANCE_S[mode]):.3f} of {values.size} "
                      f"cue starts within {TOLERANCE_S[mode] * 1000:.0f} ms")


def ffsubsync_errors(executable: str, media: Path, distorted, true_starts: np.ndarray) -> np.ndarray:
    """|start - reference| per cue after ffsubsync; cues it drops or fails on count as infinitely off."""
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "in.srt", Path(tmp) / "out.srt"
        source.write_bytes(render_srt(distorted, [(c.start_s, c.end_s) for c in distorted.cues]))
        subprocess.run([executable, str(media), "-i", str(source), "-o", str(output)],
                       capture_output=True, timeout=600)
        try:
            synced = read_srt(output)
        except SubsyncError:               # no output, or an empty one: every cue is lost
            return np.full(true_starts.size, np.inf)
    by_text = {}
    for cue in synced.cues:
        by_text.setdefault(cue.text, []).append(cue.start_s)
    starts = [by_text[c.text].pop(0) if by_text.get(c.text) else np.inf for c in distorted.cues]
    return np.abs(np.array(starts) - true_starts)


if __name__ == "__main__":
    main()
