"""The Whisper listener's line-start and line-end errors on the bench, as data for tests.

    python benchmarks/hearing_errors.py [--bench ../shared/bench] [--out tests/data/hearing_errors.json]

Each bench recording with a cue-level reference is heard line by line under the exact
map (every line where the reference puts it), as the engine's per-line pass does; the
heard start (end) minus the reference start (end) of every line heard with confidence is
an error sample.  The references are mostly machine alignments marking speech onsets,
so the samples hold the listener's own error and the references' (tails included).
The replay listener draws from these samples in tests (tests/test_never_worse.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from subsync.core.activity import speech_activity  # noqa: E402
from subsync.core.hearing import Hearing  # noqa: E402
from subsync.core.options import SyncOptions  # noqa: E402
from subsync.core.timemap import TimeMap  # noqa: E402
from subsync.api import lines_of  # noqa: E402
from subsync.media import load_audio  # noqa: E402
from subsync.subtitles import read_subtitles  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--out", type=Path, default=HERE.parent / "tests" / "data" / "hearing_errors.json")
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    from subsync.whisper.listener import load_listener

    listener = load_listener(args.model, device="cpu")
    options = SyncOptions()
    per_case = {}
    for case in json.loads((args.bench / "manifest.json").read_text()):
        if "cue" not in case["levels"]:
            continue
        folder = args.bench / case["id"]
        audio = load_audio(folder / case["media"])
        lines = lines_of(read_subtitles(folder / "reference.srt"))
        hearing = Hearing(listener, audio, speech_activity(audio), lines,
                          SyncOptions(language=case["language"]), lambda *_: None)
        heard = hearing.align(TimeMap.identity())
        confident = sorted(i for i, h in heard.items() if h.confidence >= options.min_confidence)
        per_case[case["id"]] = {
            "reference": case["reference"],
            "start_errors_s": [round(heard[i].start_s - float(lines.starts_s[i]), 3) for i in confident],
            "end_errors_s": [round(heard[i].end_s - float(lines.ends_s[i]), 3) for i in confident],
            "lines": len(lines.texts), "confident": len(confident),
        }
        errors = np.array(per_case[case["id"]]["start_errors_s"])
        print(f"{case['id']:28s} {len(confident):3d}/{len(lines.texts):3d} confident, start error median "
              f"{np.median(errors) * 1000 if errors.size else float('nan'):+.0f} ms, "
              f"|error| 90th {np.percentile(np.abs(errors), 90) * 1000 if errors.size else float('nan'):.0f} ms")
    starts = np.concatenate([c["start_errors_s"] for c in per_case.values()])
    summary = {"model": args.model, "samples": int(starts.size),
               "start_percentiles_ms": {str(p): round(float(np.percentile(starts, p)) * 1000)
                                        for p in (1, 5, 10, 25, 50, 75, 90, 95, 99)}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "cases": per_case}, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
