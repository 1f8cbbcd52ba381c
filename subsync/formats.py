"""WebVTT and ASS/SSA beside SRT: reading with timestamp spans (so that writing the same
format changes only the timestamps, as for SRT), and converting between the three.

Times: WebVTT ``[HH:]MM:SS.mmm``; ASS ``H:MM:SS.cc`` (centiseconds).  Only ASS
``Dialogue:`` lines are cues (``Comment:`` lines and every other line stay as they are).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

from .errors import SubtitleError
from .subtitles import Cue, SubtitleDocument, _split_lines, _to_ms, format_timestamp

FORMATS = ("srt", "vtt", "ass")
SUFFIXES = {"srt": ".srt", "vtt": ".vtt", "ass": ".ass"}
EXTENSIONS = {".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt", ".ass": "ass", ".ssa": "ass"}

_VTT_TS = r"(?:[0-9]+:)?[0-9]{2}:[0-9]{2}\.[0-9]{3}"
_VTT_TIMING_RE = re.compile(r"^[ \t]*(?P<a>" + _VTT_TS + r")[ \t]+-->[ \t]+(?P<b>" + _VTT_TS + r")(?P<rest>.*)$")
_ASS_TS_RE = re.compile(r"^\s*([0-9]+):([0-9]{1,2}):([0-9]{1,2})(?:[.:]([0-9]{1,3}))?\s*$")


def sniff(text: str) -> str:
    """"vtt", "ass" or "srt" from a decoded file's content."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if head.startswith("WEBVTT"):
        return "vtt"
    if re.match(r"\[(Script Info|V4\+? Styles|Events)\]", head, re.I):
        return "ass"
    return "srt"


# ---------------------------------------------------------------- WebVTT


def _vtt_seconds(stamp: str) -> float:
    parts = stamp.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def format_vtt(t_s: float, with_hours: bool = True) -> str:
    ms = _to_ms(t_s)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if with_hours or hours:
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{minutes:02d}:{seconds:02d}.{millis:03d}"


def parse_vtt(text: str, name: str) -> tuple[list[Cue], list[tuple[int, int, int, int]]]:
    """Cues and timestamp spans of a WebVTT text (NOTE, STYLE and REGION blocks skipped)."""
    lines = _split_lines(text)
    blocks: list[list] = [[]]
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
        blocks[0] = [] if first is None else blocks[0][max(1, first - 1) if first > 1 else first:]
    cues, spans = [], []
    for block in blocks:
        if not block or block[0].content.split(" ", 1)[0] in ("NOTE", "STYLE", "REGION", "WEBVTT"):
            continue
        timing = next((k for k, line in enumerate(block[:2]) if "-->" in line.content), None)
        if timing is None:
            continue
        match = _VTT_TIMING_RE.match(block[timing].content)
        if match is None:
            raise SubtitleError(f"{name}: line {_line_number(text, block[timing].offset)}: malformed WebVTT "
                                f"timing {block[timing].content[:60]!r}")
        base = block[timing].offset
        cue_text = "\n".join(line.content for line in block[timing + 1:])
        number = block[0].content if timing == 1 else ""
        cues.append(Cue(len(cues), number, _vtt_seconds(match["a"]), _vtt_seconds(match["b"]), cue_text))
        spans.append((base + match.start("a"), base + match.end("a"), base + match.start("b"), base + match.end("b")))
    return cues, spans


def _line_number(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# ---------------------------------------------------------------- ASS / SSA


def _ass_seconds(stamp: str) -> float | None:
    match = _ASS_TS_RE.match(stamp)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) >= 60 or int(seconds) >= 60:
        return None
    fraction = fraction or "0"
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction) / 10 ** len(fraction)


def format_ass(t_s: float) -> str:
    cs = max(0, math.floor(t_s * 100.0 + 0.5))
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6_000)
    seconds, centis = divmod(rest, 100)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}.{centis:02d}"


