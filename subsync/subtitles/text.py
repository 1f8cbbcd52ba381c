"""Cue text as words: ``spoken_text`` (the plain words of a cue, markup gone) and
``alignment_text`` (only what is expected to be heard, for the speech model).

The two clean markup differently on purpose, and each keeps its own patterns:
``spoken_text`` drops only well-formed tags (``<i>``, ``{\\i1}``) and turns ASS line breaks
and hard spaces into spaces, so a cue's words stay as written; ``alignment_text`` first drops
ASS drawings and anything in angle brackets or ASS override braces, keeps ASS line breaks
as line breaks (lyrics and speaker labels are judged line by line), and then leaves the rest
to ``spoken_text``.  Sharing one tag pattern would change what one of them returns.
"""

from __future__ import annotations

import html
import re

# spoken_text: markup that is certainly markup.
_ASS_BLOCK_RE = re.compile(r"\{\\[^{}]*\}")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_ASS_SPACE_RE = re.compile(r"\\[Nnh]")  # line break, soft break, hard space
_DIALOGUE_DASH_RE = re.compile(r"^[ \t]*[-\u2010\u2011\u2012\u2013\u2014\u2015]+[ \t]*(?![0-9])")

# alignment_text: everything that is not heard.
_ALIGN_DRAWING_RE = re.compile(r"\{[^}]*\\p[1-9][^}]*\}[^{]*(?:\{[^}]*\\p0[^}]*\}|$)")  # {\p1}m 0 0 l ...{\p0}
_ALIGN_BREAK_RE = re.compile(r"\\[Nn]")
_ALIGN_TAG_RE = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_NON_SPEECH_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)|[#*]")
_LYRICS_RE = re.compile(r"[♪♫]")
_CREDITS_RE = re.compile(  # "Subtitles by", "English subtitles by", "Synced and corrected by", addresses
    r"^\W*(?:\w+\s+)?(?:subtitle[sd]?|caption(?:s|ed|ing)?|sync(?:ed|hroni[sz]ed)?|correct(?:ed|ions)|"
    r"transla(?:ted|tion)|transcri(?:bed|pt)|ripped|encoded|resync(?:ed)?)\s+(?:by|and|&)\b|https?://|\bwww\.|"
    r"\b[\w-]+\.(?:com|org|net|tv)\b|\bopensubtitles\b|\baddic7ed\b|\bpodnapisi\b|\bsubscene\b",
    re.IGNORECASE,
)
_SPEAKER_RE = re.compile(r"^[\s-]*[A-Z][A-Z0-9 .'-]{1,30}:\s*", re.MULTILINE)


def spoken_text(cue_text: str) -> str:
    """Plain words of a cue: no tags, no dialogue dashes, single spaces; "" if wordless."""
    text = _ASS_BLOCK_RE.sub("", cue_text)
    text = _TAG_RE.sub("", text)
    text = _ASS_SPACE_RE.sub(" ", text)
    text = html.unescape(text)
    lines = [_DIALOGUE_DASH_RE.sub("", line) for line in text.splitlines()]
    words = " ".join(" ".join(lines).split())
    return words if any(ch.isalnum() for ch in words) else ""


def alignment_text(cue_text: str) -> str:
    """The words a cue expects to be spoken: no tags, sound descriptions ([MUSIC],
    (laughs)), lyrics (lines with a note sign), speaker labels (JOHN:) or credits and
    adverts (Subtitles by..., web addresses); "" for a cue with none."""
    text = _ALIGN_TAG_RE.sub("", _ALIGN_BREAK_RE.sub("\n", _ALIGN_DRAWING_RE.sub("", cue_text)))
    if _CREDITS_RE.search(text):
        return ""
    text = "\n".join(line for line in text.splitlines() if not _LYRICS_RE.search(line))
    return spoken_text(_SPEAKER_RE.sub("", _NON_SPEECH_RE.sub(" ", text)))
