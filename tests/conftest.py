"""Shared fixtures: real speech clips and the real converted model (marker ``model``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "speech"


@pytest.fixture(scope="session")
def base_model():
    """The bundled Whisper base model, converted once into SUBSYNC_HOME."""
    from subsync.model import WhisperModel

    return WhisperModel("base", device="cpu", threads=min(4, os.cpu_count() or 1))
