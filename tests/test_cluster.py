"""`subsync batch --ray`: a library on a Ray cluster, tested on a local head on 127.0.0.1.
The cluster's batches are subprocesses with the real model in each worker actor (marked
``model``); the local batches they are compared with run in this process with the
session's model, and the address checks in this process alone."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import JFK, JFK_TEXT, SUBSYNC, invoke, one_line_error, srt_starts

ray = pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A Ray head on 127.0.0.1 (4 logical CPUs: two workers of two threads), stopped after
    the module's tests; its address."""
    port = _free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    proc = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=4",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.skip("a local Ray head did not start")
            time.sleep(0.5)
    yield address, proc.pid
    os.killpg(proc.pid, signal.SIGTERM)  # (the head and what it started: its own process group)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # a head stopping gracefully can take half a minute
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _library(folder: Path, episodes: int) -> None:
    """JFK episodes with mistimed subtitles, and one broken pair (Ep9)."""
    for k in range(episodes):
        shutil.copy(JFK, folder / f"Ep{k}.flac")
        (folder / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    (folder / "Ep9.flac").write_bytes(b"\x00" * 4096)
    (folder / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.synced.srt")}


@pytest.fixture()
def session_model(monkeypatch, base_model):
    """In-process runs use the session's loaded base model (no second load)."""
    from subsync.whisper import listener

    monkeypatch.setattr(listener, "load_listener", lambda *args, **kwargs: listener.WhisperListener(base_model))


def _descendants(pid: int) -> list[int]:
    """The processes started, directly or not, by process ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _worker_actor(head_pid: int) -> int | None:
    """A worker actor process of our Ray head (none of another's), or None."""
    for pid in _descendants(head_pid):
        try:
            if b"ray::_Worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


@pytest.mark.model
def test_a_library_on_a_cluster_gives_the_local_bytes_table_and_report(tmp_path, head, session_model):
    """`--ray ADDRESS --jobs 3`: three worker actors of two CPUs each on a 4-CPU cluster, so
    one is never placed (it takes no pair; the batch does not wait for it).  A worker actor
    is killed (its node lost) while the batch runs: Ray restarts it and retries its pair.
    The outputs are byte-identical to a local run, the broken pair failed in the same table
    (in pair order) and report (its records appended as the pairs finish)."""
    _library(tmp_path, 2)
    local = invoke("batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "local", "--jobs", "1")
    address, head_pid = head
    argv = ["batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "cluster", "--ray", address, "--jobs", "3"]
    proc = subprocess.Popen([*SUBSYNC, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    while not killed and proc.poll() is None:  # the event: our head's worker actor exists
        worker = _worker_actor(head_pid)
        if worker is not None:
            os.kill(worker, signal.SIGKILL)
            killed = True
        else:
            time.sleep(0.05)
    out, err = proc.communicate(timeout=600)
    assert killed, "no worker actor process was seen"
    assert local.returncode == proc.returncode == 1, err  # the broken pair
    assert _outputs(tmp_path / "cluster") == _outputs(tmp_path / "local") and len(_outputs(tmp_path / "local")) == 2
    assert all(abs(srt_starts(data)[0] - 0.3) <= 0.3 for data in _outputs(tmp_path / "cluster").values())
    records = {}
    for name in ("local", "cluster"):
        lines = (tmp_path / name / "subsync-batch.jsonl").read_text().splitlines()
        records[name] = sorted((r["subs"], r["status"], r.get("offset_s")) for r in map(json.loads, lines))
    assert records["cluster"] == records["local"]
    assert [r[1] for r in records["cluster"]] == ["synced", "synced", "failed"]
    lines = out.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("status"))  # (Ray may say a worker died)
    table = [line.split()[:2] for line in lines[header + 1 : header + 4]]
    assert table == [["synced", str(tmp_path / f"Ep{k}.srt")] for k in range(2)] + [
        ["failed", str(tmp_path / "Ep9.srt")]
    ]


def test_a_cluster_that_does_not_answer_is_one_line(tmp_path):
    """Nothing listens at the address: one line at once (Ray itself would retry for
    minutes), Ray never started in this process; an address that is none, one line too."""
    shutil.copy(JFK, tmp_path / "a.flac")
    (tmp_path / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    port = _free_port()
    proc = invoke("batch", tmp_path, "--ray", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    assert one_line_error(proc).startswith(f"subsync: error: cannot join the Ray cluster at 127.0.0.1:{port}: ")
    assert not ray.is_initialized()
    assert "is not auto, host:port" in one_line_error(invoke("batch", tmp_path, "--ray", "nowhere"))
    assert "is not auto, host:port" in one_line_error(invoke("batch", tmp_path, "--ray", "::1:80"))
    assert "cannot join the Ray cluster at ray://127.0.0.1" in one_line_error(  # (Ray Client's port 10001)
        invoke("batch", tmp_path, "--ray", "ray://127.0.0.1")
    )
    assert not ray.is_initialized()
    assert not (tmp_path / "a.synced.srt").exists()
