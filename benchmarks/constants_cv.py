"""The engine's bench-set constants, out of sample: leave one recording out.

    python benchmarks/constants_cv.py [--bench ../shared/bench] [--seeds 0,1,2] [--model base]

Each reliable recording's human-timed references (human.py), drawn with each seed, get the
benchmark's human-timed distortions (offset + drift, and the same with jitter).  Every row is
synced in-process under each grid point of a family of constants; what the listener hears is
cached, so only the first grid point pays for the model (a few minutes on 2 cores; the rest
take seconds each).  For each recording, the grid point with the best score on the *other*
recordings is chosen and scored on it; the sum over recordings is the out-of-sample figure,
printed beside the shipped constants' own (in-sample) figure.  The score: lines within
250 ms, less lines worse than the exact map by 50 ms, less twice the lines beyond 500 ms.

Families: the first-word rule of decisions._first_word_swallowed (WORD_BASE_S,
WORD_PER_LETTER_S; a base of inf disables the rule) and the held-out comparison of
engine._chosen (HELD_OUT_T; inf disables the comparison) and its agreement of the folds on the
drift (FOLD_DRIFT_S; inf takes any drift).  The films are left out: they are made of the
same recordings' utterances, so no fold would hold them out.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import cases as cases_mod  # noqa: E402
import distortions  # noqa: E402
from run import human_rows  # noqa: E402

FAMILIES = {
    "first-word": [{"WORD_BASE_S": b, "WORD_PER_LETTER_S": p} for b in (0.2, 0.3, 0.4, 0.5) for p in (0.05, 0.1, 0.15)]
    + [{"WORD_BASE_S": float("inf"), "WORD_PER_LETTER_S": 0.0}],
    "held-out": [{"HELD_OUT_T": t} for t in (1.5, 2.0, 2.5, 3.0, float("inf"))],
    "fold-drift": [{"FOLD_DRIFT_S": d} for d in (0.0, 0.01, 0.02, 0.05, float("inf"))],
}


@dataclass(frozen=True)
class Tally:
    """Lines of some rows: all, within 125 / 250 ms, beyond 500 ms, worse than the exact map."""

    n: int = 0
    w125: int = 0
    w250: int = 0
    o500: int = 0
    worse: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.row(), other.row())))

    def row(self) -> tuple[int, ...]:
        return self.n, self.w125, self.w250, self.o500, self.worse

    def score(self) -> float:
        return (self.w250 - self.worse - 2 * self.o500) / max(self.n, 1)

    def __str__(self) -> str:
        n = max(self.n, 1)
        return (
            f"{self.n} lines, within 125 ms {self.w125 / n:.1%}, within 250 ms {self.w250 / n:.1%}, "
            f"beyond 500 ms {self.o500}, worse than the exact map {self.worse} ({self.worse / n:.1%})"
        )


def tally(starts_s: np.ndarray, truth_s: np.ndarray, exact_s: np.ndarray) -> Tally:
    """A row's lines: system starts, true starts and the exact map's starts, (n,) each."""
    err, exact = np.abs(starts_s - truth_s), np.abs(exact_s - truth_s)
    return Tally(
        err.size,
        int(np.sum(err <= 0.125)),
        int(np.sum(err <= 0.25)),
        int(np.sum(err > 0.5)),
        int(np.sum(err > exact + 0.05)),
    )


def leave_one_out(results: dict[tuple[int, str], Tally], default: int) -> tuple[Tally, Tally, list[tuple[str, int]]]:
    """``results[(grid point, recording)]``: the out-of-sample tally (each recording scored
    under the grid point best on the others; ties go to ``default``), the in-sample tally of
    ``default``, and the point chosen for each recording."""
    points = sorted({g for g, _ in results})
    recordings = sorted({r for _, r in results})

    def total(point: int, among: Sequence[str]) -> Tally:
        return sum((results[point, r] for r in among), Tally())

    chosen = [
        (r, max(points, key=lambda g: (total(g, [x for x in recordings if x != r]).score(), g == default)))
        for r in recordings
    ]
    return sum((results[g, r] for r, g in chosen), Tally()), total(default, recordings), chosen


class CachingListener:
    """A listener that hears each passage once: decisions under other constants ask again."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.window_s = inner, inner.name, inner.window_s
        self.memo: dict = {}

    def language_for(self, requested):
        return self.inner.language_for(requested)

    def detect_language(self, pieces):
        key = ("language", *tuple(_digest(p) for p in pieces))
        if key not in self.memo:
            self.memo[key] = self.inner.detect_language(pieces)
        return self.memo[key]

    def hear(self, passage):
        key = (
            round(passage.start_s, 4),
            _digest(passage.samples),
            passage.lines,
            passage.before,
            passage.after,
            passage.language,
        )
        if key not in self.memo:
            self.memo[key] = self.inner.hear(passage)
        return self.memo[key]


