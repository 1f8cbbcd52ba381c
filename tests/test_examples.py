"""The scripts in examples/ run as documented, on real speech: each run in this process as
``python examples/NAME.py ARGS`` runs it (runpy, ``__main__``), with the replay listener
hearing JFK's clip as the model (the scripts' own code is the point here)."""

from __future__ import annotations

import runpy
import shutil
import sys
from pathlib import Path

import pytest

from helpers import JFK, JFK_TEXT, ffmpeg, jfk_script, srt_starts, use_replay

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def loaded(monkeypatch) -> list:
    return use_replay(monkeypatch, jfk_script())


def _script(monkeypatch, capsys, name: str, *args) -> tuple[int, str, str]:
    """``python examples/NAME ARGS``: its exit status, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *map(str, args)])
    code = 0
    try:
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def _late_srt(path: Path, text: str) -> Path:
    path.write_text(f"1\n00:00:02,800 --> 00:00:13,000\n{text}\n")
    return path


def test_sync_folder_and_second_language_examples(monkeypatch, capsys, tmp_path, loaded):
    shutil.copy(JFK, tmp_path / "Speech.flac")
    _late_srt(tmp_path / "Speech.en.srt", JFK_TEXT)
    (tmp_path / "Broken.flac").write_bytes(b"\x00" * 4096)
    _late_srt(tmp_path / "Broken.srt", "Hello")
    code, out, err = _script(monkeypatch, capsys, "sync_folder.py", tmp_path)
    assert code == 1, err  # the broken pair: it goes on past it
    lines = sorted(out.splitlines())
    assert lines[0].startswith(f"failed   {tmp_path / 'Broken.srt'}: ") and len(lines) == 2, out
    assert lines[1] == f"synced   {tmp_path / 'Speech.en.synced.srt'}: offset -2.51 s, 0 cut(s), 0 lines re-timed"
    synced = (tmp_path / "Speech.en.synced.srt").read_text()
    assert synced.endswith(f"\n{JFK_TEXT}\n") and abs(srt_starts(synced)[0] - 0.32) <= 0.1
    assert loaded == ["base"]  # one model for the folder
    french = _late_srt(tmp_path / "Speech.fr.srt", "Et donc, mes chers compatriotes américains...")
    code, out, err = _script(
        monkeypatch, capsys, "second_language.py", tmp_path / "Speech.flac", tmp_path / "Speech.en.srt", french
    )
    assert code == 0, err
    assert out.startswith("map: scale 1.00000, offset -2.5") and out.endswith(f"applied to 1 lines of {french}\n")
    carried = (tmp_path / "Speech.fr.synced.srt").read_text()
    assert carried.endswith("\nEt donc, mes chers compatriotes américains...\n")
    assert srt_starts(carried) == srt_starts((tmp_path / "Speech.en.synced.srt").read_text())  # the same map


def test_sync_and_burn_in_example(monkeypatch, capsys, tmp_path):
    from subsync.media import media_duration_s

    video = tmp_path / "speech.mp4"
    ffmpeg("-f lavfi -i color=c=black:s=160x90:r=5 -i", JFK, "-shortest -c:v libx264 -preset ultrafast -c:a aac", video)
    subs = _late_srt(tmp_path / "speech.srt", JFK_TEXT)
    out = tmp_path / "subtitled.mp4"
    code, printed, err = _script(monkeypatch, capsys, "sync_and_burn_in.py", video, subs, out)
    assert code == 0, err
    assert printed == f"wrote {out} (offset -2.510 s, 0 lines re-timed)\n", printed
    assert abs(media_duration_s(out) - media_duration_s(video)) < 0.5
    frames = ffmpeg("-ss 5 -i", out, "-frames:v 1 -f rawvideo -pix_fmt gray -")
    assert max(frames) > 100  # white subtitle text burnt into the black picture at 5 s
