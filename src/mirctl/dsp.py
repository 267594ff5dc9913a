"""Small signal helpers shared by io and tasks (numpy and soxr only).

Audio arrays are float32 shaped (channels, samples).
"""

from __future__ import annotations

import numpy as np


def resample(wav: np.ndarray, sr_in: int, sr_out: int, quality: str = "HQ") -> np.ndarray:
    """Resample (channels, samples) audio with soxr; a no-op when the rates match.

    >>> resample(np.zeros((2, 44100), np.float32), 44100, 22050).shape
    (2, 22050)
    """
    if sr_in == sr_out:
        return wav
    import soxr

    out = soxr.resample(np.ascontiguousarray(wav.T), sr_in, sr_out, quality=quality)
    out = out.reshape(out.shape[0], -1) if out.ndim == 2 else out[:, None]
    return np.ascontiguousarray(out.T, dtype=np.float32)


def to_mono(wav: np.ndarray) -> np.ndarray:
    """Average channels: (channels, samples) -> (samples,)."""
    return wav.mean(axis=0, dtype=np.float32) if wav.shape[0] > 1 else wav[0].astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    rms = float(np.sqrt(float(np.dot(flat, flat)) / flat.size)) if flat.size else 0.0  # no full-size temporary
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")
