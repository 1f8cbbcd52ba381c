"""The command line: in this process through its entry point (``cli.run``) with the replay
listener as the model; a few runs end to end, as subprocesses with the real model (marked
``model``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers import (
    JFK,
    JFK_TEXT,
    SPEECH,
    SUBSYNC,
    distorted_srt,
    ffmpeg,
    interruptible,
    invoke,
    jfk_script,
    one_line_error,
    room_tone,
    run,
    script_from_srt,
    srt_starts,
    two_tracks,
    use_replay,
)
from subsync.whisper.listener import load_listener as REAL_LOAD_LISTENER  # (before any patch)


@pytest.fixture(autouse=True)
def loaded(monkeypatch) -> list:
    """Every in-process run hears JFK's clip through the replay listener (the model specs
    loaded are recorded in the list returned); subprocesses are untouched."""
    return use_replay(monkeypatch, jfk_script())


def test_help_lists_the_options_and_imports_no_torch():
    proc = invoke("fix", "--help")
    assert proc.returncode == 0
    for option in (
        "--output",
        "--model",
        "--language",
        "--device",
        "--audio-track",
        "--report",
        "--in-place",
        "--quiet",
        "--max-offset",
    ):
        assert option in proc.stdout
    # Importing torch takes seconds; --help must not (a fresh interpreter: this one may hold torch).
    child = (
        "import sys\nfrom subsync import cli\n"
        "sys.argv = ['subsync', 'fix', '--help']\ntry:\n    cli.run()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules, file=sys.stderr)"
    )
    check = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120, check=True)
    assert check.stderr.strip() == "False False", check.stderr
    assert "--max-offset" in check.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("fix",),
        ("fix", "a.srt"),
        ("fix", "a", "b", "--max-offset", "x"),
        ("fix", "a", "b", "--audio-track=-1"),
        ("bogus",),
        ("fix", "--no-such-option", "a", "b"),
    ],
)
def test_usage_errors_are_one_line(args):
    proc = invoke(*args)
    assert proc.returncode == 2
    one_line_error(proc)


def test_version():
    from subsync import __version__

    proc = invoke("--version")
    assert proc.returncode == 0 and proc.stdout == f"subsync {__version__}\n" and proc.stderr == ""


def test_fix_and_batch_list_the_same_sync_options():
    """The sync options are declared once (cli.SyncArgs) and both commands take them."""
    import dataclasses

    from subsync.cli import SyncArgs

    fix_help, batch_help = invoke("fix", "--help").stdout, invoke("batch", "--help").stdout
    for field in dataclasses.fields(SyncArgs):
        option = "--" + field.name.replace("_", "-")
        assert option in fix_help and option in batch_help, option
    assert "--no-int8" in batch_help and "--no-cuts" in fix_help


def test_one_map_from_errors_to_exit_status_and_message():
    from subsync.errors import MediaError, RefusedError
    from subsync.exits import attempt, overall

    def raising(exc):
        def work():
            raise exc

        return work

    assert attempt(lambda: 5) == (5, None)
    from subsync.render import failure  # (the command line's words: it names --force)

    _, refused = attempt(raising(RefusedError("x.srt: no line of it is heard", result=object())), failure)
    assert (refused.status, refused.reason, refused.message) == (
        3,
        "x.srt: no line of it is heard",
        "refused: x.srt: no line of it is heard; nothing written (--force writes it anyway)",
    )
    assert attempt(raising(RefusedError("no speech")))[1].message == "refused: no speech; nothing written"
    _, broken = attempt(raising(MediaError("m.mkv: no audio stream")))
    assert (broken.status, broken.reason, broken.message) == (1, "m.mkv: no audio stream", "m.mkv: no audio stream")
    _, unwritable = attempt(raising(PermissionError(13, "Permission denied", "out.srt")))
    assert (unwritable.status, unwritable.message) == (1, "out.srt: Permission denied")
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C stops the caller
        attempt(raising(KeyboardInterrupt()))
    with pytest.raises(ZeroDivisionError):  # a bug is no bad input
        attempt(lambda: 1 / 0)
    assert overall([]) == 0 and overall([0, 3, 0]) == 3 and overall([3, 1, 0]) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_progress_of_fix_and_batch(monkeypatch, tty):
    """One progress class: off a terminal each new stage (in a batch, each new file) once; on a
    terminal rich's progress bars; finished batch pairs on their own lines; nothing when quiet."""
    from subsync.batch import Outcome, Pair
    from subsync.cli import Progress

    for quiet in (False, True):
        err = _Terminal() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        fix = Progress(quiet)
        fix("decoding audio", 0, 1)
        fix("aligning lines", 1, 4)
        fix("aligning lines", 2, 4)
        fix.finish()
        a, b = Pair(Path("a.mkv"), Path("a.srt"), Path()), Pair(Path("b.mkv"), Path("b.srt"), Path())
        many = Progress(quiet, pairs=2)
        many.pair_stage(0, a, "decoding audio", 0, 1)
        many.pair_stage(0, a, "aligning lines", 1, 2)
        many.done(Outcome(a, Path("a.synced.srt"), "synced"))
        many.pair_stage(1, b, "decoding audio", 0, 1)
        many.done(Outcome(b, Path("b.synced.srt"), "failed", "broken"))
        many.finish()
        if quiet:
            assert err.getvalue() == ""
        elif tty:  # rich's bars: the stage and its percentage, the finished pairs printed above
            out = err.getvalue()
            assert "aligning lines" in out and "50%" in out and "b.mkv: decoding audio" in out, out
            assert "[1/2] synced: a.synced.srt\n" in out and "[2/2] failed: b.srt\n" in out, out
            assert "files" in out
        else:
            assert err.getvalue() == (
                "decoding audio...\naligning lines...\n"
                "[1/2   0%] a.mkv...\n[1/2] synced: a.synced.srt\n"
                "[2/2  50%] b.mkv...\n[2/2] failed: b.srt\n"
            )


