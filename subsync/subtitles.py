"""SRT reading and byte-exact writing.

Parsing keeps the decoded text of the file and the character spans of every
cue's two timestamps; writing replaces only those substrings and re-encodes
with the original codec, so everything else (numbering, text, tags, blank
lines, BOM, line endings, position coordinates) survives byte for byte.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import math
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from subsync.errors import SubtitleError

PathLike = Union[str, os.PathLike]

__all__ = [
    "Cue",
    "SubtitleDocument",
    "read_srt",
    "read_subtitles",
    "parse_srt_bytes",
    "parse_subtitle_bytes",
    "render_subtitles",
    "write_subtitles",
    "render_srt",
    "write_srt",
    "atomic_write_bytes",
    "spoken_text",
    "format_timestamp",
]


# --------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------


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
    """A parsed SRT file plus what is needed to re-render it byte-exactly."""

    cues: tuple[Cue, ...]
    encoding: str
    newline: str
    _text: str = field(default="", repr=False)
    _codec: str = field(default="utf-8", repr=False)
    _bom: bytes = field(default=b"", repr=False)
    # Per cue: (start_begin, start_end, end_begin, end_end) offsets in _text.
    _spans: tuple[tuple[int, int, int, int], ...] = field(default=(), repr=False)
    format: str = "srt"             # "srt", "vtt" (WebVTT) or "ass" (ASS/SSA); see formats.py


# --------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------

_TS = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})[,.]([0-9]{1,3})"
_TIMING_RE = re.compile(
    r"^[ \t]*(?P<a>" + _TS + r")[ \t]*-->[ \t]*(?P<b>" + _TS + r")(?P<rest>(?:\s.*)?)$"
)
_NUMBER_RE = re.compile(r"^\s*([0-9]+)\s*$")
_LINE_END_RE = re.compile(r"\r\n|\n|\r")


def _to_ms(t_s: float) -> int:
    """Seconds to whole milliseconds, rounding half up, negatives clamped to 0."""
    if not math.isfinite(t_s):
        raise ValueError(f"time must be finite, got {t_s!r}")
    return max(0, math.floor(t_s * 1000.0 + 0.5))


def format_timestamp(t_s: float) -> str:
    """Format seconds as ``HH:MM:SS,mmm`` (nearest ms, negatives become 0)."""
    ms = _to_ms(t_s)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def _stamp_ms(h: str, m: str, s: str, ms: str) -> int | None:
    """Milliseconds for parsed timestamp fields, None when out of range."""
    if int(m) >= 60 or int(s) >= 60:
        return None
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


# --------------------------------------------------------------------------
# Encoding detection
# --------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # Order matters: the UTF-32 LE BOM starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)

# Single-byte codecs that make sense for subtitle files, most likely first
# (used to break ties between equally plausible guesses).
_SINGLE_BYTE_CODECS: tuple[str, ...] = (
    "cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251",
    "koi8_r", "koi8_u", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256",
    "cp1258", "iso8859_5", "iso8859_7", "iso8859_9", "iso8859_13",
    "iso8859_16", "cp874", "cp866", "mac_roman",
)


@dataclass(frozen=True)
class _Decoded:
    text: str
    encoding: str
    codec: str
    bom: bytes


def _decode(data: bytes) -> _Decoded:
    """Decode bytes so that ``bom + text.encode(codec) == data``."""
    for attempt in (_decode_bom, _decode_utf16_nobom, _decode_utf8, _decode_guess):
        decoded = attempt(data)
        if decoded is not None and _round_trips(decoded, data):
            return decoded
    return _Decoded(data.decode("latin-1"), "latin-1", "latin-1", b"")


def _round_trips(decoded: _Decoded, data: bytes) -> bool:
    """True when re-encoding reproduces the original bytes."""
    try:
        return decoded.bom + decoded.text.encode(decoded.codec) == data
    except UnicodeError:
        return False


def _try_decode(body: bytes, encoding: str, codec: str, bom: bytes) -> _Decoded | None:
    """Strictly decode ``body`` with ``codec``; None on failure."""
    try:
        return _Decoded(body.decode(codec), encoding, codec, bom)
    except UnicodeError:
        return None


def _decode_bom(data: bytes) -> _Decoded | None:
    """Decode a file that starts with a Unicode byte order mark."""
    for bom, encoding, codec in _BOMS:
        if data.startswith(bom):
            return _try_decode(data[len(bom):], encoding, codec, bom)
    return None


def _decode_utf16_nobom(data: bytes) -> _Decoded | None:
    """Decode BOM-less UTF-16 recognised by NUL bytes at alternating positions."""
    if len(data) < 4 or len(data) % 2:
        return None
    pairs = len(data) // 2
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    if odd_nuls >= 0.3 * pairs and even_nuls <= 0.05 * pairs:
        return _try_decode(data, "utf-16-le", "utf-16-le", b"")
    if even_nuls >= 0.3 * pairs and odd_nuls <= 0.05 * pairs:
        return _try_decode(data, "utf-16-be", "utf-16-be", b"")
    return None


def _decode_utf8(data: bytes) -> _Decoded | None:
    """Strict UTF-8 (which includes plain ASCII)."""
    return _try_decode(data, "utf-8", "utf-8", b"")


def _decode_guess(data: bytes) -> _Decoded | None:
    """charset_normalizer's best single-byte guess, None if it has none."""
    if b"\x00" in data:
        return None  # binary, not text in a single-byte codec
    from charset_normalizer import from_bytes

    results = [r for r in from_bytes(data, cp_isolation=list(_SINGLE_BYTE_CODECS))]
    for codec in _rank_guesses(results):
        decoded = _try_decode(data, _friendly_codec_name(codec), codec, b"")
        if decoded is not None:
            return decoded
    return None


