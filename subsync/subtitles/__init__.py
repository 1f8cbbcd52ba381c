"""Subtitle files: SRT, WebVTT and ASS/SSA read with the place of every timestamp, written
back changing only the timestamps (byte for byte otherwise), converted between the formats,
and cue text cleaned into words.

Modules, each with one job (none imports another's private names, and none imports this one):
``document`` (the data model, line splitting, rendering in place), ``encoding`` (bytes to
text and back), ``timestamps`` (every timestamp notation), ``srt``, ``vtt`` and ``ass`` (one
parser each), ``conversion`` (format names, sniffing, conversion), ``files`` (bytes and paths
in and out) and ``text`` (cue text as words).
"""

from __future__ import annotations

from subsync.fileio import atomic_write_bytes

from .ass import parse_ass
from .conversion import EXTENSIONS, FORMATS, SUFFIXES, convert, sniff
from .document import Cue, SubtitleDocument
from .files import (
    parse_srt_bytes,
    parse_subtitle_bytes,
    read_srt,
    read_subtitles,
    render_srt,
    render_subtitles,
    write_srt,
    write_subtitles,
)
from .text import alignment_text, spoken_text
from .timestamps import format_ass, format_timestamp, format_vtt
from .vtt import parse_vtt

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "SUFFIXES",
    "Cue",
    "SubtitleDocument",
    "alignment_text",
    "atomic_write_bytes",
    "convert",
    "format_ass",
    "format_timestamp",
    "format_vtt",
    "parse_ass",
    "parse_srt_bytes",
    "parse_subtitle_bytes",
    "parse_vtt",
    "read_srt",
    "read_subtitles",
    "render_srt",
    "render_subtitles",
    "sniff",
    "spoken_text",
    "write_srt",
    "write_subtitles",
]