@pytest.fixture()
def jfk_srt(tmp_path) -> Path:
    path = tmp_path / "jfk.srt"
    # CRLF, a BOM and a tag: they must all survive; the times are 2.5 s late.
    path.write_bytes(("\ufeff1\r\n00:00:02,800 --> 00:00:13,000\r\n<i>" + JFK_TEXT + "</i>\r\n").encode())
    return path


def test_missing_media_is_one_line_error(tmp_path, jfk_srt, loaded):
    proc = invoke("fix", tmp_path / "nope.mp4", jfk_srt)
    assert one_line_error(proc) == f"subsync: error: media file not found: {tmp_path / 'nope.mp4'}"
    assert proc.returncode == 1 and loaded == []  # no model was asked for
    assert not (tmp_path / "jfk.synced.srt").exists()


def test_not_a_subtitle_file_is_one_line_error(tmp_path):
    bad = tmp_path / "notes.srt"
    bad.write_text("hello, this is not a subtitle file\n")
    proc = invoke("fix", JFK, bad)
    assert one_line_error(proc).startswith(f"subsync: error: {bad}: ") and proc.returncode == 1


def test_media_without_audio_is_one_line_error(tmp_path, jfk_srt):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 4096)
    proc = invoke("fix", fake, jfk_srt)
    assert str(fake) in one_line_error(proc) and proc.returncode == 1
    assert not (tmp_path / "jfk.synced.srt").exists()


def test_media_without_speech_is_one_line_error(tmp_path, jfk_srt):
    proc = invoke("fix", room_tone(tmp_path / "room_tone.wav"), jfk_srt)
    line = one_line_error(proc)
    assert "no speech" in line and proc.returncode == 3
    assert not (tmp_path / "jfk.synced.srt").exists()


def test_another_episodes_subtitle_is_refused_with_exit_code_3_unless_forced(tmp_path):
    other = tmp_path / "other.srt"
    other.write_text(
        "1\n00:00:01,000 --> 00:00:04,000\nThe quarterly report shows rising sales.\n\n"
        "2\n00:00:05,000 --> 00:00:09,000\nGarden furniture did best of all.\n"
    )
    before = other.read_bytes()
    proc = invoke("fix", JFK, other, "--language", "en")
    line = one_line_error(proc)
    assert proc.returncode == 3 and "refused" in line and "no line of it is heard" in line and "--force" in line
    assert not (tmp_path / "other.synced.srt").exists() and other.read_bytes() == before
    forced = invoke("fix", JFK, other, "--language", "en", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "WRITTEN DESPITE THE SELF-CHECK" in forced.stderr
    written = (tmp_path / "other.synced.srt").read_text()
    assert [b for b in written.split("\n") if "-->" not in b] == [
        b for b in before.decode().split("\n") if "-->" not in b
    ]


def test_conflicting_options(tmp_path, jfk_srt):
    proc = invoke("fix", JFK, jfk_srt, "--in-place", "-o", tmp_path / "x.srt")
    assert "--in-place and --output exclude each other" in one_line_error(proc) and proc.returncode == 2
    before = jfk_srt.read_bytes()
    assert "--in-place" in one_line_error(invoke("fix", JFK, jfk_srt, "-o", jfk_srt))
    assert jfk_srt.read_bytes() == before


def test_unknown_model_is_one_line_error(monkeypatch, jfk_srt):
    from subsync.whisper import listener

    monkeypatch.setattr(listener, "load_listener", REAL_LOAD_LISTENER)  # the real loader refuses it
    proc = invoke("fix", JFK, jfk_srt, "--model", "/no/such/model/dir")
    line = one_line_error(proc)
    assert "/no/such/model/dir" in line and proc.returncode == 1
    assert not (jfk_srt.parent / "jfk.synced.srt").exists()


@pytest.mark.model
def test_fix_end_to_end(tmp_path, jfk_srt):
    before = jfk_srt.read_bytes()
    report = tmp_path / "report.json"
    proc = run("fix", JFK, jfk_srt, "--report", report, "--language", "en")  # a subprocess, the real model
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "jfk.synced.srt"
    data = out.read_bytes()
    assert jfk_srt.read_bytes() == before  # input untouched
    assert data.startswith(b"\xef\xbb\xbf1\r\n") and data.endswith(b"</i>\r\n")
    assert data.replace(b"\r\n", b"").count(b"\n") == 0  # line endings kept
    assert ("<i>" + JFK_TEXT + "</i>").encode() in data
    start = data.split(b"\r\n")[1][:12].decode()
    seconds = int(start[6:8]) + int(start[9:12]) / 1000
    assert abs(seconds - 0.3) <= 0.3, start  # "And so" is spoken from ~0.3 s
    summary = proc.stderr.strip().splitlines()[-1]
    assert "offset" in summary and "drift" in summary and "confidence" in summary
    parsed = json.loads(report.read_text())
    assert parsed["language"] == "en" and len(parsed["lines"]) == 1
    words = parsed["lines"][0]["words"]  # LineResult.words in the report
    assert [w["text"] for w in words][:3] == ["And", "so,", "my"], words[:3]
    assert all(set(w) == {"text", "start_s", "end_s", "confidence"} for w in words)
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(words, words[1:]))


