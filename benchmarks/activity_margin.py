"""How far ahead the speech pattern's best map must be to stand without the text.

    python benchmarks/activity_margin.py --bench ../shared/bench [--draws 40] [--out FILE.md]

A subtitle whose text the listener cannot hear (a translation, a language the model hears
poorly) is placed by the speech pattern alone, or refused.  The engine trusts the pattern's
best map without the text when its margin (its score over the best clearly different map's,
search.candidate_maps) is at least TRUSTED_MARGIN over subtitles spanning at least
MIN_DECISIVE_SPAN_S (engine.py).  This measures, per span, the margins of maps that are
wrong and of maps that are right, from the pure search (no model):

- each bench recording with a cue or line reference (at least 3 cues, 10 s) under
  ``--draws`` drawn distortions (offset uniform within +-60 s; scale 1.0 half the time, else
  a standard framerate ratio; subtitle time = true time * scale + offset): the best map is
  right when it puts 90 % of the cues within 250 ms of their reference;
- each recording with every other recording's subtitle, distorted the same way: every map
  is wrong (another episode).

Reported per span band: the wrong and right maps' margins, and how many of each a threshold
would trust.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from subsync.core import search, timemap  # noqa: E402
from subsync.core.activity import speech_activity  # noqa: E402
from subsync.media import load_audio  # noqa: E402
from subsync.subtitles import read_srt  # noqa: E402

MAX_OFFSET_S = 60.0  # drawn offsets: uniform within +- this
RIGHT_WITHIN_S = 0.25  # a cue this close to its reference is placed right ...
RIGHT_SHARE = 0.9  # ... and a map placing this share of them so is right
MIN_DRIFT_SPAN_S = 20.0  # as engine.py: shorter subtitles search the common scales only
BANDS_S = ((0.0, 60.0), (60.0, 150.0), (150.0, 300.0), (300.0, np.inf))
THRESHOLDS = (1.1, 1.2, 1.3, 1.4, 1.5)


def recordings(bench: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(id, speech activity, cue starts, cue ends) of each recording with a usable reference."""
    found = []
    for case in json.loads((bench / "manifest.json").read_text()):
        reference = bench / case["id"] / "reference.srt"
        if not reference.exists() or case["duration_s"] < 10:
            continue
        cues = read_srt(reference).cues
        if len(cues) < 3:
            continue
        speech = speech_activity(load_audio(bench / case["id"] / case["media"]))
        starts = np.array([c.start_s for c in cues])
        ends = np.array([c.end_s for c in cues])
        found.append((case["id"], speech, starts, ends))
    return found


def drawn(rng, speech, starts, ends, truth_s: np.ndarray | None) -> dict:
    """One distorted subtitle searched against ``speech``: its span, margin and whether the
    best map is right (never, without ``truth_s``)."""
    ratios = [r for r in timemap.FRAMERATE_RATIOS if r != 1.0]
    scale = 1.0 if rng.random() < 0.5 else float(rng.choice(ratios))
    offset = rng.uniform(-MAX_OFFSET_S, MAX_OFFSET_S)
    subtitle_starts, subtitle_ends = starts * scale + offset, ends * scale + offset
    span = float(subtitle_ends.max() - subtitle_starts.min())
    scales = timemap.FRAMERATE_RATIOS if span >= MIN_DRIFT_SPAN_S else timemap.COMMON_SCALES
    found = search.candidate_maps(speech, subtitle_starts, subtitle_ends, 600.0, scales)
    right = truth_s is not None and np.mean(np.abs(found.maps[0](subtitle_starts) - truth_s) <= RIGHT_WITHIN_S)
    return {"span_s": span, "margin": float(found.margin), "right": bool(right and right >= RIGHT_SHARE)}


def table(rows: list[dict]) -> str:
    span = np.array([r["span_s"] for r in rows])
    margin = np.nan_to_num(np.array([r["margin"] for r in rows]), posinf=99.0)
    right = np.array([r["right"] for r in rows])
    head = "| span | wrong maps | their margin p50 / p99 / max | right maps | " + " | ".join(
        f"trusted at {t}: wrong / right" for t in THRESHOLDS
    )
    lines = [head + " |", "|---" * (4 + len(THRESHOLDS)) + "|"]
    for low, high in BANDS_S:
        band = (span >= low) & (span < high)
        wrong_m, right_m = margin[band & ~right], margin[band & right]
        if not band.any():
            continue
        stats = (
            f"{np.median(wrong_m):.3f} / {np.percentile(wrong_m, 99):.3f} / {wrong_m.max():.3f}"
            if wrong_m.size
            else "-"
        )
        cells = [f"{np.sum(wrong_m >= t)} / {np.sum(right_m >= t)}" for t in THRESHOLDS]
        name = f"{low:.0f}-{high:.0f} s" if np.isfinite(high) else f">= {low:.0f} s"
        lines.append(f"| {name} | {wrong_m.size} | {stats} | {right_m.size} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    parser.add_argument("--draws", type=int, default=40, help="distortions of each recording's own subtitle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    found = recordings(args.bench)
    rows = []
    for name, speech, starts, ends in found:
        rows += [{"case": name, **drawn(rng, speech, starts, ends, starts)} for _ in range(args.draws)]
        for other, _speech, other_starts, other_ends in found:
            if other != name:
                rows.append({"case": name, "subtitle": other, **drawn(rng, speech, other_starts, other_ends, None)})
    text = f"{len(found)} recordings ({', '.join(f[0] for f in found)}), {len(rows)} searches.\n\n" + table(rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(f"# activity_margin.py, seed {args.seed}, {args.draws} draws\n\n" + text)


if __name__ == "__main__":
    main()
