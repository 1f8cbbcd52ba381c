"""`subsync batch --ray`: a library on a Ray cluster, tested on a local head on 127.0.0.1."""

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

from helpers import JFK, JFK_TEXT, one_line_error, run

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
    proc = subprocess.Popen([str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                             f"--port={port}", "--num-cpus=4", "--include-dashboard=false",
                             "--disable-usage-stats"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
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
    yield address
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _library(folder: Path, episodes: int) -> None:
    """JFK episodes with mistimed subtitles, and one broken pair (Ep9)."""
    for k in range(episodes):
        shutil.copy(JFK, folder / f"Ep{k}.flac")
        (folder / f"Ep{k}.srt").write_text("1\n00:00:02,800 --> 00:00:13,000\n" + JFK_TEXT + "\n")
    (folder / "Ep9.flac").write_bytes(b"\x00" * 4096)
    (folder / "Ep9.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.synced.srt")}


@pytest.mark.model
def test_a_library_on_a_cluster_gives_the_local_bytes_table_and_report(tmp_path, head):
    """`--ray ADDRESS --jobs 3`: three worker actors of two CPUs each on a 4-CPU cluster, so
    one is never placed (it takes no pair; the batch does not wait for it); the outputs
    byte-identical to a local run, the broken pair failed in the same table (in pair order)
    and report (its records appended as the pairs finish)."""
    _library(tmp_path, 3)
    local = run("batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "local", "--jobs", "1")
    cluster = run("batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "cluster", "--ray", head,
                  "--jobs", "3")
    assert local.returncode == cluster.returncode == 1, cluster.stderr      # the broken pair
    assert _outputs(tmp_path / "cluster") == _outputs(tmp_path / "local") and len(_outputs(tmp_path / "local")) == 3
    records = {}
    for name in ("local", "cluster"):
        lines = (tmp_path / name / "subsync-batch.jsonl").read_text().splitlines()
        records[name] = sorted((r["subs"], r["status"], r.get("offset_s")) for r in map(json.loads, lines))
    assert records["cluster"] == records["local"]
    assert [r[1] for r in records["cluster"]] == ["synced", "synced", "synced", "failed"]
    table = [line.split()[:2] for line in cluster.stdout.splitlines()[1:5]]
    assert table == [["synced", str(tmp_path / f"Ep{k}.srt")] for k in range(3)] + [["failed", str(tmp_path / "Ep9.srt")]]


@pytest.mark.model
def test_a_lost_worker_is_replaced_and_its_pair_retried(tmp_path, head):
    """A worker actor killed (its node lost) while the batch runs: Ray restarts it and
    retries its pair; every output is written, identical to an undisturbed run."""
    _library(tmp_path, 3)
    (tmp_path / "Ep9.flac").unlink()
    (tmp_path / "Ep9.srt").unlink()
    local = run("batch", tmp_path, "--language", "en", "--out-dir", tmp_path / "local", "--jobs", "1")
    proc = subprocess.Popen([sys.executable, "-m", "subsync", "batch", str(tmp_path), "--language", "en",
                             "--out-dir", str(tmp_path / "cluster"), "--ray", head, "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = False
    deadline = time.monotonic() + 120
    while not killed and proc.poll() is None and time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-f", "ray::_Worker"], capture_output=True, text=True).stdout.split()
        if found:
            os.kill(int(found[0]), signal.SIGKILL)
            killed = True
        time.sleep(0.2)
    out, err = proc.communicate(timeout=600)
    assert killed, "no worker actor process was seen"
    assert proc.returncode == 0, err
    assert _outputs(tmp_path / "cluster") == _outputs(tmp_path / "local") and len(_outputs(tmp_path / "local")) == 3
    assert local.returncode == 0


def test_a_cluster_that_does_not_answer_is_one_line(tmp_path):
    shutil.copy(JFK, tmp_path / "a.flac")
    (tmp_path / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n")
    started = time.monotonic()
    proc = run("batch", tmp_path, "--ray", f"127.0.0.1:{_free_port()}")
    assert proc.returncode == 1 and "cannot join the Ray cluster" in one_line_error(proc)
    assert time.monotonic() - started < 30
    assert "is not auto, host:port" in one_line_error(run("batch", tmp_path, "--ray", "nowhere"))
    assert "is not auto, host:port" in one_line_error(run("batch", tmp_path, "--ray", "::1:80"))
    assert "cannot join the Ray cluster at ray://127.0.0.1" in one_line_error(     # (Ray Client's port 10001)
        run("batch", tmp_path, "--ray", "ray://127.0.0.1"))
    assert not (tmp_path / "a.synced.srt").exists()