def test_in_place_keeps_a_backup(tmp_path, jfk_srt, loaded):
    before = jfk_srt.read_bytes()
    proc = invoke("fix", JFK, jfk_srt, "--in-place", "--quiet", "--model", "tiny.en")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout == "" and loaded == ["tiny.en"]
    assert (tmp_path / "jfk.srt.bak").read_bytes() == before
    after = jfk_srt.read_bytes().split(b"\r\n")
    assert after[1] != before.split(b"\r\n")[1]  # only the times changed
    assert after[:1] + after[2:] == before.split(b"\r\n")[:1] + before.split(b"\r\n")[2:]
    assert abs(srt_starts(jfk_srt.read_bytes())[0] - 0.32) <= 0.1


def test_offset_beyond_the_search_is_refused_then_found_with_wider_search(monkeypatch, tmp_path):
    from subsync.replay import Utterance

    use_replay(
        monkeypatch,
        [
            Utterance("And so my fellow Americans", 0.32, 2.3),
            Utterance("ask not what your country can do for you", 3.3, 7.6),
        ],
    )
    far = tmp_path / "far.srt"
    far.write_text(
        "1\n00:20:01,000 --> 00:20:03,000\nAnd so my fellow Americans\n\n"
        "2\n00:20:05,000 --> 00:20:09,000\nask not what your country can do for you\n"
    )
    line = one_line_error(invoke("fix", JFK, far, "--language", "en"))
    assert "--max-offset" in line
    assert not (tmp_path / "far.synced.srt").exists()
    proc = invoke("fix", JFK, far, "--language", "en", "--max-offset", "1500", "-q")
    assert proc.returncode == 0, proc.stderr
    starts = srt_starts((tmp_path / "far.synced.srt").read_bytes())
    assert np.abs(np.array(starts) - [0.32, 3.3]).max() <= 0.3, starts  # where each is spoken


def test_fast_mode_from_the_command_line(tmp_path, long_speech):
    media, cues = long_speech
    subs = tmp_path / "long.srt"
    subs.write_bytes(distorted_srt(cues, 1.0, 12.5))
    proc = invoke("fix", media, subs, "--fast", "--model", "no-such-model")
    assert proc.returncode == 0, proc.stderr
    assert "every line moved by the time map (from speech activity alone)" in proc.stderr
    starts = srt_starts((tmp_path / "long.synced.srt").read_bytes())
    assert np.abs(np.array(starts) - [c[0] for c in cues]).max() < 0.1


def _stamp(t_s: float) -> str:
    from subsync.subtitles import format_timestamp

    return format_timestamp(t_s)


def _numbered(cues, word: str) -> list[tuple[float, float, str]]:
    """Regularly spaced cues with numbered text: "WORD 1", "WORD 2"..."""
    return [(a, b, f"{word} {i}") for i, (a, b) in enumerate(cues, 1)]


def test_reference_mode_needs_no_media(tmp_path):
    ref = tmp_path / "good.fr.srt"
    subs = tmp_path / "bad.srt"
    rng = np.random.default_rng(3)  # irregular, as dialogue is (a periodic pattern is ambiguous)
    starts = 3.0 + np.cumsum(rng.uniform(2.5, 9.0, 60))
    cues = [(round(s, 2), round(s + d, 2)) for s, d in zip(starts, rng.uniform(0.8, 2.2, 60))]
    ref.write_bytes(distorted_srt(_numbered(cues, "Bonjour"), 1.0, 0.0))
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 1.0, 12.5))
    proc = invoke("fix", "--reference", ref, subs)
    assert proc.returncode == 0, proc.stderr
    assert "offset -12.500 s" in proc.stderr and "from the reference subtitles" in proc.stderr
    out = (tmp_path / "bad.synced.srt").read_text()
    assert out.split("\n")[1] == f"{_stamp(cues[0][0])} --> {_stamp(cues[0][1])}"
    assert "Hello 60" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("fix", "--reference", "good.srt"), "missing argument"),
        (("fix", "media.mkv", "subs.srt", "--reference", "good.srt"), "--reference replaces MEDIA"),
    ],
)
def test_reference_mode_usage_errors(args, message):
    proc = invoke(*args)
    assert proc.returncode == 2
    assert message in one_line_error(proc)


def test_reference_stream_inside_the_media(tmp_path):
    """A Matroska file with a text subtitle stream: SUBS syncs to that stream's timing."""

    cues = [(3.0 + 7.0 * i, 5.0 + 7.0 * i + (i % 3)) for i in range(40)]
    embedded = tmp_path / "embedded.srt"
    embedded.write_bytes(distorted_srt(_numbered(cues, "Hallo"), 1.0, 0.0))
    movie = tmp_path / "movie.mkv"
    ffmpeg("-f lavfi -i anullsrc=r=8000:cl=mono -i", embedded, "-t 290 -c:a flac -c:s srt -map 0:a -map 1:s", movie)
    subs = tmp_path / "bad.srt"
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 25 / 23.976, 9.0))
    proc = invoke("fix", movie, subs, "--reference-stream", "0")
    assert proc.returncode == 0, proc.stderr
    assert "from the reference subtitles" in proc.stderr
    start = (tmp_path / "bad.synced.srt").read_text().split("\n")[1][:12]
    assert abs(int(start[6:8]) + int(start[9:12]) / 1000 - 3.0) <= 0.02, start
    missing = invoke("fix", movie, subs, "--reference-stream", "1")
    assert "could not read subtitle stream 1 of" in one_line_error(missing)
    assert missing.returncode == 1


