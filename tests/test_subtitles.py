"""Tests for subsync.subtitles: parsing, byte-exact rendering, errors, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pysrt
import pytest

from subsync import fileio
from subsync.errors import SubsyncError, SubtitleError
from subsync.subtitles import (
    Cue,
    SubtitleDocument,
    alignment_text,
    atomic_write_bytes,
    format_timestamp,
    parse_srt_bytes,
    read_srt,
    render_srt,
    spoken_text,
    write_srt,
)

DATA = Path(__file__).parent / "data" / "srt"

BASIC = (
    "1\n"
    "00:00:01,000 --> 00:00:02,500\n"
    "Hello there.\n"
    "\n"
    "2\n"
    "00:00:03,000 --> 00:00:04,000\n"
    "<i>Second</i> line,\n"
    "two rows.\n"
)


def same_times(doc: SubtitleDocument) -> list[tuple[float, float]]:
    return [(c.start_s, c.end_s) for c in doc.cues]


def shifted(doc: SubtitleDocument, delta_s: float) -> list[tuple[float, float]]:
    return [(c.start_s + delta_s, c.end_s + delta_s) for c in doc.cues]


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------

ROUND_TRIP_CASES = {
    "utf8-lf": BASIC.encode("utf-8"),
    "utf8-crlf": crlf(BASIC).encode("utf-8"),
    "utf8-bom": b"\xef\xbb\xbf" + crlf(BASIC).encode("utf-8"),
    "utf16le-bom": b"\xff\xfe" + crlf(BASIC).encode("utf-16-le"),
    "utf16be-bom": b"\xfe\xff" + BASIC.encode("utf-16-be"),
    "utf32le-bom": b"\xff\xfe\x00\x00" + BASIC.encode("utf-32-le"),
    "utf16le-nobom": crlf(BASIC).encode("utf-16-le"),
    "utf8-nonascii": "1\n00:00:01,000 --> 00:00:02,000\nGrüße — “quoted” ♪ 日本語\n".encode(),
    "cp1252": crlf("1\n00:00:01,000 --> 00:00:02,000\nCafé, señor. It’s fine.\n").encode("cp1252"),
    "latin1": "1\n00:00:01,000 --> 00:00:02,000\nÉtienne était là. ¿Qué pasó, señor?\n".encode("latin-1"),
    "cp1251": "1\n00:00:01,000 --> 00:00:02,000\nПривет, как дела? Всё хорошо.\n".encode("cp1251"),
    "tags": (
        b'1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<font color="#ff0000">Red</font> <b>bold</b>\n\n'
        b"2\n00:00:03,000 --> 00:00:04,000\n<i>- Hi.</i>\n<i>- Hello.</i>\n"
    ),
    "no-trailing-newline": b"1\n00:00:01,000 --> 00:00:02,000\nLast words",
    "no-trailing-newline-crlf": b"1\r\n00:00:01,000 --> 00:00:02,000\r\nLast words",
    "positions": b"1\r\n00:00:01,000 --> 00:00:02,000  X1:100 X2:600 Y1:050 Y2:090\r\nText\r\n",
    "many-blank-lines": b"\n\n1\n00:00:01,000 --> 00:00:02,000\nA\n\n\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n\n\n",
    "trailing-spaces": b"1 \n00:00:01,000 --> 00:00:02,000   \nA  \n \t\n2\n00:00:03,000 --> 00:00:04,000\nB\t\n",
    "blank-looking-inside-text": b"1\n00:00:01,000 --> 00:00:02,000\nTop\n   \nBottom\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n",
    "empty-text-cue": b"1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n",
    "missing-numbers": b"00:00:01,000 --> 00:00:02,000\nA\n\n00:00:03,000 --> 00:00:04,000\nB\n",
    "odd-numbering": b"7\n00:00:01,000 --> 00:00:02,000\nA\n\n007\n00:00:03,000 --> 00:00:04,000\nB\n",
    "out-of-order": b"1\n00:00:05,000 --> 00:00:06,000\nA\n\n2\n00:00:01,000 --> 00:00:02,000\nB\n",
    "end-before-start": b"1\n00:00:05,000 --> 00:00:04,000\nA\n",
    "mixed-line-endings": b"1\r\n00:00:01,000 --> 00:00:02,000\r\nA\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nB\r\n",
    "no-blank-between-cues": b"1\n00:00:01,000 --> 00:00:02,000\nA\n2\n00:00:03,000 --> 00:00:04,000\nB\n",
    "noncanonical-timestamps": b"1\n0:00:01.5 --> 00:00:02,50\nA\n",
}


@pytest.mark.parametrize("data", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_round_trip_is_byte_exact(data: bytes) -> None:
    doc = parse_srt_bytes(data, "case.srt")
    assert doc.cues
    assert render_srt(doc, same_times(doc)) == data


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.srt")))
def test_fixture_files_round_trip(name: str) -> None:
    path = DATA / name
    doc = read_srt(path)
    assert render_srt(doc, same_times(doc)) == path.read_bytes()


def test_basic_cues_parsed() -> None:
    doc = parse_srt_bytes(BASIC.encode("utf-8"))
    assert doc.cues == (
        Cue(0, "1", 1.0, 2.5, "Hello there."),
        Cue(1, "2", 3.0, 4.0, "<i>Second</i> line,\ntwo rows."),
    )
    assert doc.encoding == "utf-8"
    assert doc.newline == "\n"


def test_matches_pysrt() -> None:
    data = ROUND_TRIP_CASES["tags"]
    doc = parse_srt_bytes(data)
    reference = pysrt.from_string(data.decode("utf-8"), error_handling=pysrt.ERROR_RAISE)
    assert len(reference) == len(doc.cues)
    for ours, theirs in zip(doc.cues, reference):
        assert round(ours.start_s * 1000) == theirs.start.ordinal
        assert round(ours.end_s * 1000) == theirs.end.ordinal
        assert ours.text == theirs.text


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (ROUND_TRIP_CASES["utf8-lf"], "utf-8"),
        (ROUND_TRIP_CASES["utf8-bom"], "utf-8-sig"),
        (ROUND_TRIP_CASES["utf16le-bom"], "utf-16"),
        (ROUND_TRIP_CASES["utf16be-bom"], "utf-16"),
        (ROUND_TRIP_CASES["utf32le-bom"], "utf-32"),
        (ROUND_TRIP_CASES["utf16le-nobom"], "utf-16-le"),
        (ROUND_TRIP_CASES["cp1252"], "cp1252"),
        (ROUND_TRIP_CASES["cp1251"], "cp1251"),
    ],
)
def test_encoding_detected(data: bytes, encoding: str) -> None:
    doc = parse_srt_bytes(data)
    assert doc.encoding == encoding
    assert doc.cues[0].start_s == 1.0


def test_cp1252_text_decoded_correctly() -> None:
    doc = read_srt(DATA / "cp1252_accents.srt")
    assert doc.encoding == "cp1252"
    assert doc.newline == "\r\n"
    assert doc.cues[0].text == "Café, señor. It’s <i>très</i> bien."
    assert doc.cues[1].text == "- ¿Qué pasó?\n- Nada, niño."


def test_latin1_text_decoded_correctly() -> None:
    doc = parse_srt_bytes(ROUND_TRIP_CASES["latin1"])
    # cp1252 is a superset of latin-1 for these bytes; either name is right.
    assert doc.encoding in {"latin-1", "cp1252", "iso8859-15"}
    assert doc.cues[0].text == "Étienne était là. ¿Qué pasó, señor?"


def test_utf16_fixture_decoded() -> None:
    doc = read_srt(DATA / "utf16le_bom.srt")
    assert doc.encoding == "utf-16"
    assert doc.cues[0].text == "{\\an8}Grüße aus Köln ♪"
    assert doc.cues[1].text == "日本語のテキスト"


def test_newline_detection() -> None:
    assert parse_srt_bytes(ROUND_TRIP_CASES["utf8-crlf"]).newline == "\r\n"
    assert parse_srt_bytes(ROUND_TRIP_CASES["utf8-lf"]).newline == "\n"


def test_structure_edge_cases() -> None:
    doc = parse_srt_bytes(ROUND_TRIP_CASES["missing-numbers"])
    assert [c.number for c in doc.cues] == ["", ""]
    doc = parse_srt_bytes(ROUND_TRIP_CASES["odd-numbering"])
    assert [c.number for c in doc.cues] == ["7", "007"]
    doc = parse_srt_bytes(ROUND_TRIP_CASES["empty-text-cue"])
    assert [c.text for c in doc.cues] == ["", "B"]
    doc = parse_srt_bytes(ROUND_TRIP_CASES["blank-looking-inside-text"])
    assert doc.cues[0].text == "Top\n   \nBottom"
    doc = parse_srt_bytes(ROUND_TRIP_CASES["out-of-order"])
    assert [c.start_s for c in doc.cues] == [5.0, 1.0]
    doc = parse_srt_bytes(ROUND_TRIP_CASES["end-before-start"])
    assert (doc.cues[0].start_s, doc.cues[0].end_s) == (5.0, 4.0)
    doc = parse_srt_bytes(ROUND_TRIP_CASES["no-blank-between-cues"])
    assert [c.text for c in doc.cues] == ["A", "B"]
    doc = parse_srt_bytes(ROUND_TRIP_CASES["trailing-spaces"])
    assert [c.text for c in doc.cues] == ["A  ", "B\t"]
    assert [c.index for c in doc.cues] == [0, 1]


def test_noncanonical_timestamps_parsed_and_canonicalised_when_changed() -> None:
    data = ROUND_TRIP_CASES["noncanonical-timestamps"]
    doc = parse_srt_bytes(data)
    # 1-3 digit milliseconds are a count of ms (as pysrt and ffmpeg read them).
    assert (doc.cues[0].start_s, doc.cues[0].end_s) == (1.005, 2.05)
    out = render_srt(doc, [(2.0, 2.05)])
    assert out == b"1\n00:00:02,000 --> 00:00:02,50\nA\n"
    out = render_srt(doc, [(2.0, 3.0)])
    assert out == b"1\n00:00:02,000 --> 00:00:03,000\nA\n"


# --------------------------------------------------------------------------
# Shifting changes only timestamp lines
# --------------------------------------------------------------------------


def _assert_only_timing_lines_changed(before: bytes, after: bytes, sep: bytes) -> None:
    old_lines, new_lines = before.split(sep), after.split(sep)
    assert len(old_lines) == len(new_lines)
    changed = [(o, n) for o, n in zip(old_lines, new_lines) if o != n]
    assert changed
    for old, new in changed:
        assert b"-->" in old and b"-->" in new


@pytest.mark.parametrize(
    ("data", "sep"),
    [
        (ROUND_TRIP_CASES["utf8-crlf"], b"\r\n"),
        (ROUND_TRIP_CASES["tags"], b"\n"),
        (ROUND_TRIP_CASES["positions"], b"\r\n"),
        (ROUND_TRIP_CASES["many-blank-lines"], b"\n"),
        (ROUND_TRIP_CASES["trailing-spaces"], b"\n"),
        (ROUND_TRIP_CASES["no-trailing-newline"], b"\n"),
        ((DATA / "cp1252_accents.srt").read_bytes(), b"\r\n"),
    ],
)
def test_shift_changes_only_timing_lines(data: bytes, sep: bytes) -> None:
    doc = parse_srt_bytes(data)
    out = render_srt(doc, shifted(doc, 1.5))
    _assert_only_timing_lines_changed(data, out, sep)
    again = parse_srt_bytes(out)
    assert again.encoding == doc.encoding
    for old, new in zip(doc.cues, again.cues):
        assert new.start_s == pytest.approx(old.start_s + 1.5)
        assert new.end_s == pytest.approx(old.end_s + 1.5)
        assert (new.number, new.text) == (old.number, old.text)


def test_shift_exact_output() -> None:
    data = crlf(BASIC).encode("utf-8")
    out = render_srt(parse_srt_bytes(data), [(2.5, 4.0), (4.5, 5.5)])
    assert out == crlf(
        BASIC.replace("00:00:01,000 --> 00:00:02,500", "00:00:02,500 --> 00:00:04,000").replace(
            "00:00:03,000 --> 00:00:04,000", "00:00:04,500 --> 00:00:05,500"
        )
    ).encode("utf-8")


def test_shift_keeps_positions_and_utf16_bom() -> None:
    data = (DATA / "positions_no_final_newline.srt").read_bytes()
    doc = parse_srt_bytes(data)
    out = render_srt(doc, shifted(doc, 1.5))
    assert out == (
        data.replace(b"00:00:01,000 --> 00:00:02,000 X1", b"00:00:02,500 --> 00:00:03,500 X1").replace(
            b"00:00:05,000 --> 00:00:04,000", b"00:00:06,500 --> 00:00:05,500"
        )
    )
    assert out.endswith(b"\nEnds before it starts")  # still no final newline

    data = (DATA / "utf16le_bom.srt").read_bytes()
    doc = parse_srt_bytes(data)
    out = render_srt(doc, shifted(doc, 1.5))
    assert out.startswith(b"\xff\xfe")
    text = out[2:].decode("utf-16-le")
    assert "00:00:02,500 --> 00:00:03,500\r\n{\\an8}Grüße aus Köln ♪\r\n" in text
    _assert_only_timing_lines_changed(data[2:].decode("utf-16-le").encode("utf-8"), text.encode("utf-8"), b"\r\n")


def test_render_clamps_negative_times() -> None:
    doc = parse_srt_bytes(BASIC.encode("utf-8"))
    out = render_srt(doc, shifted(doc, -2.0))
    assert out.startswith(b"1\n00:00:00,000 --> 00:00:00,500\n")


def test_render_rejects_wrong_number_of_times() -> None:
    doc = parse_srt_bytes(BASIC.encode("utf-8"))
    with pytest.raises(ValueError):
        render_srt(doc, [(0.0, 1.0)])
    with pytest.raises(ValueError):
        render_srt(doc, [(0.0, float("nan")), (1.0, 2.0)])


# --------------------------------------------------------------------------
# format_timestamp, spoken_text and alignment_text
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0.0, "00:00:00,000"),
        (1.5, "00:00:01,500"),
        (3723.004, "01:02:03,004"),
        (1.2346, "00:00:01,235"),
        (1.0004, "00:00:01,000"),
        (59.9996, "00:01:00,000"),
        (0.0006, "00:00:00,001"),
        (-3.0, "00:00:00,000"),
        (-0.0004, "00:00:00,000"),
        (99 * 3600 + 59 * 60 + 59.999, "99:59:59,999"),
        (100 * 3600.0, "100:00:00,000"),
    ],
)
def test_format_timestamp(seconds: float, expected: str) -> None:
    assert format_timestamp(seconds) == expected


def test_format_timestamp_rejects_non_finite() -> None:
    with pytest.raises(ValueError):
        format_timestamp(float("inf"))


@pytest.mark.parametrize(
    ("cue_text", "expected"),
    [
        ("Hello there.", "Hello there."),
        ("<i>Hello</i> there.", "Hello there."),
        ('<font color="#ff0000">Red</font> alert', "Red alert"),
        ("{\\an8}Top text", "Top text"),
        ("{\\i1}slanted{\\i0} words", "slanted words"),
        ("- Hi.\n- Hello.", "Hi. Hello."),
        ("<i>- Hi.</i>\n<i>- Hello.</i>", "Hi. Hello."),
        ("–Where?\n—Here.", "Where? Here."),
        ("Two\nlines   with\tspaces ", "Two lines with spaces"),
        ("-5 degrees outside", "-5 degrees outside"),
        ("Line one\\NLine two", "Line one Line two"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("well-known <b>fact</b>", "well-known fact"),
        ("", ""),
        ("   \n  ", ""),
        ("♪ ♪", ""),
        ("<i></i>", ""),
        ("{\\an8}-", ""),
    ],
)
def test_spoken_text(cue_text: str, expected: str) -> None:
    assert spoken_text(cue_text) == expected


def test_alignment_text_drops_what_is_not_spoken() -> None:
    assert alignment_text("<i>[door slams]</i> JOHN: Get out!") == "Get out!"
    assert alignment_text("♪ la la ♪") == ""
    assert alignment_text("♪ Fly me to the moon\nWhat a song!") == "What a song!"
    assert alignment_text("ANNOUNCER: [static] Flight 9 is boarding") == "Flight 9 is boarding"
    assert alignment_text("{\\i1}♪ la la{\\i0}\\NJOHN: Hello there") == "Hello there"  # ASS
    assert alignment_text("{\\an7}{\\p1}m 0 0 l 100 0 100 100{\\p0}") == ""  # a drawing
    assert alignment_text("Subtitles by ACME Team") == ""
    assert alignment_text("<i>Synced and corrected by bob</i>") == ""
    assert alignment_text("www.opensubtitles.org") == ""
    assert alignment_text("I caught a subtitle by accident.") == "I caught a subtitle by accident."
    assert alignment_text("(sighs)") == ""
    assert alignment_text("- Who?\n- Me.") == "Who? Me."


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

ERROR_CASES = {
    "empty": (b"", "contains no subtitle cues", None),
    "whitespace": (b" \r\n\n\t\n", "contains no subtitle cues", None),
    "bom-only": (b"\xef\xbb\xbf", "contains no subtitle cues", None),
    "webvtt": (b"WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n", "looks like WebVTT; only SRT is supported", None),
    "ass": (b"[Script Info]\nTitle: x\nScriptType: v4.00+\n", "ASS/SSA", None),
    "json": (b'{"segments": [{"start": 1.0}]}\n', "looks like JSON", None),
    "binary": (bytes(range(256)) * 4, "binary", None),
    "prose": (b"Just some text\nand more.\n", "not an SRT file", 1),
    "number-then-text": (b"1\nhello\n", "expected a timestamp line", 2),
    "malformed-first": (
        b"1\n00:01:02,xx --> 00:01:03,000\nhi\n",
        "malformed timestamp '00:01:02,xx --> 00:01:03,000'",
        2,
    ),
    "malformed-later": (
        b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,000 --> 00:00:04,000\nB\n\n"
        b"3\n00:00:05,000 --> 00:00:06,000\nC\n\n4\n00:01:02,xx --> 00:01:03,000\nD\n",
        "malformed timestamp",
        14,
    ),
    "minutes-out-of-range": (b"1\n00:61:00,000 --> 00:62:00,000\nhi\n", "malformed timestamp", 2),
    "four-digit-ms": (b"1\n00:00:01,0000 --> 00:00:02,000\nhi\n", "malformed timestamp", 2),
    "missing-start": (b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n--> 00:00:04,000\nB\n", "malformed timestamp", 6),
}


@pytest.mark.parametrize(("data", "fragment", "line"), ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_parse_errors(data: bytes, fragment: str, line: int | None) -> None:
    with pytest.raises(SubtitleError) as info:
        parse_srt_bytes(data, "movie.srt")
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith("movie.srt: ")
    assert fragment in message
    if line is not None:
        assert f"line {line}:" in message


def test_subtitle_error_is_subsync_error() -> None:
    assert issubclass(SubtitleError, SubsyncError)


def test_error_message_one_line_even_with_odd_name() -> None:
    with pytest.raises(SubtitleError) as info:
        parse_srt_bytes(b"1\n00:00:0x,000 --> 00:00:02,000\n", "weird\nname.srt")
    assert "\n" not in str(info.value)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError) as info:
        read_srt(tmp_path / "nope.srt")
    assert "nope.srt" in str(info.value) and "not found" in str(info.value)
    assert "\n" not in str(info.value)


def test_read_directory(tmp_path: Path) -> None:
    with pytest.raises(SubtitleError) as info:
        read_srt(tmp_path)
    assert "directory" in str(info.value) and "\n" not in str(info.value)


def test_read_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.srt"
    path.write_bytes(BASIC.encode("utf-8"))

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(SubtitleError) as info:
        read_srt(path)
    assert "locked.srt" in str(info.value) and "permission denied" in str(info.value)
    assert "\n" not in str(info.value)


def test_read_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_bytes(b"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03;000 --> 00:00:04,000\nB\n")
    with pytest.raises(SubtitleError, match=r"bad\.srt: line 6: malformed timestamp"):
        read_srt(path)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_write_srt_round_trip(tmp_path: Path) -> None:
    src = DATA / "cp1252_accents.srt"
    doc = read_srt(src)
    out = tmp_path / "out.srt"
    write_srt(doc, same_times(doc), out)
    assert out.read_bytes() == src.read_bytes()
    write_srt(doc, shifted(doc, 1.5), out)
    assert read_srt(out).cues[0].start_s == 2.5
    assert _leftovers(tmp_path, {"out.srt"}) == []


def test_write_srt_error_is_one_line(tmp_path: Path) -> None:
    doc = parse_srt_bytes(BASIC.encode("utf-8"))
    with pytest.raises(SubtitleError) as info:
        write_srt(doc, same_times(doc), tmp_path / "missing-dir" / "out.srt")
    assert "out.srt" in str(info.value) and "\n" not in str(info.value)


def test_atomic_write_creates_file(tmp_path: Path) -> None:
    target = tmp_path / "new.srt"
    atomic_write_bytes(target, b"data")
    assert target.read_bytes() == b"data"
    assert _leftovers(tmp_path, {"new.srt"}) == []


def test_atomic_write_preserves_mode(tmp_path: Path) -> None:
    target = tmp_path / "existing.srt"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _leftovers(tmp_path, {"existing.srt"}) == []


@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
def test_atomic_write_cleans_up_when_fsync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc_type: type[BaseException]
) -> None:
    target = tmp_path / "existing.srt"
    target.write_bytes(b"old")

    def boom(fd: int) -> None:
        raise exc_type("simulated failure")

    monkeypatch.setattr(fileio.os, "fsync", boom)
    with pytest.raises(exc_type):
        atomic_write_bytes(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path, {"existing.srt"}) == []


@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
def test_atomic_write_cleans_up_when_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc_type: type[BaseException]
) -> None:
    target = tmp_path / "out.srt"

    def boom(src: object, dst: object) -> None:
        raise exc_type("simulated failure")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(exc_type):
        atomic_write_bytes(target, b"new contents")
    assert not target.exists()
    assert _leftovers(tmp_path, set()) == []


def test_atomic_write_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.srt"
    real.write_bytes(b"old")
    link = tmp_path / "link.srt"
    link.symlink_to(real)
    atomic_write_bytes(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
