"""Subtitle bytes to text and back: BOMs, BOM-less UTF-16, UTF-8, then a guessed
single-byte codec, always one under which re-encoding gives the very same bytes."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

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
    "cp1252",
    "latin_1",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "cp1253",
    "cp1254",
    "cp1257",
    "cp1255",
    "cp1256",
    "cp1258",
    "iso8859_5",
    "iso8859_7",
    "iso8859_9",
    "iso8859_13",
    "iso8859_16",
    "cp874",
    "cp866",
    "mac_roman",
)


@dataclass(frozen=True)
class Decoded:
    """Decoded text plus how to get its bytes back: ``encode(text, codec, bom)``."""

    text: str
    encoding: str  # the name shown to users, e.g. "utf-8-sig" or "latin-1"
    codec: str  # the codec that encodes ``text`` (without the BOM)
    bom: bytes


def encode(text: str, codec: str, bom: bytes) -> bytes:
    """``text`` as bytes again: the BOM, then the text in ``codec``."""
    return bom + text.encode(codec)


def decode(data: bytes) -> Decoded:
    """Decode bytes so that ``encode(text, codec, bom) == data``."""
    for attempt in (_decode_bom, _decode_utf16_nobom, _decode_utf8, _decode_guess):
        decoded = attempt(data)
        if decoded is not None and _round_trips(decoded, data):
            return decoded
    return Decoded(data.decode("latin-1"), "latin-1", "latin-1", b"")


def _round_trips(decoded: Decoded, data: bytes) -> bool:
    """True when re-encoding reproduces the original bytes."""
    try:
        return encode(decoded.text, decoded.codec, decoded.bom) == data
    except UnicodeError:
        return False


def _try_decode(body: bytes, encoding: str, codec: str, bom: bytes) -> Decoded | None:
    """Strictly decode ``body`` with ``codec``; None on failure."""
    try:
        return Decoded(body.decode(codec), encoding, codec, bom)
    except UnicodeError:
        return None


def _decode_bom(data: bytes) -> Decoded | None:
    """Decode a file that starts with a Unicode byte order mark."""
    for bom, encoding, codec in _BOMS:
        if data.startswith(bom):
            return _try_decode(data[len(bom) :], encoding, codec, bom)
    return None


def _decode_utf16_nobom(data: bytes) -> Decoded | None:
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


def _decode_utf8(data: bytes) -> Decoded | None:
    """Strict UTF-8 (which includes plain ASCII)."""
    return _try_decode(data, "utf-8", "utf-8", b"")


def _decode_guess(data: bytes) -> Decoded | None:
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
