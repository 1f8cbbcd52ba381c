"""WebVTT parsing: cues and where their timestamps stand, so that writing the same format
changes only the timestamps (NOTE, STYLE and REGION blocks are not cues)."""

from __future__ import annotations

import re

from subsync.errors import SubtitleError

from .document import Cue, Line, Span, line_number, split_lines
from .timestamps import MAX_HOURS, VTT_STAMP, vtt_seconds

_TIMING_RE = re.compile(r"^[ \t]*(?P<a>" + VTT_STAMP + r")[ \t]+-->[ \t]+(?P<b>" + VTT_STAMP + r")(?P<rest>.*)$")
_INLINE_RE = re.compile(r"<(" + VTT_STAMP + r")>")  # a karaoke/word timestamp inside a cue's text
_PAYLOAD_END_RE = re.compile(r"(?:\r\n|\r(?!\n)|\n)[ \t]*(?:\r\n|\r|\n|$)")  # a blank line ends a cue
_NOT_CUES = ("NOTE", "STYLE", "REGION", "WEBVTT")  # first words of blocks that are no cue
_QUOTE_CHARS = 60  # longest file excerpt quoted in an error message


def parse_vtt(text: str, name: str) -> tuple[list[Cue], list[Span]]:
    """Cues and timestamp spans of a WebVTT text (NOTE, STYLE and REGION blocks skipped)."""
    cues: list[Cue] = []
    spans: list[Span] = []
    for block in _blocks(split_lines(text)):
        if not block or block[0].content.split(" ", 1)[0] in _NOT_CUES:
            continue
        timing = next((k for k, line in enumerate(block[:2]) if "-->" in line.content), None)
        if timing is None:
            continue
        match = _TIMING_RE.match(block[timing].content)
        if match is None:
            raise SubtitleError(
                f"{name}: line {line_number(text, block[timing].offset)}: malformed WebVTT "
                f"timing {block[timing].content[:_QUOTE_CHARS]!r}"
            )
        start_s, end_s = vtt_seconds(match["a"]), vtt_seconds(match["b"])
        if start_s is None or end_s is None:
            raise SubtitleError(
                f"{name}: line {line_number(text, block[timing].offset)}: timestamp out of range "
                f"(minutes and seconds below 60, at most {MAX_HOURS} hours) "
                f"in {block[timing].content[:_QUOTE_CHARS]!r}"
            )
        base = block[timing].offset
        cue_text = "\n".join(line.content for line in block[timing + 1 :])
        number = block[0].content if timing == 1 else ""
        cues.append(Cue(len(cues), number, start_s, end_s, cue_text))
        spans.append((base + match.start("a"), base + match.end("a"), base + match.start("b"), base + match.end("b")))
    return cues, spans


def _blocks(lines: list[Line]) -> list[list[Line]]:
    """The runs of non-blank lines, the header's lines (up to a first cue right under it) left out."""
    blocks: list[list[Line]] = [[]]
    for line in lines:
        if line.blank:
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(line)
    if blocks[0] and blocks[0][0].content.lstrip("\ufeff").startswith("WEBVTT"):
        # The header block ends at the first blank line; a sloppy file starts its first
        # cue right under the header.
        first = next((k for k, line in enumerate(blocks[0]) if "-->" in line.content), None)
        blocks[0] = [] if first is None else blocks[0][max(1, first - 1) if first > 1 else first :]
    return blocks


def inline_timestamps(text: str, spans: list[Span] | tuple[Span, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per cue, where the timestamps inside its text stand (``<00:00:10.000>``, the word
    times of karaoke and YouTube captions): (begin, end) offsets of each stamp's digits,
    from the end of the cue's timing line to the blank line that ends the cue."""
    found = []
    for k, (_, _, _, b1) in enumerate(spans):
        limit = spans[k + 1][0] if k + 1 < len(spans) else len(text)
        end = _PAYLOAD_END_RE.search(text, b1, limit)
        stop = end.start() if end else limit
        found.append(tuple(match.span(1) for match in _INLINE_RE.finditer(text, b1, stop)))
    return tuple(found)
