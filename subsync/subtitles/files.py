"""Subtitle files in and out: bytes or a path to a SubtitleDocument (SRT, WebVTT or ASS/SSA,
told apart by content), and back to bytes with only the timestamps changed, or converted.

Parsing keeps the decoded text of the file and the character spans of every cue's two
timestamps; writing replaces only those substrings and re-encodes with the original codec,
so everything else (numbering, text, tags, blank lines, BOM, line endings, position
coordinates) survives byte for byte.  Every failure is a one-line SubtitleError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from subsync.errors import SubtitleError, quoted
from subsync.fileio import PathLike, atomic_write_bytes, regular_file

from .ass import parse_ass
from .conversion import convert, sniff
from .document import Cue, Span, SubtitleDocument, dominant_newline, render_in_place
from .encoding import Decoded, decode
from .srt import parse_srt
from .vtt import inline_timestamps, parse_vtt

_PARSERS: dict[str, Callable[[str, str], tuple[list[Cue], list[Span]]]] = {"vtt": parse_vtt, "ass": parse_ass}


def _one_line(value: object) -> str:
    """Text safe to embed in a one-line message."""
    return " ".join(str(value).splitlines())


def _label(name: object) -> str:
    """A file's name as messages show it (``errors.quoted``); other labels as they are."""
    return quoted(name) if isinstance(name, (str, os.PathLike)) else _one_line(name)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def parse_srt_bytes(data: bytes, name: str = "<bytes>") -> SubtitleDocument:
    """Parse the bytes of an SRT file; raises SubtitleError naming ``name``."""
    return _document(decode(data), _label(name), "srt", "SRT is")


def parse_subtitle_bytes(data: bytes, name: str = "<bytes>") -> SubtitleDocument:
    """Parse SRT, WebVTT or ASS/SSA bytes (told apart by their content)."""
    decoded = decode(data)
    return _document(decoded, _label(name), sniff(decoded.text), "SRT, WebVTT and ASS/SSA are")


def _document(decoded: Decoded, label: str, kind: str, supported: str) -> SubtitleDocument:
    """The SubtitleDocument of decoded text in format ``kind`` (a file of an unknown kind
    is reported as not one of the ``supported`` formats)."""
    if kind == "srt":
        cues, spans = parse_srt(decoded.text, label, supported)
    else:
        cues, spans = _PARSERS[kind](decoded.text, label)
    if not cues:  # a blank file (every parser finds nothing in one), or no cue in it
        raise SubtitleError(f"{label}: contains no subtitle cues")
    return SubtitleDocument(
        cues=tuple(cues),
        encoding=decoded.encoding,
        newline=dominant_newline(decoded.text),
        _text=decoded.text,
        _codec=decoded.codec,
        _bom=decoded.bom,
        _spans=tuple(spans),
        format=kind,
        _inline=inline_timestamps(decoded.text, spans) if kind == "vtt" else (),
    )


def read_srt(path: PathLike) -> SubtitleDocument:
    """Read and parse an SRT file; every failure is a one-line SubtitleError."""
    return _read(path, parse_srt_bytes)


def read_subtitles(path: PathLike) -> SubtitleDocument:
    """Read and parse an SRT, WebVTT or ASS/SSA file; failures are one-line SubtitleErrors."""
    return _read(path, parse_subtitle_bytes)


def _read(path: PathLike, parse: Callable[[bytes, str], SubtitleDocument]) -> SubtitleDocument:
    name = quoted(path)
    if not regular_file(path) and os.path.exists(path) and not os.path.isdir(path):
        # A FIFO, a device or a socket: a read could wait for ever
        raise SubtitleError(f"{name}: not a regular file (a pipe or a device); give a subtitle file")
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SubtitleError(f"{name}: subtitle file not found") from None
    except IsADirectoryError:
        raise SubtitleError(f"{name}: is a directory, not a subtitle file") from None
    except PermissionError:
        raise SubtitleError(f"{name}: cannot read subtitle file: permission denied") from None
    except OSError as exc:
        raise SubtitleError(f"{name}: cannot read subtitle file: {_one_line(exc.strerror or exc)}") from None
    return parse(data, os.fspath(path))


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def render_subtitles(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]], kind: str | None = None) -> bytes:
    """The document with new times: its own bytes with only the timestamps changed, or,
    when ``kind`` names another format, converted to it (conversion.convert)."""
    if kind is not None and kind != doc.format:
        return convert(doc, times_s, kind)
    return render_in_place(doc, times_s)


def write_subtitles(
    doc: SubtitleDocument, times_s: Sequence[tuple[float, float]], path: PathLike, kind: str | None = None
) -> None:
    """render_subtitles, written atomically to ``path``."""
    _write(render_subtitles(doc, times_s, kind), path)


# The older name, from when SRT was the only format; it renders any document in place.
render_srt = render_in_place


def write_srt(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]], path: PathLike) -> None:
    """Render ``doc`` with ``times_s`` and write it atomically to ``path``."""
    _write(render_srt(doc, times_s), path)


def _write(data: bytes, path: PathLike) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        name = quoted(path)
        raise SubtitleError(f"{name}: cannot write subtitle file: {_one_line(exc.strerror or exc)}") from None
