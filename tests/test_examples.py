"""The scripts in examples/ run as documented, on real speech."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SPEECH

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
JFK = SPEECH / "whisper_jfk" / "media.flac"
TEXT = (SPEECH / "whisper_jfk" / "text.txt").read_text().strip()


def _script(name: str, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def _late_srt(path: Path, text: str) -> Path:
    path.write_text(f"1\n00:00:02,800 --> 00:00:13,000\n{text}\n")
    return path


@pytest.mark.model
def test_sync_folder_and_second_language_examples(tmp_path):
    shutil.copy(JFK, tmp_path / "Speech.flac")
    _late_srt(tmp_path / "Speech.en.srt", TEXT)
    proc = _script("sync_folder.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "synced" in proc.stdout and (tmp_path / "Speech.en.synced.srt").exists()
    french = _late_srt(tmp_path / "Speech.fr.srt", "Et donc, mes chers compatriotes américains...")
    proc = _script("second_language.py", tmp_path / "Speech.flac", tmp_path / "Speech.en.srt", french)
    assert proc.returncode == 0, proc.stderr
    carried = (tmp_path / "Speech.fr.synced.srt").read_text()
    assert carried.split("\n")[1].startswith("00:00:00,") and "compatriotes" in carried


@pytest.mark.model
def test_sync_and_burn_in_example(tmp_path):
    from subsync.media import ffmpeg_binary

    video = tmp_path / "speech.mp4"
    subprocess.run([ffmpeg_binary(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=160x90:r=5",
                    "-i", str(JFK), "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    str(video)], check=True)
    subs = _late_srt(tmp_path / "speech.srt", TEXT)
    proc = _script("sync_and_burn_in.py", video, subs, tmp_path / "subtitled.mp4")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "subtitled.mp4").stat().st_size > 1000 and "wrote" in proc.stdout
