"""The hard cases as subtitle files: translated text, SDH decorations, a reference
subtitle, and subtitles that must be refused (another episode, no speech).

Each function returns cues as (subtitle start, subtitle end, text, true start, true end)
in the subtitle's own edit; true times are nan for cues that are not speech (they are
not scored) and for every cue of a file that must be refused.
"""

from __future__ import annotations

import numpy as np

SPEAKERS = ("MARIE", "JOHN", "DR. KLEIN", "NARRATOR", "ANNA")
SOUNDS = ("[sighs]", "[door closes]", "(laughing)", "[phone buzzing]", "(whispers)")
INTERLUDE_TAGS = ("[MUSIC]", "♪ ♪", "[dramatic music playing]", "♪ I walk the empty road ♪")
LABELLED = 0.25  # share of lines with a speaker label
SOUNDED = 0.15  # share with a sound description before or after the words
DASHED = 0.1  # share written as a dialogue line ("- ")
MIN_TAG_GAP_S = 8.0  # pauses this long get a music/sound cue
CREDITS = "Subtitles by the subsync benchmark"


def language_of(pool) -> dict[str, str]:
    """Each utterance text's language."""
    return {text: u.language for u in pool for _, _, text in u.cues}


def translated(texts: tuple[str, ...], pool, seed: int) -> tuple[str, ...]:
    """Each line replaced by a line in another language from ``pool``, of similar length
    (not a translation: what matters to a sync is that the text is not what is spoken)."""
    rng = np.random.default_rng(seed)
    language = language_of(pool)
    by_language: dict[str, list[str]] = {}
    for text, lang in language.items():
        by_language.setdefault(lang, []).append(text)
    out = []
    for text in texts:
        others = [t for lang, ts in by_language.items() if lang != language.get(text) for t in ts]
        lengths = np.abs(np.array([len(t) for t in others]) - len(text))
        close = [others[i] for i in np.argsort(lengths, kind="stable")[:8]]
        out.append(close[rng.integers(len(close))])
    return tuple(out)


def sdh(starts: np.ndarray, ends: np.ndarray, texts: tuple[str, ...], gaps: tuple, seed: int) -> list[tuple]:
    """Hearing-impaired subtitles of the same lines: speaker labels, sound descriptions,
    dialogue dashes, music cues in long pauses and a credits line; the added cues carry
    nan true times."""
    rng = np.random.default_rng(seed)
    cues = []
    for start, end, text in zip(starts, ends, texts):
        draw = rng.random()
        if draw < LABELLED:
            text = f"{SPEAKERS[rng.integers(len(SPEAKERS))]}: {text}"
        elif draw < LABELLED + SOUNDED:
            sound = SOUNDS[rng.integers(len(SOUNDS))]
            text = f"{sound} {text}" if rng.random() < 0.5 else f"{text}\n{sound}"
        elif draw < LABELLED + SOUNDED + DASHED:
            text = f"- {text}"
        cues.append((start, end, text, start, end))
    for first, last in gaps:
        if last - first >= MIN_TAG_GAP_S:
            tag = INTERLUDE_TAGS[rng.integers(len(INTERLUDE_TAGS))]
            cues.append((first + 1.0, min(last - 1.0, first + 5.0), tag, np.nan, np.nan))
    if starts.size and starts.min() > 3.0:
        cues.append((0.5, 2.5, CREDITS, np.nan, np.nan))
    return sorted(cues, key=lambda cue: cue[0])
