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

Which heard starts are evidence: a line heard with a first word longer than the 95th
percentile of the references' line-first words (FIRST_WORD_QUANTILE) has absorbed a
pause or other speech into that word, and its start says nothing (the engine judges so
in decisions.is_evidence, with the bound listener_errors.py carries).  The report's
evidence table is out of sample: the recordings in two folds, each fold's lines judged
by the bound fitted on the other fold's references.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from subsync.core import anchors, inference  # noqa: E402
from subsync.core.hearing import voice_onset_s  # noqa: E402

RAW = HERE / "results" / "hearing-raw.json"
REPORT = HERE / "results" / "hearing.md"
MODEL_MODULE = HERE.parent / "subsync" / "core" / "listener_errors.py"
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
BANDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)  # reliability table: confidence at or above each
MIN_CONFIDENCE = 0.35  # the engine's default (SyncOptions.min_confidence)
FIRST_WORD_MATCH_S = 0.05  # a reference word starting this close to its line opens it
FIRST_WORD_QUANTILE = 95  # a heard first word longer than this percentile of the
# references' line-first words is no evidence of its start
FIRST_WORD_KNEE_QUANTILE = 90  # one longer than this percentile has absorbed the excess


def hear(bench: Path, model: str) -> None:
    from subsync.api import lines_of
    from subsync.core.hearing import Hearing
    from subsync.core.options import SyncOptions
    from subsync.core.sound import in_memory
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
        hearing = Hearing(listener, in_memory(audio), lines, SyncOptions(language=case["language"]), lambda *_: None)
        heard = hearing.align(TimeMap.identity())
        words = json.loads((folder / "words.json").read_text()) if "word" in case["levels"] else []
        words = words["words"] if isinstance(words, dict) else words  # (the songs' files are bare lists)
        first_words = first_word_durations(lines.starts_s, words)
        cases.append(
            stripped(
                {
                    "id": case["id"],
                    "reference": case["reference"].split()[0],
                    "language": case["language"],
                    "singing": case["kind"].startswith("song"),
                    "lines": [
                        {
                            "text": lines.texts[i],
                            "start_s": float(lines.starts_s[i]),
                            "end_s": float(lines.ends_s[i]),
                            "heard": None
                            if i not in heard
                            else {
                                "start_s": heard[i].words[0].start_s,
                                "end_s": heard[i].end_s,
                                "confidence": heard[i].confidence,
                                "words": [[w.text, w.start_s, w.end_s] for w in heard[i].words],
                            },
                        }
                        for i in range(len(lines.texts))
                    ],
                    "words": words,
                    "first_word_s": first_words,
                }
            )
        )
        print(f"{case['id']:40s} {len(heard):3d}/{len(lines.texts):3d} lines heard", flush=True)
    RAW.write_text(json.dumps({"model": model, "cases": cases}, indent=0) + "\n")


def stripped(case: dict) -> dict:
    """``case`` without its texts (most bench recordings may not be copied into the
    project, their words included): the word errors are matched here, and a line keeps
    only whether it has words to hear."""
    pairs = word_errors(case)
    lines = [
        {
            "spoken": bool(line["text"].strip()),
            "start_s": line["start_s"],
            "end_s": line["end_s"],
            "heard": line["heard"]
            and {
                **{k: v for k, v in line["heard"].items() if k != "words"},
                "first_word_s": _first_word_s(line["heard"]["words"]),
            },
        }
        for line in case["lines"]
    ]
    rest = {k: v for k, v in case.items() if k not in ("lines", "words")}
    return {
        **rest,
        "lines": lines,
        "words": len(case["words"]),
        "word_errors_s": [[round(a, 3), round(b, 3)] for a, b in pairs],
    }


def _first_word_s(words: list) -> float | None:
    """How long the first of a heard line's words ([text, start, end] each) lasts."""
    return round(words[0][2] - words[0][1], 3) if words else None


