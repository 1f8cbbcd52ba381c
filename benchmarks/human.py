"""References that behave like human subtitles, made from references that mark speech.

The bench's cue references (and the film-like files' cues) mark where speech starts and
ends.  A subtitler's file does not: each line starts a little before the voice (a lead-in
that is the file's habit, 0-300 ms, varying a little from line to line) and lingers after
it (300-900 ms), stays up long enough to be read (reading speed), merges short
utterances into two-line cues, keeps long ones long, never overlaps the next line (two
frames apart), and condenses speech (fillers and some words dropped).  These cues are the
truth a sync must restore; the distortions apply to them.
"""

from __future__ import annotations

import re

import numpy as np

LEAD_IN_S = (0.0, 0.3)  # per file
LINGER_S = (0.3, 0.9)  # per file
PER_LINE_S = 0.04  # per-line variation (sigma) of both
READING_CHARS_PER_S = 17.0  # a cue stays up at least this long per character ...
MIN_CUE_S = 0.8  # ... and at least this long
SHORT_S = 1.6  # utterances shorter than this ...
MERGE_GAP_S = 0.6  # ... and this close together share a two-line cue ...
MAX_LINE_CHARS = 42  # ... when each fits on a line
GAP_S = 2 / 24  # two frames between consecutive cues
DROP_WORD = 0.08  # share of other words a subtitler leaves out
FILLERS = re.compile(r"^(?:uh+|um+|erm?|ah+|hmm+|mm+|euh|hein|äh+m?|ähm|eh)[,.!?]*$", re.IGNORECASE)


def humanize(
    starts_s: np.ndarray, ends_s: np.ndarray, texts: tuple[str, ...], seed: int
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Human-timed cues (starts, ends, texts) for speech at ``starts_s``..``ends_s``."""
    rng = np.random.default_rng(seed)
    lead, linger = rng.uniform(*LEAD_IN_S), rng.uniform(*LINGER_S)
    groups = _merged(starts_s, ends_s, texts)
    starts = np.array([starts_s[g[0]] for g in groups]) - lead - rng.normal(0, PER_LINE_S, len(groups))
    ends = np.array([ends_s[g[-1]] for g in groups]) + linger + rng.normal(0, PER_LINE_S, len(groups))
    cues = tuple("\n".join(_condensed(texts[i], rng) for i in g) for g in groups)
    readable = np.array([max(MIN_CUE_S, len(t) / READING_CHARS_PER_S) for t in cues])
    starts = np.maximum(starts, 0.0)
    ends = np.maximum(ends, starts + readable)
    ends[:-1] = np.minimum(ends[:-1], starts[1:] - GAP_S)  # never into the next cue
    ends = np.maximum(ends, starts + 0.2)
    return starts, ends, cues


def _merged(starts_s: np.ndarray, ends_s: np.ndarray, texts: tuple[str, ...]) -> list[list[int]]:
    """Consecutive short utterances close together, two to a cue; the others alone."""
    groups: list[list[int]] = []
    for i in range(len(texts)):
        last = groups[-1] if groups else None
        if (
            last is not None
            and len(last) == 1
            and ends_s[last[0]] - starts_s[last[0]] < SHORT_S
            and ends_s[i] - starts_s[i] < SHORT_S
            and starts_s[i] - ends_s[last[0]] < MERGE_GAP_S
            and max(len(texts[last[0]]), len(texts[i])) <= MAX_LINE_CHARS
        ):
            last.append(i)
        else:
            groups.append([i])
    return groups


def _condensed(text: str, rng: np.random.Generator) -> str:
    """The line as a subtitler writes it: no fillers, a few words left out (never all)."""
    words = [w for w in text.split() if not FILLERS.match(w)] or text.split()
    kept = [w for w in words if rng.uniform() >= DROP_WORD] if len(words) > 3 else words
    return " ".join(kept or words)
