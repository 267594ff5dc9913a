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
    return np.ascontiguousarray(out.reshape(out.shape[0], -1).T, dtype=np.float32)  # 1-D in: one channel out


def to_mono(wav: np.ndarray) -> np.ndarray:
    """Average channels: (channels, samples) -> (samples,)."""
    return wav.mean(axis=0, dtype=np.float32)  # one channel: its own samples, in float32


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-inf for silence)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    rms = float(np.sqrt(float(np.dot(flat, flat)) / flat.size)) if flat.size else 0.0  # no full-size temporary
    return 20.0 * np.log10(rms) if rms > 0 else float("-inf")


#: ISO 266 1/3-octave centres from 31.5 Hz to 16 kHz (exact base-2 values)
THIRD_OCTAVE_CENTRES = 1000.0 * 2.0 ** (np.arange(-15, 13) / 3.0)


def third_octave_levels(wav: np.ndarray, sr: int, n_fft: int | None = None,
                        centres: np.ndarray = THIRD_OCTAVE_CENTRES) -> tuple[np.ndarray, np.ndarray]:
    """Long-term spectral balance: the mean power spectral density of the channel average
    in each 1/3-octave band, in dB. Returns (centres kept, levels); bands whose upper
    edge passes 0.45 × ``sr`` or that hold no FFT bin are left out. Hann-windowed frames
    of ``n_fft`` (default: ~2.7 Hz bins) with half overlap; a signal shorter than one
    frame is zero-padded.
    """
    if n_fft is None:
        n_fft = 1 << int(np.ceil(np.log2(sr / 2.7)))
    mono = to_mono(wav) if wav.ndim == 2 else wav.astype(np.float32)
    if mono.size < n_fft:
        mono = np.pad(mono, (0, n_fft - mono.size))
    hop = n_fft // 2
    frames = 1 + (mono.size - n_fft) // hop
    window = np.hanning(n_fft).astype(np.float32)
    power = np.zeros(n_fft // 2 + 1)
    batch = max(1, (1 << 24) // n_fft)  # ~64 MB of frames at a time
    for first in range(0, frames, batch):
        idx = (first + np.arange(min(batch, frames - first)))[:, None] * hop + np.arange(n_fft)[None, :]
        spec = np.fft.rfft(mono[idx] * window)  # along each frame
        power += np.sum(spec.real ** 2 + spec.imag ** 2, axis=0)
    power /= frames
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    kept, levels = [], []
    for fc in centres:
        lo, hi = fc * 2 ** (-1 / 6), fc * 2 ** (1 / 6)
        if hi > 0.45 * sr:
            break
        band = (freqs >= lo) & (freqs < hi)
        if not band.any():
            continue
        kept.append(fc)
        levels.append(10 * np.log10(float(power[band].mean()) + 1e-20))
    return np.asarray(kept), np.asarray(levels)
