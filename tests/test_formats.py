"""WebVTT and ASS/SSA: read with timestamp spans, written back changing only the times,
and converted between the three formats."""

from __future__ import annotations

import pytest

from subsync.errors import SubtitleError
from subsync.subtitles import format_ass, format_vtt, parse_srt_bytes, parse_subtitle_bytes, render_subtitles, sniff

VTT = (
    b"WEBVTT - a title\r\nKind: captions\r\n\r\nNOTE written by hand\r\n\r\nSTYLE\r\n::cue { color: yellow }\r\n\r\n"
    b"intro\r\n00:01.000 --> 00:03.500 align:start line:0\r\n<v Bob>Hello <i>there</i>\r\n\r\n"
    b"01:00:02.000 --> 01:00:04.000\r\nSecond <00:00:02.500>line\r\n"
)
ASS = (
    "\ufeff[Script Info]\nTitle: test\nScriptType: v4.00+\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    "MarginR, MarginV, Encoding\nStyle: Sign,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,"
    "100,0,0,1,2,2,8,10,10,10,1\n\n[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    "Comment: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,a comment keeps its time\n"
    "Dialogue: 0,0:00:01.50,0:00:03.25,Default,Bob,0,0,0,,{\\i1}Hello,{\\i0} there\\Nfriend\n"
    "Dialogue: 1,0:01:02.00,0:01:04.00,Sign,,0,0,0,,{\\pos(10,20)}EXIT\n"
).encode("utf-8")


def test_formats_are_told_apart_by_content():
    assert sniff(VTT.decode()) == "vtt" and sniff(ASS.decode("utf-8-sig")) == "ass"
    assert sniff("1\n00:00:01,000 --> 00:00:02,000\nHi\n") == "srt"


def test_webvtt_cues_and_an_unchanged_round_trip():
    doc = parse_subtitle_bytes(VTT, "x.vtt")
    assert doc.format == "vtt" and doc.newline == "\r\n"
    assert [(c.number, c.start_s, c.end_s) for c in doc.cues] == [("intro", 1.0, 3.5), ("", 3602.0, 3604.0)]
    assert doc.cues[0].text == "<v Bob>Hello <i>there</i>"
    assert render_subtitles(doc, [(c.start_s, c.end_s) for c in doc.cues]) == VTT


def test_webvtt_changes_only_the_times_in_their_own_notation():
    doc = parse_subtitle_bytes(VTT, "x.vtt")
    out = render_subtitles(doc, [(2.0, 4.25), (3601.5, 3603.0)])
    assert out == (
        VTT.replace(b"00:01.000 --> 00:03.500", b"00:02.000 --> 00:04.250").replace(
            b"01:00:02.000 --> 01:00:04.000", b"01:00:01.500 --> 01:00:03.000"
        )
    )


def test_ass_dialogue_lines_are_cues_and_only_their_times_change():
    doc = parse_subtitle_bytes(ASS, "x.ass")
    assert doc.format == "ass" and len(doc.cues) == 2
    assert (doc.cues[0].start_s, doc.cues[0].end_s) == (1.5, 3.25)
    assert doc.cues[1].text == "{\\pos(10,20)}EXIT"
    assert render_subtitles(doc, [(c.start_s, c.end_s) for c in doc.cues]) == ASS
    out = render_subtitles(doc, [(2.004, 4.5), (63.0, 65.0)])
    assert out == (
        ASS.replace(b"0:00:01.50,0:00:03.25", b"0:00:02.00,0:00:04.50").replace(
            b"0:01:02.00,0:01:04.00", b"0:01:03.00,0:01:05.00"
        )
    )


def test_conversions_carry_text_and_basic_styling():
    ass = parse_subtitle_bytes(ASS, "x.ass")
    srt = render_subtitles(ass, [(1.5, 3.25), (62.0, 64.0)], "srt").decode()
    assert srt.startswith("1\n00:00:01,500 --> 00:00:03,250\n<i>Hello,</i> there\nfriend\n\n2\n")
    vtt = render_subtitles(parse_subtitle_bytes(VTT, "x.vtt"), [(1.0, 3.5), (3602.0, 3604.0)], "srt").decode()
    assert vtt == (
        "1\r\n00:00:01,000 --> 00:00:03,500\r\nHello <i>there</i>\r\n\r\n"  # no voice tag,
        "2\r\n01:00:02,000 --> 01:00:04,000\r\nSecond line\r\n"
    )  # no inline time
    plain = parse_srt_bytes(b"1\n00:00:01,000 --> 00:00:02,000\n<i>Hi</i> <font color=red>you</font>\nline2\n")
    webvtt = render_subtitles(plain, [(1.0, 2.0)], "vtt").decode()
    assert webvtt == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<i>Hi</i> you\nline2\n"
    ass_out = render_subtitles(plain, [(1.0, 2.0)], "ass").decode()
    assert ass_out.endswith("Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\i1}Hi{\\i0} you\\Nline2\n")
    assert parse_subtitle_bytes(ass_out.encode(), "y.ass").cues[0].start_s == 1.0


def test_timestamp_notations():
    assert format_vtt(3723.4567) == "01:02:03.457" and format_vtt(63.5, with_hours=False) == "01:03.500"
    assert format_ass(3723.456) == "1:02:03.46" and format_ass(-1.0) == "0:00:00.00"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"WEBVTT\n\n00:01.000 --> 00:0x.000\nhi\n", "malformed WebVTT timing"),
        (b"WEBVTT\n\nNOTE only a note\n", "no subtitle cues"),
        (b"[Script Info]\n\n[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,x\n", "before a Format line"),
        (
            b"[Events]\nFormat: Layer, Start, End, Style, Text\nDialogue: 0,0:00:61.00,0:00:02.00,Default,x\n",
            "malformed time",
        ),
    ],
)
def test_broken_webvtt_and_ass_are_one_line_errors(data, message):
    with pytest.raises(SubtitleError, match=message) as error:
        parse_subtitle_bytes(data, "bad.sub")
    assert "\n" not in str(error.value) and "bad.sub" in str(error.value)


def test_sloppy_webvtt_and_srt_that_mentions_a_section():
    doc = parse_subtitle_bytes(b"WEBVTT\n00:00:01.000 --> 00:00:02.000\nno blank line after the header\n", "x")
    assert doc.format == "vtt" and doc.cues[0].text == "no blank line after the header"
    srt = parse_subtitle_bytes(b"1\n00:00:01,000 --> 00:00:02,000\n[Events]\n", "y")
    assert srt.format == "srt" and srt.cues[0].text == "[Events]"
    entities = parse_subtitle_bytes(b"WEBVTT\n\n00:01.000 --> 00:02.000\nTom &amp; <i.loud>Jerry</i>\n", "z")
    assert render_subtitles(entities, [(1.0, 2.0)], "srt") == b"1\n00:00:01,000 --> 00:00:02,000\nTom & <i>Jerry</i>\n"
