"""ASS/SSA parsing: the ``Dialogue:`` lines of ``[Events]`` are the cues (``Comment:`` lines
and every other line stay as they are), with where their Start and End fields stand."""

from __future__ import annotations

from subsync.errors import SubtitleError

from .document import Cue, Line, Span, line_number, split_lines
from .timestamps import MAX_HOURS, ass_seconds

_NEEDED_FIELDS = frozenset({"start", "end", "text"})  # a Format line must name these


def parse_ass(text: str, name: str) -> tuple[list[Cue], list[Span]]:
    """Cues (Dialogue lines of [Events]) and timestamp spans of an ASS/SSA text."""
    fields: list[str] | None = None
    in_events = False
    cues: list[Cue] = []
    spans: list[Span] = []
    for line in split_lines(text):
        content = line.content.strip()
        if content.startswith("[") and content.endswith("]"):
            in_events = content.lower() == "[events]"
            continue
        if not in_events:
            continue
        key, _, value = line.content.partition(":")
        key = key.strip().lower()
        if key == "format":
            fields = [f.strip().lower() for f in value.split(",")]
            continue
        if key != "dialogue":
            continue
        if fields is None or not set(fields) >= _NEEDED_FIELDS:
            raise SubtitleError(
                f"{name}: line {line_number(text, line.offset)}: Dialogue before a Format line "
                "naming Start, End and Text"
            )
        cue, span = _dialogue(text, name, line, value, fields, len(cues))
        cues.append(cue)
        spans.append(span)
    return cues, spans


def _dialogue(text: str, name: str, line: Line, value: str, fields: list[str], index: int) -> tuple[Cue, Span]:
    """The cue of a Dialogue line (``value``: what follows its colon) and its timestamp span."""
    first = line.offset + len(line.content) - len(value)  # where the values begin
    values = value.split(",", len(fields) - 1)
    if len(values) < len(fields):
        raise SubtitleError(
            f"{name}: line {line_number(text, line.offset)}: a Dialogue line with {len(values)} of {len(fields)} fields"
        )
    positions = [first]
    for v in values[:-1]:
        positions.append(positions[-1] + len(v) + 1)
    stamps = []
    for field_name in ("start", "end"):
        k = fields.index(field_name)
        raw = values[k]
        seconds = ass_seconds(raw)
        if seconds is None:
            raise SubtitleError(
                f"{name}: line {line_number(text, line.offset)}: malformed time {raw.strip()[:60]!r} "
                f"(H:MM:SS.cc, at most {MAX_HOURS} hours)"
            )
        lead = len(raw) - len(raw.lstrip())
        stamps.append((seconds, positions[k] + lead, positions[k] + lead + len(raw.strip())))
    (start_s, a0, a1), (end_s, b0, b1) = stamps
    return Cue(index, "", start_s, end_s, values[fields.index("text")]), (a0, a1, b0, b1)
