"""SRT parsing: a strict, line-based scanner that records where every timestamp stands,
with one-line errors that name the line (and the format, for a file that is not SRT)."""

from __future__ import annotations

import re

from subsync.errors import SubtitleError

from .document import Cue, Line, Span, split_lines
from .timestamps import SRT_STAMP, srt_ms

_TIMING_RE = re.compile(r"^[ \t]*(?P<a>" + SRT_STAMP + r")[ \t]*-->[ \t]*(?P<b>" + SRT_STAMP + r")(?P<rest>(?:\s.*)?)$")
_NUMBER_RE = re.compile(r"^\s*([0-9]+)\s*$")
_QUOTE_CHARS = 60  # longest file excerpt quoted in an error message


def parse_srt(text: str, name: str, supported: str = "SRT is") -> tuple[list[Cue], list[Span]]:
    """Cues and timestamp spans of an SRT text; a file of another kind is reported as not
    one of the ``supported`` formats."""
    parsed = _Parser(split_lines(text), name, supported).parse()
    return [cue for cue, _ in parsed], [span for _, span in parsed]


def _quote(content: str, limit: int = _QUOTE_CHARS) -> str:
    """Quote a file excerpt for an error message (one line, shortened)."""
    short = content if len(content) <= limit else content[:limit] + "..."
    return repr(short)


def _looks_like_timing(content: str) -> bool:
    """True for lines that were probably meant as a timing line."""
    if "-->" not in content:
        return False
    return bool(re.search(r"[0-9]:[0-9]", content) or re.match(r"\s*[0-9]", content))


class _Parser:
    """A strict, line-based SRT scanner that records timestamp spans."""

    def __init__(self, lines: list[Line], name: str, supported: str = "SRT is") -> None:
        self.lines = lines
        self.name = name
        self.supported = supported

    def error(self, line_index: int, message: str) -> SubtitleError:
        return SubtitleError(f"{self.name}: line {line_index + 1}: {message}")

    def timing(self, i: int) -> re.Match | None:
        """The timing-line match for line ``i``; raises if it is malformed."""
        if i >= len(self.lines):
            return None
        content = self.lines[i].content
        match = _TIMING_RE.match(content)
        if match is None or not self._in_range(match):
            if _looks_like_timing(content):
                raise self.error(i, f"malformed timestamp {_quote(content)}")
            return None
        return match

    @staticmethod
    def _in_range(match: re.Match) -> bool:
        g = match.groups()
        return srt_ms(*g[1:5]) is not None and srt_ms(*g[6:10]) is not None

    def cue_start(self, i: int) -> tuple[str, int] | None:
        """(number, timing line index) if a cue starts at line ``i``."""
        number = _NUMBER_RE.match(self.lines[i].content)
        if number is not None and self.timing(i + 1) is not None:
            return number.group(1), i + 1
        if self.timing(i) is not None:
            return "", i
        return None

    def skip_blank(self, i: int) -> int:
        while i < len(self.lines) and self.lines[i].blank:
            i += 1
        return i

    def text_end(self, first: int) -> tuple[int, int]:
        """(index after the last text line, index where the next cue may start)."""
        end = first
        i = first
        while i < len(self.lines) and self.cue_start(i) is None:
            if not self.lines[i].blank:
                end = i + 1
            i += 1
        return end, i

    def parse(self) -> list[tuple[Cue, Span]]:
        cues: list[tuple[Cue, Span]] = []
        i = self.skip_blank(0)
        while i < len(self.lines):
            start = self.cue_start(i)
            if start is None:
                raise self.not_srt(i)
            number, t = start
            end, i = self.text_end(t + 1)
            text = "\n".join(line.content for line in self.lines[t + 1 : end])
            cues.append(self.make_cue(len(cues), number, t, text))
            i = self.skip_blank(i)
        return cues

    def make_cue(self, index: int, number: str, t: int, text: str) -> tuple[Cue, Span]:
        match = self.timing(t)
        assert match is not None
        g = match.groups()
        start_ms = srt_ms(*g[1:5])
        end_ms = srt_ms(*g[6:10])
        assert start_ms is not None and end_ms is not None
        base = self.lines[t].offset
        span = (base + match.start("a"), base + match.end("a"), base + match.start("b"), base + match.end("b"))
        return Cue(index, number, start_ms / 1000.0, end_ms / 1000.0, text), span

    def not_srt(self, i: int) -> SubtitleError:
        """The error for a file whose first content is not an SRT cue."""
        text = "\n".join(line.content for line in self.lines)
        kind = _describe_foreign(text)
        if kind is not None:
            return SubtitleError(f"{self.name}: looks like {kind}; only {self.supported} supported")
        content = self.lines[i].content
        if _NUMBER_RE.match(content) and i + 1 < len(self.lines):
            nxt = self.lines[i + 1].content
            return self.error(
                i + 1, f"expected a timestamp line after cue number {content.strip()!r}, found {_quote(nxt)}"
            )
        return self.error(i, f"not an SRT file: expected a cue number or timestamp line, found {_quote(content)}")


_FOREIGN_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\A\s*WEBVTT"), "WebVTT"),
    (re.compile(r"^\s*\[(Script Info|V4\+? Styles|Events)\]", re.M | re.I), "an ASS/SSA subtitle file"),
    (re.compile(r"\A\s*\{[0-9]+\}\{[0-9]*\}"), "a MicroDVD subtitle file"),
    (re.compile(r"\A\s*<SAMI", re.I), "a SAMI subtitle file"),
    (re.compile(r"\A\s*(<\?xml|<tt[\s>])", re.I), "an XML/TTML file"),
    (re.compile(r"\A\s*<(!doctype html|html)", re.I), "an HTML page"),
    (re.compile(r"\A\s*[\[{]"), "JSON"),
)


def _describe_foreign(text: str) -> str | None:
    """A short description of a recognisably non-SRT file, or None."""
    if _looks_binary(text):
        return "a binary file"
    for pattern, kind in _FOREIGN_FORMATS:
        if pattern.search(text):
            return kind
    return None


def _looks_binary(text: str) -> bool:
    """True when the text is full of control characters (or has NULs)."""
    sample = text[:4096]
    if "\x00" in sample:
        return True
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls > max(2, len(sample) // 50)