def _rank_guesses(results: list) -> list[str]:
    """Order charset_normalizer results: least chaos, then coherence, then prior."""
    if not results:
        return []
    best_chaos = min(r.chaos for r in results)

    def key(r) -> tuple:
        near_best = r.chaos <= best_chaos + 0.01
        prior = _SINGLE_BYTE_CODECS.index(r.encoding) if r.encoding in _SINGLE_BYTE_CODECS else 99
        return (not near_best, r.chaos if not near_best else 0.0, -round(r.coherence, 2), prior)

    return [r.encoding for r in sorted(results, key=key)]


def _friendly_codec_name(codec: str) -> str:
    """A readable codec name: 'latin-1' for ISO-8859-1, else Python's name."""
    name = codecs.lookup(codec).name
    return "latin-1" if name == "iso8859-1" else name


def _dominant_newline(text: str) -> str:
    """``"\\r\\n"`` if CRLF line endings dominate, else ``"\\n"``."""
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    return "\r\n" if crlf > 0 and crlf >= lf else "\n"


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    content: str
    offset: int  # character offset of the line's first character in the text

    @property
    def blank(self) -> bool:
        return not self.content.strip()


def _split_lines(text: str) -> list[_Line]:
    """Lines without their endings; CRLF, LF and lone CR all end a line."""
    lines: list[_Line] = []
    pos = 0
    for match in _LINE_END_RE.finditer(text):
        lines.append(_Line(text[pos:match.start()], pos))
        pos = match.end()
    if pos < len(text):
        lines.append(_Line(text[pos:], pos))
    return lines


def _one_line(value: object) -> str:
    """Text safe to embed in a one-line message."""
    return " ".join(str(value).splitlines())


def _quote(content: str, limit: int = 60) -> str:
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

    def __init__(self, lines: list[_Line], name: str, supported: str = "SRT is") -> None:
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
        return _stamp_ms(*g[1:5]) is not None and _stamp_ms(*g[6:10]) is not None

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

    def parse(self) -> list[tuple[Cue, tuple[int, int, int, int]]]:
        cues: list[tuple[Cue, tuple[int, int, int, int]]] = []
        i = self.skip_blank(0)
        while i < len(self.lines):
            start = self.cue_start(i)
            if start is None:
                raise self.not_srt(i)
            number, t = start
            end, i = self.text_end(t + 1)
            text = "\n".join(line.content for line in self.lines[t + 1:end])
            cues.append(self.make_cue(len(cues), number, t, text))
            i = self.skip_blank(i)
        return cues

    def make_cue(self, index: int, number: str, t: int, text: str) -> tuple[Cue, tuple[int, int, int, int]]:
        match = self.timing(t)
        assert match is not None
        g = match.groups()
        start_ms = _stamp_ms(*g[1:5])
        end_ms = _stamp_ms(*g[6:10])
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
            return self.error(i + 1, f"expected a timestamp line after cue number {content.strip()!r}, found {_quote(nxt)}")
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


def parse_srt_bytes(data: bytes, name: str = "<bytes>") -> SubtitleDocument:
    """Parse the bytes of an SRT file; raises SubtitleError naming ``name``."""
    return _document(_decode(data), _one_line(name), "srt", "SRT is")


def _document(decoded: _Decoded, label: str, kind: str, supported: str) -> SubtitleDocument:
    """The SubtitleDocument of decoded text in format ``kind`` (a file of an unknown kind
    is reported as not one of the ``supported`` formats)."""
    if not decoded.text.strip():
        raise SubtitleError(f"{label}: contains no subtitle cues")
    if kind == "srt":
        parsed = _Parser(_split_lines(decoded.text), label, supported).parse()
        cues, spans = [cue for cue, _ in parsed], [span for _, span in parsed]
    else:
        from .formats import parse_ass, parse_vtt

        cues, spans = (parse_vtt if kind == "vtt" else parse_ass)(decoded.text, label)
        if not cues:
            raise SubtitleError(f"{label}: contains no subtitle cues")
    return SubtitleDocument(
        cues=tuple(cues),
        encoding=decoded.encoding,
        newline=_dominant_newline(decoded.text),
        _text=decoded.text,
        _codec=decoded.codec,
        _bom=decoded.bom,
        _spans=tuple(spans),
        format=kind,
    )


