"""The decision model (subsync/core/inference.py) out of sample, on the listener's measured errors.

    python benchmarks/decision_model.py [--draws 100]

The speech recordings of the hearing report (results/hearing-raw.json) are split in two
folds by recording; the model's error distribution is made from one fold and the heard
starts are drawn from the other's errors (and the other way round), so no figure uses a
recording twice.  Singing is scored over the four songs, each drawn from while the other
three make the model.  Only the lines that are evidence count (hearing.is_evidence), each
group's judged, and its starts placed, by the first-word fit of the others (hearing.onset_fit).
Files of 5-500 lines, each with its own lead (0-300 ms), in three kinds:

- global: the file's only fault is global; each line within N(0, 40 ms) of the map;
- jitter: every line off by N(0, 300 ms);
- displaced: 20 % of the lines off by 0.5-3 s (either way), the rest as in global.

Reported per kind: lines moved; harm (global: a line moved more than 100 ms; the others:
a line put more than 250 ms further from its voice than it was); lines within 250 ms
before and after; the displaced lines restored to within 250 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import hearing  # noqa: E402
from subsync.core import inference  # noqa: E402

KINDS = ("global", "jitter", "displaced")
TOLERANCE_S = 0.25


def splits(raw: dict, singing: bool) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """(errors the model is made from, errors drawn from) of each split: line-start errors
    (s) of the lines that are evidence (hearing.is_evidence), one array per recording.
    Speech: the recordings in two folds (hearing.folds), each drawn from while the other
    makes the model.  Singing, four songs: each song drawn from while the other three make
    the model.  Each group's lines are judged, and their starts placed, by the first-word
    fit of the other groups (hearing.onset_fit)."""
    cases = [c for c in raw["cases"] if c["singing"] == singing]
    groups = [[c] for c in cases] if singing else hearing.folds(cases)
    errors = []
    for k, group in enumerate(groups):
        fit = hearing.onset_fit([c for j, g in enumerate(groups) if j != k for c in g])

        def evidence(heard: dict, fit=fit) -> bool:
            return hearing.is_evidence(heard, fit.bound_s, hearing.MIN_CONFIDENCE)

        errors.append(
            [
                np.array(
                    [s["start_error_s"] for samples in hearing.groups([c], evidence, fit).values() for s in samples]
                )
                for c in group
            ]
        )
    return [([e for j, part in enumerate(errors) if j != k for e in part], errors[k]) for k in range(len(groups))]


def fold_model(name: str, fold: list[np.ndarray]) -> inference.ErrorModel:
    """The error model made from some recordings' errors alone (its kernel width chosen
    among them, inference.kernel_width)."""
    return inference.error_model(name, np.concatenate(fold), inference.kernel_width(fold))


def draw_file(kind: str, rng: np.random.Generator, errors_s: np.ndarray, n_lines: int):
    """(residuals, true displacements, displaced mask), (n,) each."""
    displaced = np.zeros(n_lines, bool)
    if kind == "jitter":
        true = rng.normal(0.0, 0.3, n_lines)
    else:
        true = rng.normal(0.0, 0.04, n_lines)
        if kind == "displaced":
            displaced = rng.random(n_lines) < 0.2
            true[displaced] = rng.uniform(0.5, 3.0, displaced.sum()) * rng.choice([-1, 1], displaced.sum())
    lead = rng.uniform(0.0, 0.3)
    return true + lead + rng.choice(errors_s, n_lines), true, displaced


def score(kind: str, draws: int, fitted: list[np.ndarray], heard: list[np.ndarray], name: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    models = (fold_model(name, fitted),)
    heard_s = np.concatenate(heard)
    totals = dict(lines=0, moved=0, harm=0, within_before=0, within_after=0, displaced=0, restored=0, files_with_harm=0)
    for _ in range(draws):
        n = int(np.exp(rng.uniform(np.log(5), np.log(500))))
        residuals, true, displaced = draw_file(kind, rng, heard_s, n)
        verdict = inference.judge(residuals, inference.best_fit(residuals, models), TOLERANCE_S, models)
        error_after = verdict.shift_s - true
        harm = (
            verdict.moves & (np.abs(error_after) > 0.1)
            if kind == "global"
            else verdict.moves & (np.abs(error_after) > np.abs(true) + 0.25)
        )
        totals["lines"] += n
        totals["moved"] += int(verdict.moves.sum())
        totals["harm"] += int(harm.sum())
        totals["files_with_harm"] += int(harm.any())
        totals["within_before"] += int(np.sum(np.abs(true) <= 0.25))
        totals["within_after"] += int(np.sum(np.abs(error_after) <= 0.25))
        totals["displaced"] += int(displaced.sum())
        totals["restored"] += int(np.sum(displaced & (np.abs(error_after) <= 0.25)))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=100)
    args = parser.parse_args()
    raw = json.loads((HERE / "results" / "hearing-raw.json").read_text())
    print(
        "| heard | kind | lines | moved | harm | files with harm | within 250 ms before | after | displaced restored |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for singing in (False, True):
        parts = splits(raw, singing)
        for kind in KINDS:
            runs = [
                score(kind, args.draws // len(parts), fit, heard, "singing" if singing else "speech", seed)
                for seed, (fit, heard) in enumerate(parts)
            ]
            t = {k: sum(r[k] for r in runs) for k in runs[0]}
            restored = f"{100 * t['restored'] / t['displaced']:.1f} %" if t["displaced"] else "-"
            print(
                f"| {'singing' if singing else 'speech'} | {kind} | {t['lines']} | {100 * t['moved'] / t['lines']:.2f} % "
                f"| {100 * t['harm'] / t['lines']:.2f} % | {t['files_with_harm']} of {args.draws // len(parts) * len(parts)} "
                f"| {100 * t['within_before'] / t['lines']:.1f} % | {100 * t['within_after'] / t['lines']:.1f} % "
                f"| {restored} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
