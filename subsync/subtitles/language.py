"""The language a subtitle's text is written in, identified offline by py3langid (a
naive Bayes classifier over byte n-grams, 97 languages, numpy only); the model loads once,
when first asked."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

# The classifier's normalised probability a text must reach to name its language.
# Measured on the 26 texts of ../shared/bench (references and reading texts, 2-558 words):
# its first choice was right on all 26; the 17 at 0.99 or more (16 words and more) included
# none wrong, and texts of 2-6 words fell to 0.21-0.93.
MIN_PROBABILITY = 0.99


def text_language(texts: Sequence[str]) -> str | None:
    """The ISO 639-1 code of the language ``texts`` (cue texts, cleaned of tags) are
    written in; None when the classifier is not sure (MIN_PROBABILITY) or there is no text."""
    text = " ".join(t for t in texts if t).strip()
    if not text:
        return None
    language, probability = _identifier().classify(text)
    return language if probability >= MIN_PROBABILITY else None


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
