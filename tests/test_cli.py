"""The command line, run as a subprocess like users run it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import distorted_srt
from helpers import JFK, JFK_TEXT, SPEECH, SUBSYNC, one_line_error, run


def test_help_is_instant_and_lists_the_options():
    started = time.monotonic()
    proc = run("fix", "--help")
    assert proc.returncode == 0
    for option in ("--output", "--model", "--language", "--device", "--audio-track", "--report",
                   "--in-place", "--quiet", "--max-offset"):
        assert option in proc.stdout
    # Importing torch takes seconds; --help must not.
    check = subprocess.run([sys.executable, "-c", "import sys, subsync.cli; print('torch' in sys.modules)"],
                           capture_output=True, text=True)
    assert check.stdout.strip() == "False"
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("args", [("fix",), ("fix", "a.srt"), ("fix", "a", "b", "--max-offset", "x"),
                                  ("fix", "a", "b", "--audio-track=-1"),
                                  ("bogus",), ("fix", "--no-such-option", "a", "b")])
def test_usage_errors_are_one_line(args):
    proc = run(*args)
    assert proc.returncode == 2
    one_line_error(proc)


def test_version():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("subsync ")


def test_fix_and_batch_list_the_same_sync_options():
    """The sync options are declared once (cli.SyncArgs) and both commands take them."""
    import dataclasses

    from subsync.cli import SyncArgs

    fix_help, batch_help = run("fix", "--help").stdout, run("batch", "--help").stdout
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
    from subsync.render import failure      # (the command line's words: it names --force)

    _, refused = attempt(raising(RefusedError("x.srt: no line of it is heard", result=object())), failure)
    assert (refused.status, refused.reason, refused.message) == (
        3, "x.srt: no line of it is heard",
        "refused: x.srt: no line of it is heard; nothing written (--force writes it anyway)")
    assert attempt(raising(RefusedError("no speech")))[1].message == "refused: no speech; nothing written"
    _, broken = attempt(raising(MediaError("m.mkv: no audio stream")))
    assert (broken.status, broken.reason, broken.message) == (1, "m.mkv: no audio stream", "m.mkv: no audio stream")
    _, unwritable = attempt(raising(PermissionError(13, "Permission denied", "out.srt")))
    assert (unwritable.status, unwritable.message) == (1, "out.srt: Permission denied")
    with pytest.raises(KeyboardInterrupt):              # Ctrl-C stops the caller
        attempt(raising(KeyboardInterrupt()))
    with pytest.raises(ZeroDivisionError):              # a bug is no bad input
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
        elif tty:          # rich's bars: the stage and its percentage, the finished pairs printed above
            out = err.getvalue()
            assert "aligning lines" in out and "50%" in out and "b.mkv: decoding audio" in out, out
            assert "[1/2] synced: a.synced.srt\n" in out and "[2/2] failed: b.srt\n" in out, out
            assert "files" in out
        else:
            assert err.getvalue() == ("decoding audio...\naligning lines...\n"
                                      "[1/2   0%] a.mkv...\n[1/2] synced: a.synced.srt\n"
                                      "[2/2  50%] b.mkv...\n[2/2] failed: b.srt\n")


@pytest.fixture()
def jfk_srt(tmp_path) -> Path:
    path = tmp_path / "jfk.srt"
    # CRLF, a BOM and a tag: they must all survive; the times are 2.5 s late.
    path.write_bytes(("\ufeff1\r\n00:00:02,800 --> 00:00:13,000\r\n<i>" + JFK_TEXT + "</i>\r\n").encode())
    return path


def test_missing_media_is_one_line_error(tmp_path, jfk_srt):
    line = one_line_error(run("fix", tmp_path / "nope.mp4", jfk_srt))
    assert "nope.mp4" in line
    assert not (tmp_path / "jfk.synced.srt").exists()


def test_not_a_subtitle_file_is_one_line_error(tmp_path):
    bad = tmp_path / "notes.srt"
    bad.write_text("hello, this is not a subtitle file\n")
    line = one_line_error(run("fix", JFK, bad))
    assert "notes.srt" in line


def test_media_without_audio_is_one_line_error(tmp_path, jfk_srt):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"\x00" * 4096)
    one_line_error(run("fix", fake, jfk_srt))


def _room_tone(path: Path) -> Path:
    """Five seconds of digital silence: media without speech."""
    import wave

    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(b"\x00\x00" * 16000 * 5)
    return path


def test_media_without_speech_is_one_line_error(tmp_path, jfk_srt):
    proc = run("fix", _room_tone(tmp_path / "room_tone.wav"), jfk_srt)
    line = one_line_error(proc)
    assert "no speech" in line and proc.returncode == 3
    assert not (tmp_path / "jfk.synced.srt").exists()


@pytest.mark.model
def test_another_episodes_subtitle_is_refused_with_exit_code_3_unless_forced(tmp_path):
    other = tmp_path / "other.srt"
    other.write_text("1\n00:00:01,000 --> 00:00:04,000\nThe quarterly report shows rising sales.\n\n"
                     "2\n00:00:05,000 --> 00:00:09,000\nGarden furniture did best of all.\n")
    before = other.read_bytes()
    proc = run("fix", JFK, other, "--language", "en")
    line = one_line_error(proc)
    assert proc.returncode == 3 and "refused" in line and "no line of it is heard" in line and "--force" in line
    assert not (tmp_path / "other.synced.srt").exists() and other.read_bytes() == before
    forced = run("fix", JFK, other, "--language", "en", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "WRITTEN DESPITE THE SELF-CHECK" in forced.stderr
    assert (tmp_path / "other.synced.srt").exists()


def test_conflicting_options(tmp_path, jfk_srt):
    one_line_error(run("fix", JFK, jfk_srt, "--in-place", "-o", tmp_path / "x.srt"))
    before = jfk_srt.read_bytes()
    assert "--in-place" in one_line_error(run("fix", JFK, jfk_srt, "-o", jfk_srt))
    assert jfk_srt.read_bytes() == before


def test_unknown_model_is_one_line_error(jfk_srt):
    line = one_line_error(run("fix", JFK, jfk_srt, "--model", "/no/such/model/dir"))
    assert "model" in line


@pytest.mark.model
def test_fix_end_to_end(tmp_path, jfk_srt):
    before = jfk_srt.read_bytes()
    report = tmp_path / "report.json"
    proc = run("fix", JFK, jfk_srt, "--report", report, "--language", "en")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "jfk.synced.srt"
    data = out.read_bytes()
    assert jfk_srt.read_bytes() == before                       # input untouched
    assert data.startswith(b"\xef\xbb\xbf1\r\n") and data.endswith(("</i>\r\n").encode())
    assert data.replace(b"\r\n", b"").count(b"\n") == 0          # line endings kept
    assert ("<i>" + JFK_TEXT + "</i>").encode() in data
    start = data.split(b"\r\n")[1][:12].decode()
    seconds = int(start[6:8]) + int(start[9:12]) / 1000
    assert abs(seconds - 0.3) <= 0.3, start                      # "And so" is spoken from ~0.3 s
    summary = proc.stderr.strip().splitlines()[-1]
    assert "offset" in summary and "drift" in summary and "confidence" in summary
    parsed = json.loads(report.read_text())
    assert parsed["language"] == "en" and len(parsed["lines"]) == 1
    words = parsed["lines"][0]["words"]                         # LineResult.words in the report
    assert [w["text"] for w in words][:3] == ["And", "so,", "my"], words[:3]
    assert all(set(w) == {"text", "start_s", "end_s", "confidence"} for w in words)
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(words, words[1:]))


@pytest.mark.model
def test_in_place_keeps_a_backup(tmp_path, jfk_srt):
    before = jfk_srt.read_bytes()
    proc = run("fix", JFK, jfk_srt, "--in-place", "--quiet", "--model", "tiny.en")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "jfk.srt.bak").read_bytes() == before
    assert jfk_srt.read_bytes() != before


@pytest.mark.model
def test_offset_beyond_the_search_is_refused_then_found_with_wider_search(tmp_path):
    far = tmp_path / "far.srt"
    far.write_text("1\n00:20:01,000 --> 00:20:03,000\nAnd so my fellow Americans\n\n"
                   "2\n00:20:05,000 --> 00:20:09,000\nask not what your country can do for you\n")
    line = one_line_error(run("fix", JFK, far, "--language", "en"))
    assert "--max-offset" in line
    assert not (tmp_path / "far.synced.srt").exists()
    proc = run("fix", JFK, far, "--language", "en", "--max-offset", "1500", "-q")
    assert proc.returncode == 0, proc.stderr
    first = (tmp_path / "far.synced.srt").read_text().splitlines()[1]
    assert first.startswith("00:00:00,"), first                   # "And so" is spoken at ~0.3 s


def test_fast_mode_from_the_command_line(tmp_path, long_speech):
    media, cues = long_speech
    subs = tmp_path / "long.srt"
    subs.write_bytes(distorted_srt(cues, 1.0, 12.5))
    proc = run("fix", media, subs, "--fast", "--model", "no-such-model")
    assert proc.returncode == 0, proc.stderr
    assert "every line moved by the time map (from speech activity alone)" in proc.stderr
    first = (tmp_path / "long.synced.srt").read_text().split("\n")[1]
    assert first.startswith(_stamp(cues[0][0])[:10]), (first, cues[0][0])


def _stamp(t_s: float) -> str:
    from subsync.subtitles import format_timestamp

    return format_timestamp(t_s)


def _numbered(cues, word: str) -> list[tuple[float, float, str]]:
    """Regularly spaced cues with numbered text: "WORD 1", "WORD 2"..."""
    return [(a, b, f"{word} {i}") for i, (a, b) in enumerate(cues, 1)]


def test_reference_mode_needs_no_media(tmp_path):
    ref = tmp_path / "good.fr.srt"
    subs = tmp_path / "bad.srt"
    rng = np.random.default_rng(3)       # irregular, as dialogue is (a periodic pattern is ambiguous)
    starts = 3.0 + np.cumsum(rng.uniform(2.5, 9.0, 60))
    cues = [(round(s, 2), round(s + d, 2)) for s, d in zip(starts, rng.uniform(0.8, 2.2, 60))]
    ref.write_bytes(distorted_srt(_numbered(cues, "Bonjour"), 1.0, 0.0))
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 1.0, 12.5))
    proc = run("fix", "--reference", ref, subs)
    assert proc.returncode == 0, proc.stderr
    assert "offset -12.500 s" in proc.stderr and "from the reference subtitles" in proc.stderr
    out = (tmp_path / "bad.synced.srt").read_text()
    assert out.split("\n")[1] == f"{_stamp(cues[0][0])} --> {_stamp(cues[0][1])}"
    assert "Hello 60" in out


@pytest.mark.parametrize("args, message", [
    (("fix", "--reference", "good.srt"), "missing argument"),
    (("fix", "media.mkv", "subs.srt", "--reference", "good.srt"), "--reference replaces MEDIA"),
])
def test_reference_mode_usage_errors(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in one_line_error(proc)


def test_reference_stream_inside_the_media(tmp_path):
    """A Matroska file with a text subtitle stream: SUBS syncs to that stream's timing."""
    from subsync.media import ffmpeg_binary

    cues = [(3.0 + 7.0 * i, 5.0 + 7.0 * i + (i % 3)) for i in range(40)]
    embedded = tmp_path / "embedded.srt"
    embedded.write_bytes(distorted_srt(_numbered(cues, "Hallo"), 1.0, 0.0))
    movie = tmp_path / "movie.mkv"
    subprocess.run([ffmpeg_binary(), "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
                    "-i", str(embedded), "-t", "290", "-c:a", "flac", "-c:s", "srt",
                    "-map", "0:a", "-map", "1:s", str(movie)], check=True)
    subs = tmp_path / "bad.srt"
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 25 / 23.976, 9.0))
    proc = run("fix", movie, subs, "--reference-stream", "0")
    assert proc.returncode == 0, proc.stderr
    assert "from the reference subtitles" in proc.stderr
    start = (tmp_path / "bad.synced.srt").read_text().split("\n")[1][:12]
    assert abs(int(start[6:8]) + int(start[9:12]) / 1000 - 3.0) <= 0.02, start
    missing = run("fix", movie, subs, "--reference-stream", "1")
    assert "could not read subtitle stream 1 of" in one_line_error(missing)
    assert missing.returncode == 1


