"""The three formats side by side: their names and file extensions, telling them apart by
content (``sniff``), and converting cues from one to another (``convert``)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from .document import SubtitleDocument
from .timestamps import format_ass, format_timestamp, format_vtt

FORMATS = ("srt", "vtt", "ass")
SUFFIXES = {"srt": ".srt", "vtt": ".vtt", "ass": ".ass"}
EXTENSIONS = {".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt", ".ass": "ass", ".ssa": "ass"}

_SNIFF_CHARS = 4096  # how much of a file's start decides its format

_ASS_TAG_RE = re.compile(r"\{[^{}]*\}")
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z]+)[^<>]*>")  # <i>, </i>, <i.loud>, <font color=...>, <v Bob>
_VTT_TIME_TAG_RE = re.compile(r"<[0-9:.]+>")

_ASS_HEADER = (
    "[Script Info]",
    "ScriptType: v4.00+",
    "PlayResX: 384",
    "PlayResY: 288",
    "",
    "[V4+ Styles]",
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
    "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
    "Style: Default,Arial,16,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1",
    "",
    "[Events]",
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
)


def sniff(text: str) -> str:
    """ "vtt", "ass" or "srt" from a decoded file's content."""
    head = text.lstrip("\ufeff \t\r\n")[:_SNIFF_CHARS]
    if head.startswith("WEBVTT"):
        return "vtt"
    if re.match(r"\[(Script Info|V4\+? Styles|Events)\]", head, re.I):
        return "ass"
    return "srt"


def convert(document: SubtitleDocument, times_s: Sequence[tuple[float, float]], kind: str) -> bytes:
    """The cues in another format (UTF-8, the document's line endings): text carried over
    with italics, bold and underline; other styling is the source format's own."""
    if kind not in FORMATS:
        raise ValueError(f"unknown subtitle format {kind!r}")
    nl = document.newline
    texts = [_plain(cue.text, document.format) for cue in document.cues]  # SRT-style markup
    if kind == "srt":
        blocks = [
            f"{k}{nl}{format_timestamp(a)} --> {format_timestamp(b)}{nl}{nl.join(t.splitlines())}{nl}"
            for k, (t, (a, b)) in enumerate(zip(texts, times_s), 1)
        ]
        return nl.join(blocks).encode("utf-8")
    if kind == "vtt":
        blocks = [
            f"{format_vtt(a)} --> {format_vtt(b)}{nl}{nl.join(_vtt_text(t).splitlines())}{nl}"
            for t, (a, b) in zip(texts, times_s)
        ]
        return (f"WEBVTT{nl}{nl}" + nl.join(blocks)).encode("utf-8")
    header = nl.join(_ASS_HEADER)
    lines = [
        f"Dialogue: 0,{format_ass(a)},{format_ass(b)},Default,,0,0,0,,{_ass_text(t)}"
        for t, (a, b) in zip(texts, times_s)
    ]
    return (header + nl + nl.join(lines) + nl).encode("utf-8")


def _plain(text: str, kind: str) -> str:
    """A cue's text as SRT-style markup (newlines, <i>/<b>/<u>)."""
    if kind == "vtt":  # voice, class, language and timestamp tags go
        return html.unescape(_VTT_TIME_TAG_RE.sub("", _vtt_text(text)))
    if kind != "ass":
        return text
    text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")

    def tag(match: re.Match) -> str:
        out = []
        for code, on in re.findall(r"\\([ibu])([01])", match.group(0)):
            out.append(f"<{'' if on == '1' else '/'}{code}>")
        return "".join(out)

    return _ASS_TAG_RE.sub(tag, text)


def _vtt_text(text: str) -> str:
    """SRT markup as WebVTT allows it: <i>, <b>, <u> kept (without classes), other tags
    (font, voice, class) dropped, no blank line inside the cue."""

    def tag(match: re.Match) -> str:
        name = match.group(2).lower()
        return f"<{match.group(1)}{name}>" if name in ("i", "b", "u") else ""

    text = _HTML_TAG_RE.sub(tag, text)
    return "\n".join(line for line in text.splitlines() if line.strip())


def _ass_text(text: str) -> str:
    """SRT markup as ASS text: <i>/<b>/<u> as override tags, other tags dropped, \\N line breaks."""

    def tag(match: re.Match) -> str:
        name = match.group(2).lower()
        return f"{{\\{name}{0 if match.group(1) else 1}}}" if name in ("i", "b", "u") else ""

    return _HTML_TAG_RE.sub(tag, text).replace("\r\n", "\n").replace("\n", "\\N")
