"""Language tags in containers and file names, and the subtitles' language from their text."""

from __future__ import annotations

import pytest

from subsync.languages import is_language_tag, language_in_name, normalized, same_language
from subsync.subtitles.language import text_language


@pytest.mark.parametrize(
    "name, language",
    [
        ("Movie.fr.srt", "fr"),
        ("Movie.pt-BR.forced.srt", "pt-BR"),
        ("Show.S01E02.eng.sdh.srt", "eng"),
        ("The.Movie.2019.1080p.de.srt", "de"),
        ("Movie.en.hi.srt", "en"),  # hi: hearing impaired, after the language
        ("Movie.srt", None),
        ("Movie.2019.srt", None),
        ("The.It.Crowd.srt", None),  # the last part before the extension is no tag
        ("Movie.forced.srt", None),
        ("fr.srt", None),  # the title itself is no tag
    ],
)
def test_the_language_in_a_subtitle_file_name(name, language):
    assert language_in_name(name) == language


@pytest.mark.parametrize(
    "tag, code",
    [
        ("eng", "en"),
        ("fre", "fr"),
        ("fra", "fr"),
        ("pt-BR", "pt"),
        ("DE", "de"),
        ("und", None),
        ("", None),
        (None, None),
        ("tlh", "tlh"),
    ],
)
def test_tags_normalize_to_one_form(tag, code):
    assert normalized(tag) == code


def test_same_language_across_tag_forms():
    assert same_language("eng", "en") and same_language("fre", "fra") and same_language("pt-BR", "por")
    assert not same_language("eng", "fr") and not same_language(None, "en") and not same_language("und", "und")
    assert is_language_tag("zh-Hant") and is_language_tag("es-419") and not is_language_tag("1080p")


def test_the_subtitles_language_from_their_text():
    english = [
        "And so, my fellow Americans,",
        "ask not what your country can do for you,",
        "ask what you can do for your country.",
    ]
    french = [
        "Bonjour à tous, et bienvenue dans cette émission.",
        "Aujourd'hui nous allons parler",
        "de la vie quotidienne dans les petites villes de province.",
    ]
    assert text_language(english) == "en"
    assert text_language(french) == "fr"
    assert text_language(["Hi"]) is None  # too little to be sure
    assert text_language(["", ""]) is None
