"""GPU check: batched encoding hears each window as it is heard alone, and how much faster.

    python benchmarks/gpu_check.py --model DIR --media examples/sonnet001.mp3 \
        --subs examples/sonnet001.mistimed.srt [--film FILM --film-subs SRT] [--out check.json]

MEDIA (and FILM) may be a media file (decoded by ffmpeg) or a .npy of 16 kHz mono samples
(int16 or float32), for machines without ffmpeg.  On the example: the windows under the
example's map heard one at a time and in one batch (word times and scores compared), then
the whole engine run with the listener's batch at 1 and at its default (the placements
compared).  On FILM: seconds per window one at a time and in batches.  Prints one JSON
object (and writes it to --out).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from subsync import media as media_mod
from subsync.api import lines_of
from subsync.core import engine
from subsync.core.hearing import Hearing
from subsync.core.options import SyncOptions
from subsync.core.sound import in_memory
from subsync.subtitles import read_subtitles
from subsync.whisper.listener import WhisperListener
from subsync.whisper.model import WhisperModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--media", type=Path, required=True)
    parser.add_argument("--subs", type=Path, required=True)
    parser.add_argument("--language", default="en")
    parser.add_argument("--film", type=Path)
    parser.add_argument("--film-subs", type=Path)
    parser.add_argument("--film-windows", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    started = time.monotonic()
    listener = WhisperListener(WhisperModel(args.model, args.device))
    report: dict = {
        "device": args.device,
        "model": args.model,
        "batch": listener.batch,
        "load_s": round(time.monotonic() - started, 2),
    }
    if args.device.startswith("cuda"):
        import torch

        report["gpu"] = torch.cuda.get_device_name()
        report["torch"] = torch.__version__
    options = SyncOptions(language=args.language)
    audio = _audio(args.media)
    lines = lines_of(read_subtitles(args.subs))
    placed = {}
    for batch in (1, listener.batch):
        listener.batch = batch
        t = _now(args.device)
        placed[batch] = engine.sync_audio(audio, lines, options, lambda: listener, lambda *_: None)
        report[f"engine_batch{batch}_s"] = round(_now(args.device) - t, 3)
    one, many = placed[1], placed[listener.batch]
    report["engine_same_map"] = one.time_map == many.time_map
    report["engine_max_start_diff_s"] = max(abs(a.start_s - b.start_s) for a, b in zip(one.lines, many.lines))
    report["engine_same_actions"] = [a.action for a in one.lines] == [b.action for b in many.lines]
    report["engine_offset_s"], report["engine_scale"] = many.time_map.offset_s, many.time_map.scale

    hearing = Hearing(listener, in_memory(audio), lines, options, lambda *_: None)
    report.update(_compare(listener, [hearing.passage(w) for w in hearing.windows(many.time_map)], "example"))
    if args.film is not None:
        film = _audio(args.film)
        film_lines = lines_of(read_subtitles(args.film_subs))
        film_hearing = Hearing(listener, in_memory(film), film_lines, options, lambda *_: None)
        windows = film_hearing.windows(engine.timemap.TimeMap.identity())[: args.film_windows]
        passages = [p for p in (film_hearing.passage(w) for w in windows) if p is not None]
        report.update(_compare(listener, passages, "film", timed=True, device=args.device))
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


def _compare(listener, passages, name: str, timed: bool = False, device: str = "cpu") -> dict:
    """Each passage heard alone and in batches: the largest word-time and score gaps, and
    (timed) seconds per window."""
    batch = max(listener.batch, 1)
    listener.hear(passages[0])  # warm-up
    t = _now(device)
    alone = [listener.hear(p) for p in passages]
    alone_s = _now(device) - t
    t = _now(device)
    together = [h for k in range(0, len(passages), batch) for h in listener.hear_many(passages[k : k + batch])]
    together_s = _now(device) - t
    starts = [
        abs(wa.start_s - wb.start_s)
        for a, b in zip(alone, together)
        if a and b
        for la, lb in zip(a, b)
        for wa, wb in zip(la.words, lb.words)
    ]
    scores = [abs(la.score - lb.score) for a, b in zip(alone, together) if a and b for la, lb in zip(a, b)]
    out = {
        f"{name}_windows": len(passages),
        f"{name}_max_word_start_diff_s": max(starts, default=0.0),
        f"{name}_words_differing_over_20ms": int(np.sum(np.array(starts) > 0.02)),
        f"{name}_words": len(starts),
        f"{name}_max_score_diff": max(scores, default=0.0),
    }
    if timed:
        out[f"{name}_s_per_window_alone"] = round(alone_s / len(passages), 4)
        out[f"{name}_s_per_window_batch{batch}"] = round(together_s / len(passages), 4)
    return out


def _audio(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        samples = np.load(path)
        return (samples / 32768.0).astype(np.float32) if samples.dtype == np.int16 else samples.astype(np.float32)
    return media_mod.load_audio(path)


def _now(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    return time.monotonic()


if __name__ == "__main__":
    main()
