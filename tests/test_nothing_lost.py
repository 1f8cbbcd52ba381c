"""Nothing is lost, ever: backups, reports, temp files, interrupted and concurrent runs,
pipes, full disks, extreme options, and names that would break a one-line message.
Signals and kills are sent on events (a line read from the process, a file appearing),
never after a sleep.  The CLI runs in this process (helpers.invoke) unless a signal, a
kill, a resource limit or a second process is the point."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import (
    JFK,
    JFK_TEXT,
    SUBSYNC,
    dialogue_cues,
    distorted_srt,
    ffmpeg,
    interruptible,
    invoke,
    one_line_error,
    reference_pair,
    room_tone,
    run,
    srt_bytes,
    srt_starts,
)


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- 1. backups


def test_a_second_in_place_run_keeps_the_original(tmp_path):
    """`fix --in-place` twice: SUBS.bak still holds the file as downloaded, the second run's
    backup is SUBS.bak.1 (no backup is ever replaced), and each run says where it kept it."""
    ref, subs = reference_pair(tmp_path)
    original = subs.read_bytes()
    first = invoke("fix", "--reference", ref, subs, "--in-place")
    assert first.returncode == 0, first.stderr
    assert f"(the file it replaced is {subs}.bak)" in first.stderr
    synced = subs.read_bytes()
    assert synced == srt_bytes(dialogue_cues(60), 0.0, "Hello")  # the cues moved back by 12.5 s
    second = invoke("fix", "--reference", ref, subs, "--in-place", "--json")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "bad.srt.bak").read_bytes() == original
    assert (tmp_path / "bad.srt.bak.1").read_bytes() == synced
    assert json.loads(second.stdout)["backup"] == f"{subs}.bak.1"
    assert _temp_files(tmp_path) == []


def test_backup_names_never_replace_a_backup(tmp_path):
    from subsync.fileio import backup_path

    subs = tmp_path / "a.srt"
    assert backup_path(subs) == tmp_path / "a.srt.bak"
    (tmp_path / "a.srt.bak").write_text("x")
    (tmp_path / "a.srt.bak.1").write_text("x")
    assert backup_path(subs) == tmp_path / "a.srt.bak.2"


# ---------------------------------------------------------------- 2. the batch report and lock


def _episodes(folder: Path, long_speech, n: int) -> None:
    """``n`` copies of the 7-minute speech with its subtitles 12.5 s late: a decisive speech
    pattern, synced by --fast without any model."""
    media, cues = long_speech
    for k in range(n):
        shutil.copy(media, folder / f"Ep{k}.wav")
        (folder / f"Ep{k}.srt").write_bytes(distorted_srt(cues, 1.0, 12.5))


def _batch(folder: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [*SUBSYNC, "batch", str(folder), "--fast", "--model", "no-such-model", "--jobs", "1", *map(str, extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _records(report: Path) -> list[dict]:
    return [json.loads(line) for line in report.read_text().splitlines() if line.strip()]


def test_a_killed_batch_has_a_record_of_every_pair_it_wrote(tmp_path, long_speech):
    """SIGKILL after the first pair: its record is in the report (appended as it finished,
    not at the end); a re-run with --skip-existing adds its own records after the earlier
    ones, which stay."""
    _episodes(tmp_path, long_speech, 4)
    proc = _batch(tmp_path)
    for line in proc.stderr:
        if line.startswith("[1/4] synced"):
            break
    proc.kill()
    proc.wait(timeout=60)
    report = tmp_path / "subsync-batch.jsonl"
    killed = _records(report)
    written = sorted(p.name for p in tmp_path.glob("*.synced.srt"))
    assert [r["status"] for r in killed] == ["synced"] * len(killed) and len(killed) >= 1
    assert sorted(Path(r["output"]).name for r in killed) == written[: len(killed)]
    _, cues = long_speech
    for name in written:  # each output whole and synced
        assert np.abs(np.array(srt_starts((tmp_path / name).read_bytes())) - [c[0] for c in cues]).max() < 0.1
    again = invoke("batch", tmp_path, "--fast", "--model", "no-such-model", "--jobs", "1", "--skip-existing")
    assert again.returncode == 0, again.stderr
    records = _records(report)
    assert records[: len(killed)] == killed  # the earlier records stay
    rerun = records[len(killed) :]
    assert len(rerun) == 4 and len({r["batch_started"] for r in rerun}) == 1
    assert sorted(r["status"] for r in rerun) == sorted(["skipped"] * len(written) + ["synced"] * (4 - len(written)))


def test_a_second_batch_over_a_folder_is_refused_while_the_first_runs(tmp_path, long_speech):
    """Two batches over one folder at once: the second stops at once with one line (the
    first holds the folder's lock); once the first is killed, the lock is gone with it.
    The first is stopped (SIGSTOP) on its first line, so it still runs, however fast."""
    _episodes(tmp_path, long_speech, 3)
    first = _batch(tmp_path)
    first.stderr.readline()  # it runs (the lock is taken first)
    os.kill(first.pid, signal.SIGSTOP)
    second = invoke("batch", tmp_path, "--fast", "--model", "no-such-model")
    assert second.returncode == 1
    assert one_line_error(second) == (
        f"subsync: error: {tmp_path} is being synced by another subsync batch "
        f"(process {first.pid}); wait for it to end, or give another folder"
    )
    first.kill()
    first.wait(timeout=60)
    third = invoke("batch", tmp_path, "--fast", "--model", "no-such-model", "--skip-existing", "-q")
    assert third.returncode == 0, third.stderr
    assert not (tmp_path / ".subsync.lock").exists()


def test_the_folder_lock_is_held_by_one_process_and_released_by_its_death(tmp_path):
    from subsync.fileio import FolderLock, FolderLocked

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from subsync.fileio import FolderLock\n"
            f"with FolderLock([{str(tmp_path)!r}]):\n    print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(FolderLocked) as info:
        FolderLock([tmp_path]).__enter__()
    assert info.value.pid == holder.pid and info.value.folder == tmp_path
    holder.kill()
    holder.wait(timeout=30)
    with FolderLock([tmp_path, tmp_path / "."]):  # the same folder twice: one lock
        assert (tmp_path / ".subsync.lock").read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / ".subsync.lock").exists()


# ---------------------------------------------------------------- 3. extreme numeric options


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5"])
def test_a_max_offset_that_is_no_number_of_seconds_is_a_usage_error(tmp_path, value):
    ref, subs = reference_pair(tmp_path)
    proc = invoke("fix", "--reference", ref, subs, f"--max-offset={value}")
    assert proc.returncode == 2
    assert "--max-offset must be a positive number of seconds" in one_line_error(proc)


def test_a_huge_max_offset_costs_what_the_lengths_allow(tmp_path):
    """--max-offset 1e9 (once 1.46 TiB, a traceback): the search is bounded by the
    subtitles' and the reference's lengths, and finds the offset."""
    ref, subs = reference_pair(tmp_path)
    proc = invoke("fix", "--reference", ref, subs, "--max-offset", "1e9")
    assert proc.returncode == 0, proc.stderr
    assert "offset -12.500 s" in proc.stderr
    assert (tmp_path / "bad.synced.srt").read_bytes() == srt_bytes(dialogue_cues(60), 0.0, "Hello")


def test_the_search_is_bounded_by_the_lengths_in_the_core():
    """The core's search with --max-offset 1e9 (unbounded: 1.46 TiB) finds the offset, as
    with a bound that fits the lengths; a max_offset_s that is no length is refused."""
    from subsync.core import engine
    from subsync.core.hearing import Lines
    from subsync.core.options import SyncOptions

    cues = dialogue_cues(60)
    reference = Lines(
        tuple(f"Bonjour {i}" for i in range(60)), np.array([a for a, _ in cues]), np.array([b for _, b in cues])
    )
    late = Lines(tuple(f"Hello {i}" for i in range(60)), reference.starts_s + 12.5, reference.ends_s + 12.5)
    huge = engine.sync_cues(reference, late, SyncOptions(max_offset_s=1e9))
    fitted = engine.sync_cues(reference, late, SyncOptions(max_offset_s=60.0))
    assert huge.time_map.offset_s == pytest.approx(-12.5, abs=0.01) and not huge.refusal
    assert huge.time_map == fitted.time_map
    for bad in (float("nan"), float("inf"), -1.0, 0.0):
        with pytest.raises(ValueError, match="max_offset_s"):
            SyncOptions(max_offset_s=bad)


# ---------------------------------------------------------------- 4. Ctrl-C while the model loads


@pytest.mark.model
def test_ctrl_c_while_the_model_loads_exits_130(tmp_path):
    """Ctrl-C while the model is being converted and loaded in its thread (signalled when
    the conversion's staging folder appears): exit 130 with the one line, not an abort
    ("terminate called without an active exception", exit -6); nothing written."""
    home = tmp_path / "home"
    subs = tmp_path / "jfk.srt"
    subs.write_text("1\n00:00:02,800 --> 00:00:13,000\nAnd so my fellow Americans\n")
    proc = subprocess.Popen(
        [*SUBSYNC, "fix", str(JFK), str(subs), "--language", "en", "--model", "tiny.en"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SUBSYNC_HOME": str(home)},
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 300
    while not list(home.glob("models/.tiny.en-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # polling for the event, not a guessed delay
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "subsync: error: interrupted; nothing was written", err
    assert "terminate called" not in err
    assert not (tmp_path / "jfk.synced.srt").exists()


def test_a_conversion_killed_on_its_way_leaves_nothing_the_next_one_keeps(tmp_path):
    from subsync.whisper.model import remove_stale_staging

    target = tmp_path / "models" / "tiny.en-1a5afae06a4d"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "models" / f".{target.name}-{dead.pid}-abcd1234"
    live = tmp_path / "models" / f".{target.name}-{os.getpid()}-abcd1234"
    for folder in (stale, live):
        folder.mkdir(parents=True)
    remove_stale_staging(target)
    assert not stale.exists() and live.exists()


# ---------------------------------------------------------------- 5. FIFOs


@pytest.mark.parametrize("which", ["subs", "media", "reference"])
def test_a_fifo_is_a_one_line_error_not_a_hang(tmp_path, which):
    _ref, subs = reference_pair(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    args = {"subs": ("fix", JFK, fifo), "media": ("fix", fifo, subs), "reference": ("fix", "--reference", fifo, subs)}[
        which
    ]
    proc = run(*args, timeout=60)  # (before: waited for ever)
    assert proc.returncode == 1
    assert "not a regular file" in one_line_error(proc)


# ---------------------------------------------------------------- 6. a full disk


def _limit_file_size(limit_bytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit


def test_outputs_of_one_run_are_committed_together_or_not_at_all(tmp_path):
    """The report cannot be written (the kernel refuses a file past the size limit, as a
    full disk refuses it): the subtitle is not replaced either, the message names the
    report, and no temp file stays."""
    ref, subs = reference_pair(tmp_path)
    output = tmp_path / "bad.synced.srt"
    output.write_bytes(b"an earlier output\n")
    report = tmp_path / "report.json"
    assert len(srt_bytes(dialogue_cues(60))) < 4000  # the subtitle fits, the report does not
    proc = subprocess.run(
        [*SUBSYNC, "fix", "--reference", str(ref), str(subs), "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(4000),
    )
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert f"cannot write --report {report}: File too large; no file was written" in line
    assert output.read_bytes() == b"an earlier output\n" and not report.exists()
    assert _temp_files(tmp_path) == []


def test_a_full_batch_report_stops_the_batch_naming_it(tmp_path):
    from subsync.batch import Outcome, Pair
    from subsync.render import BatchReport

    report = tmp_path / "r.jsonl"
    outcome = Outcome(Pair(tmp_path / "a.mkv", tmp_path / "a.srt", tmp_path), tmp_path / "a.synced.srt", "synced")
    child = (
        "import sys, pathlib, resource\nfrom subsync.render import BatchReport\n"
        "from subsync.batch import Outcome, Pair\n"
        f"p = pathlib.Path({str(tmp_path)!r})\n"
        "o = Outcome(Pair(p / 'a.mkv', p / 'a.srt', p), p / 'a.synced.srt', 'synced')\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))\n"
        f"log = BatchReport({str(report)!r}, 'now')\n"
        "try:\n    [log.append(o) for _ in range(10)]\n"
        "except OSError as exc:\n    print(exc.filename, exc.strerror)\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"{report} File too large", done.stderr
    with BatchReport(report, "later") as log:  # a record cut short stays on its own line
        log.append(outcome)
    assert json.loads(report.read_text().splitlines()[-1])["batch_started"] == "later"


# ---------------------------------------------------------------- 7. memory a worker needs


def test_workers_are_sized_by_the_longest_media():
    from subsync.batch import MODEL_MEMORY_GB, default_jobs, worker_memory_gb

    assert worker_memory_gb(None) == MODEL_MEMORY_GB
    assert worker_memory_gb(6 * 3600) > worker_memory_gb(3 * 3600) > worker_memory_gb(2 * 3600) == worker_memory_gb(60)
    six_hours = default_jobs(cpus=16, memory_gb=8, longest_media_s=6 * 3600)
    assert six_hours == int(8 // worker_memory_gb(6 * 3600)) < default_jobs(cpus=16, memory_gb=8)


# ---------------------------------------------------------------- 8. temp files a kill left


def test_a_temp_file_a_killed_writer_left_is_removed_by_the_next_write(tmp_path, monkeypatch):
    """A writer SIGKILLed between creating its temp file and renaming it (signalled when
    it says so): the next write to the same file removes that temp file; a live
    writer's and another file's stay."""
    from subsync.fileio import atomic_write_bytes

    target = tmp_path / "out.srt"
    # The writer is held at the rename (os.replace says where the temp file is, and waits): killed there.
    child = (
        "import os, threading\nfrom subsync import fileio\n"
        "def held(tmp, dest):\n    print(tmp, flush=True)\n    threading.Event().wait()\n"
        f"os.replace = held\nfileio.atomic_write_bytes({str(target)!r}, b'half')"
    )
    writer = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    left = Path(writer.stdout.readline().strip())
    writer.kill()
    writer.wait(timeout=30)
    assert left.parent == tmp_path and left.read_bytes() == b"half" and not target.exists()
    from subsync import fileio

    old_style = tmp_path / ".out.srt.0123456789ab.tmp"  # an older version's naming (no pid) ...
    old_style.write_bytes(b"")
    monkeypatch.setattr(fileio, "STALE_UNOWNED_S", -1.0)  # ... old enough (its ctime cannot be faked)
    live = tmp_path / f".out.srt.{os.getpid()}-0123456789ab.tmp"
    other = tmp_path / f".other.srt.{writer.pid}-0123456789ab.tmp"
    live.write_bytes(b"")
    other.write_bytes(b"")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert _temp_files(tmp_path) == sorted([live.name, other.name])


# ---------------------------------------------------------------- 9. WebVTT inline timestamps


def test_webvtt_inline_timestamps_move_with_their_cue(tmp_path):
    """The word times inside a cue (``<00:00:10.500>``, as YouTube captions carry) keep
    their place in the cue when it moves, so players do not drop them."""
    cues = dialogue_cues(60)

    def vtt(offset_s: float) -> bytes:
        from subsync.subtitles import format_vtt

        blocks = [
            f"{format_vtt(a + offset_s)} --> {format_vtt(b + offset_s)}\n"
            f"<c>Hello</c><{format_vtt(a + offset_s + 0.4)}><c> {i}</c>\n"
            for i, (a, b) in enumerate(cues)
        ]
        return ("WEBVTT\n\n" + "\n".join(blocks)).encode()

    ref = tmp_path / "good.srt"
    ref.write_bytes(srt_bytes(cues))
    subs = tmp_path / "bad.vtt"
    subs.write_bytes(vtt(12.5))
    proc = invoke("fix", "--reference", ref, subs)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bad.synced.vtt").read_bytes() == vtt(0.0)


def test_inline_timestamps_keep_their_share_of_a_stretched_cue():
    from subsync.subtitles import parse_subtitle_bytes, render_subtitles

    data = (
        b"WEBVTT\n\nNOTE <00:00:01.000> is no cue's\n\n00:10.000 --> 00:14.000 align:start\n"
        b"<00:11.000>one <00:12.000>two\n\n00:00:20.000 --> 00:00:22.000\nplain\n"
    )
    doc = parse_subtitle_bytes(data)
    out = render_subtitles(doc, [(20.0, 28.0), (30.0, 32.0)]).decode()
    assert "00:20.000 --> 00:28.000 align:start\n<00:22.000>one <00:24.000>two\n" in out
    assert "NOTE <00:00:01.000> is no cue's" in out
    assert render_subtitles(doc, [(10.0, 14.0), (20.0, 22.0)]) == data


# ---------------------------------------------------------------- 10. most lines beyond the media


def test_a_file_whose_lines_mostly_fall_beyond_the_media_is_refused(tmp_path):
    """A long file against 11 s of audio: its first line is heard and placed, all the
    others would start past the end of the media.  Refused (exit 3), not written."""
    from subsync.api import Synchronizer
    from subsync.errors import RefusedError
    from subsync.replay import ReplayListener, Utterance

    text = JFK_TEXT
    subs = tmp_path / "long.srt"
    cues = [(2.8, 13.0)] + [(1000.0 + 3 * k, 1001.5 + 3 * k) for k in range(300)]  # beyond any searched map
    subs.write_bytes(srt_bytes(cues, 0.0, "Line").replace(b"Line 1\n", text.encode() + b"\n", 1))
    listener = ReplayListener([Utterance(text, 0.3, 10.5)])
    with pytest.raises(RefusedError, match=r"300 of its 301 lines would start beyond the end of"):
        Synchronizer(listener, language="en").sync(JFK, subs)
    forced = Synchronizer(listener, language="en").sync(JFK, subs, force=True)
    assert forced.outside == 300 and "beyond the end" in forced.refusal


# ---------------------------------------------------------------- 11. names that break lines


def test_a_newline_in_a_file_name_keeps_messages_on_one_line(tmp_path):
    missing = tmp_path / "no\nsuch.flac"
    subs = tmp_path / "a\nb.srt"
    subs.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    line = one_line_error(invoke("fix", missing, subs))
    assert line == f"subsync: error: media file not found: '{tmp_path}/no\\nsuch.flac'"
    broken = tmp_path / "bad\nname.mp4"
    broken.write_bytes(b"\x00" * 2048)  # ffmpeg names the file in its own message
    line = one_line_error(invoke("fix", broken, subs))
    assert f"'{tmp_path}/bad\\nname.mp4'" in line
    not_subs = tmp_path / "x\ny.srt"
    not_subs.write_text("not a subtitle\n")
    assert f"'{tmp_path}/x\\ny.srt'" in one_line_error(invoke("fix", JFK, not_subs))


def test_names_are_quoted_only_when_they_would_not_print():
    from subsync.errors import quoted

    assert quoted("/films/Amélie (2001).fr.srt") == "/films/Amélie (2001).fr.srt"
    assert quoted("a\nb.srt") == "'a\\nb.srt'"
    assert quoted("it's\x1b[31m.srt") == "'it\\'s\\x1b[31m.srt'"
    assert quoted(os.fsdecode(b"caf\xe9.srt")) == "'caf\\udce9.srt'"


# ---------------------------------------------------------------- found in review


def test_in_place_refuses_a_report_over_the_subtitle_or_its_backups(tmp_path):
    """`--in-place --report SUBS.bak` linked the backup, then replaced it with the report:
    the original was lost.  Refused before any work, as is `--report SUBS`."""
    ref, subs = reference_pair(tmp_path)
    original = subs.read_bytes()
    (tmp_path / "bad.srt.bak").write_bytes(b"the download\n")
    for report in (tmp_path / "bad.srt.bak", tmp_path / "bad.srt.bak.1", subs):
        proc = invoke("fix", "--reference", ref, subs, "--in-place", "--report", report)
        assert proc.returncode == 2, proc.stderr
        one_line_error(proc)
    assert subs.read_bytes() == original and (tmp_path / "bad.srt.bak").read_bytes() == b"the download\n"


def test_two_outputs_that_are_one_file_write_nothing(tmp_path):
    from subsync.fileio import Output, atomic_write_all

    target = tmp_path / "a.srt"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError) as info:
        atomic_write_all([Output(target, b"one"), Output(tmp_path / "." / "a.srt", b"two")])
    assert info.value.filename == str(tmp_path / "." / "a.srt")
    assert target.read_bytes() == b"old" and _temp_files(tmp_path) == []


def test_a_folder_that_takes_no_temp_file_is_named_as_the_destination(tmp_path):
    from subsync.fileio import Output, atomic_write_all

    with pytest.raises(FileNotFoundError) as info:
        atomic_write_all([Output(tmp_path / "a.srt", b"x"), Output(tmp_path / "missing" / "r.json", b"y")])
    assert info.value.filename == str(tmp_path / "missing" / "r.json")
    assert not (tmp_path / "a.srt").exists() and _temp_files(tmp_path) == []


def test_a_backup_is_placed_where_hard_links_are_not_allowed(tmp_path, monkeypatch):
    """FAT, exFAT and many SMB shares refuse hard links (EPERM): the backup is then made
    with O_EXCL, still never over another."""
    import errno

    from subsync import fileio

    def no_links(source, dest):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(fileio.os, "link", no_links)
    backup = tmp_path / "a.srt.bak"
    fileio.atomic_write_all([fileio.Output(backup, b"original", exclusive=True)])
    assert backup.read_bytes() == b"original"
    with pytest.raises(FileExistsError):
        fileio.atomic_write_all([fileio.Output(backup, b"again", exclusive=True)])
    assert backup.read_bytes() == b"original" and _temp_files(tmp_path) == []


def test_crlf_webvtt_inline_timestamps_move_too():
    from subsync.subtitles import parse_subtitle_bytes, render_subtitles

    data = b"WEBVTT\r\n\r\n00:10.000 --> 00:14.000\r\n<00:11.000>one\r\n<00:12.000>two\r\n\r\n00:20.000 --> 00:22.000\r\nx\r\n"
    out = render_subtitles(parse_subtitle_bytes(data), [(15.0, 19.0), (25.0, 27.0)])
    assert out == data.replace(b"00:1", b"00:@").replace(b"00:@0", b"00:15").replace(b"00:@1", b"00:16").replace(
        b"00:@2", b"00:17"
    ).replace(b"00:@4", b"00:19").replace(b"00:20", b"00:25").replace(b"00:22", b"00:27")


def _flac_declaring(path: Path, source: Path, total_samples: int) -> Path:
    """``source`` (a FLAC file) with its STREAMINFO's sample count set to ``total_samples``:
    a header that declares another duration than the audio has."""
    data = bytearray(source.read_bytes())
    assert data[:4] == b"fLaC"
    fields = int.from_bytes(data[18:26], "big")  # rate 20 b, channels 3, bits 5, samples 36
    data[18:26] = ((fields & ~((1 << 36) - 1)) | total_samples).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_declared_duration_does_not_size_the_decode(tmp_path):
    """A header declaring 1000 hours asked numpy for 230 GB up front (a traceback): the
    buffer starts at most FIRST_BUFFER_S long and grows with what is really decoded; the
    file is then named as truncated on one line.  One declaring less than it holds is
    decoded whole."""
    from subsync.errors import MediaError
    from subsync.media import load_audio

    tone = tmp_path / "tone.flac"
    ffmpeg("-f lavfi -i sine=f=300:r=16000:d=3 -c:a flac", tone)
    whole = load_audio(tone)
    assert whole.size == 3 * 16000
    huge = _flac_declaring(tmp_path / "huge.flac", tone, (1 << 36) - 1)  # 1193 hours at 16 kHz
    with pytest.raises(MediaError, match=r"huge\.flac is truncated or damaged: only 3\.0 s of its 4294967\.3 s"):
        load_audio(huge)
    short = _flac_declaring(tmp_path / "short.flac", tone, 8000)  # 0.5 s
    assert np.array_equal(load_audio(short), whole)


def test_the_engine_names_a_file_with_a_newline_on_one_line(tmp_path):
    from subsync.api import Synchronizer
    from subsync.errors import RefusedError
    from subsync.replay import ReplayListener

    media = tmp_path / "room\ntone.wav"
    _silence(media)
    subs = tmp_path / "a.srt"
    subs.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    with pytest.raises(RefusedError) as info:
        Synchronizer(ReplayListener([]), language="en").sync(media, subs)
    assert "\n" not in str(info.value) and "'" + str(tmp_path) + "/room\\ntone.wav'" in str(info.value)


def _silence(path: Path) -> None:
    room_tone(path, 3.0)


def test_a_batch_over_a_sub_folder_waits_for_a_recursive_one(tmp_path, long_speech):
    """`batch --recursive /films` locks every folder it writes to, so `batch /films/Show`
    beside it is refused, not syncing the same pairs twice."""
    show = tmp_path / "Show"
    show.mkdir()
    _episodes(show, long_speech, 2)
    outer = subprocess.Popen(
        [*SUBSYNC, "batch", str(tmp_path), "--recursive", "--fast", "--model", "no-such-model", "--jobs", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outer.stderr.readline()  # it runs, holding its locks ...
    os.kill(outer.pid, signal.SIGSTOP)  # ... and goes on holding them, however fast
    inner = invoke("batch", show, "--fast", "--model", "no-such-model")
    outer.kill()
    outer.wait(timeout=60)
    assert inner.returncode == 1
    assert f"{show} is being synced by another subsync batch (process {outer.pid})" in one_line_error(inner)
