"""Whisper's input: the log-mel spectrogram of 30 s of 16 kHz audio.

The arithmetic of transformers' ``WhisperFeatureExtractor`` (and of whisper's ``audio.py``):
a 400-sample Hann STFT every 160 samples, the power spectrum through Slaney-style mel filters
from 0 to 8 kHz, log10, floored 8 below the window's maximum, scaled to about [-1, 1].  A test
holds it to transformers' extractor.  Importing this module does not import torch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.activity import SAMPLE_RATE_HZ

if TYPE_CHECKING:  # pragma: no cover
    import torch

N_FFT = 400  # 25 ms window
HOP_LENGTH = 160  # 10 ms: 100 mel frames a second
WINDOW_SAMPLES = 30 * SAMPLE_RATE_HZ  # the encoder's 30 s input
MAX_HZ = 8000.0  # the mel filters' top (Nyquist at 16 kHz)
DYNAMIC_RANGE = 8.0  # log10 units kept below the window's loudest bin (80 dB)

_SLANEY_LINEAR_HZ = 1000.0  # below: linear mels (3 per 200 Hz); above: logarithmic
_SLANEY_LINEAR_MELS = 15.0  # the mel at 1 kHz
_SLANEY_LOG_STEP = np.log(6.4) / 27.0  # natural-log Hz per mel above 1 kHz


def _hz_to_mel(hz: float) -> float:
    if hz < _SLANEY_LINEAR_HZ:
        return 3.0 * hz / 200.0
    return _SLANEY_LINEAR_MELS + float(np.log(hz / _SLANEY_LINEAR_HZ)) / _SLANEY_LOG_STEP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = 200.0 * mels / 3.0
    high = mels >= _SLANEY_LINEAR_MELS
    hz[high] = _SLANEY_LINEAR_HZ * np.exp(_SLANEY_LOG_STEP * (mels[high] - _SLANEY_LINEAR_MELS))
    return hz


@functools.cache
def mel_filters(n_mels: int) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) triangular filters, each scaled to the same area (Slaney)."""
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(MAX_HZ), n_mels + 2))  # (n_mels + 2,)
    bins_hz = np.linspace(0, SAMPLE_RATE_HZ // 2, 1 + N_FFT // 2)  # (201,)
    widths_hz = np.diff(edges_hz)  # (n_mels + 1,)
    distance = edges_hz[None, :] - bins_hz[:, None]  # (201, n_mels + 2)
    rising = -distance[:, :-2] / widths_hz[:-1]
    falling = distance[:, 2:] / widths_hz[1:]
    triangles = np.maximum(0.0, np.minimum(rising, falling))  # (201, n_mels)
    return triangles * (2.0 / (edges_hz[2 : n_mels + 2] - edges_hz[:n_mels]))[None, :]


def log_mel(chunks: Sequence[np.ndarray], n_mels: int, device: str = "cpu") -> torch.Tensor:
    """(batch, n_mels, 3000) float32 features of audio chunks (16 kHz, at most 30 s each,
    zero-padded to 30 s), on ``device``."""
    import torch

    padded = np.zeros((len(chunks), WINDOW_SAMPLES), dtype=np.float32)  # (batch, 480000)
    for row, chunk in zip(padded, chunks):
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)[:WINDOW_SAMPLES]
        row[: samples.size] = samples
    audio = torch.from_numpy(padded).to(device)
    window = torch.hann_window(N_FFT, device=device)
    stft = torch.stft(audio, N_FFT, HOP_LENGTH, window=window, return_complex=True)  # (batch, 201, 3001)
    power = (stft[..., :-1].abs() ** 2).contiguous()  # (batch, 201, 3000)
    filters = torch.from_numpy(mel_filters(n_mels)).to(device, torch.float32)  # (201, n_mels)
    log_spec = (filters.T @ power).clamp(min=1e-10).log10()  # (batch, n_mels, 3000)
    loudest = log_spec.amax(dim=(1, 2), keepdim=True)  # (batch, 1, 1)
    log_spec = torch.maximum(log_spec, loudest - DYNAMIC_RANGE)
    return (log_spec + 4.0) / 4.0