def read_srt(path: PathLike) -> SubtitleDocument:
    """Read and parse an SRT file; every failure is a one-line SubtitleError."""
    return _read(path, parse_srt_bytes)


def _read(path: PathLike, parse) -> SubtitleDocument:
    name = _one_line(os.fspath(path))
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
    return parse(data, name)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def parse_subtitle_bytes(data: bytes, name: str = "<bytes>") -> SubtitleDocument:
    """Parse SRT, WebVTT or ASS/SSA bytes (told apart by their content)."""
    from .formats import sniff

    decoded = _decode(data)
    return _document(decoded, _one_line(name), sniff(decoded.text), "SRT, WebVTT and ASS/SSA are")


def read_subtitles(path: PathLike) -> SubtitleDocument:
    """Read and parse an SRT, WebVTT or ASS/SSA file; failures are one-line SubtitleErrors."""
    return _read(path, parse_subtitle_bytes)


def render_subtitles(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]],
                     kind: str | None = None) -> bytes:
    """The document with new times: its own bytes with only the timestamps changed, or,
    when ``kind`` names another format, converted to it (formats.convert)."""
    if kind is not None and kind != doc.format:
        from .formats import convert

        return convert(doc, times_s, kind)
    return render_srt(doc, times_s)


def write_subtitles(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]], path: PathLike,
                    kind: str | None = None) -> None:
    """render_subtitles, written atomically to ``path``."""
    _write(render_subtitles(doc, times_s, kind), path)


def render_srt(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]]) -> bytes:
    """The document's original bytes with each cue's timestamps set to ``times_s``.

    A timestamp whose value is unchanged (at the format's resolution) keeps its
    original spelling; a changed one is written in the format's canonical form
    (SRT ``HH:MM:SS,mmm``).
    """
    if len(times_s) != len(doc.cues):
        raise ValueError(f"expected {len(doc.cues)} (start, end) pairs, got {len(times_s)}")
    if doc.format == "srt":
        stamp = _stamp_text
    else:
        from .formats import stamp as format_stamp

        def stamp(original: str, old_s: float, new_s: float) -> str:
            return format_stamp(doc.format, original, old_s, new_s)
    pieces: list[str] = []
    pos = 0
    for cue, span, (start_s, end_s) in zip(doc.cues, doc._spans, times_s):
        a0, a1, b0, b1 = span
        pieces.append(doc._text[pos:a0])
        pieces.append(stamp(doc._text[a0:a1], cue.start_s, start_s))
        pieces.append(doc._text[a1:b0])
        pieces.append(stamp(doc._text[b0:b1], cue.end_s, end_s))
        pos = b1
    pieces.append(doc._text[pos:])
    return doc._bom + "".join(pieces).encode(doc._codec)


def _stamp_text(original: str, old_s: float, new_s: float) -> str:
    """Keep the original spelling if the time is unchanged, else canonical."""
    return original if _to_ms(new_s) == _to_ms(old_s) else format_timestamp(new_s)


def write_srt(doc: SubtitleDocument, times_s: Sequence[tuple[float, float]], path: PathLike) -> None:
    """Render ``doc`` with ``times_s`` and write it atomically to ``path``."""
    _write(render_srt(doc, times_s), path)


def _write(data: bytes, path: PathLike) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        name = _one_line(os.fspath(path))
        raise SubtitleError(f"{name}: cannot write subtitle file: {_one_line(exc.strerror or exc)}") from None


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, os.replace).

    An existing destination keeps its permission bits; a new one gets the
    usual umask-derived mode. The temp file is removed on any failure,
    KeyboardInterrupt included. OSError propagates unchanged.
    """
    dest = Path(os.path.realpath(path))
    mode = _existing_mode(dest)
    fd, tmp = _open_temp(dest)
    try:
        _write_fsync(fd, data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(dest.parent)


def _existing_mode(path: Path) -> int | None:
    """Permission bits of an existing regular file, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else None


def _open_temp(dest: Path) -> tuple[int, Path]:
    """Create and open a new, uniquely named temp file next to ``dest``."""
    while True:
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def _write_fsync(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, fsync it, and close it."""
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    """Best-effort fsync of a directory so the rename is durable."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------
# Text for the speech model
# --------------------------------------------------------------------------

_ASS_BLOCK_RE = re.compile(r"\{\\[^{}]*\}")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_ASS_BREAK_RE = re.compile(r"\\[Nnh]")
_DIALOGUE_DASH_RE = re.compile(r"^[ \t]*[-\u2010\u2011\u2012\u2013\u2014\u2015]+[ \t]*(?![0-9])")


def spoken_text(cue_text: str) -> str:
    """Plain words of a cue: no tags, no dialogue dashes, single spaces; "" if wordless."""
    text = _ASS_BLOCK_RE.sub("", cue_text)
    text = _TAG_RE.sub("", text)
    text = _ASS_BREAK_RE.sub(" ", text)
    text = html.unescape(text)
    lines = [_DIALOGUE_DASH_RE.sub("", line) for line in text.splitlines()]
    words = " ".join(" ".join(lines).split())
    return words if any(ch.isalnum() for ch in words) else ""