def test_dry_run_prints_the_changes_and_writes_nothing(tmp_path):
    ref = tmp_path / "good.srt"
    subs = tmp_path / "bad.srt"
    cues = [(3.0 + 7.0 * i, 5.0 + 7.0 * i + (i % 3)) for i in range(30)]
    ref.write_bytes(distorted_srt(_numbered(cues, "Bonjour"), 1.0, 0.0))
    subs.write_bytes(distorted_srt(_numbered(cues, "Hello"), 1.0, 4.0))
    before = subs.read_bytes()
    proc = run("fix", "--reference", ref, subs, "--dry-run", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    printed = proc.stdout.splitlines()
    assert len(printed) == 30
    assert printed[0].split() == ["1", _stamp(7.0), "-->", _stamp(9.0), "=>", _stamp(3.0), "-->", _stamp(5.0),
                                  "-4.000", "s", "mapped"]
    assert "dry run, nothing written" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.srt", "good.srt"]
    assert subs.read_bytes() == before


@pytest.mark.model
def test_audio_track_by_language_tag(tmp_path, jfk_srt):
    """The speech is on the second audio track, tagged English; the first is silent German."""
    from subsync.media import ffmpeg_binary

    movie = tmp_path / "dubbed.mkv"
    subprocess.run([ffmpeg_binary(), "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-i", str(JFK), "-t", "11", "-map", "0:a", "-map", "1:a", "-c:a", "flac",
                    "-metadata:s:a:0", "language=ger", "-metadata:s:a:1", "language=eng", str(movie)], check=True)
    proc = run("fix", movie, jfk_srt, "--audio-track", "en", "-o", tmp_path / "out.srt")
    assert proc.returncode == 0, proc.stderr
    assert "1 lines re-timed" in proc.stderr or "1 kept" in proc.stderr, proc.stderr
    missing = run("fix", movie, jfk_srt, "--audio-track", "fr", "-o", tmp_path / "never.srt")
    assert "is tagged 'fr' (audio tracks: 0 ger, 1 eng)" in one_line_error(missing)
    assert not (tmp_path / "never.srt").exists()


@pytest.mark.model
def test_several_pairs_one_model_other_formats_and_a_plot(tmp_path, jfk_srt):
    """fix takes several MEDIA SUBS pairs; --format converts; --plot draws a PNG; a WebVTT
    input comes back as WebVTT with only its times changed."""
    vtt = tmp_path / "jfk.en.vtt"
    vtt.write_bytes(b"WEBVTT\n\nNOTE kept\n\n00:02.800 --> 00:13.000 line:90%\n<i>" + JFK_TEXT.encode() + b"</i>\n")
    proc = run("fix", JFK, jfk_srt, JFK, vtt, "--language", "en")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "jfk.synced.srt").exists()
    out = (tmp_path / "jfk.en.synced.vtt").read_bytes()
    assert out.startswith(b"WEBVTT\n\nNOTE kept\n\n00:00.") and b" line:90%\n<i>" in out
    converted = tmp_path / "jfk.synced.ass"
    plot = tmp_path / "jfk.png"
    proc = run("fix", JFK, jfk_srt, "--language", "en", "--format", "ass", "--plot", plot)
    assert proc.returncode == 0, proc.stderr
    assert converted.read_text().startswith("[Script Info]") and "Dialogue: 0,0:00:00." in converted.read_text()
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "--format" in one_line_error(run("fix", JFK, jfk_srt, "--format", "docx"))
    assert "one MEDIA SUBS pair" in one_line_error(run("fix", JFK, jfk_srt, JFK, vtt, "-o", tmp_path / "x.srt"))
    assert "--in-place" in one_line_error(run("fix", JFK, jfk_srt, "--in-place", "--format", "vtt"))
    assert "--plot" in one_line_error(run("fix", JFK, jfk_srt, "--plot", tmp_path / "plot.txt"))
    proc = run("fix", JFK, jfk_srt, "--language", "en", "-o", tmp_path / "named.vtt")    # the suffix says vtt
    assert proc.returncode == 0 and (tmp_path / "named.vtt").read_bytes().startswith(b"WEBVTT")


