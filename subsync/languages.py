"""Language tags as containers, file names and the listener write them: ISO 639-1 codes
(``en``), ISO 639-2 tags (``eng``, ``fre``/``fra``) and regional forms (``pt-BR``), told
apart and compared.  Pure data and string work: no I/O."""

from __future__ import annotations

# Every ISO 639-1 code (ISO 639 Registration Authority list).
ISO_639_1 = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)

# The ISO 639-2 tags (bibliographic and terminological) containers use for the languages
# films are most often dubbed in; a three-letter tag not listed compares as written.
ISO_639_2 = {
    "en": ("eng",),
    "fr": ("fre", "fra"),
    "de": ("ger", "deu"),
    "es": ("spa",),
    "it": ("ita",),
    "pt": ("por",),
    "nl": ("dut", "nld"),
    "ru": ("rus",),
    "ja": ("jpn",),
    "zh": ("chi", "zho"),
    "ko": ("kor",),
    "ar": ("ara",),
    "hi": ("hin",),
    "pl": ("pol",),
    "tr": ("tur",),
    "sv": ("swe",),
    "da": ("dan",),
    "no": ("nor", "nob", "nno"),
    "fi": ("fin",),
    "cs": ("cze", "ces"),
    "el": ("gre", "ell"),
    "he": ("heb",),
    "hu": ("hun",),
    "ro": ("rum", "ron"),
    "uk": ("ukr",),
    "bn": ("ben",),
    "th": ("tha",),
    "vi": ("vie",),
    "id": ("ind",),
    "ms": ("may", "msa"),
    "fa": ("per", "fas"),
    "ca": ("cat",),
    "hr": ("hrv",),
    "sr": ("srp",),
    "bg": ("bul",),
    "sk": ("slo", "slk"),
    "sl": ("slv",),
    "et": ("est",),
    "lv": ("lav",),
    "lt": ("lit",),
    "is": ("ice", "isl"),
    "ta": ("tam",),
    "te": ("tel",),
    "ur": ("urd",),
}
_TO_639_1 = {tag: short for short, tags in ISO_639_2.items() for tag in tags}
UNDEFINED = frozenset({"", "und", "unk", "xx", "mul", "zxx", "mis"})


def normalized(tag: str | None) -> str | None:
    """``tag`` as one comparable form: the ISO 639-1 code where there is one (``eng`` ->
    ``en``, ``pt-BR`` -> ``pt``), else the tag in lower case; None when it names no language
    (absent, ``und``, ``mul``...)."""
    if tag is None:
        return None
    text = tag.strip().lower().replace("_", "-")
    base = text.split("-", 1)[0]
    if base in UNDEFINED:
        return None
    return _TO_639_1.get(base, base)


def is_language_tag(token: str) -> bool:
    """Is ``token`` a language tag a file name may carry: an ISO 639-1 code, a listed ISO
    639-2 tag, either with a region (``pt-BR``, ``en-US``, ``zh-Hant``)?"""
    base, _, region = token.partition("-")
    if region and not ((region.isalpha() and 2 <= len(region) <= 4) or (region.isdigit() and len(region) == 3)):
        return False
    base = base.lower()
    return base in ISO_639_1 or base in _TO_639_1


def same_language(first: str | None, second: str | None) -> bool:
    """Do two tags name the same language (``eng`` and ``en``, ``fre`` and ``fra``)?"""
    a, b = normalized(first), normalized(second)
    return a is not None and a == b


# Flags media servers write after a subtitle's language: Movie.en.forced.srt, Movie.en.sdh.srt.
# ("hi", hearing impaired, is read as that flag, not as Hindi.)
NAME_FLAGS = frozenset({"forced", "sdh", "hi", "cc", "default", "full", "foreign", "synced"})


def language_in_name(file_name: str) -> str | None:
    """The language tag in a subtitle's file name as media servers write it (Jellyfin,
    Plex, Emby, Bazarr: ``Movie.fr.srt``, ``Movie.pt-BR.forced.srt``, ``Show.S01E02.eng.sdh.srt``):
    the last dot-separated part before the extension that is not a flag, if it is a language
    tag; None otherwise (``Movie.srt``, ``Movie.2019.srt``)."""
    parts = file_name.split(".")[1:-1]  # the title's first part and the extension are not tags
    for part in reversed(parts):
        if part.lower() in NAME_FLAGS:
            continue
        return part if is_language_tag(part) else None
    return None