def test_dry_run_prints_the_changes_and_writes_nothing(tmp_path):
    ref = tmp_path / "good.srt"
    subs = tmp_path / "bad.srt"
    cues = [(3.0 + 7.0 * i, 5.0 + 7.0 * i + (i % 3)) for i in range(30)]
    ref.write_bytes(distorted_srt(_numbered(cues, "Bonjour"), 1.0, 0.0))
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 1.0, 4.0))
    before = subs.read_bytes()
    proc = invoke("fix", "--reference", ref, subs, "--dry-run", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    assert len(printed) == 30
    assert printed[0].split() == [
        "1",
        _stamp(7.0),
        "-->",
        _stamp(9.0),
        "=>",
        _stamp(3.0),
        "-->",
        _stamp(5.0),
        "-4.000",
        "s",
        "mapped",
    ]
    assert "dry run, nothing written" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.srt", "good.srt"]
    assert subs.read_bytes() == before


def test_audio_track_by_language_tag(tmp_path, jfk_srt):
    """The speech is on the second audio track, tagged English; the first is silent German."""

    movie = tmp_path / "dubbed.mkv"
    ffmpeg(
        "-f lavfi -i anullsrc=r=16000:cl=mono -i",
        JFK,
        "-t 11 -map 0:a -map 1:a -c:a flac -metadata:s:a:0 language=ger -metadata:s:a:1 language=eng",
        movie,
    )
    proc = invoke("fix", movie, jfk_srt, "--audio-track", "en", "-o", tmp_path / "out.srt")
    assert proc.returncode == 0, proc.stderr
    assert abs(srt_starts((tmp_path / "out.srt").read_bytes())[0] - 0.32) <= 0.1  # heard on track 1
    missing = invoke("fix", movie, jfk_srt, "--audio-track", "fr", "-o", tmp_path / "never.srt")
    assert "is tagged 'fr' (audio tracks: 0 ger, 1 eng)" in one_line_error(missing)
    assert not (tmp_path / "never.srt").exists()


def test_several_pairs_one_model_other_formats_and_a_plot(tmp_path, jfk_srt, loaded):
    """fix takes several MEDIA SUBS pairs; --format converts; --plot draws a PNG; a WebVTT
    input comes back as WebVTT with only its times changed."""
    vtt = tmp_path / "jfk.en.vtt"
    vtt.write_bytes(b"WEBVTT\n\nNOTE kept\n\n00:02.800 --> 00:13.000 line:90%\n<i>" + JFK_TEXT.encode() + b"</i>\n")
    proc = invoke("fix", JFK, jfk_srt, JFK, vtt, "--language", "en", "--jobs", "1")
    assert proc.returncode == 0, proc.stderr
    assert loaded == ["base"]  # one model for both pairs
    assert abs(srt_starts((tmp_path / "jfk.synced.srt").read_bytes())[0] - 0.32) <= 0.1
    out = (tmp_path / "jfk.en.synced.vtt").read_bytes()
    start = out.split(b"\n")[4][:9].decode()
    assert abs(float(start[3:]) - 0.32) <= 0.1 and start.startswith("00:00.")
    assert out.replace(out.split(b"\n")[4].split(b" line:")[0], b"") == vtt.read_bytes().replace(
        b"00:02.800 --> 00:13.000", b""
    )  # only the times changed
    converted = tmp_path / "jfk.synced.ass"
    plot = tmp_path / "jfk.png"
    proc = invoke("fix", JFK, jfk_srt, "--language", "en", "--format", "ass", "--plot", plot)
    assert proc.returncode == 0, proc.stderr
    ass = converted.read_text()
    assert ass.startswith("[Script Info]") and ass.count("Dialogue:") == 1
    assert ass.endswith("\nDialogue: 0,0:00:00.29,0:00:10.49,Default,,0,0,0,,{\\i1}" + JFK_TEXT + "{\\i0}\n"), ass
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--format" in one_line_error(invoke("fix", JFK, jfk_srt, "--format", "docx"))
    assert "one MEDIA SUBS pair" in one_line_error(invoke("fix", JFK, jfk_srt, JFK, vtt, "-o", tmp_path / "x.srt"))
    assert "--in-place" in one_line_error(invoke("fix", JFK, jfk_srt, "--in-place", "--format", "vtt"))
    assert "--plot" in one_line_error(invoke("fix", JFK, jfk_srt, "--plot", tmp_path / "plot.txt"))
    proc = invoke("fix", JFK, jfk_srt, "--language", "en", "-o", tmp_path / "named.vtt")  # the suffix says vtt
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "named.vtt").read_text() == f"WEBVTT\n\n00:00:00.290 --> 00:00:10.490\n<i>{JFK_TEXT}</i>\n"