@pytest.mark.model
def test_batch_folder_goes_on_past_broken_pairs(tmp_path):
    import json
    import shutil

    shutil.copy(JFK, tmp_path / "Show.S01E01.flac")
    (tmp_path / "Show.S01E01.en.srt").write_bytes(
        ("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n").encode())
    shutil.copy(JFK, tmp_path / "Show.S01E02.flac")
    (tmp_path / "Show.S01E02.srt").write_text("this is not a subtitle file\n")
    _room_tone(tmp_path / "Show.S01E03.wav")                                 # no speech: refused
    (tmp_path / "Show.S01E03.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    (tmp_path / "Extras.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    out = tmp_path / "out"
    proc = run("batch", tmp_path, "--language", "en", "--out-dir", out)
    assert proc.returncode == 1, proc.stderr                                  # one pair failed
    assert "Traceback" not in proc.stderr
    assert (out / "Show.S01E01.en.synced.srt").exists()
    assert not (out / "Show.S01E02.synced.srt").exists() and not (out / "Show.S01E03.synced.srt").exists()
    records = [json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["synced", "failed", "refused"]
    assert records[0]["offset_s"] == pytest.approx(-2.5, abs=0.3) and "not an SRT" in records[1]["message"]
    assert "1 synced, 0 skipped, 1 refused, 1 failed; 1 subtitle(s) without media" in proc.stdout
    again = run("batch", tmp_path, "--language", "en", "--out-dir", out, "--skip-existing", "--quiet", "--json")
    records = [json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["synced", "failed", "refused", "skipped", "failed", "refused"]
    assert len({r["batch_started"] for r in records[:3]}) == len({r["batch_started"] for r in records[3:]}) == 1
    assert again.returncode == 1
    # --json: the same records as JSON lines on stdout, and no table
    assert [json.loads(line)["status"] for line in again.stdout.splitlines()] == ["skipped", "failed", "refused"]
    assert "not a folder" in one_line_error(run("batch", tmp_path / "nope"))


@pytest.mark.model
@pytest.mark.parametrize("jobs", [1, 2])
def test_batch_interrupted_leaves_no_half_written_file(tmp_path, jobs):
    """Ctrl-C (SIGINT) during a batch, with one worker or two: exit 130, the report of the
    pairs done, and every subtitle present is whole (outputs are renamed into place; no
    temporary file stays)."""
    import shutil
    import signal

    for k in range(4):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    proc = subprocess.Popen([*SUBSYNC, "batch", str(tmp_path), "--language", "en", "--jobs", str(jobs)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in proc.stderr:                     # the first pair is written: interrupt the others
        if line.startswith("[1/4] synced"):
            break
    proc.send_signal(signal.SIGINT)              # (on the line read, not after a sleep)
    _, rest = proc.communicate(timeout=180)
    assert proc.returncode == 130, rest
    assert "interrupted" in rest and "Traceback" not in rest
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    synced = sorted(p.name for p in tmp_path.glob("*.synced.srt"))
    assert synced and len(synced) < 4
    for name in synced:
        assert (tmp_path / name).read_text().startswith("1\n00:00:00,")
    assert (tmp_path / "subsync-batch.jsonl").read_text().count("\n") == len(synced)


# ---------------------------------------------------------------- nothing is lost, nothing waits


def _two_tracks(tmp_path: Path, silent_first: bool = True) -> Path:
    """A movie whose first audio track is silence and whose second (tagged English) is JFK."""
    from subsync.media import ffmpeg_binary

    movie = tmp_path / "commentary.mkv"
    subprocess.run([ffmpeg_binary(), "-loglevel", "error", "-f", "lavfi", "-t", "11", "-i",
                    "anullsrc=r=16000:cl=mono", "-i", str(JFK), "-map", "0:a", "-map", "1:a", "-c:a", "flac",
                    "-metadata:s:a:1", "language=eng", str(movie)], check=True, timeout=60)
    return movie


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
        proc = run("fix", alias, jfk_srt, option, alias)
    else:
        proc = run("fix", media, jfk_srt, option, alias)
    assert proc.returncode == 2
    assert "is the input file" in one_line_error(proc)
    assert media.read_bytes() == before


def test_an_unwritable_output_fails_before_the_sync(tmp_path, jfk_srt):
    """A missing or non-folder output directory was reported only after the whole sync."""
    for target in (tmp_path / "no" / "such" / "out.srt", tmp_path, jfk_srt.parent / "jfk.srt" / "x.srt"):
        started = time.monotonic()
        proc = run("fix", JFK, jfk_srt, "-o", target)
        assert proc.returncode == 1
        assert "cannot write the output" in one_line_error(proc)
        assert "decoding audio" not in proc.stderr and time.monotonic() - started < 5


@pytest.mark.parametrize("make", ["missing", "no audio", "truncated"])
def test_bad_media_fails_fast(tmp_path, jfk_srt, make):
    """Each took 5-6 s because torch loaded first: checked before anything heavy."""
    from subsync.media import ffmpeg_binary

    media = tmp_path / "media.mp4"
    if make == "no audio":
        subprocess.run([ffmpeg_binary(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=2",
                        "-an", str(media)], check=True, timeout=60)
    elif make == "truncated":
        media = tmp_path / "media.flac"
        media.write_bytes(JFK.read_bytes()[:30000])
    started = time.monotonic()
    proc = run("fix", media, jfk_srt, "-o", tmp_path / "out.srt")
    elapsed = time.monotonic() - started
    one_line_error(proc)
    assert elapsed < 3.0, f"{make}: {elapsed:.1f} s"      # (interpreter start included; < 1 s here)
    assert not (tmp_path / "out.srt").exists()


def test_plot_without_matplotlib_fails_before_the_sync_naming_our_extra(tmp_path, jfk_srt):
    """`--plot` without matplotlib failed after the whole sync (exit 1, subtitle written) and
    named `subsync[plot]`, another project on the index."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n")
    import os

    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = run("fix", JFK, jfk_srt, "-o", tmp_path / "out.srt", "--plot", tmp_path / "p.png", env=env)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert "subsync-whisper[plot]" in line and "decoding audio" not in proc.stderr
    assert not (tmp_path / "out.srt").exists()


def test_flags_show_no_value_in_help():
    """`--in-place <bool>` looked like a flag that takes a value."""
    for command in ("fix", "batch"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "<bool>" not in proc.stdout, proc.stdout


def test_a_silent_track_names_the_track_that_speaks(tmp_path, jfk_srt):
    proc = run("fix", _two_tracks(tmp_path), jfk_srt, "-o", tmp_path / "out.srt", "--audio-track", "0")
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert "audio track 1 (eng) has speech: --audio-track 1" in line


@pytest.mark.model
def test_the_track_in_the_subtitles_language_is_used_and_named(tmp_path, jfk_srt):
    """[untagged silence, eng: the speech] and English subtitles, no option: the English
    track is used, and the summary and --report say which and why."""
    proc = run("fix", _two_tracks(tmp_path), jfk_srt, "-o", tmp_path / "out.srt", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert "audio track 1 (eng): tagged en, the subtitles' language (identified from their text)" in proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["audio_track"] == {
        "index": 1, "language": "eng", "why": "language", "wanted_language": "en", "wanted_from": "text"}


@pytest.mark.model
def test_a_stray_cue_far_beyond_the_media_costs_nothing(tmp_path, jfk_srt):
    """One cue at 99:59:59 in an 11 s file made the search take 60 s and 3 GB: it is left
    out of the search, mapped, and reported as beyond the media."""
    stray = tmp_path / "stray.srt"
    stray.write_bytes(jfk_srt.read_bytes() + b"\r\n2\r\n99:59:59,000 --> 99:59:59,900\r\nstray\r\n")
    started = time.monotonic()
    proc = run("fix", JFK, stray, "-o", tmp_path / "out.srt", "--report", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 60
    assert "1 line placed beyond the end of the media" in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["outside_media"] == 1
    assert abs(report["lines"][0]["start_s"] - 0.3) < 0.5       # the real line is still synced


@pytest.mark.model
def test_the_bazarr_command_of_the_readme(tmp_path):
    """The README's Bazarr post-processing command, run as Bazarr runs it (through a shell,
    placeholders filled): the subtitle re-timed in place with its .bak, one JSON object on
    stdout, exit 0."""
    import os
    import re
    import shlex
    import shutil

    readme = (Path(__file__).parent.parent / "docs" / "integrations.md").read_text()
    section = readme[readme.index("## Bazarr"):]
    command = re.search(r"```sh\n(subsync fix .*?)\n```", section).group(1)
    examples = Path(__file__).parent.parent / "examples"
    episode, subtitles = tmp_path / "Show S01E01.mp3", tmp_path / "Show S01E01.en.srt"
    shutil.copy(examples / "sonnet001.mp3", episode)
    shutil.copy(examples / "sonnet001.mistimed.srt", subtitles)
    before = subtitles.read_bytes()
    filled = (command.replace('"{{episode}}"', shlex.quote(str(episode)))
              .replace('"{{subtitles}}"', shlex.quote(str(subtitles)))
              .replace('"{{subtitles_language_code2}}"', "en"))
    assert "{{" not in filled
    if shutil.which("subsync") is None:             # (not installed as a script: the same module)
        filled = filled.replace("subsync ", f"{shlex.quote(sys.executable)} -m subsync ", 1)
    proc = subprocess.run(filled, shell=True, capture_output=True, text=True, timeout=600, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "synced" and summary["output"] == str(subtitles)
    assert Path(str(subtitles) + ".bak").read_bytes() == before
    assert subtitles.read_bytes() != before and proc.stderr == ""


def test_json_for_several_pairs_and_failures(tmp_path, jfk_srt):
    """--json: a list for several pairs, a failed pair included (status, message); the exit
    status is the usual one."""
    other = tmp_path / "other.srt"
    other.write_bytes(jfk_srt.read_bytes())
    proc = run("fix", tmp_path / "missing.flac", jfk_srt, tmp_path / "gone.flac", other, "--json", "--fast")
    assert proc.returncode == 1
    records = json.loads(proc.stdout)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert "missing.flac" in records[0]["message"] and records[1]["media"].endswith("gone.flac")


# ---------------------------------------------------------------- all cores for a batch


@pytest.mark.model
def test_batch_jobs_give_the_same_bytes_report_and_table(tmp_path):
    """`--jobs 2`: two worker processes, each with its own model; the outputs byte-identical
    to `--jobs 1`, the table in pair order and the report's records the same (appended as
    the pairs finish, in any order), --skip-existing and --json (JSON lines as pairs finish)
    as before."""
    import shutil

    for k in range(3):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    (tmp_path / "Ep9.flac").write_bytes(b"\x00" * 4096)                      # a broken pair
    (tmp_path / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    runs = {}
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        proc = run("batch", tmp_path, "--language", "en", "--out-dir", out, "--jobs", jobs)
        assert proc.returncode == 1, proc.stderr                          # the broken pair
        records = sorted((json.loads(line) for line in (out / "subsync-batch.jsonl").read_text().splitlines()),
                         key=lambda record: record["subs"])
        assert [r["status"] for r in records] == ["synced", "synced", "synced", "failed"]
        runs[jobs] = ({p.name: p.read_bytes() for p in out.glob("*.synced.srt")},
                      [(r["subs"], r["status"], r.get("offset_s")) for r in records])
        table = [line.split()[:2] for line in proc.stdout.splitlines()[1:5]]
        assert table == [["synced", str(tmp_path / f"Ep{k}.srt")] for k in range(3)] + [["failed", str(tmp_path / "Ep9.srt")]]
    assert runs[1] == runs[2] and len(runs[1][0]) == 3
    again = run("batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "out2", "--jobs", "2",
                "--skip-existing", "--json")
    assert sorted(json.loads(line)["status"] for line in again.stdout.splitlines()) == ["failed"] + ["skipped"] * 3
    assert "--jobs must be 1 or more" in one_line_error(run("batch", tmp_path, "--jobs", "0"))


@pytest.mark.model
def test_fix_with_several_pairs_in_workers_reads_as_one_after_the_other(tmp_path):
    """`fix A a B b C c --jobs 2`: two worker processes; the same output bytes, summary lines
    (in the order given), error line, --json records and exit status as `--jobs 1`."""
    import shutil

    args = []
    for k in range(2):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
        args += [tmp_path / f"Ep{k}.flac", tmp_path / f"Ep{k}.srt"]
    (tmp_path / "Ep9.flac").write_bytes(b"\x00" * 4096)                      # a broken pair
    (tmp_path / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    args[2:2] = [tmp_path / "Ep9.flac", tmp_path / "Ep9.srt"]
    runs = {}
    for jobs in (1, 2):
        plain = run("fix", *args, "--language", "en", "--jobs", jobs)
        outputs = {p.name: p.read_bytes() for p in tmp_path.glob("*.synced.srt")}
        for p in tmp_path.glob("*.synced.srt"):
            p.unlink()
        as_json = run("fix", *args, "--language", "en", "--jobs", jobs, "--json")
        summaries = [line for line in plain.stderr.splitlines() if ": offset" in line or "error" in line]
        runs[jobs] = (plain.returncode, as_json.returncode, outputs, summaries, json.loads(as_json.stdout))
        for p in tmp_path.glob("*.synced.srt"):
            p.unlink()
    assert runs[1] == runs[2]
    code, _, outputs, summaries, records = runs[2]
    assert code == 1 and len(outputs) == 2 and [r["status"] for r in records] == ["synced", "failed", "synced"]
    assert [line.split(":")[0] for line in summaries] == [str(tmp_path / "Ep0.synced.srt"), "subsync",
                                                          str(tmp_path / "Ep1.synced.srt")]
    assert "--jobs must be 1 or more" in one_line_error(run("fix", *args, "--jobs", "0"))


def test_two_pairs_that_would_write_one_file_are_a_usage_error(tmp_path, jfk_srt):
    """`fix a.flac x.srt b.flac x.srt`: both would write x.synced.srt (one after the other the
    last won; in workers, a race): refused before any work."""
    proc = run("fix", JFK, jfk_srt, tmp_path / "other.flac", jfk_srt)
    assert proc.returncode == 2 and "would both be written to" in one_line_error(proc)


def test_default_jobs_follow_cores_and_memory():
    from subsync.batch import MODEL_MEMORY_GB, THREADS_PER_JOB, default_jobs

    assert default_jobs(cpus=16, memory_gb=64, device="cuda") == 1          # one model on the GPU
    assert default_jobs(cpus=16, memory_gb=64) == 16 // THREADS_PER_JOB
    assert default_jobs(cpus=16, memory_gb=3 * MODEL_MEMORY_GB) == 3
    assert default_jobs(cpus=2, memory_gb=0.5) == 1


# ---------------------------------------------------------------- subtitles inside the media

def _film_with_subtitle_streams(tmp_path: Path) -> tuple[Path, list[float]]:
    """A recording in an mkv over black video with two English subtitle streams, both 3 s
    late: the full one, and a forced one holding three of its lines.  Returns the film
    and the reference's starts (the lines' true times)."""
    from subsync.media import ffmpeg_binary
    from subsync.subtitles import read_srt, render_srt

    case = SPEECH / "mfa_cold_corpus3"
    reference = read_srt(case / "reference.srt")
    full, forced = tmp_path / "full.srt", tmp_path / "forced.srt"
    full.write_bytes(render_srt(reference, [(c.start_s + 3.0, c.end_s + 3.0) for c in reference.cues]))
    kept = (2, 5, 8)
    forced.write_text("\n".join(f"{n + 1}\n{_stamp(reference.cues[i].start_s + 3.0)} --> "
                                f"{_stamp(reference.cues[i].end_s + 3.0)}\n{reference.cues[i].text}\n"
                                for n, i in enumerate(kept)))
    film = tmp_path / "film.mkv"
    subprocess.run([ffmpeg_binary(), "-nostdin", "-loglevel", "error", "-f", "lavfi",
                    "-i", "color=black:s=64x48:r=25:d=30", "-i", str(case / "media.wav"), "-i", str(full),
                    "-i", str(forced), "-map", "0:v", "-map", "1:a", "-map", "2", "-map", "3", "-c:v", "mpeg4",
                    "-c:a", "flac", "-c:s", "srt", "-metadata:s:s:0", "language=eng",
                    "-metadata:s:s:1", "language=eng", "-disposition:s:1", "forced", str(film)],
                   check=True, timeout=60)
    return film, [c.start_s for c in reference.cues]


@pytest.mark.model
def test_the_subtitle_streams_inside_a_film_are_synced_into_sidecars(tmp_path):
    from subsync.subtitles import read_srt

    film, starts = _film_with_subtitle_streams(tmp_path)
    before = film.read_bytes()
    proc = run("fix", film)
    assert proc.returncode == 0, proc.stderr
    full, forced = read_srt(tmp_path / "film.en.srt"), read_srt(tmp_path / "film.en.forced.srt")
    assert np.abs(np.array([c.start_s for c in full.cues]) - starts).max() < 0.15
    assert np.abs(np.array([c.start_s for c in forced.cues]) - [starts[i] for i in (2, 5, 8)]).max() < 0.15
    assert film.read_bytes() == before                      # the container is only read
    assert "film.en.forced.srt (stream 1 (eng))" in proc.stderr
    again = run("fix", film)                                # no sidecar is replaced
    assert again.returncode == 1 and again.stderr.count("exists and is not replaced") == 2, again.stderr
    one = run("fix", film, "--stream", "0", "-o", tmp_path / "one.srt", "--json")
    assert one.returncode == 0, one.stderr
    record = json.loads(one.stdout)
    assert record["stream"] == 0 and record["audio_track"]["why"] == "only"
    assert (tmp_path / "one.srt").read_bytes() == (tmp_path / "film.en.srt").read_bytes()


def test_media_alone_without_text_subtitles_is_one_line_error(tmp_path):
    proc = run("fix", tmp_path / "a.mp4")               # MEDIA alone is no usage error: a missing one is
    assert proc.returncode == 1 and "media file not found" in one_line_error(proc)
    proc = run("fix", JFK)
    assert proc.returncode == 1
    assert "has no text subtitle stream to sync" in one_line_error(proc)
    proc = run("fix", JFK, "--stream", "0")
    assert proc.returncode == 2 and "has no subtitle stream 0 (it has 0)" in one_line_error(proc)
    proc = run("fix", JFK, JFK, "--stream", "0")
    assert proc.returncode == 2 and "--stream picks a subtitle stream of MEDIA given alone" in one_line_error(proc)


def test_image_subtitle_streams_are_named_and_skipped(monkeypatch, tmp_path):
    """ffmpeg cannot make a picture subtitle from text, so the streams are given: each image
    stream is named on one line, and with no text stream left the run fails on one line."""
    from typer.testing import CliRunner

    from subsync import cli, media

    film = tmp_path / "film.mkv"
    film.write_bytes(b"not read: the streams are given")
    monkeypatch.setattr(media, "subtitle_streams", lambda path: [
        media.SubtitleStream(0, "eng", "hdmv_pgs_subtitle"), media.SubtitleStream(1, None, "dvd_subtitle")])
    done = CliRunner().invoke(cli.app, ["fix", str(film)])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert lines[0].endswith("subtitle stream 0 (eng, hdmv_pgs_subtitle) is pictures of text")
    assert lines[1].endswith("subtitle stream 1 (untagged, dvd_subtitle) is pictures of text")
    assert lines[2] == f"subsync: error: {film} has no text subtitle stream to sync (2 image streams skipped)"
    assert film.read_bytes() == b"not read: the streams are given"