def first_word_durations(line_starts_s, words: list[dict]) -> list[float]:
    """How long the reference's line-first words last: for each line, the reference word
    that starts within FIRST_WORD_MATCH_S of the line (none when no word does)."""
    spoken = [w for w in words if _norm(w["word"])]
    if not spoken:
        return []
    starts = np.array([w["start"] for w in spoken])
    out = []
    for start_s in line_starts_s:
        k = int(np.argmin(np.abs(starts - start_s)))
        if abs(starts[k] - start_s) <= FIRST_WORD_MATCH_S:
            out.append(round(spoken[k]["end"] - spoken[k]["start"], 3))
    return out


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if ch.isalnum())


def word_errors(case: dict) -> list[tuple[float, float]]:
    """(start error, end error) of each reference word matched to a heard word by text,
    in order (heard words of lines heard at any confidence)."""
    heard = [w for line in case["lines"] if line["heard"] for w in line["heard"]["words"] if _norm(w[0])]
    ref = [w for w in case["words"] if _norm(w["word"])]
    matcher = difflib.SequenceMatcher(a=[_norm(w[0]) for w in heard], b=[_norm(w["word"]) for w in ref], autojunk=False)
    pairs = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            h, r = heard[block.a + k], ref[block.b + k]
            pairs.append((h[1] - r["start"], h[2] - r["end"]))
    return pairs


@dataclass(frozen=True)
class OnsetFit:
    """What the references and heard lines of some recordings say of heard first words
    (core.hearing.voice_onset_s, decisions.is_evidence)."""

    bound_s: float  # a heard first word longer than this: its start is no evidence
    typical_s: float  # how long a line's first word lasts (the references' median)
    knee_s: float  # ... and how long nine in ten last at most
    slope: float  # the start moves by this times the heard first word's excess over knee_s


def onset_fit(cases: list[dict]) -> OnsetFit:
    """From the ``cases``' reference line-first words: the bound (their FIRST_WORD_QUANTILE
    percentile), their median and the knee (their FIRST_WORD_KNEE_QUANTILE percentile);
    from their heard lines: the slope of the heard start's error on the heard first word's
    excess over the knee, by least absolute deviations (lad_slope) over the lines heard
    with MIN_CONFIDENCE whose first word is within the bound."""
    durations = [d for case in cases for d in case.get("first_word_s", [])]
    if not durations:
        return OnsetFit(float("inf"), 0.0, float("inf"), 0.0)
    bound_s = float(np.percentile(durations, FIRST_WORD_QUANTILE))
    knee_s = float(np.percentile(durations, FIRST_WORD_KNEE_QUANTILE))
    pairs = np.array(
        [
            (max(0.0, line["heard"]["first_word_s"] - knee_s), line["heard"]["start_s"] - line["start_s"])
            for case in cases
            for line in case["lines"]
            if line["heard"]
            and line["spoken"]
            and is_evidence(line["heard"], bound_s, MIN_CONFIDENCE)
            and line["heard"]["first_word_s"] is not None
        ]
    ).reshape(-1, 2)
    return OnsetFit(bound_s, float(np.median(durations)), knee_s, lad_slope(pairs[:, 0], pairs[:, 1]))


def lad_slope(excess_s: np.ndarray, error_s: np.ndarray) -> float:
    """The slope k of error = -k * excess by least absolute deviations (the errors are
    heavy-tailed: a few lines heard a second off would pull a least-squares slope): the
    median of -error / excess weighted by excess, over the lines with an excess; 0.0
    when none has one."""
    has = excess_s > 0
    if not has.any():
        return 0.0
    return anchors.weighted_median(-error_s[has] / excess_s[has], excess_s[has])


def onset_s(heard: dict, fit: OnsetFit | None) -> float:
    """Where the engine puts a heard line's start under ``fit`` (None: the listener's own)."""
    if fit is None or heard.get("first_word_s") is None:
        return heard["start_s"]
    return voice_onset_s(heard["start_s"], heard["start_s"] + heard["first_word_s"], fit.knee_s, fit.slope)