def test_batch_folder_goes_on_past_broken_pairs(tmp_path):
    import json
    import shutil

    shutil.copy(JFK, tmp_path / "Show.S01E01.flac")
    (tmp_path / "Show.S01E01.en.srt").write_bytes(("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n").encode())
    shutil.copy(JFK, tmp_path / "Show.S01E02.flac")
    (tmp_path / "Show.S01E02.srt").write_text("this is not a subtitle file\n")
    room_tone(tmp_path / "Show.S01E03.wav")  # no speech: refused
    (tmp_path / "Show.S01E03.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    (tmp_path / "Extras.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    out = tmp_path / "out"
    proc = invoke("batch", tmp_path, "--language", "en", "--out-dir", out)
    assert proc.returncode == 1, proc.stderr  # one pair failed
    assert "Traceback" not in proc.stderr
    synced = (out / "Show.S01E01.en.synced.srt").read_text()
    assert synced.endswith(f"\n{JFK_TEXT}\n") and abs(srt_starts(synced)[0] - 0.32) <= 0.1
    assert not (out / "Show.S01E02.synced.srt").exists() and not (out / "Show.S01E03.synced.srt").exists()
    records = [json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["synced", "failed", "refused"]
    assert records[0]["offset_s"] == pytest.approx(-2.5, abs=0.3) and "not an SRT" in records[1]["message"]
    assert "1 synced, 0 skipped, 1 refused, 1 failed; 1 subtitle(s) without media" in proc.stdout
    again = invoke("batch", tmp_path, "--language", "en", "--out-dir", out, "--skip-existing", "--quiet", "--json")
    records = [json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["synced", "failed", "refused", "skipped", "failed", "refused"]
    assert len({r["batch_started"] for r in records[:3]}) == len({r["batch_started"] for r in records[3:]}) == 1
    assert again.returncode == 1
    # --json: the same records as JSON lines on stdout, and no table
    assert [json.loads(line)["status"] for line in again.stdout.splitlines()] == ["skipped", "failed", "refused"]
    assert "not a folder" in one_line_error(invoke("batch", tmp_path / "nope"))


@pytest.mark.model
@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_interrupted_leaves_no_half_written_file(tmp_path, long_speech, jobs):
    """Ctrl-C (SIGINT) during a batch, with one worker or two, real model, as a user's
    terminal sends it: exit 130, the report of the pairs done, and every subtitle present
    is whole (outputs are renamed into place; no temporary file stays).
    The signal is sent on the line that says the first pair (JFK's 11 s) is written; the
    other three are 7 minutes of speech each, which no machine hears in the moment
    between that line and the signal: one is always interrupted, however busy the cores."""
    import shutil
    import signal

    shutil.copy(JFK, tmp_path / "Ep0.flac")
    (tmp_path / "Ep0.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    media, cues = long_speech
    for k in (1, 2, 3):
        shutil.copy(media, tmp_path / f"Ep{k}.wav")
        (tmp_path / f"Ep{k}.srt").write_bytes(distorted_srt(cues, 1.0, 12.5))
    proc = subprocess.Popen(
        [*SUBSYNC, "batch", str(tmp_path), "--language", "en", "--jobs", str(jobs)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=interruptible,
    )
    seen = []
    for line in proc.stderr:  # the first pair is written: interrupt the others
        seen.append(line)
        if line.startswith("[1/4] synced"):
            break
    proc.send_signal(signal.SIGINT)  # (on the line read, not after a sleep)
    _, rest = proc.communicate(timeout=300)
    assert seen[-1] == f"[1/4] synced: {tmp_path / 'Ep0.synced.srt'}\n", seen
    assert proc.returncode == 130, rest
    assert rest.splitlines()[-1] == (
        f"subsync: error: interrupted after 1 of 4 pairs; no file is half-written; "
        f"report: {tmp_path / 'subsync-batch.jsonl'}"
    ), rest
    assert "Traceback" not in rest
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert sorted(p.name for p in tmp_path.glob("*.synced.srt")) == ["Ep0.synced.srt"]
    written = (tmp_path / "Ep0.synced.srt").read_text()
    assert written.endswith(f"\n{JFK_TEXT}\n") and abs(srt_starts(written)[0] - 0.3) <= 0.3
    records = [json.loads(line) for line in (tmp_path / "subsync-batch.jsonl").read_text().splitlines()]
    assert [(Path(r["subs"]).name, r["status"]) for r in records] == [("Ep0.srt", "synced")]


# ---------------------------------------------------------------- nothing is lost, nothing waits


@pytest.mark.parametrize("how", ["path", "symlink", "hardlink", "report", "plot"])
def test_an_output_that_is_an_input_is_refused(tmp_path, jfk_srt, how):
    """`-o victim.mp3` replaced the media with subtitle text (exit 0): any output that is
    any input, by path, symlink or hard link, is refused before any work."""
    media = tmp_path / "victim.flac"
    media.write_bytes(JFK.read_bytes())
    before = media.read_bytes()
    alias = {"path": media, "symlink": tmp_path / "link.flac", "hardlink": tmp_path / "hard.flac"}.get(how, media)
    if how == "symlink":
        alias.symlink_to(media)
    elif how == "hardlink":
        alias.hardlink_to(media)
    option = {"report": "--report", "plot": "--plot"}.get(how, "-o")
    if how == "plot":
        alias = tmp_path / "victim.png"
        alias.write_bytes(b"png")
        before = alias.read_bytes()
        media = alias
        proc = invoke("fix", alias, jfk_srt, option, alias)
    else:
        proc = invoke("fix", media, jfk_srt, option, alias)
    assert proc.returncode == 2
    assert "is the input file" in one_line_error(proc)
    assert media.read_bytes() == before


def test_an_unwritable_output_fails_before_the_sync(tmp_path, jfk_srt, loaded):
    """A missing or non-folder output directory was reported only after the whole sync."""
    for target in (tmp_path / "no" / "such" / "out.srt", tmp_path, jfk_srt.parent / "jfk.srt" / "x.srt"):
        proc = invoke("fix", JFK, jfk_srt, "-o", target)
        assert proc.returncode == 1
        assert f"cannot write the output {target}" in one_line_error(proc)
        assert "decoding audio" not in proc.stderr and loaded == []  # before the audio and the model


@pytest.fixture()
def model_never_loads(monkeypatch):
    """A model that does not finish loading until the test ends (as torch takes seconds to
    import): a run that fails on its media must not wait for it."""
    from subsync.errors import ModelError
    from subsync.whisper import listener

    release, asked = threading.Event(), []

    def load_listener(spec, device="auto", threads=None, int8=None, states=None):
        asked.append(spec)
        release.wait(timeout=600)
        raise ModelError("the model was waited for")

    monkeypatch.setattr(listener, "load_listener", load_listener)
    yield asked
    release.set()


@pytest.mark.parametrize("make", ["missing", "no audio", "truncated"])
def test_bad_media_fails_without_waiting_for_the_model(tmp_path, jfk_srt, make, model_never_loads):
    """Each took 5-6 s because torch loaded first: the media is checked before anything
    heavy, and a failure does not wait for the model loading beside the decoding (which
    never finishes here: had the run waited, it would fail on the model instead)."""

    media = tmp_path / "media.mp4"
    if make == "no audio":
        ffmpeg("-f lavfi -i color=c=black:s=64x64:d=2 -an", media)
    elif make == "truncated":
        media = tmp_path / "media.flac"
        media.write_bytes(JFK.read_bytes()[:30000])
    proc = invoke("fix", media, jfk_srt, "-o", tmp_path / "out.srt")
    line = one_line_error(proc)
    assert proc.returncode == 1 and str(media) in line and "model" not in line, line
    assert not (tmp_path / "out.srt").exists()


def test_plot_without_matplotlib_fails_before_the_sync_naming_our_extra(monkeypatch, tmp_path, jfk_srt, loaded):
    """`--plot` without matplotlib failed after the whole sync (exit 1, subtitle written) and
    named `subsync[plot]`, another project on the index."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # (import matplotlib: ImportError)
    proc = invoke("fix", JFK, jfk_srt, "-o", tmp_path / "out.srt", "--plot", tmp_path / "p.png")
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert "subsync-whisper[plot]" in line and "decoding audio" not in proc.stderr and loaded == []
    assert not (tmp_path / "out.srt").exists()


def test_flags_show_no_value_in_help():
    """`--in-place <bool>` looked like a flag that takes a value."""
    for command in ("fix", "batch"):
        proc = invoke(command, "--help")
        assert proc.returncode == 0 and "<bool>" not in proc.stdout, proc.stdout


def test_a_silent_track_names_the_track_that_speaks(tmp_path, jfk_srt):
    proc = invoke("fix", two_tracks(tmp_path), jfk_srt, "-o", tmp_path / "out.srt", "--audio-track", "0")
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert "audio track 1 (eng) has speech: --audio-track 1" in line
    assert not (tmp_path / "out.srt").exists()


def test_the_track_in_the_subtitles_language_is_used_and_named(tmp_path, jfk_srt):
    """[untagged silence, eng: the speech] and English subtitles, no option: the English
    track is used, and the summary and --report say which and why."""
    proc = invoke("fix", two_tracks(tmp_path), jfk_srt, "-o", tmp_path / "out.srt", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert "audio track 1 (eng): tagged en, the subtitles' language (identified from their text)" in proc.stderr
    assert abs(srt_starts((tmp_path / "out.srt").read_bytes())[0] - 0.32) <= 0.1
    assert json.loads((tmp_path / "r.json").read_text())["audio_track"] == {
        "index": 1,
        "language": "eng",
        "why": "language",
        "wanted_language": "en",
        "wanted_from": "text",
    }


def test_a_stray_cue_far_beyond_the_media_costs_nothing(tmp_path, jfk_srt):
    """One cue at 99:59:59 in an 11 s file made the search take 60 s and 3 GB: it is left
    out of the search, mapped, and reported as beyond the media."""
    stray = tmp_path / "stray.srt"
    stray.write_bytes(jfk_srt.read_bytes() + b"\r\n2\r\n99:59:59,000 --> 99:59:59,900\r\nstray\r\n")
    proc = invoke("fix", JFK, stray, "-o", tmp_path / "out.srt", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert "1 line placed beyond the end of the media" in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outside_media"] == 1
    assert abs(report["lines"][0]["start_s"] - 0.32) < 0.1  # the real line is still synced
    assert report["offset_s"] == pytest.approx(-2.48, abs=0.1)  # (the search's span follows the media, not the stray)


@pytest.mark.model
def test_the_bazarr_command_of_the_readme(tmp_path, jfk_srt):
    """The README's Bazarr post-processing command, run as Bazarr runs it (through a shell,
    placeholders filled; a subprocess with the real model): the subtitle re-timed in place
    (only its times changed) with its .bak, one JSON object on stdout, exit 0."""
    import os
    import re
    import shlex
    import shutil

    readme = (Path(__file__).parent.parent / "docs" / "integrations.md").read_text()
    section = readme[readme.index("## Bazarr") :]
    command = re.search(r"```sh\n(subsync fix .*?)\n```", section).group(1)
    episode, subtitles = tmp_path / "Show S01E01.flac", tmp_path / "Show S01E01.en.srt"
    shutil.copy(JFK, episode)
    shutil.copy(jfk_srt, subtitles)
    before = subtitles.read_bytes()
    filled = (
        command.replace('"{{episode}}"', shlex.quote(str(episode)))
        .replace('"{{subtitles}}"', shlex.quote(str(subtitles)))
        .replace('"{{subtitles_language_code2}}"', "en")
    )
    assert "{{" not in filled
    if shutil.which("subsync") is None:  # (not installed as a script: the same module)
        filled = filled.replace("subsync ", f"{shlex.quote(sys.executable)} -m subsync ", 1)
    proc = subprocess.run(filled, shell=True, capture_output=True, text=True, timeout=600, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["status"], summary["output"], summary["backup"]) == ("synced", str(subtitles), f"{subtitles}.bak")
    assert summary["offset_s"] == pytest.approx(-2.5, abs=0.3) and proc.stderr == ""
    assert Path(str(subtitles) + ".bak").read_bytes() == before
    after = subtitles.read_bytes().split(b"\r\n")
    assert after[:1] + after[2:] == before.split(b"\r\n")[:1] + before.split(b"\r\n")[2:]  # only the times
    assert abs(srt_starts(subtitles.read_bytes())[0] - 0.3) <= 0.3


def test_json_for_several_pairs_and_failures(tmp_path, jfk_srt):
    """--json: a list for several pairs, a failed pair included (status, message); the exit
    status is the usual one."""
    other = tmp_path / "other.srt"
    other.write_bytes(jfk_srt.read_bytes())
    proc = invoke("fix", tmp_path / "missing.flac", jfk_srt, tmp_path / "gone.flac", other, "--json", "--fast")
    assert proc.returncode == 1
    records = json.loads(proc.stdout)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert records[0]["message"] == f"media file not found: {tmp_path / 'missing.flac'}"
    assert (records[1]["media"], records[1]["subs"], records[1]["output"]) == (
        str(tmp_path / "gone.flac"),
        str(other),
        str(tmp_path / "other.synced.srt"),
    )
    assert proc.stderr.count("subsync: error: media file not found") == 2


# ---------------------------------------------------------------- all cores for a batch


def test_batch_jobs_give_the_same_bytes_report_and_table(tmp_path):
    """`--jobs 2`: two worker processes, each with its own model (here the replay listener,
    in each worker); the outputs byte-identical
    to `--jobs 1`, the table in pair order and the report's records the same (appended as
    the pairs finish, in any order), --skip-existing and --json (JSON lines as pairs finish)
    as before."""
    import shutil

    for k in range(3):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    (tmp_path / "Ep9.flac").write_bytes(b"\x00" * 4096)  # a broken pair
    (tmp_path / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        proc = invoke("batch", tmp_path, "--language", "en", "--out-dir", out, "--jobs", jobs)
        assert proc.returncode == 1, proc.stderr  # the broken pair
        records = sorted(
            (json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()),
            key=lambda record: record["subs"],
        )
        assert [r["status"] for r in records] == ["synced", "synced", "synced", "failed"]
        runs[jobs] = (
            {p.name: p.read_bytes() for p in out.glob("*.synced.srt")},
            [(r["subs"], r["status"], r.get("offset_s")) for r in records],
        )
        table = [line.split()[:2] for line in proc.stdout.splitlines()[1:5]]
        assert table == [["synced", str(tmp_path / f"Ep{k}.srt")] for k in range(3)] + [
            ["failed", str(tmp_path / "Ep9.srt")]
        ]
    assert runs[1] == runs[2] and len(runs[1][0]) == 3
    assert all(abs(srt_starts(data)[0] - 0.32) <= 0.1 for data in runs[1][0].values())
    again = invoke(
        "batch",
        tmp_path,
        "--language",
        "en",
        "--out-dir",
        tmp_path / "out2",
        "--jobs",
        "2",
        "--skip-existing",
        "--json",
    )
    assert sorted(json.loads(line)["status"] for line in again.stdout.splitlines()) == ["failed"] + ["skipped"] * 3
    assert "--jobs must be 1 or more" in one_line_error(invoke("batch", tmp_path, "--jobs", "0"))


def test_fix_with_several_pairs_in_workers_reads_as_one_after_the_other(tmp_path):
    """`fix A a B b C c --jobs 2`: two worker processes; the same output bytes, summary lines
    (in the order given), error line, --json records and exit status as `--jobs 1`."""
    import shutil

    args = []
    for k in range(2):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
        args += [tmp_path / f"Ep{k}.flac", tmp_path / f"Ep{k}.srt"]
    (tmp_path / "Ep9.flac").write_bytes(b"\x00" * 4096)  # a broken pair
    (tmp_path / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    args[2:2] = [tmp_path / "Ep9.flac", tmp_path / "Ep9.srt"]
    runs = {}
    for jobs in (1, 2):
        plain = invoke("fix", *args, "--language", "en", "--jobs", jobs)
        outputs = {p.name: p.read_bytes() for p in tmp_path.glob("*.synced.srt")}
        for p in tmp_path.glob("*.synced.srt"):
            p.unlink()
        as_json = invoke("fix", *args, "--language", "en", "--jobs", jobs, "--json")
        summaries = [line for line in plain.stderr.splitlines() if ": offset" in line or "error" in line]
        runs[jobs] = (plain.returncode, as_json.returncode, outputs, summaries, json.loads(as_json.stdout))
        for p in tmp_path.glob("*.synced.srt"):
            p.unlink()
    assert runs[1] == runs[2]
    code, _, outputs, summaries, records = runs[2]
    assert code == 1 and len(outputs) == 2 and [r["status"] for r in records] == ["synced", "failed", "synced"]
    assert all(abs(srt_starts(data)[0] - 0.32) <= 0.1 for data in outputs.values())
    assert [line.split(":")[0] for line in summaries] == [
        str(tmp_path / "Ep0.synced.srt"),
        "subsync",
        str(tmp_path / "Ep1.synced.srt"),
    ]
    assert "--jobs must be 1 or more" in one_line_error(invoke("fix", *args, "--jobs", "0"))


def test_two_pairs_that_would_write_one_file_are_a_usage_error(tmp_path, jfk_srt):
    """`fix a.flac x.srt b.flac x.srt`: both would write x.synced.srt (one after the other the
    last won; in workers, a race): refused before any work."""
    proc = invoke("fix", JFK, jfk_srt, tmp_path / "other.flac", jfk_srt)
    assert proc.returncode == 2 and "would both be written to" in one_line_error(proc)


def test_default_jobs_follow_cores_and_memory():
    from subsync.batch import MODEL_MEMORY_GB, THREADS_PER_JOB, default_jobs

    assert default_jobs(cpus=16, memory_gb=64, device="cuda") == 1  # one model on the GPU
    assert default_jobs(cpus=16, memory_gb=64) == 16 // THREADS_PER_JOB
    assert default_jobs(cpus=16, memory_gb=3 * MODEL_MEMORY_GB) == 3
    assert default_jobs(cpus=2, memory_gb=0.5) == 1


# ---------------------------------------------------------------- subtitles inside the media


def _film_with_subtitle_streams(tmp_path: Path) -> tuple[Path, list[float]]:
    """A recording in an mkv over black video with two English subtitle streams, both 3 s
    late: the full one, and a forced one holding three of its lines.  Returns the film
    and the reference's starts (the lines' true times)."""
    from subsync.subtitles import read_srt, render_srt

    case = SPEECH / "mfa_cold_corpus3"
    reference = read_srt(case / "reference.srt")
    full, forced = tmp_path / "full.srt", tmp_path / "forced.srt"
    full.write_bytes(render_srt(reference, [(c.start_s + 3.0, c.end_s + 3.0) for c in reference.cues]))
    kept = (2, 5, 8)
    forced.write_text(
        "\n".join(
            f"{n + 1}\n{_stamp(reference.cues[i].start_s + 3.0)} --> "
            f"{_stamp(reference.cues[i].end_s + 3.0)}\n{reference.cues[i].text}\n"
            for n, i in enumerate(kept)
        )
    )
    film = tmp_path / "film.mkv"
    ffmpeg(
        "-f lavfi -i color=black:s=64x48:r=25:d=30 -i",
        case / "media.wav",
        "-i",
        full,
        "-i",
        forced,
        "-map 0:v -map 1:a -map 2 -map 3 -c:v mpeg4 -c:a flac -c:s srt -metadata:s:s:0 language=eng -metadata:s:s:1 language=eng -disposition:s:1 forced",
        film,
    )
    return film, [c.start_s for c in reference.cues]


def test_the_subtitle_streams_inside_a_film_are_synced_into_sidecars(monkeypatch, tmp_path):
    from subsync.subtitles import read_srt

    use_replay(monkeypatch, script_from_srt(SPEECH / "mfa_cold_corpus3" / "reference.srt"))
    film, starts = _film_with_subtitle_streams(tmp_path)
    before = film.read_bytes()
    proc = invoke("fix", film)
    assert proc.returncode == 0, proc.stderr
    full, forced = read_srt(tmp_path / "film.en.srt"), read_srt(tmp_path / "film.en.forced.srt")
    assert np.abs(np.array([c.start_s for c in full.cues]) - starts).max() < 0.15
    assert np.abs(np.array([c.start_s for c in forced.cues]) - [starts[i] for i in (2, 5, 8)]).max() < 0.15
    assert film.read_bytes() == before  # the container is only read
    assert "film.en.forced.srt (stream 1 (eng))" in proc.stderr
    again = invoke("fix", film)  # no sidecar is replaced
    assert again.returncode == 1 and again.stderr.count("exists and is not replaced") == 2, again.stderr
    one = invoke("fix", film, "--stream", "0", "-o", tmp_path / "one.srt", "--json")
    assert one.returncode == 0, one.stderr
    record = json.loads(one.stdout)
    assert record["stream"] == 0 and record["audio_track"]["why"] == "only"
    assert (tmp_path / "one.srt").read_bytes() == (tmp_path / "film.en.srt").read_bytes()


def test_media_alone_without_text_subtitles_is_one_line_error(tmp_path):
    proc = invoke("fix", tmp_path / "a.mp4")  # MEDIA alone is no usage error: a missing one is
    assert proc.returncode == 1 and "media file not found" in one_line_error(proc)
    proc = invoke("fix", JFK)
    assert proc.returncode == 1
    assert "has no text subtitle stream to sync" in one_line_error(proc)
    proc = invoke("fix", JFK, "--stream", "0")
    assert proc.returncode == 2 and "has no subtitle stream 0 (it has 0)" in one_line_error(proc)
    proc = invoke("fix", JFK, JFK, "--stream", "0")
    assert proc.returncode == 2 and "--stream picks a subtitle stream of MEDIA given alone" in one_line_error(proc)


def test_image_subtitle_streams_are_named_and_skipped(monkeypatch, tmp_path):
    """ffmpeg cannot make a picture subtitle from text, so the streams are given: each image
    stream is named on one line, and with no text stream left the run fails on one line."""
    from typer.testing import CliRunner

    from subsync import cli, media

    film = tmp_path / "film.mkv"
    film.write_bytes(b"not read: the streams are given")
    monkeypatch.setattr(
        media,
        "subtitle_streams",
        lambda path: [
            media.SubtitleStream(0, "eng", "hdmv_pgs_subtitle"),
            media.SubtitleStream(1, None, "dvd_subtitle"),
        ],
    )
    done = CliRunner().invoke(cli.app, ["fix", str(film)])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert lines[0].endswith("subtitle stream 0 (eng, hdmv_pgs_subtitle) is pictures of text")
    assert lines[1].endswith("subtitle stream 1 (untagged, dvd_subtitle) is pictures of text")
    assert lines[2] == f"subsync: error: {film} has no text subtitle stream to sync (2 image streams skipped)"
    assert film.read_bytes() == b"not read: the streams are given"
