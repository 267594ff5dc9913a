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


#: the tags of :func:`multilabel_clip`, in column order
SYNTH_TAGS = ("tone", "bass", "noise", "clicks")


def multilabel_clip(active: tuple[bool, ...] | list[bool], rng: np.random.Generator, sec: float = 3.0,
                    sr: int = 16000) -> np.ndarray:
    """A mono clip holding the sound of each active tag of :data:`SYNTH_TAGS`, each at a
    random level: ``tone`` a harmonic tone (fundamental 220–880 Hz) over part of the clip,
    ``bass`` a low sine (45–110 Hz), ``noise`` decaying white-noise bursts, ``clicks`` a
    click train (4–12 per second); always a faint noise floor (-66 dBFS), so a clip
    without tags is not digital silence; scaled down to a 0.9 peak where the sum exceeds
    it. A multi-label training set for taggers."""
    n = int(sec * sr)
    t = np.arange(n) / sr
    out = rng.normal(0.0, 10 ** (-66 / 20), n)
    level = lambda: 10 ** (rng.uniform(-22, -8) / 20)  # noqa: E731
    if active[0]:
        f0 = rng.uniform(220, 880)
        start = rng.uniform(0, sec / 3)
        env = np.clip((t - start) * 50, 0, 1) * np.clip((start + rng.uniform(sec / 2, sec) - t) * 50, 0, 1)
        out += level() * env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3))
    if active[1]:
        out += level() * np.sin(2 * np.pi * rng.uniform(45, 110) * t)
    if active[2]:
        for onset in rng.uniform(0, sec * 0.8, rng.integers(2, 6)):
            i = int(onset * sr)
            burst = rng.normal(0, 1, n - i) * np.exp(-np.arange(n - i) / (sr * rng.uniform(0.05, 0.3)))
            out[i:] += level() * burst
    if active[3]:
        period = int(sr / rng.uniform(4, 12))
        for i in range(int(rng.integers(0, period)), n - 8, period):
            out[i:i + 8] += level() * 4 * np.hanning(8)
    peak = np.abs(out).max()
    return (out * (0.9 / peak if peak > 0.9 else 1.0)).astype(np.float32)


def write_multilabel_set(folder: Any, n: int = 80, seed: int = 0, sec: float = 3.0, sr: int = 16000,
                         npy: bool = False) -> Any:
    """Write ``n`` clips of :func:`multilabel_clip` (each tag present with probability ½)
    to ``folder/clips/`` (.wav, or .npy arrays at ``sr``) and their multi-hot
    ``folder/labels.csv`` (``path,tone,bass,noise,clicks``); returns ``folder``."""
    from pathlib import Path

    import soundfile as sf

    folder = Path(folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = ["path," + ",".join(SYNTH_TAGS)]
    for i in range(n):
        active = tuple(bool(v) for v in rng.random(len(SYNTH_TAGS)) < 0.5)
        clip = multilabel_clip(active, rng, sec, sr)
        name = f"clips/clip{i:03d}." + ("npy" if npy else "wav")
        if npy:
            np.save(folder / name, clip)
        else:
            sf.write(folder / name, clip, sr, subtype="FLOAT")
        rows.append(name + "," + ",".join(str(int(a)) for a in active))
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


#: the classes of :func:`class_clip`
SYNTH_CLASSES = ("low_sine", "high_square", "white_noise", "brown_noise")


def class_clip(kind: str, rng: np.random.Generator, sec: float = 3.0, sr: int = 16000) -> np.ndarray:
    """A mono clip of one of :data:`SYNTH_CLASSES` at a random level and pitch:
    ``low_sine`` 80–200 Hz, ``high_square`` a band-limited square wave at 500–1200 Hz,
    ``white_noise``, ``brown_noise`` (integrated white noise); each with a faint white
    noise floor (-60 dBFS), at a peak of 0.1–0.9."""
    n = int(sec * sr)
    t = np.arange(n) / sr
    if kind == "low_sine":
        x = np.sin(2 * np.pi * rng.uniform(80, 200) * t)
    elif kind == "high_square":
        f0 = rng.uniform(500, 1200)
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, int(sr / 2 / f0) + 1, 2))
    elif kind == "white_noise":
        x = rng.normal(0, 1, n)
    elif kind == "brown_noise":
        x = np.cumsum(rng.normal(0, 1, n))
        x -= np.convolve(x, np.ones(801) / 801, mode="same")  # drop the random walk's drift
    else:
        raise ValueError(f"unknown class {kind!r}")
    x = x / np.max(np.abs(x)) * rng.uniform(0.1, 0.9) + rng.normal(0, 1e-3, n)
    return x.astype(np.float32)


def write_class_folders(folder: Any, n_per_class: int = 20, seed: int = 0, sec: float = 3.0,
                        sr: int = 16000) -> Any:
    """``folder/<class>/<class>NN.wav`` for each of :data:`SYNTH_CLASSES`: the layout
    ``mirctl train classify --data`` reads without a table; returns ``folder``."""
    from pathlib import Path

    import soundfile as sf

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    for kind in SYNTH_CLASSES:
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            sf.write(folder / kind / f"{kind}{i:02d}.wav", class_clip(kind, rng, sec, sr), sr, subtype="FLOAT")
    return folder
