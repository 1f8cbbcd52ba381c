"""Property tests of the subtitle readers and writers (hypothesis): any bytes either parse
or raise the project's own SubtitleError; a parsed file rendered with its own times is its
bytes; rendered times read back as given (at each format's resolution)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from subsync.errors import SubtitleError
from subsync.subtitles import format_ass, format_timestamp, format_vtt, parse_subtitle_bytes, render_subtitles
from subsync.subtitles.timestamps import MAX_HOURS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The round trips are also checked case by case (test_subtitles, test_formats): fewer draws.
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RESOLUTION_S = {"srt": 0.001, "vtt": 0.001, "ass": 0.01}
MAX_TIME_S = (MAX_HOURS + 1) * 3600.0 - 1.0

# Timestamp-like pieces make the fuzzed bytes reach the parsers' timing code, not only
# their "not a subtitle file" branch.
PIECES = st.sampled_from(
    [
        "1\n",
        "2\r\n",
        "\n",
        "\r\n",
        " --> ",
        "-->",
        "00:00:01,000",
        "00:00:02.500",
        "99:59:59,999",
        "9" * 30 + ":00:01,000",
        "1:2:3,4",
        "WEBVTT\n\n",
        "NOTE x\n\n",
        "[Script Info]\n",
        "[Events]\n",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
        "Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,",
        "Dialogue: 0," + "9" * 400 + ":00:01.00,",
        "9" * 5000 + ":00:01.000",
        "<i>hi</i>",
        "{\\an8}",
        "text",
        "\ufeff",
        "\x00",
        "é",
        ",",
        ":",
        ".",
    ]
)
SUBTITLE_LIKE = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=30).map("".join)


@FUZZ
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_raise_subtitle_error(data):
    try:
        parse_subtitle_bytes(data)
    except SubtitleError as exc:
        assert "\n" not in str(exc)
        assert len(str(exc)) < 400


@FUZZ
@given(SUBTITLE_LIKE, st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_subtitle_like_text_parses_or_raises_subtitle_error(text, codec):
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        assume(False)
    try:
        document = parse_subtitle_bytes(data)
    except SubtitleError:
        return
    for cue in document.cues:  # what parses has times a file may hold
        assert 0.0 <= cue.start_s <= MAX_TIME_S and 0.0 <= cue.end_s <= MAX_TIME_S
    assert render_subtitles(document, [(c.start_s, c.end_s) for c in document.cues]) == data


def _times():
    return st.lists(st.tuples(st.floats(0.0, MAX_TIME_S - 10.0), st.floats(0.0, 10.0)), min_size=1, max_size=8)


def _file(kind: str, times, texts) -> bytes:
    if kind == "srt":
        return "".join(
            f"{k + 1}\n{format_timestamp(a)} --> {format_timestamp(b)}\n{t}\n\n"
            for k, ((a, b), t) in enumerate(zip(times, texts))
        ).encode()
    if kind == "vtt":
        return (
            "WEBVTT\n\n" + "".join(f"{format_vtt(a)} --> {format_vtt(b)}\n{t}\n\n" for (a, b), t in zip(times, texts))
        ).encode()
    head = (
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    return (
        head
        + "".join(
            f"Dialogue: 0,{format_ass(a)},{format_ass(b)},Default,,0,0,0,,{t}\n" for (a, b), t in zip(times, texts)
        )
    ).encode()


@pytest.mark.parametrize("kind", ["srt", "vtt", "ass"])
@FAST
@given(times=_times(), data=st.data())
def test_rendered_times_read_back(kind, times, data):
    """Any times rendered into a file (and then over it, in place) read back as given."""
    pairs = [(a, a + d) for a, d in times]
    texts = [f"line {k}" for k in range(len(pairs))]
    document = parse_subtitle_bytes(_file(kind, [(0.0, 1.0)] * len(pairs), texts))
    assert document.format == kind
    again = parse_subtitle_bytes(render_subtitles(document, pairs))
    got = np.array([(c.start_s, c.end_s) for c in again.cues])
    assert np.allclose(got, np.array(pairs), atol=RESOLUTION_S[kind] / 2 + 1e-6)
    assert [c.text for c in again.cues] == texts


@pytest.mark.parametrize("kind", ["srt", "vtt", "ass"])
@FAST
@given(
    times=_times(),
    texts=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
            lambda t: t.strip() and "-->" not in t
        ),
        min_size=8,
        max_size=8,
    ),
)
def test_unchanged_times_render_byte_identical(kind, times, texts):
    pairs = [(a, a + d) for a, d in times]
    texts = [t.replace(",", " ") if kind == "ass" else t for t in texts[: len(pairs)]]
    data = _file(kind, pairs, texts)
    try:
        document = parse_subtitle_bytes(data)
    except SubtitleError:
        assume(False)  # text that makes another file (a cue number, a header)
    assert render_subtitles(document, [(c.start_s, c.end_s) for c in document.cues]) == data


@pytest.mark.parametrize(
    "stamp, kind",
    [
        ("9" * 400 + ":00:01.000", "vtt"),
        ("9" * 5000 + ":00:01.000", "vtt"),
        ("9" * 20 + ":00:01.000", "vtt"),
        ("100:00:01.000", "vtt"),
        ("00:75:01.000", "vtt"),
        ("9" * 400 + ":00:01.00", "ass"),
        ("9" * 5000 + ":00:01.00", "ass"),
        ("100:00:01.00", "ass"),
        ("9" * 20 + ":00:01,000", "srt"),
    ],
)
def test_out_of_range_timestamps_are_one_line_errors(stamp, kind):
    """Hour fields of hundreds of digits raised OverflowError/ValueError, 20 digits gave a
    zero-length cue: every field is bounded, the error names the line."""
    if kind == "ass":
        data = (
            "[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, "
            f"MarginR, MarginV, Effect, Text\nDialogue: 0,{stamp},0:00:02.00,Default,,0,0,0,,hello\n"
        ).encode()
    elif kind == "vtt":
        data = f"WEBVTT\n\n{stamp} --> 00:00:02.000\nhello\n".encode()
    else:
        data = f"1\n{stamp} --> 00:00:02,000\nhello\n".encode()
    with pytest.raises(SubtitleError, match=r"line \d+") as caught:
        parse_subtitle_bytes(data, "x")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


# ---------------------------------------------------------------- extreme numeric options

EXTREME = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 5e-324, 1e9, 1e15, 1e300, -1.0, float("nan"), float("inf")]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(max_offset_s=EXTREME, keep_tolerance_s=EXTREME, min_confidence=EXTREME)
def test_extreme_sync_options_are_refused_or_bounded(max_offset_s, keep_tolerance_s, min_confidence):
    """Any number for the numeric options: a ValueError naming the option (not finite,
    negative, a zero offset search), or a reference sync whose cost the subtitles' length
    bounds (1e300 once asked for 1.46 TiB and more) and whose times are finite."""
    from subsync.core import engine
    from subsync.core.hearing import Lines
    from subsync.core.options import SyncOptions

    try:
        options = SyncOptions(
            max_offset_s=max_offset_s, keep_tolerance_s=keep_tolerance_s, min_confidence=min_confidence
        )
    except ValueError as exc:
        bad = {"max_offset_s": max_offset_s, "keep_tolerance_s": keep_tolerance_s, "min_confidence": min_confidence}
        named = str(exc).split()[0].removeprefix("SyncOptions.")
        value = bad[named]
        assert not np.isfinite(value) or value < 0 or (named == "max_offset_s" and value == 0), exc
        return
    rng = np.random.default_rng(0)
    starts = 3.0 + np.cumsum(rng.uniform(2.5, 9.0, 40))
    ends = starts + rng.uniform(0.8, 2.2, 40)
    texts = tuple(f"line {k}" for k in range(40))
    placement = engine.sync_cues(Lines(texts, starts, ends), Lines(texts, starts + 7.0, ends + 7.0), options)
    times = np.array([(line.start_s, line.end_s) for line in placement.lines])
    assert np.isfinite(times).all()
    if max_offset_s > 7.5:
        assert abs(placement.time_map.offset_s + 7.0) < 0.02
