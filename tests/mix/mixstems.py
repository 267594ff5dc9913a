"""Synthetic but music-like stems (seeded): a sung-like line, a drum groove, a bass line
and chords, each with its own loudness, spectrum and dynamics, as stereo float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import write_wav

SR = 44100


def _env(n: int, sr: int, starts: list[float], dur: float, decay: float) -> np.ndarray:
    env = np.zeros(n)
    for s in starts:
        i = int(s * sr)
        k = min(n - i, int(dur * sr))
        if k > 0:
            env[i:i + k] += np.exp(-np.arange(k) / (decay * sr))
    return env


def make_stems(seconds: float = 6.0, sr: int = SR, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    beat = 0.5
    # vocals: a vibrato melody with harmonics, phrases with breaths between them
    pitch = 220 * 2 ** (np.repeat(rng.choice([0, 2, 4, 5, 7, 9], size=int(seconds / beat) + 1), int(beat * sr))[:n] / 12)
    phase = 2 * np.pi * np.cumsum(pitch * (1 + 0.006 * np.sin(2 * np.pi * 5.5 * t))) / sr
    voice = sum(np.sin(k * phase) / k ** 1.3 for k in range(1, 9))
    voice *= 0.25 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t) ** 2) * ((t % 2.0) < 1.7)
    vocals = np.stack([voice, 0.95 * voice])
    # drums: kick (a falling sine) on every beat, snare (noise) on the off-beats, hats
    kick_env = _env(n, sr, list(np.arange(0, seconds, beat)), 0.3, 0.06)
    kick = np.sin(2 * np.pi * 55 * t * (1 + 2 * kick_env)) * kick_env
    snare = rng.standard_normal(n) * _env(n, sr, list(np.arange(beat / 2, seconds, beat)), 0.2, 0.04)
    hiss = np.diff(rng.standard_normal(n + 2))
    hiss = hiss[1:] + hiss[:-1]  # a band around sr/4, nothing at Nyquist (as recorded cymbals)
    hats = hiss * _env(n, sr, list(np.arange(0, seconds, beat / 4)), 0.05, 0.01)
    drums = 0.5 * np.stack([0.8 * kick + 0.35 * snare + 0.1 * hats, 0.8 * kick + 0.3 * snare + 0.14 * hats])
    # bass: root notes, plucked
    roots = 55 * 2 ** (np.repeat(rng.choice([0, 3, 5, 7], size=int(seconds / (2 * beat)) + 1), int(2 * beat * sr))[:n] / 12)
    bphase = 2 * np.pi * np.cumsum(roots) / sr
    pluck = _env(n, sr, list(np.arange(0, seconds, beat)), beat, 0.35)
    bass = np.stack([0.4 * (np.sin(bphase) + 0.3 * np.sin(2 * bphase)) * pluck] * 2)
    # other: sustained chords, wide
    chord = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (261.6, 329.6, 392.0, 523.3))
    other = np.stack([0.05 * chord * (1 + 0.2 * np.sin(2 * np.pi * 0.5 * t)), 0.05 * chord * (1 - 0.2 * np.sin(2 * np.pi * 0.5 * t))])
    return {k: v.astype(np.float32) for k, v in {"vocals": vocals, "drums": drums, "bass": bass, "other": other}.items()}


def write_stems(folder: Path, stems: dict[str, np.ndarray] | None = None, sr: int = SR,
                subtype: str = "FLOAT") -> Path:
    for name, wav in (stems or make_stems(sr=sr)).items():
        write_wav(folder / f"{name}.wav", wav, sr, subtype=subtype)
    return folder
