"""The data model every format shares: cues, the parsed document that can re-render its
own bytes, the line splitting the parsers work on, and rendering with new timestamps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .encoding import encode
from .timestamps import restamp

Span = tuple[int, int, int, int]     # where a cue's two timestamps stand in the text

_LINE_END_RE = re.compile(r"\r\n|\n|\r")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue; times in seconds, text exactly as in the file."""

    index: int
    number: str
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class SubtitleDocument:
    """A parsed subtitle file plus what is needed to re-render it byte-exactly."""

    cues: tuple[Cue, ...]
    encoding: str
    newline: str
    _text: str = field(default="", repr=False)
    _codec: str = field(default="utf-8", repr=False)
    _bom: bytes = field(default=b"", repr=False)
    # Per cue: (start_begin, start_end, end_begin, end_end) offsets in _text.
    _spans: tuple[Span, ...] = field(default=(), repr=False)
    format: str = "srt"             # "srt", "vtt" (WebVTT) or "ass" (ASS/SSA); see conversion.py


@dataclass(frozen=True)
class Line:
    """One line of a text, without its line ending."""

    content: str
    offset: int  # character offset of the line's first character in the text

    @property
    def blank(self) -> bool:
        return not self.content.strip()


def split_lines(text: str) -> list[Line]:
    """Lines without their endings; CRLF, LF and lone CR all end a line."""
    lines: list[Line] = []
    pos = 0
    for match in _LINE_END_RE.finditer(text):
        lines.append(Line(text[pos:match.start()], pos))
        pos = match.end()
    if pos < len(text):
        lines.append(Line(text[pos:], pos))
    return lines


def line_number(text: str, offset: int) -> int:
    """The 1-based number of the line (counted by LF) that holds character ``offset``."""
    return text.count("\n", 0, offset) + 1


def dominant_newline(text: str) -> str:
    """``"\\r\\n"`` if CRLF line endings dominate, else ``"\\n"``."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "\r\n" if crlf > 0 and crlf >= lf else "\n"


def render_in_place(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]]) -> bytes:
    """The document's original bytes with each cue's timestamps set to ``times_s``.

    A timestamp whose value is unchanged (at the format's resolution) keeps its
    original spelling; a changed one is written in the format's canonical form
    (SRT ``HH:MM:SS,mmm``).
    """
    if len(times_s) != len(doc.cues):
        raise ValueError(f"expected {len(doc.cues)} (start, end) pairs, got {len(times_s)}")
    pieces: list[str] = []
    pos = 0
    for cue, span, (start_s, end_s) in zip(doc.cues, doc._spans, times_s):
        a0, a1, b0, b1 = span
        pieces.append(doc._text[pos:a0])
        pieces.append(restamp(doc.format, doc._text[a0:a1], cue.start_s, start_s))
        pieces.append(doc._text[a1:b0])
        pieces.append(restamp(doc.format, doc._text[b0:b1], cue.end_s, end_s))
        pos = b1
    pieces.append(doc._text[pos:])
    return encode("".join(pieces), doc._codec, doc._bom)
