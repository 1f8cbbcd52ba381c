"""Two runs of run.py compared file by file (an A/B of two commits on the same bench).

    python benchmarks/compare_runs.py BEFORE/runs.jsonl AFTER/runs.jsonl

Each job (case, distortion, scenario) found in both: a changed outcome (written, refused,
failed) is printed; each file whose start errors changed gets one row, its shares within
125 / 250 / 500 ms and its median before and after (a lost line is infinitely off:
report.errors).  Then the totals over every line of the files compared, the harm at
250 ms (report.harm: lines beyond it that the exact global map would have put within it),
and how many files gained or lost lines within 250 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report

TOLERANCE_S = 0.25


def load(path: Path) -> dict[tuple[str, str, str], dict]:
    runs = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        runs[(record["case"], record["distortion"], record["scenario"])] = record
    return runs


def shares(errors_s: np.ndarray) -> str:
    within = [100 * np.mean(errors_s <= limit) for limit in (0.125, TOLERANCE_S, 0.5)]
    return f"{within[0]:5.1f}/{within[1]:5.1f}/{within[2]:5.1f} med {1000 * np.median(errors_s):4.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    keys = [key for key in before if key in after]
    lines: dict[str, list[np.ndarray]] = {"before": [], "after": []}
    harmed = {"before": 0, "after": 0}
    gained = lost = changed = 0
    for key in keys:
        old, new = before[key], after[key]
        if old["written"] != new["written"] or (old["error"] or "") != (new["error"] or ""):
            print("outcome", key, old["written"], new["written"], old["error"], new["error"])
        if not old["start_error_s"] or not new["start_error_s"]:
            continue
        a, b = report.errors(old), report.errors(new)  # (n_lines,) each
        lines["before"].append(a)
        lines["after"].append(b)
        harmed["before"] += report.harm(old, TOLERANCE_S)
        harmed["after"] += report.harm(new, TOLERANCE_S)
        gained += int(np.sum(b <= TOLERANCE_S) > np.sum(a <= TOLERANCE_S))
        lost += int(np.sum(b <= TOLERANCE_S) < np.sum(a <= TOLERANCE_S))
        if not np.array_equal(a, b):
            changed += 1
            print(f"{key[0]:28s} {key[2] or key[1]:28s} n={a.size:3d} before {shares(a)}  after {shares(b)}")
    print(f"files compared {len(keys)}, changed {changed}")
    for name, errors in lines.items():
        every = np.concatenate(errors) if errors else np.zeros(0)
        print(f"{name}: {every.size} lines, within 125 / 250 / 500 ms {shares(every)[:17]} %")
    print(f"harm at 250 ms (report.harm): before {harmed['before']} lines, after {harmed['after']}")
    print(f"files with more lines within 250 ms: after {gained}, before {lost}")


if __name__ == "__main__":
    main()
