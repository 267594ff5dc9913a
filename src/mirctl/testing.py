"""Synthetic signals and fake models for doctests and the test suite (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np


def sine(freq_hz: float = 440.0, sec: float = 1.0, sr: int = 44100, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sec * sr)) / sr
    return np.repeat((amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)[None], channels, axis=0)


class FakeStemModel:
    """A stem model that splits its input 30/70 into 'vocals' and 'accompaniment'."""

    sources = ("vocals", "accompaniment")
    sample_rate = None
    channels = None
    info = {"name": "fake", "sha256": None}

    def __call__(self, wav: np.ndarray, **_: Any) -> np.ndarray:
        return np.stack([0.3 * wav, 0.7 * wav]).astype(np.float32)
