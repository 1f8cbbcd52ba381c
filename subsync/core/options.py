"""What steers one sync (per file).  What fixes the model lives with the Synchronizer."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class SyncOptions:
    """Everything that steers the sync of one file; every field has a sensible default."""

    language: str | None = None  # spoken language (ISO 639-1); None detects it
    audio_track: int | str | None = None  # index among the media's audio streams (from 0), or a
    # language tag ("eng", "de"); None: the one tagged with
    # the subtitles' language, else the default, else the
    # first (api.audio_choice)
    max_offset_s: float = 600.0  # search offsets within +- this
    keep_tolerance_s: float = 0.25  # a line this close to where the map (and the file's lead)
    # puts its voice is right where it is: only lines likely
    # further off are re-timed (core/inference.py)
    min_confidence: float = 0.35  # lines below this keep the global map's time
    fast: bool = False  # fit the time map on a sample of the lines and move every
    # line by it (no per-line re-timing)
    subs_language: str | None = None  # the subtitles' language; one other than the spoken
    # language means their text cannot be heard: speech
    # activity alone places them
    every_line: bool = False  # hear every window (no triage: see core/triage.py)
    cuts: bool = True  # look for cuts (a piecewise map)
    force: bool = False  # return a result the self-check would refuse

    def __post_init__(self) -> None:
        for name in ("max_offset_s", "keep_tolerance_s", "min_confidence"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValueError(f"SyncOptions.{name} must be a finite number of 0 or more, not {value!r}")
        if self.max_offset_s == 0:
            raise ValueError("SyncOptions.max_offset_s must be more than 0")