def is_evidence(heard: dict, bound_s: float, min_confidence: float = 0.0) -> bool:
    """Is a heard line's start evidence, as the engine judges it (decisions.is_evidence):
    its first word no longer than ``bound_s``, heard with ``min_confidence`` or more."""
    first = heard.get("first_word_s")
    return heard["confidence"] >= min_confidence and (first is None or first <= bound_s)


def folds(cases: list[dict]) -> list[list[dict]]:
    """The recordings in two folds, alternating by their number of heard lines."""
    order = sorted(cases, key=lambda c: (-sum(bool(line["heard"]) for line in c["lines"]), c["id"]))
    return [order[0::2], order[1::2]]


def groups(cases: list[dict], keep=lambda heard: True, fit: OnsetFit | None = None) -> dict[str, list[dict]]:
    """The heard spoken lines of ``cases`` that ``keep`` (heard dict -> bool) keeps, by
    group: (reference kind, speech or singing); their starts where ``fit`` puts them
    (None: as the listener heard them)."""
    out: dict[str, list[dict]] = {}
    for case in cases:
        key = f"{case['reference']} reference, {'singing' if case['singing'] else 'speech'}"
        for line in case["lines"]:
            if line["heard"] and line["spoken"] and keep(line["heard"]):
                out.setdefault(key, []).append(
                    {
                        "case": case["id"],
                        "confidence": line["heard"]["confidence"],
                        "start_error_s": onset_s(line["heard"], fit) - line["start_s"],
                        "end_error_s": line["heard"]["end_s"] - line["end_s"],
                    }
                )
    return out


def held_out_groups(
    cases: list[dict], min_confidence: float, set_aside: bool = False, corrected: bool = True
) -> dict[str, list[dict]]:
    """:func:`groups` of the evidence lines (``set_aside``: of the lines heard with
    ``min_confidence`` that the first-word bound sets aside), out of sample: the recordings
    in two folds, each fold's lines judged (and, when ``corrected``, their starts placed)
    by the OnsetFit of the other fold."""
    out: dict[str, list[dict]] = {}
    parts = folds(cases)
    for k in (0, 1):
        fit = onset_fit(parts[1 - k])

        def keep(heard: dict, fit=fit) -> bool:
            return heard["confidence"] >= min_confidence and is_evidence(heard, fit.bound_s) != set_aside

        for key, samples in groups(parts[k], keep, fit if corrected else None).items():
            out.setdefault(key, []).extend(samples)
    return out


def _row(errors_s: np.ndarray) -> str:
    if not errors_s.size:
        return "| 0 |" + " |" * (len(PERCENTILES) + 3)
    cells = [f"{np.percentile(errors_s, p) * 1000:+.0f}" for p in PERCENTILES]
    beyond = [f"{100 * np.mean(np.abs(errors_s) > t):.1f} %" for t in (0.25, 0.5)]
    return (
        f"| {errors_s.size} | "
        + " | ".join(cells)
        + f" | {' | '.join(beyond)} | {np.mean(np.abs(errors_s)) * 1000:.0f} |"
    )


