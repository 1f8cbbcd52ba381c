"""What no sync can do on the human-timed rows: the file's lead-in cannot be seen.

    python benchmarks/lead_in_bound.py [--draws 200000] [--seed 0] [--bench ../shared/bench]

A human-timed subtitle's start is its voice onset minus the file's lead-in; its end, the
voice's end plus the file's linger.  Shift every cue of a file by x and its lead-in by x
(its linger by -x) and the subtitle file is the same: an offset and a lead-in give the same
input, so audio and text only show their sum and the slack (lead-in plus linger).  Given
the slack S, the human-timed references of benchmarks/human.py (lead-in uniform on 0-300 ms,
linger on 300-900 ms, independent) leave the lead-in uniform on
[max(0, S - 0.9), min(0.3, S - 0.3)]: all of 0-300 ms for slacks of 0.6-0.9 s, half the files.

Even a sync that hears every voice onset exactly and knows everything else:
- places a file's lines within 125 ms of their truth only when its guess is within 125 ms of
  the lead-in: at best a share of files (`films`), below the 99 % the film row asks of each;
- makes a line worse than the exact map (its error more than 50 ms beyond its jitter j) unless
  the guess is within |j| + 50 ms of the lead-in: the least expected share of such lines
  (`worse`) with jitter drawn as benchmarks/distortions.py draws it.

Both figures take the best guess for each slack: the middle of the lead-in's interval, since
for a lead-in uniform on an interval the middle is the guess most often within any distance r
of it, whatever r (125 ms, or |j| + 50 ms for a line that knows its jitter).  They draw the
per-line jitter; the per-line variation of the lead-in (40 ms) is left out, so the true bounds
are a little worse.  The offset is taken as unknown (any value equally likely): the bench draws
it from 5 s up, which a sync could use on a few short clips.  The fixed 150 ms prior that
subsync uses where the slack says nothing is scored beside them.

With ``--bench``, the benchmark's own human-timed rows (run.py's seed): each line kept where
the exact map puts it, moved by its file's lead-in less 150 ms (a sync with the exact map and
the prior, every line kept): lines within 125 / 250 ms and lines worse than the exact map.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import distortions  # noqa: E402
import human  # noqa: E402

WITHIN_S = 0.125  # the film row's band
WORSE_S = 0.05  # a line is worse than the exact map by more than this


def lead_interval(slack_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the lead-in may lie given the slack (n,): (low, high), each (n,)."""
    (lead_lo, lead_hi), (linger_lo, linger_hi) = human.LEAD_IN_S, human.LINGER_S
    return np.maximum(lead_lo, slack_s - linger_hi), np.minimum(lead_hi, slack_s - linger_lo)


def bounds(draws: int, seed: int, prior_s: float | None = None) -> dict[str, float]:
    """Share of files within WITHIN_S, share of lines worse than the exact map, and the share
    of files whose slack says nothing about the lead-in, for the best guess from the slack
    (or the fixed ``prior_s``)."""
    rng = np.random.default_rng(seed)
    lead = rng.uniform(*human.LEAD_IN_S, draws)  # (draws,) one per file
    slack = lead + rng.uniform(*human.LINGER_S, draws)
    low, high = lead_interval(slack)
    guess = (low + high) / 2 if prior_s is None else np.full(draws, prior_s)
    miss = np.abs(guess - lead)  # (draws,) every line's error
    jitter = np.abs(rng.normal(0.0, distortions.JITTER_S, draws))  # (draws,) one line per file
    return {
        "films": float(np.mean(miss <= WITHIN_S)),
        "worse": float(np.mean(miss > jitter + WORSE_S)),
        "blind": float(np.mean(high - low >= 0.999 * (human.LEAD_IN_S[1] - human.LEAD_IN_S[0]))),
    }


def bench_rows(bench: Path, seed: int, prior_s: float = 0.15):
    """(recording, kind, lines, within 125 ms, within 250 ms, worse than the exact map) of the
    benchmark's human-timed rows on the clips and the 20-minute film, for the exact map with
    every line moved by its file's lead-in less ``prior_s``."""
    import cases as cases_mod
    from run import built_film, film_case, human_rows, seed_for

    clips = [c for c in cases_mod.clip_cases(bench) if c.reliable]
    clips.append(
        film_case("film_20min", Path("film_20min"), built_film(bench, 1200.0, seed_for(seed, "film_20min", 0)))
    )
    for case in clips:
        lead = np.random.default_rng(seed_for(seed, case.id, 40)).uniform(*human.LEAD_IN_S)  # humanize's first draw
        for kind, d, (starts, ends, _) in human_rows(case, seed):
            sub_starts, _, kept = distortions.subtitle_times(d, starts, ends)
            jitter = (sub_starts[kept] - d.offset_s) / d.scale - starts[kept]  # (n,) the exact map's error
            err = np.abs(jitter + lead - prior_s)
            yield (
                case.id,
                kind,
                err.size,
                int(np.sum(err <= WITHIN_S)),
                int(np.sum(err <= 0.25)),
                int(np.sum(err > np.abs(jitter) + WORSE_S)),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", type=Path, help="also score the benchmark's own human-timed rows")
    args = parser.parse_args()
    best = bounds(args.draws, args.seed)
    prior = bounds(args.draws, args.seed, prior_s=0.15)
    print(f"files whose slack leaves the lead-in anywhere in 0-300 ms: {best['blind']:.1%}")
    print(
        f"best guess from the slack: files within {WITHIN_S * 1000:.0f} ms {best['films']:.1%}, "
        f"lines worse than the exact map under jitter {best['worse']:.1%}"
    )
    print(
        f"fixed 150 ms prior:         files within {WITHIN_S * 1000:.0f} ms {prior['films']:.1%}, "
        f"lines worse than the exact map under jitter {prior['worse']:.1%}"
    )
    if args.bench:
        totals: dict[str, np.ndarray] = {}
        print(f"the bench's human-timed rows (seed {args.seed}), exact map and the 150 ms prior, every line kept:")
        for recording, kind, *counts in bench_rows(args.bench, args.seed):
            totals[kind] = totals.get(kind, np.zeros(4, dtype=int)) + counts
            print(
                f"  {recording:28s} {kind:20s} lines {counts[0]:4d}  within 125 ms {counts[1]:4d}  "
                f"within 250 ms {counts[2]:4d}  worse {counts[3]:4d}"
            )
        for kind, (n, w125, w250, worse) in totals.items():
            print(
                f"  all {kind:24s} lines {n:4d}  within 125 ms {w125 / n:.1%}  within 250 ms {w250 / n:.1%}  "
                f"worse {worse} ({worse / n:.1%})"
            )


if __name__ == "__main__":
    main()
