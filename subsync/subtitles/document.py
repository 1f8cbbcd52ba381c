"""The data model every format shares: cues, the parsed document that can re-render its
own bytes, the line splitting the parsers work on, and rendering with new timestamps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .encoding import encode
from .timestamps import restamp, vtt_seconds

Span = tuple[int, int, int, int]  # where a cue's two timestamps stand in the text

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
    format: str = "srt"  # "srt", "vtt" (WebVTT) or "ass" (ASS/SSA); see conversion.py
    # Per cue: (begin, end) offsets in _text of the timestamps inside its text (WebVTT's
    # <00:00:10.000>); they move with the cue.
    _inline: tuple[tuple[tuple[int, int], ...], ...] = field(default=(), repr=False)


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
        lines.append(Line(text[pos : match.start()], pos))
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
    (SRT ``HH:MM:SS,mmm``).  Timestamps inside a cue's text (WebVTT) move with the
    cue: each keeps its place between the cue's start and end (:func:`inline_time_s`).
    """
    if len(times_s) != len(doc.cues):
        raise ValueError(f"expected {len(doc.cues)} (start, end) pairs, got {len(times_s)}")
    inline = doc._inline or ((),) * len(doc.cues)
    pieces: list[str] = []
    pos = 0
    for cue, span, stamps, (start_s, end_s) in zip(doc.cues, doc._spans, inline, times_s):
        a0, a1, b0, b1 = span
        replaced = [(a0, a1, cue.start_s, start_s), (b0, b1, cue.end_s, end_s)]
        for begin, end in stamps:
            old_s = vtt_seconds(doc._text[begin:end])
            if old_s is not None:
                replaced.append((begin, end, old_s, inline_time_s(old_s, cue.start_s, cue.end_s, start_s, end_s)))
        for begin, end, old_s, new_s in replaced:
            pieces.append(doc._text[pos:begin])
            pieces.append(restamp(doc.format, doc._text[begin:end], old_s, new_s))
            pos = end
    pieces.append(doc._text[pos:])
    return encode("".join(pieces), doc._codec, doc._bom)


def inline_time_s(t_s: float, old_start_s: float, old_end_s: float, start_s: float, end_s: float) -> float:
    """Where a time inside a cue goes when the cue moves from (old_start_s, old_end_s) to
    (start_s, end_s): the same share of the way through it (the same distance from its
    start, when the cue had no length).  A time outside its cue is no place in it and
    stays as written."""
    if not old_start_s <= t_s <= old_end_s:
        return t_s
    if old_end_s > old_start_s:
        return start_s + (t_s - old_start_s) * (end_s - start_s) / (old_end_s - old_start_s)
    return start_s + (t_s - old_start_s)
