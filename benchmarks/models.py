"""Speed and word-onset accuracy of a model (the figures in models/README.md).

    python benchmarks/models.py --model base [--bench ../shared/bench] [--threads 2]

Speed: median of 5 encoder passes over one 30 s window and of 5 teacher-forced decoder
passes (60 words).  Accuracy: word starts against the word-level references of the bench
clips up to 30 s (English only for English-only models).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from subsync.media import load_audio
from subsync.whisper.features import WINDOW_SAMPLES
from subsync.whisper.listener import attention_spans
from subsync.whisper.model import MAX_FRAMES, WhisperModel


def median_time(run, repeats: int = 5) -> float:
    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "bench")
    parser.add_argument("--model", default="base")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    model = WhisperModel(args.model, device="cpu", threads=args.threads)
    manifest = json.loads((args.bench / "manifest.json").read_text())
    longest = max(manifest, key=lambda case: case["duration_s"])
    audio = load_audio(args.bench / longest["id"] / longest["media"])[:WINDOW_SAMPLES]
    mel = model.log_mel([audio])
    encoded = model.encode(mel)
    tokens = [t for word in model.tokenize_words(["word"] * 60) for t in word]
    language = "en"
    print(
        f"{args.model}: encoder {median_time(lambda: model.encode(mel)):.3f} s per 30 s window, "
        f"decoder pass {median_time(lambda: model.force_align(encoded, tokens, language, MAX_FRAMES)):.3f} s"
    )
    errors = []
    for case in manifest:
        if "word" not in case["levels"] or case["duration_s"] > 30:
            continue
        if not model.multilingual and case["language"] != "en":
            continue
        folder = args.bench / case["id"]
        audio = load_audio(folder / case["media"])
        words = [w for w in json.loads((folder / "words.json").read_text())["words"] if w["word"].strip()]
        heard = attention_spans(model, audio[:WINDOW_SAMPLES], [w["word"] for w in words], case["language"])
        if heard is None:
            continue
        spans = heard[0]
        errors.extend(spans.start_s + model.onset_bias_s - np.array([w["start"] for w in words]))
    starts = np.array(errors)
    print(
        f"{args.model}: {starts.size} word starts, signed median {np.median(starts) * 1000:+.0f} ms, "
        f"within 50 ms {np.mean(np.abs(starts) <= 0.05):.1%}, within 100 ms {np.mean(np.abs(starts) <= 0.1):.1%}"
    )


if __name__ == "__main__":
    main()