def parse_ass(text: str, name: str) -> tuple[list[Cue], list[tuple[int, int, int, int]]]:
    """Cues (Dialogue lines of [Events]) and timestamp spans of an ASS/SSA text."""
    fields: list[str] | None = None
    in_events = False
    cues, spans = [], []
    for line in _split_lines(text):
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
        if fields is None or not {"start", "end", "text"} <= set(fields):
            raise SubtitleError(f"{name}: line {_line_number(text, line.offset)}: Dialogue before a Format line "
                                "naming Start, End and Text")
        first = line.offset + len(line.content) - len(value)               # where the values begin
        values = value.split(",", len(fields) - 1)
        if len(values) < len(fields):
            raise SubtitleError(f"{name}: line {_line_number(text, line.offset)}: a Dialogue line with "
                                f"{len(values)} of {len(fields)} fields")
        positions = [first]
        for v in values[:-1]:
            positions.append(positions[-1] + len(v) + 1)
        stamps = []
        for field_name in ("start", "end"):
            k = fields.index(field_name)
            raw = values[k]
            seconds = _ass_seconds(raw)
            if seconds is None:
                raise SubtitleError(f"{name}: line {_line_number(text, line.offset)}: malformed time {raw.strip()!r}")
            lead = len(raw) - len(raw.lstrip())
            stamps.append((seconds, positions[k] + lead, positions[k] + lead + len(raw.strip())))
        (start_s, a0, a1), (end_s, b0, b1) = stamps
        cues.append(Cue(len(cues), "", start_s, end_s, values[fields.index("text")]))
        spans.append((a0, a1, b0, b1))
    return cues, spans


# ---------------------------------------------------------------- writing any format


def stamp(kind: str, original: str, old_s: float, new_s: float) -> str:
    """A timestamp in ``kind``'s notation; the original spelling when the time is unchanged
    at that format's resolution."""
    if kind == "ass":
        return original if format_ass(old_s) == format_ass(new_s) else format_ass(new_s)
    if _to_ms(old_s) == _to_ms(new_s):
        return original
    if kind == "vtt":
        return format_vtt(new_s, with_hours=original.count(":") == 2)
    return format_timestamp(new_s)


_ASS_TAG_RE = re.compile(r"\{[^{}]*\}")
_HTML_TAG_RE = re.compile(r"<(/?)([a-zA-Z]+)[^<>]*>")     # <i>, </i>, <i.loud>, <font color=...>, <v Bob>
_VTT_TIME_TAG_RE = re.compile(r"<[0-9:.]+>")


def convert(document: SubtitleDocument, times_s: Sequence[tuple[float, float]], kind: str) -> bytes:
    """The cues in another format (UTF-8, the document's line endings): text carried over
    with italics, bold and underline; other styling is the source format's own."""
    if kind not in FORMATS:
        raise ValueError(f"unknown subtitle format {kind!r}")
    nl = document.newline
    texts = [_plain(cue.text, document.format) for cue in document.cues]          # SRT-style markup
    if kind == "srt":
        blocks = [f"{k}{nl}{format_timestamp(a)} --> {format_timestamp(b)}{nl}{nl.join(t.splitlines())}{nl}"
                  for k, (t, (a, b)) in enumerate(zip(texts, times_s), 1)]
        return nl.join(blocks).encode("utf-8")
    if kind == "vtt":
        blocks = [f"{format_vtt(a)} --> {format_vtt(b)}{nl}{nl.join(_vtt_text(t).splitlines())}{nl}"
                  for t, (a, b) in zip(texts, times_s)]
        return (f"WEBVTT{nl}{nl}" + nl.join(blocks)).encode("utf-8")
    header = nl.join(["[Script Info]", "ScriptType: v4.00+", "PlayResX: 384", "PlayResY: 288", "",
                      "[V4+ Styles]",
                      "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
                      "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
                      "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
                      "Style: Default,Arial,16,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,1,0,"
                      "2,10,10,10,1", "",
                      "[Events]",
                      "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"])
    lines = [f"Dialogue: 0,{format_ass(a)},{format_ass(b)},Default,,0,0,0,,{_ass_text(t)}"
             for t, (a, b) in zip(texts, times_s)]
    return (header + nl + nl.join(lines) + nl).encode("utf-8")


def _plain(text: str, kind: str) -> str:
    """A cue's text as SRT-style markup (newlines, <i>/<b>/<u>)."""
    if kind == "vtt":                # voice, class, language and timestamp tags go
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
    def tag(match: re.Match) -> str:
        name = match.group(2).lower()
        return "{\\%s%d}" % (name, 0 if match.group(1) else 1) if name in ("i", "b", "u") else ""
    return _HTML_TAG_RE.sub(tag, text).replace("\r\n", "\n").replace("\n", "\\N")
