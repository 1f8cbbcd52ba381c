"""Every timestamp notation in one place: SRT ``HH:MM:SS,mmm``, WebVTT ``[HH:]MM:SS.mmm``
and ASS ``H:MM:SS.cc`` (centiseconds), read and written, with the rounding they share."""

from __future__ import annotations

import math
import re

MS_PER_S = 1000
CS_PER_S = 100  # ASS counts centiseconds
MAX_HOURS = 99  # the largest hour field read (SRT's two digits; in every format)

# Regex sources for use inside a timing-line pattern; SRT_STAMP has four groups (h, m, s, ms).
SRT_STAMP = r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})[,.]([0-9]{1,3})"
VTT_STAMP = r"(?:[0-9]+:)?[0-9]{2}:[0-9]{2}\.[0-9]{3}"
_ASS_STAMP_RE = re.compile(r"^\s*([0-9]+):([0-9]{1,2}):([0-9]{1,2})(?:[.:]([0-9]{1,3}))?\s*$")


def _round_units(t_s: float, units_per_s: int) -> int:
    """Seconds to whole units (ms, cs), rounding half up, negatives clamped to 0."""
    return max(0, math.floor(t_s * float(units_per_s) + 0.5))  # float: an int time rounds as a float one


def _clock(units: int, units_per_s: int) -> tuple[int, int, int, int]:
    """(hours, minutes, seconds, fraction in units) of a time in whole units."""
    hours, rest = divmod(units, 3600 * units_per_s)
    minutes, rest = divmod(rest, 60 * units_per_s)
    seconds, fraction = divmod(rest, units_per_s)
    return hours, minutes, seconds, fraction


def to_ms(t_s: float) -> int:
    """Seconds to whole milliseconds, rounding half up, negatives clamped to 0."""
    if not math.isfinite(t_s):
        raise ValueError(f"time must be finite, got {t_s!r}")
    return _round_units(t_s, MS_PER_S)


def format_timestamp(t_s: float) -> str:
    """Format seconds as ``HH:MM:SS,mmm`` (nearest ms, negatives become 0)."""
    hours, minutes, seconds, millis = _clock(to_ms(t_s), MS_PER_S)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def format_vtt(t_s: float, with_hours: bool = True) -> str:
    """WebVTT ``HH:MM:SS.mmm``; ``MM:SS.mmm`` when not ``with_hours`` and under an hour."""
    hours, minutes, seconds, millis = _clock(to_ms(t_s), MS_PER_S)
    if with_hours or hours:
        return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{minutes:02d}:{seconds:02d}.{millis:03d}"


def format_ass(t_s: float) -> str:
    """ASS ``H:MM:SS.cc`` (nearest centisecond, negatives become 0)."""
    hours, minutes, seconds, centis = _clock(_round_units(t_s, CS_PER_S), CS_PER_S)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}.{centis:02d}"


def srt_ms(h: str, m: str, s: str, ms: str) -> int | None:
    """Milliseconds for the groups of an SRT_STAMP match, None when out of range."""
    if int(m) >= 60 or int(s) >= 60:
        return None
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def _hours(field: str) -> int | None:
    """An hour field's value, None beyond MAX_HOURS (read without converting huge numbers)."""
    digits = field.lstrip("0") or "0"
    if len(digits) > len(str(MAX_HOURS)):
        return None
    return int(digits) if int(digits) <= MAX_HOURS else None


def vtt_seconds(stamp: str) -> float | None:
    """Seconds of a WebVTT timestamp (one that matches VTT_STAMP), None when a field is
    out of range (minutes or seconds from 60, hours beyond MAX_HOURS)."""
    parts = stamp.split(":")
    hours = _hours(parts[-3]) if len(parts) == 3 else 0
    minutes, seconds = int(parts[-2]), float(parts[-1])
    if hours is None or minutes >= 60 or seconds >= 60:
        return None
    return hours * 3600 + minutes * 60 + seconds


def ass_seconds(stamp: str) -> float | None:
    """Seconds of an ASS time field (blanks around it allowed), None when malformed."""
    match = _ASS_STAMP_RE.match(stamp)
    if match is None:
        return None
    hours_field, minutes, seconds, fraction = match.groups()
    hours = _hours(hours_field)
    if hours is None or int(minutes) >= 60 or int(seconds) >= 60:
        return None
    fraction = fraction or "0"
    return hours * 3600 + int(minutes) * 60 + int(seconds) + int(fraction) / 10 ** len(fraction)


def restamp(kind: str, original: str, old_s: float, new_s: float) -> str:
    """A timestamp in format ``kind``'s notation; the original spelling when the time is
    unchanged at that format's resolution."""
    if kind == "ass":
        return original if format_ass(old_s) == format_ass(new_s) else format_ass(new_s)
    if to_ms(old_s) == to_ms(new_s):
        return original
    if kind == "vtt":
        return format_vtt(new_s, with_hours=original.count(":") == 2)
    return format_timestamp(new_s)
