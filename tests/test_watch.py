"""subsync watch: a service over batch's pairing that follows real file-system events and
remembers what it did in SQLite (the replay listener as the model: no weights loaded)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import (
    JFK,
    JFK_TEXT,
    interruptible,
    invoke,
    jfk_script,
    one_line_error,
    replay_sync,
    room_tone,
    srt_starts,
    use_replay,
)
from subsync.api import ModelOptions, SyncOptions
from subsync.fingerprint import Fingerprint, fingerprint
from subsync.watch import WatchEvent, WatchOptions, watch
from subsync.watchstate import Backoff, PairStatus, Record, WatchState

JFK_SRT = f"1\n00:00:02,800 --> 00:00:13,000\n{JFK_TEXT}\n"  # 2.48 s late: synced, it starts at 0.32 s
WAIT_S = 30.0  # the longest a test waits for an event it expects (a busy machine)


def _sync():
    """batch.synchronizer_sync's stand-in: the replay listener hearing JFK's line."""
    return functools.partial(replay_sync, tuple(jfk_script()), ModelOptions(), SyncOptions(language="en"))


class Service:
    """watch() running in a thread over ``folder``: its events, as they come."""

    def __init__(self, folder: Path, state: Path, **options) -> None:
        self.events: list[WatchEvent] = []
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.watching = threading.Event()
        self.error: BaseException | None = None
        watched = WatchOptions((folder.resolve(),), **options)
        self.thread = threading.Thread(target=self._run, args=(watched, state), daemon=True)

    def _run(self, options: WatchOptions, state: Path) -> None:
        try:
            watch(options, state, _sync(), on_event=self._add, on_watching=self.watching.set, stop=self.stop)
        except BaseException as exc:
            self.error = exc
            self.watching.set()

    def _add(self, event: WatchEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[WatchEvent]:
        """The first ``count`` events, once there are as many."""
        return self.wait_until(lambda events: len(events) >= count)[:count]

    def wait_until(self, done) -> list[WatchEvent]:
        """The events, once ``done(events)``."""
        with self.changed:
            assert self.changed.wait_for(lambda: done(self.events), WAIT_S), self.events
            return list(self.events)

    def __enter__(self) -> Service:
        self.thread.start()
        assert self.watching.wait(WAIT_S) and self.error is None, self.error
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive() and self.error is None, self.error


def _once(folder: Path, state: Path, **options) -> tuple[int, list[WatchEvent]]:
    events: list[WatchEvent] = []
    options.setdefault("settle_s", 0.05)
    status = watch(WatchOptions((folder.resolve(),), **options), state, _sync(), once=True, on_event=events.append)
    return status, events


def _record(state: Path, subs: Path) -> Record:
    with WatchState(state) as known:
        record = known.get(subs.resolve())
    assert record is not None, subs
    return record


def _digest(path: Path) -> str:
    return fingerprint(path).digest


def _no_temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- following events


def test_a_pair_dropped_in_is_synced_once_its_files_settle_and_only_then(tmp_path):
    """Media first, then the subtitle in two pieces a second apart (a downloader): one sync,
    of the whole subtitle, within the sync's own time and 10 s of the last piece; its
    output, touched, syncs nothing; the subtitle, changed, is synced again."""
    library, state = tmp_path / "Shows", tmp_path / "state.sqlite3"
    library.mkdir()
    subs, output = library / "Show - S01E01.en.srt", library / "Show - S01E01.en.synced.srt"
    with Service(library, state) as service:
        shutil.copy(JFK, library / "Show - S01E01.flac")
        with subs.open("w") as file:
            file.write(JFK_SRT[:30])
            file.flush()
            time.sleep(1.0)  # (the downloader's next piece)
            file.write(JFK_SRT[30:])
        last_write = time.monotonic()
        [event] = service.wait_for(1)
        took_s = time.monotonic() - last_write
        assert event.outcome.status == "synced" and event.outcome.output == output.resolve(), event
        assert took_s <= event.outcome.seconds + 10.0
        written = output.read_text()
        assert written.endswith(f"\n{JFK_TEXT}\n") and abs(srt_starts(written)[0] - 0.32) <= 0.1
        # the service's own output, touched: looked at (its new time remembered), not synced
        later_ns = output.stat().st_mtime_ns + 5_000_000_000
        os.utime(output, ns=(later_ns, later_ns))
        deadline = time.monotonic() + WAIT_S
        while _record(state, subs).output_print != Fingerprint(output.stat().st_size, later_ns, _digest(output)):
            assert time.monotonic() < deadline, "the touched output was never looked at"
            time.sleep(0.1)
        # the subtitle replaced by another (a better download): synced again
        subs.write_text(JFK_SRT.replace("00:00:02,800", "00:00:03,800"))
        events = service.wait_for(2)
        assert len(service.events) == 2 and events[1].outcome.status == "synced"
    assert _no_temp_files(library) == []


def test_in_place_a_rewritten_subtitle_is_not_taken_for_a_new_one(tmp_path):
    library, state = tmp_path / "Movies" / "Film (2020)", tmp_path / "state.sqlite3"
    library.mkdir(parents=True)
    subs = library / "Film (2020).en.srt"
    with Service(library.parent, state, recursive=True, in_place=True, settle_s=0.3) as service:
        shutil.copy(JFK, library / "Film (2020).flac")
        subs.write_text(JFK_SRT)
        [event] = service.wait_for(1)
        assert event.outcome.status == "synced" and event.outcome.output == subs.resolve()
        assert abs(srt_starts(subs.read_text())[0] - 0.32) <= 0.1
        assert (library / "Film (2020).en.srt.bak").read_text() == JFK_SRT
        time.sleep(0.3 + 2.0)  # its own rewrite settles and is looked at: nothing more
        assert len(service.events) == 1
    record = _record(state, subs)
    assert record.status is PairStatus.SYNCED and record.output == subs.resolve() and record.attempts == 1


def test_a_failed_pair_is_retried_after_a_back_off_and_a_refused_one_when_it_changes(tmp_path):
    state = tmp_path / "state.sqlite3"
    library = tmp_path / "lib"
    library.mkdir()
    backoff = Backoff(first_s=0.3, max_s=0.6)
    with Service(library, state, backoff=backoff, settle_s=0.1) as service:
        shutil.copy(JFK, library / "Broken.flac")
        (library / "Broken.srt").write_text("this is not a subtitle file\n")
        room_tone(library / "Silent.wav")  # no speech: refused
        (library / "Silent.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
        events = service.wait_until(lambda events: len(_of(events, "Broken.srt")) >= 4)
        failed = _of(events, "Broken.srt")[:4]
        assert [e.outcome.status for e in failed] == ["failed"] * 4 and [e.attempts for e in failed] == [1, 2, 3, 4]
        for event, later, delay_s in zip(failed, failed[1:], (0.3, 0.6, 0.6)):
            assert event.retry_at_s is not None
            assert event.retry_at_s - event.time_s == pytest.approx(delay_s, abs=0.1)  # doubled, up to the most
            assert later.time_s >= event.retry_at_s
        refused = _of(events, "Silent.srt")
        assert [(e.outcome.status, e.retry_at_s) for e in refused] == [("refused", None)]  # not retried
        (library / "Silent.srt").write_text("1\n00:00:01,000 --> 00:00:02,500\nHello there\n")
        events = service.wait_until(lambda events: len(_of(events, "Silent.srt")) >= 2)
        assert [(e.outcome.status, e.attempts) for e in _of(events, "Silent.srt")] == [("refused", 1)] * 2
    record = _record(state, library / "Silent.srt")
    assert record.status is PairStatus.REFUSED and "no speech" in record.message


def _of(events: list[WatchEvent], name: str) -> list[WatchEvent]:
    return [event for event in events if event.outcome.pair.subs.name == name]


# ---------------------------------------------------------------- catching up, restarting


def test_a_restart_redoes_nothing_but_what_changed(tmp_path):
    state = tmp_path / "state.sqlite3"
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(JFK, library / "Ep1.flac")
    (library / "Ep1.srt").write_text(JFK_SRT)
    output = library / "Ep1.synced.srt"
    status, events = _once(library, state)
    assert status == 0 and [e.outcome.status for e in events] == ["synced"] and output.exists()
    assert _once(library, state) == (0, [])  # nothing changed
    for touched in (output, library / "Ep1.srt", library / "Ep1.flac"):  # new times, same bytes
        os.utime(touched, (time.time() + 60, time.time() + 60))
        assert _once(library, state) == (0, []), touched
    (library / "Ep1.srt").write_text(JFK_SRT.replace("02,800", "02,900"))  # (the same length: hashed)
    status, events = _once(library, state)
    assert [e.outcome.status for e in events] == ["synced"] and events[0].attempts == 1
    output.unlink()  # an output removed is written again
    assert [e.outcome.status for e in _once(library, state)[1]] == ["synced"]
    # in place: the rewritten subtitle is the output the state knows
    status, events = _once(library, tmp_path / "in-place.sqlite3", in_place=True)
    assert [e.outcome.status for e in events] == ["synced"] and (library / "Ep1.srt.bak").exists()
    assert _once(library, tmp_path / "in-place.sqlite3", in_place=True) == (0, [])
    assert not (library / "Ep1.srt.bak.1").exists()


def test_a_subtitle_gone_while_it_was_away_is_forgotten_and_other_folders_rows_kept(tmp_path):
    """Catching up drops the state's rows of subtitles no longer there under its folders
    (the state does not grow with every file a library ever held); another service's rows,
    and those of a folder that is not there (an unmounted drive), stay."""
    state = tmp_path / "state.sqlite3"
    libraries = [tmp_path / name for name in ("a", "b", "c")]
    for library in libraries:
        library.mkdir()
        for episode in ("Ep1", "Ep2"):
            shutil.copy(JFK, library / f"{episode}.flac")
            (library / f"{episode}.srt").write_text(JFK_SRT)
        assert _once(library, state)[0] == 0
    a, b, c = (library.resolve() for library in libraries)
    (a / "Ep1.srt").unlink()
    (b / "Ep1.srt").unlink()  # (b is not watched by the run below)
    shutil.rmtree(c)
    assert _once(a, state) == (0, [])
    with WatchState(state) as known:
        assert known.forget_gone([c]) == []  # (a folder not there: an unmounted drive)
        kept = {record.subs for record in known.records()}
    assert kept == {a / "Ep2.srt", b / "Ep1.srt", b / "Ep2.srt", c / "Ep1.srt", c / "Ep2.srt"}


def test_stopped_after_the_output_is_written_the_pair_counts_as_synced(monkeypatch, tmp_path):
    """A stop between the output put in place and the try's end recorded (here the record
    interrupted; a SIGKILL or a power cut there does the same): the row written before the
    output, with the digest of its bytes, tells the next run that it is done."""
    state = tmp_path / "state.sqlite3"
    shutil.copy(JFK, tmp_path / "Ep1.flac")
    (tmp_path / "Ep1.srt").write_text(JFK_SRT)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(WatchState, "finished", stopped)
        with pytest.raises(KeyboardInterrupt):
            _once(tmp_path, state)
    assert abs(srt_starts((tmp_path / "Ep1.synced.srt").read_text())[0] - 0.32) <= 0.1
    assert _once(tmp_path, state) == (0, [])
    assert _record(state, tmp_path / "Ep1.srt").attempts == 1


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopped_mid_sync_nothing_half_written_and_a_restart_syncs_it_once(tmp_path, how):
    """A real process (the CLI, its model the replay listener, its sync held after the result
    is made and before it is written) stopped by SIGTERM or Ctrl-C while it syncs: it ends
    at once (0 for a service's stop, 130 for Ctrl-C), leaving no temp file, no output, no
    lock and no record of the pair; started again, it syncs the pair once."""
    library, state = tmp_path / "lib", tmp_path / "state.sqlite3"
    library.mkdir()
    shutil.copy(JFK, library / "Ep1.flac")
    (library / "Ep1.srt").write_text(JFK_SRT)
    proc = _launch(60.0, "watch", library, "--state", state, "--language", "en")
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("holding the result of Ep1.srt"):
            break
    proc.send_signal(how)
    _, rest = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == (0 if how == signal.SIGTERM else 130), rest
    assert "Traceback" not in rest
    assert rest.splitlines()[-1] == (
        "subsync: stopped; no file is half-written"
        if how == signal.SIGTERM
        else "subsync: error: interrupted; no file is half-written"
    )
    assert sorted(p.name for p in library.iterdir()) == ["Ep1.flac", "Ep1.srt"]  # no output, temp file or lock
    with WatchState(state) as known:
        assert known.records() == []
    again = _launch(0.0, "watch", library, "--state", state, "--language", "en", "--once", "--json")
    out, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["synced"]
    assert abs(srt_starts((library / "Ep1.synced.srt").read_text())[0] - 0.32) <= 0.1
    record = _record(state, library / "Ep1.srt")
    assert record.status is PairStatus.SYNCED and record.attempts == 1
    assert _no_temp_files(library) == []


LAUNCHER = """
import functools, sys, time
sys.path.insert(0, {tests!r})
import helpers
from subsync import batch, cli
from subsync.whisper import listener

def no_model(*args, **kwargs):
    raise AssertionError("the model was asked for")

def holding_sync(hold_s, model_options, options, threads, cache=True):
    sync = helpers.replay_sync(tuple(helpers.jfk_script()), model_options, options, threads, cache)
    def holding(pair, report):
        result = sync(pair, report)
        print("holding the result of", pair.subs.name, file=sys.stderr, flush=True)
        time.sleep(hold_s)
        return result
    return holding

listener.load_listener = no_model
batch.synchronizer_sync = functools.partial(holding_sync, float(sys.argv[1]))
sys.argv = ["subsync", *sys.argv[2:]]
cli.run()
"""


def _launch(hold_s: float, *args) -> subprocess.Popen:
    """``subsync ARGS`` in a process of its own whose model is the replay listener and whose
    syncs hold their result ``hold_s`` seconds before it is written."""
    code = LAUNCHER.format(tests=str(Path(__file__).parent))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(hold_s), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=interruptible,
    )


def test_pairs_whose_outputs_clash_are_reported_once_and_not_synced(tmp_path):
    """A.srt and A.ass converted to one format would write one file: neither is synced (they
    would overwrite each other's output, and each write would start the other again); each
    is reported once as failed, naming the other, until a file of it changes or the clash
    is gone."""
    state = tmp_path / "state.sqlite3"
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(JFK, library / "A.flac")
    (library / "A.srt").write_text(JFK_SRT)
    (library / "A.ass").write_text(ASS)  # (the same line)
    status, events = _once(library, state, kind="vtt")
    assert status == 1 and sorted((e.outcome.pair.subs.name, e.outcome.status) for e in events) == [
        ("A.ass", "failed"),
        ("A.srt", "failed"),
    ]
    output = (library / "A.synced.vtt").resolve()
    for event, other in zip(sorted(events, key=lambda e: e.outcome.pair.subs.name), ("A.srt", "A.ass")):
        assert event.outcome.output == output and event.retry_at_s is None
        assert other in event.outcome.message and "would both be written to" in event.outcome.message
    assert not output.exists()
    assert _record(state, library / "A.srt").status is PairStatus.CLASHED
    assert _once(library, state, kind="vtt") == (0, [])  # recorded: not reported again
    (library / "A.srt").write_text(JFK_SRT.replace("02,800", "02,900"))  # a file of it changed: reported again
    status, events = _once(library, state, kind="vtt")
    assert (status, [(e.outcome.pair.subs.name, e.outcome.status) for e in events]) == (1, [("A.srt", "failed")])
    (library / "A.ass").unlink()  # the clash gone: synced
    status, events = _once(library, state, kind="vtt")
    assert (status, [(e.outcome.pair.subs.name, e.outcome.status) for e in events]) == (0, [("A.srt", "synced")])
    assert output.exists()


ASS = (
    "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    f"Dialogue: 0,0:00:02.80,0:00:13.00,Default,,0,0,0,,{JFK_TEXT}\n"
)


def test_the_same_subtitle_name_of_two_folders_under_one_out_dir_clashes_as_it_arrives(tmp_path):
    """Two folders given, one --out-dir: a subtitle arriving in one that is named as one
    already synced from the other clashes with it, though its folder alone has no clash."""
    state, out = tmp_path / "state.sqlite3", tmp_path / "out"
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
    shutil.copy(JFK, first / "Ep1.flac")
    (first / "Ep1.srt").write_text(JFK_SRT)
    options = WatchOptions((first.resolve(), second.resolve()), out_dir=out.resolve(), settle_s=0.1)
    events: list[WatchEvent] = []
    stop, watching = threading.Event(), threading.Event()
    changed = threading.Condition()

    def add(event: WatchEvent) -> None:
        with changed:
            events.append(event)
            changed.notify_all()

    service = threading.Thread(
        target=watch,
        args=(options, state, _sync()),
        kwargs={"on_event": add, "on_watching": watching.set, "stop": stop},
    )
    service.start()
    try:
        assert watching.wait(WAIT_S)
        with changed:
            assert changed.wait_for(lambda: len(events) >= 1, WAIT_S)
        assert events[0].outcome.status == "synced" and events[0].outcome.output == (out / "Ep1.synced.srt").resolve()
        written = (out / "Ep1.synced.srt").read_bytes()
        shutil.copy(JFK, second / "Ep1.flac")
        (second / "Ep1.srt").write_text(JFK_SRT.replace("02,800", "03,800"))
        with changed:
            assert changed.wait_for(lambda: len(events) >= 3, WAIT_S), events
        time.sleep(1.0)  # (nothing more comes)
    finally:
        stop.set()
        service.join(WAIT_S)
    assert len(events) == 3
    clashed = {e.outcome.pair.subs.parent.name: e.outcome for e in events[1:]}
    assert sorted(clashed) == ["a", "b"] and all(o.status == "failed" for o in clashed.values())
    assert str(second / "Ep1.srt") in clashed["a"].message and str(first / "Ep1.srt") in clashed["b"].message
    assert (out / "Ep1.synced.srt").read_bytes() == written  # not overwritten


def test_outputs_batch_wrote_are_taken_as_up_to_date(tmp_path):
    """A library ``subsync batch`` synced: an output newer than its media and its subtitle is
    recorded as synced, not synced again; one older than its subtitle is synced; in place
    (no output apart from the subtitle) a subtitle the state does not know is synced once."""
    state = tmp_path / "state.sqlite3"
    for name in ("Ep1", "Ep2"):
        shutil.copy(JFK, tmp_path / f"{name}.flac")
        (tmp_path / f"{name}.srt").write_text(JFK_SRT)
    batch_wrote = "1\n00:00:00,320 --> 00:00:10,520\nbatch wrote this\n"
    old, older, new = time.time() - 300, time.time() - 200, time.time() - 100
    for name, output_s in (("Ep1", new), ("Ep2", old)):  # Ep2's subtitle came after its output
        (tmp_path / f"{name}.synced.srt").write_text(batch_wrote)
        os.utime(tmp_path / f"{name}.flac", (old, old))
        os.utime(tmp_path / f"{name}.srt", (older, older))
        os.utime(tmp_path / f"{name}.synced.srt", (output_s, output_s))
    status, events = _once(tmp_path, state)
    assert (status, [(e.outcome.pair.subs.name, e.outcome.status) for e in events]) == (0, [("Ep2.srt", "synced")])
    assert (tmp_path / "Ep1.synced.srt").read_text() == batch_wrote
    assert (tmp_path / "Ep2.synced.srt").read_text() != batch_wrote
    record = _record(state, tmp_path / "Ep1.srt")
    assert record.status is PairStatus.SYNCED and record.attempts == 0
    assert record.output_print is not None and record.output_print.digest == _digest(tmp_path / "Ep1.synced.srt")
    assert _once(tmp_path, state) == (0, [])
    (tmp_path / "Ep1.synced.srt").write_text(batch_wrote + "\n")  # no longer what was recorded: synced
    assert [e.outcome.pair.subs.name for e in _once(tmp_path, state)[1]] == ["Ep1.srt"]
    in_place_state = tmp_path / "in-place.sqlite3"
    status, events = _once(tmp_path, in_place_state, in_place=True)
    assert status == 0 and sorted((e.outcome.pair.subs.name, e.outcome.status) for e in events) == [
        ("Ep1.srt", "synced"),
        ("Ep2.srt", "synced"),
    ]
    assert _once(tmp_path, in_place_state, in_place=True) == (0, [])


class Crash(RuntimeError):
    pass


@pytest.mark.parametrize("where", ["sync", "describe"])
def test_an_unexpected_exception_fails_its_pair_and_the_service_goes_on(tmp_path, where):
    """A bug raised while Ep1 is synced (in the sync, or past it in describe): Ep1 failed,
    its line the exception's type and message, tried again after the back-off; Ep2 synced;
    the status batch's error status.  SystemExit still goes through."""
    state = tmp_path / "state.sqlite3"
    for name in ("Ep1", "Ep2"):
        shutil.copy(JFK, tmp_path / f"{name}.flac")
        (tmp_path / f"{name}.srt").write_text(JFK_SRT)
    sync = _sync()
    crashed: list[str] = []

    def crashing_sync(threads):
        inner = sync(threads)

        def crashing(pair, report):
            if where == "sync" and pair.subs.name == "Ep1.srt":
                raise Crash("the disk\nis on fire")
            return inner(pair, report)

        return crashing

    def describe(result) -> str:
        if where == "describe" and not crashed:
            crashed.append("once")
            raise Crash("the disk\nis on fire")
        return "fine"

    events: list[WatchEvent] = []
    options = WatchOptions((tmp_path.resolve(),), settle_s=0.05, backoff=Backoff(first_s=60.0))
    status = watch(options, state, crashing_sync, once=True, on_event=events.append, describe=describe)
    assert status == 1
    assert [(e.outcome.pair.subs.name, e.outcome.status) for e in events] == [
        ("Ep1.srt", "failed"),
        ("Ep2.srt", "synced"),
    ]
    failed = events[0]
    assert failed.outcome.message == "Crash: the disk is on fire" and failed.attempts == 1
    assert failed.retry_at_s is not None and failed.retry_at_s - failed.time_s == pytest.approx(60.0, abs=5.0)
    record = _record(state, tmp_path / "Ep1.srt")
    assert record.status is PairStatus.FAILED and record.message == "Crash: the disk is on fire"
    assert watch(options, state, crashing_sync, once=True, on_event=events.append) == 0  # backing off
    assert len(events) == 2

    def exiting(threads):
        def exit_now(pair, report):
            raise SystemExit(7)

        return exit_now

    (tmp_path / "Ep2.srt").write_text(JFK_SRT.replace("02,800", "02,900"))
    with pytest.raises(SystemExit):
        watch(options, state, exiting, once=True)


# ---------------------------------------------------------------- the command line


def test_once_catches_up_and_exits_with_batchs_status(monkeypatch, tmp_path):
    use_replay(monkeypatch, jfk_script())
    state = tmp_path / "state.sqlite3"
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(JFK, library / "Ep1.flac")
    (library / "Ep1.en.srt").write_text(JFK_SRT)
    room_tone(library / "Ep2.wav")
    (library / "Ep2.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    old = time.time() - 60  # (settled long ago: no wait)
    for path in library.iterdir():
        os.utime(path, (old, old))
    proc = invoke("watch", library, "--state", state, "--once", "--json", "--language", "en")
    assert proc.returncode == 3, proc.stderr  # one refused
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted((Path(r["subs"]).name, r["status"]) for r in records) == [
        ("Ep1.en.srt", "synced"),
        ("Ep2.srt", "refused"),
    ]
    for record in records:
        assert {"time", "media", "subs", "output", "status", "message", "seconds", "attempts"} <= set(record)
    assert records[[r["status"] for r in records].index("synced")]["offset_s"] == pytest.approx(-2.5, abs=0.3)
    shutil.copy(JFK, library / "Ep3.flac")
    (library / "Ep3.srt").write_text("this is not a subtitle file\n")
    proc = invoke("watch", library, "--state", state, "--once", "--settle", "0.05", "--language", "en")
    assert proc.returncode == 1, proc.stderr  # only Ep3 tried: failed
    [line] = proc.stderr.splitlines()
    assert " failed: " in line and "Ep3.srt" in line and "(try 1; next at " in line
    proc = invoke("watch", library, "--state", state, "--once", "--language", "en")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")  # refused, and failed but not due: left


def _crashing_sync(script, model_options, options, threads, cache=True):
    """batch.synchronizer_sync's stand-in whose sync of Ep1 raises an exception that is
    none of subsync's."""
    sync = replay_sync(script, model_options, options, threads, cache)

    def crashing(pair, report):
        if pair.subs.name == "Ep1.srt":
            raise Crash("boom")
        return sync(pair, report)

    return crashing


def test_once_a_crash_and_a_clash_are_one_line_each_and_exit_1(monkeypatch, tmp_path):
    from subsync import batch

    use_replay(monkeypatch, jfk_script())
    monkeypatch.setattr(batch, "synchronizer_sync", functools.partial(_crashing_sync, tuple(jfk_script())))
    for name in ("Ep1", "Ep2", "A"):
        shutil.copy(JFK, tmp_path / f"{name}.flac")
        (tmp_path / f"{name}.srt").write_text(JFK_SRT)
    (tmp_path / "A.ass").write_text(ASS)
    state = tmp_path / "state.sqlite3"
    args = ("watch", tmp_path, "--state", state, "--once", "--settle", "0", "--format", "vtt", "--language", "en")
    proc = invoke(*args)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = {line.split(": ", 2)[1]: line for line in proc.stderr.splitlines()}
    assert sorted(lines) == sorted(str(tmp_path / name) for name in ("A.ass", "A.srt", "Ep1.srt", "Ep2.synced.vtt"))
    assert re.fullmatch(
        rf"\S+ failed: {re.escape(str(tmp_path))}/Ep1.srt: Crash: boom \(try 1; next at \S+\)",
        lines[str(tmp_path / "Ep1.srt")],
    )
    for subs, other in (("A.srt", "A.ass"), ("A.ass", "A.srt")):
        assert lines[str(tmp_path / subs)].endswith(
            f" failed: {tmp_path / subs}: {tmp_path / subs} and {tmp_path / other} would both be written to "
            f"{tmp_path / 'A.synced.vtt'}; use --out-dir per folder or another --format"
        )
    assert (invoke(*args).returncode, invoke(*args).stderr) == (0, "")  # nothing due


def test_once_with_several_workers(monkeypatch, tmp_path):
    use_replay(monkeypatch, jfk_script())
    for k in (1, 2):
        shutil.copy(JFK, tmp_path / f"Ep{k}.flac")
        (tmp_path / f"Ep{k}.srt").write_text(JFK_SRT)
    state = tmp_path / "state" / "watch.sqlite3"
    args = ("watch", tmp_path, "--state", state, "--once", "--jobs", "2", "--settle", "0", "--json", "--language", "en")
    proc = invoke(*args)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(line)["status"] for line in proc.stdout.splitlines()) == ["synced", "synced"]
    with WatchState(state) as known:
        assert [r.attempts for r in known.records()] == [1, 1]
    assert invoke(*args).stdout == ""


def test_bad_inputs_are_one_line_errors(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a database\n" * 100)
    for args in (
        [tmp_path / "nope"],
        [a_file],
        [tmp_path, "--in-place", "--format", "vtt"],
        [tmp_path, "--settle", "-1"],
        [tmp_path, "--retry", "0"],
        [tmp_path, "--jobs", "0"],
    ):
        proc = invoke("watch", *args, "--state", tmp_path / "s.sqlite3", "--once")
        assert proc.returncode == 2, (args, proc.stderr)
        one_line_error(proc)
    assert "not a folder" in one_line_error(invoke("watch", a_file, "--once"))
    for state in (a_file / "state.sqlite3", tmp_path, a_file):  # under a file, a folder, not SQLite
        proc = invoke("watch", tmp_path, "--state", state, "--once")
        assert proc.returncode == 1 and "cannot use it as the watch state" in one_line_error(proc), proc.stderr