def report(raw: dict) -> str:
    head = (
        "| n | " + " | ".join(f"p{p}" for p in PERCENTILES) + " | beyond 250 ms | beyond 500 ms | mean abs (ms) |\n"
        "|" + "---|" * (len(PERCENTILES) + 4)
    )
    out = [
        f"# Hearing report ({raw['model']} model)",
        "",
        (
            "Heard minus reference, ms. Generated by `python benchmarks/hearing.py report` from "
            "`results/hearing-raw.json`; see the script's docstring for the method."
        ),
        "",
    ]
    line_groups = groups(raw["cases"])
    group_head = "| group " + head.replace("|", "", 1).replace("\n|", "\n|---|", 1)
    for what in ("start", "end"):
        out += [f"## Line {what}s, every heard line", "", group_head]
        for key, samples in sorted(line_groups.items()):
            out.append(f"| {key} " + _row(np.array([s[f"{what}_error_s"] for s in samples])))
        out.append("")
    fit = onset_fit(raw["cases"])
    held_out = held_out_groups(raw["cases"], MIN_CONFIDENCE)
    out += [
        "## Line starts, the lines that are evidence, where the engine puts them (out of sample)",
        "",
        (
            f"Heard with confidence {MIN_CONFIDENCE} or more and a first word no longer than the "
            f"{FIRST_WORD_QUANTILE}th percentile of the references' line-first words (a longer one has "
            "absorbed a pause or other speech, and its start says nothing); the start moved by the "
            "slope times the heard first word's excess over the knee, the "
            f"{FIRST_WORD_KNEE_QUANTILE}th percentile of the references' first words "
            "(core.hearing.voice_onset_s).  All recordings give: bound "
            f"{fit.bound_s:.3f} s, knee {fit.knee_s:.3f} s, slope {fit.slope:.2f}.  Out of sample: the "
            "recordings in two folds, each fold's lines judged and placed by what the other fold "
            "gives."
        ),
        "",
        group_head,
    ]
    for key, samples in sorted(held_out.items()):
        share = f"{len(samples)} of {len(line_groups.get(key, []))}"
        out.append(f"| {key} ({share} heard) " + _row(np.array([s["start_error_s"] for s in samples])))
    out += ["", "The same lines where the listener heard them (no slope):", "", group_head]
    for key, samples in sorted(held_out_groups(raw["cases"], MIN_CONFIDENCE, corrected=False).items()):
        out.append(f"| {key} " + _row(np.array([s["start_error_s"] for s in samples])))
    out += [
        "",
        "The lines the bound sets aside (heard with that confidence, first word longer; out of sample):",
        "",
        group_head,
    ]
    for key, samples in sorted(held_out_groups(raw["cases"], MIN_CONFIDENCE, set_aside=True, corrected=False).items()):
        out.append(f"| {key} " + _row(np.array([s["start_error_s"] for s in samples])))
    out.append("")
    out += [
        "## Words (human references only)",
        "",
        "| recordings " + head.replace("|", "", 1).replace("\n|", "\n|---|", 1),
    ]
    for singing in (False, True):
        cases = [c for c in raw["cases"] if c["reference"] == "human" and c["singing"] == singing and c["words"]]
        pairs = [p for c in cases for p in c["word_errors_s"]]
        starts = np.array([p[0] for p in pairs])
        ends = np.array([p[1] for p in pairs])
        label = "singing" if singing else "speech"
        out.append(f"| {label}, word starts " + _row(starts))
        out.append(f"| {label}, word ends " + _row(ends))
        both = np.abs(np.concatenate([starts, ends])) if pairs else np.zeros(0)
        out.append(
            f"| {label}, boundaries (mean abs {both.mean() * 1000 if both.size else float('nan'):.0f} ms, "
            f"{len(pairs)} of {sum(c['words'] for c in cases)} words matched) " + _row(both)
        )
    out += ["", "## Reliability: line starts within 250 / 500 ms among lines heard at or above a confidence", ""]
    for title, table in (
        ("Every heard line:", line_groups),
        (
            "The lines that are evidence but for the confidence (first word within the bound, out of sample):",
            held_out_groups(raw["cases"], 0.0),
        ),
    ):
        out += [
            title,
            "",
            "| group | " + " | ".join(f">= {b:.1f}" for b in BANDS) + " |",
            "|---|" + "---|" * len(BANDS),
        ]
        for key, samples in sorted(table.items()):
            cells = []
            for band in BANDS:
                errors = np.array([abs(s["start_error_s"]) for s in samples if s["confidence"] >= band])
                cells.append(
                    f"{100 * np.mean(errors <= 0.25):.0f} / {100 * np.mean(errors <= 0.5):.0f} % of {errors.size}"
                    if errors.size
                    else "-"
                )
            out.append(f"| {key} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def model_module(raw: dict) -> str:
    """subsync/core/listener_errors.py: the first-word OnsetFit, and the line-start errors
    of the lines that are evidence under it (heard with MIN_CONFIDENCE or more), placed by
    it, speech
    (every speech recording with a reference, human or machine: the machine references'
    own errors widen it, which makes the decisions more cautious) and singing (the four
    songs' human lines) apart, in ms."""
    fit = onset_fit(raw["cases"])
    line_groups = groups(raw["cases"], lambda h: is_evidence(h, fit.bound_s, MIN_CONFIDENCE), fit)
    speech = [s for key, samples in line_groups.items() if key.endswith("speech") for s in samples]
    singing = [s for key, samples in line_groups.items() if key.endswith("singing") for s in samples]
    first_words = [d for case in raw["cases"] for d in case.get("first_word_s", [])]
    first_cases = ", ".join(sorted(c["id"] for c in raw["cases"] if c.get("first_word_s")))

    def listed(samples: list[dict]) -> tuple[str, str]:
        kept = sorted(round(s["start_error_s"] * 1000) for s in samples)
        cases = sorted({s["case"] for s in samples})
        return (
            ",\n    ".join(", ".join(str(v) for v in kept[k : k + 16]) for k in range(0, len(kept), 16)),
            ", ".join(cases),
        )

    speech_ms, speech_cases = listed(speech)
    singing_ms, singing_cases = listed(singing)
    speech_kernel_s = inference.kernel_width(by_recording(speech))
    singing_kernel_s = inference.kernel_width(by_recording(singing))
    return f'''"""The listener's measured errors: the decision model's parameters (inference.py,
decisions.is_evidence).  Generated by ``python benchmarks/hearing.py report`` from
benchmarks/results/hearing-raw.json ({raw["model"]} model, every bench line heard under the
exact map); do not edit by hand.

First words, from the bench's word references ({len(first_words)} line-first words: {first_cases}).
MAX_FIRST_WORD_S: the {FIRST_WORD_QUANTILE}th percentile of how long they last; a heard first word
longer than that has absorbed a pause or other speech (the alignment path must place every
frame), and its start is no evidence.  FIRST_WORD_S: their median.  FIRST_WORD_KNEE_S: their
{FIRST_WORD_KNEE_QUANTILE}th percentile.  FIRST_WORD_SLOPE: how far a heard start moves per second its
first word is heard longer than FIRST_WORD_KNEE_S (least absolute deviations over the lines heard with
confidence {MIN_CONFIDENCE} or more, first word within the bound; the path stretches a first
word over the pause before it).

The start errors (ms) are those of the lines that are evidence (confidence {MIN_CONFIDENCE} or
more, first word within MAX_FIRST_WORD_S), their starts moved by the slope, minus the reference.
Speech: {speech_cases}.
Singing: {singing_cases}.
"""

MAX_FIRST_WORD_S = {fit.bound_s:.3f}
FIRST_WORD_S = {fit.typical_s:.3f}
FIRST_WORD_KNEE_S = {fit.knee_s:.3f}
FIRST_WORD_SLOPE = {fit.slope:.3f}

# The error densities' kernel widths (s), by likelihood leaving one recording out
# (inference.kernel_width).
SPEECH_KERNEL_S = {speech_kernel_s}
SINGING_KERNEL_S = {singing_kernel_s}

SPEECH_START_ERRORS_MS = (
    {speech_ms},
)

SINGING_START_ERRORS_MS = (
    {singing_ms},
)
'''


def by_recording(samples: list[dict]) -> list[np.ndarray]:
    """The samples' start errors (s), one array per recording."""
    cases = sorted({s["case"] for s in samples})
    return [np.array([s["start_error_s"] for s in samples if s["case"] == case]) for case in cases]


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
