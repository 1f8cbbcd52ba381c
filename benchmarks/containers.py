"""Recordings remuxed as films come: the audio stream delayed in the container.

    python benchmarks/containers.py                       # the default cases (about 10 min on 2 cores)
    python benchmarks/containers.py CASE [CASE ...]       # bench recordings with a reference.srt

Each bench recording's audio goes into an mkv and an mp4 over black video that runs 5 s past
it, with ``-itsoffset 2.5`` (the audio stream starts 2.5 s into the film, as a remux with an
audio delay has it); its reference subtitles, timed to the audio alone, are synced against the
film with the default options, and each line's start is compared with its reference time on
the film's clock (+2.5 s).  Prints one line per case and container: the share of starts
within 250 ms and the median error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import subsync  # noqa: E402
from subsync.errors import SubsyncError  # noqa: E402
from subsync.media import ffmpeg_binary  # noqa: E402
from subsync.subtitles import read_srt  # noqa: E402

DELAY_S = 2.5
DEFAULT_CASES = (
    "jamendo_mes_larmes_kobzx2z",
    "jamendo_guayeteo_jhoyking",
    "praatio_mary",
    "praatio_bobby",
    "praatio_damon",
    "parselmouth_nwas",
    "videogrep_manifesto",
    "wts_smartphone",
)


def delayed_film(media: Path, duration_s: float, container: str, folder: Path) -> Path:
    """``media``'s audio in a ``container`` film, starting DELAY_S after its black video."""
    film = folder / f"{media.parent.name}.{container}"
    subprocess.run(
        [
            ffmpeg_binary(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=black:s=64x48:r=25:d={duration_s + DELAY_S + 5:.1f}",
            "-itsoffset",
            str(DELAY_S),
            "-i",
            str(media),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            str(film),
        ],
        check=True,
    )
    return film


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--bench", type=Path, default=HERE.parent.parent / "shared" / "bench")
    args = parser.parse_args()
    from subsync.whisper.model import WhisperModel

    model = WhisperModel("base", device="cpu")
    manifest = {case["id"]: case for case in json.loads((args.bench / "manifest.json").read_text())}
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            directory = args.bench / case
            reference = read_srt(directory / "reference.srt")
            media = next(directory.glob("media.*"))
            for container in ("mkv", "mp4"):
                film = delayed_film(media, manifest[case]["duration_s"], container, Path(folder))
                try:
                    result = subsync.sync(film, reference, model=model)
                except SubsyncError as exc:
                    print(f"{case} {container}: {exc}", flush=True)
                    continue
                errors = np.abs(
                    [new.start_s - (old.start_s + DELAY_S) for new, old in zip(result.cues, reference.cues)]
                )
                print(
                    f"{case} {container}: {100 * np.mean(errors <= 0.25):.1f} % of {errors.size} starts within "
                    f"250 ms, median {1000 * np.median(errors):.0f} ms",
                    flush=True,
                )


if __name__ == "__main__":
    main()
