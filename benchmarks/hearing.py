"""The hearing report: how far from the truth the listener hears lines and words.

    python benchmarks/hearing.py hear [--bench ../shared/bench] [--model base]   # runs the model
    python benchmarks/hearing.py report                                          # tables only

``hear`` hears every line of each bench recording that has a cue- or line-level reference,
under the exact map (every line where the reference puts it, as the engine's per-line
pass does), and stores what was heard (line and word times, confidences) in
``results/hearing-raw.json``.  ``report`` turns that into ``results/hearing.md``: line
start and end errors (heard minus reference) and word boundary errors, with percentiles
1-99, the share beyond 250 and 500 ms, and a reliability table (the share within 250 ms
among lines heard at or above each confidence), kept apart by what the reference is
(human or machine) and what is heard (speech or singing).  It also writes
``subsync/core/listener_errors.py``, the measured distributions the decision model
reads (docs/how-it-works.md), fitted on the recordings the report names.

The references: human word times (praatio, parselmouth, the four jamendo songs, whose
lines are derived from the hand-placed words) are ground truth to the annotators'
precision; machine references (aeneas, MFA, Whisper-medium, YouTube captions) carry
their own errors of 100-300 ms, so that table measures the listener and the reference
together and is labelled so.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import unicodedata
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

RAW = HERE / "results" / "hearing-raw.json"
REPORT = HERE / "results" / "hearing.md"
MODEL_MODULE = HERE.parent / "subsync" / "core" / "listener_errors.py"
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)          # reliability table: confidence at or above each


def hear(bench: Path, model: str) -> None:
    from subsync.api import lines_of
    from subsync.core.activity import speech_activity
    from subsync.core.hearing import Hearing
    from subsync.core.options import SyncOptions
    from subsync.core.timemap import TimeMap
    from subsync.media import load_audio
    from subsync.subtitles import read_subtitles
    from subsync.whisper.listener import load_listener

    listener = load_listener(model, device="cpu")
    cases = []
    for case in json.loads((bench / "manifest.json").read_text()):
        if not {"cue", "line"} & set(case["levels"]):
            continue
        folder = bench / case["id"]
        audio = load_audio(folder / case["media"])
        lines = lines_of(read_subtitles(folder / "reference.srt"))
        hearing = Hearing(listener, audio, speech_activity(audio), lines,
                          SyncOptions(language=case["language"]), lambda *_: None)
        heard = hearing.align(TimeMap.identity())
        words = json.loads((folder / "words.json").read_text()) if "word" in case["levels"] else []
        words = words["words"] if isinstance(words, dict) else words     # (the songs' files are bare lists)
        cases.append(stripped({
            "id": case["id"], "reference": case["reference"].split()[0], "language": case["language"],
            "singing": case["kind"].startswith("song"),
            "lines": [{"text": lines.texts[i], "start_s": float(lines.starts_s[i]), "end_s": float(lines.ends_s[i]),
                       "heard": None if i not in heard else {
                           "start_s": heard[i].start_s, "end_s": heard[i].end_s,
                           "confidence": heard[i].confidence,
                           "words": [[w.text, w.start_s, w.end_s] for w in heard[i].words]}}
                      for i in range(len(lines.texts))],
            "words": words,
        }))
        print(f"{case['id']:40s} {len(heard):3d}/{len(lines.texts):3d} lines heard", flush=True)
    RAW.write_text(json.dumps({"model": model, "cases": cases}, indent=0) + "\n")


def stripped(case: dict) -> dict:
    """``case`` without its texts (most bench recordings may not be copied into the
    project, their words included): the word errors are matched here, and a line keeps
    only whether it has words to hear."""
    pairs = word_errors(case)
    lines = [{"spoken": bool(line["text"].strip()), "start_s": line["start_s"], "end_s": line["end_s"],
              "heard": line["heard"] and {k: v for k, v in line["heard"].items() if k != "words"}}
             for line in case["lines"]]
    rest = {k: v for k, v in case.items() if k not in ("lines", "words")}
    return {**rest, "lines": lines, "words": len(case["words"]),
            "word_errors_s": [[round(a, 3), round(b, 3)] for a, b in pairs]}


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if ch.isalnum())


def word_errors(case: dict) -> list[tuple[float, float]]:
    """(start error, end error) of each reference word matched to a heard word by text,
    in order (heard words of lines heard at any confidence)."""
    heard = [w for line in case["lines"] if line["heard"] for w in line["heard"]["words"] if _norm(w[0])]
    ref = [w for w in case["words"] if _norm(w["word"])]
    matcher = difflib.SequenceMatcher(a=[_norm(w[0]) for w in heard], b=[_norm(w["word"]) for w in ref],
                                      autojunk=False)
    pairs = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            h, r = heard[block.a + k], ref[block.b + k]
            pairs.append((h[1] - r["start"], h[2] - r["end"]))
    return pairs


def groups(raw: dict) -> dict[str, list[dict]]:
    """Line samples by group: (reference kind, speech or singing)."""
    out: dict[str, list[dict]] = {}
    for case in raw["cases"]:
        key = f"{case['reference']} reference, {'singing' if case['singing'] else 'speech'}"
        for line in case["lines"]:
            if line["heard"] and line["spoken"]:
                out.setdefault(key, []).append({
                    "case": case["id"], "confidence": line["heard"]["confidence"],
                    "start_error_s": line["heard"]["start_s"] - line["start_s"],
                    "end_error_s": line["heard"]["end_s"] - line["end_s"]})
    return out


def _row(errors_s: np.ndarray) -> str:
    if not errors_s.size:
        return "| 0 |" + " |" * (len(PERCENTILES) + 3)
    cells = [f"{np.percentile(errors_s, p) * 1000:+.0f}" for p in PERCENTILES]
    beyond = [f"{100 * np.mean(np.abs(errors_s) > t):.1f} %" for t in (0.25, 0.5)]
    return f"| {errors_s.size} | " + " | ".join(cells) + f" | {' | '.join(beyond)} | {np.mean(np.abs(errors_s)) * 1000:.0f} |"


def report(raw: dict) -> str:
    head = ("| n | " + " | ".join(f"p{p}" for p in PERCENTILES) + " | beyond 250 ms | beyond 500 ms | mean abs (ms) |\n"
            "|" + "---|" * (len(PERCENTILES) + 4))
    out = [f"# Hearing report ({raw['model']} model)", "",
           ("Heard minus reference, ms. Generated by `python benchmarks/hearing.py report` from "
            "`results/hearing-raw.json`; see the script's docstring for the method."), ""]
    line_groups = groups(raw)
    for what in ("start", "end"):
        out += [f"## Line {what}s", "", "| group " + head.replace("|", "", 1).replace("\n|", "\n|---|", 1)]
        for key, samples in sorted(line_groups.items()):
            out.append(f"| {key} " + _row(np.array([s[f"{what}_error_s"] for s in samples])))
        out.append("")
    out += ["## Words (human references only)", "", "| recordings " + head.replace("|", "", 1).replace("\n|", "\n|---|", 1)]
    for singing in (False, True):
        cases = [c for c in raw["cases"] if c["reference"] == "human" and c["singing"] == singing and c["words"]]
        pairs = [p for c in cases for p in c["word_errors_s"]]
        starts = np.array([p[0] for p in pairs])
        ends = np.array([p[1] for p in pairs])
        label = "singing" if singing else "speech"
        out.append(f"| {label}, word starts " + _row(starts))
        out.append(f"| {label}, word ends " + _row(ends))
        both = np.abs(np.concatenate([starts, ends])) if pairs else np.zeros(0)
        out.append(f"| {label}, boundaries (mean abs {both.mean() * 1000 if both.size else float('nan'):.0f} ms, "
                   f"{len(pairs)} of {sum(c['words'] for c in cases)} words matched) " + _row(both))
    out += ["", "## Reliability: line starts within 250 ms among lines heard at or above a confidence", "",
            "| group | " + " | ".join(f">= {b:.1f}" for b in BANDS) + " |", "|---|" + "---|" * len(BANDS)]
    for key, samples in sorted(line_groups.items()):
        cells = []
        for band in BANDS:
            inside = [abs(s["start_error_s"]) <= 0.25 for s in samples if s["confidence"] >= band]
            cells.append(f"{100 * np.mean(inside):.0f} % of {len(inside)}" if inside else "-")
        out.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


MIN_CONFIDENCE = 0.35                 # the engine's default (SyncOptions.min_confidence): lines below it are no evidence


def model_module(raw: dict) -> str:
    """subsync/core/listener_errors.py: the line-start errors of confidently heard lines,
    speech (every speech recording with a reference, human or machine: the machine
    references' own errors widen it, which makes the decisions more cautious) and singing
    (the four songs' human lines) apart, in ms."""
    line_groups = groups(raw)
    speech = [s for key, samples in line_groups.items() if key.endswith("speech") for s in samples]
    singing = [s for key, samples in line_groups.items() if key.endswith("singing") for s in samples]

    def listed(samples: list[dict]) -> tuple[str, str]:
        kept = sorted(round(s["start_error_s"] * 1000) for s in samples if s["confidence"] >= MIN_CONFIDENCE)
        cases = sorted({s["case"] for s in samples})
        return (",\n    ".join(", ".join(str(v) for v in kept[k : k + 16]) for k in range(0, len(kept), 16)),
                ", ".join(cases))

    speech_ms, speech_cases = listed(speech)
    singing_ms, singing_cases = listed(singing)
    return f'''"""The listener's measured line-start errors (heard minus reference, ms): the decision
model's error distributions (inference.py).  Generated by ``python benchmarks/hearing.py
report`` from benchmarks/results/hearing-raw.json ({raw['model']} model, lines heard with
confidence {MIN_CONFIDENCE} or more under the exact map); do not edit by hand.

Speech: {speech_cases}.
Singing: {singing_cases}.
"""

SPEECH_START_ERRORS_MS = (
    {speech_ms},
)

SINGING_START_ERRORS_MS = (
    {singing_ms},
)
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("hear", "report"))
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    if args.what == "hear":
        hear(args.bench, args.model)
    raw = json.loads(RAW.read_text())
    REPORT.write_text(report(raw))
    MODEL_MODULE.write_text(model_module(raw))
    print(REPORT.read_text())


if __name__ == "__main__":
    main()