def _digest(samples: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(samples).tobytes()).hexdigest()


def rows(bench: Path, seeds: Sequence[int], work: Path):
    """(recording, media, subtitle path, true starts, exact-map starts) of every human-timed row."""
    for seed in seeds:
        for case in (c for c in cases_mod.clip_cases(bench) if c.reliable):
            for kind, d, (starts, ends, texts) in human_rows(case, seed):
                sub_starts, sub_ends, kept = distortions.subtitle_times(d, starts, ends)
                path = work / f"{case.id}.{kind}.s{seed}.srt"
                cases_mod.write_srt(
                    [(a, b, t) for a, b, t, keep in zip(sub_starts, sub_ends, texts, kept) if keep], path
                )
                yield case.id, case.media, path, starts[kept], (sub_starts[kept] - d.offset_s) / d.scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--model", default="base")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "constants_cv")
    parser.add_argument(
        "--family",
        choices=sorted(FAMILIES),
        action="append",
        help="only this family of constants (repeatable; default: all)",
    )
    args = parser.parse_args()
    from subsync.api import Synchronizer
    from subsync.core import decisions, engine
    from subsync.errors import RefusedError
    from subsync.whisper.listener import load_listener

    args.work.mkdir(parents=True, exist_ok=True)
    every = list(rows(args.bench, [int(s) for s in args.seeds.split(",")], args.work))
    synchronizer = Synchronizer(CachingListener(load_listener(args.model)))
    modules = {"WORD_BASE_S": decisions, "WORD_PER_LETTER_S": decisions, "HELD_OUT_T": engine, "FOLD_DRIFT_S": engine}
    shipped = {name: getattr(module, name) for name, module in modules.items()}
    for family, grid in FAMILIES.items():
        if args.family and family not in args.family:
            continue
        results: dict[tuple[int, str], Tally] = {}
        for g, point in enumerate(grid):
            for name, module in modules.items():
                setattr(module, name, point.get(name, shipped[name]))
            for recording, media, path, truth, exact in every:
                try:
                    placed = synchronizer.sync(media, path)
                    got = tally(np.array([line.start_s for line in placed.lines]), truth, exact)
                except RefusedError:  # no output: every line as far off as the input's
                    got = tally(np.full(truth.size, np.inf), truth, exact)  # offset (5 s or more)
                results[g, recording] = results.get((g, recording), Tally()) + got
        for name, module in modules.items():
            setattr(module, name, shipped[name])
        default = next(g for g, point in enumerate(grid) if all(shipped[k] == v for k, v in point.items()))
        held_out, in_sample, chosen = leave_one_out(results, default)
        print(f"== {family}: {len(every)} rows, seeds {args.seeds}")
        for g, point in enumerate(grid):
            print(f"  {point}: {sum((t for (h, _), t in results.items() if h == g), Tally())}")
        print("  chosen per recording: " + ", ".join(f"{r} {grid[g]}" for r, g in chosen))
        print(f"  out of sample: {held_out}")
        print(f"  shipped, in sample: {in_sample}")


if __name__ == "__main__":
    main()
