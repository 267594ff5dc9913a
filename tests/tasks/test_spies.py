"""Spy models: stand-ins that check what the task hands them (sample rate, channels,
content), so a wrong resampling or channel mapping cannot pass unnoticed."""

from __future__ import annotations

import numpy as np

from mirctl.tasks import separation, transcription
from mirctl.types import AudioSource


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * sr / x.size)


def tones(freqs, seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in freqs]).astype(np.float32)


class SpyStemModel:
    """A stereo 44.1 kHz stem model: checks each block it gets and returns it as 'vocals'."""

    sources = ("vocals", "accompaniment")
    sample_rate = 44100
    channels = 2
    info = {"name": "spy"}

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, float, float]] = []

    def __call__(self, wav, *, sr, progress=None, **_):
        assert wav.dtype == np.float32 and wav.shape[0] == 2
        self.seen.append((sr, wav.shape[1], dominant_hz(wav[0], sr), dominant_hz(wav[1], sr)))
        return np.stack([wav, np.zeros_like(wav)])


def test_separation_hands_the_model_its_own_rate_and_channel_pairs_and_maps_them_back():
    sr = 48000
    freqs = [300, 500, 700, 900, 1100, 1300, 1500, 1700]  # one tone per channel
    wav = tones(freqs, 1.0, sr)
    spy = SpyStemModel()
    stems = separation.separate(wav, sr, spy, separation.Params(clip="none"))
    assert [s[0] for s in spy.seen] == [44100] * 4 and all(s[1] == 44100 for s in spy.seen)
    pairs = [(round(a), round(b)) for _, _, a, b in spy.seen]
    assert pairs == [(300, 500), (700, 900), (1100, 1300), (1500, 1700)]  # the audio really is at 44.1 kHz
    assert stems["vocals"].shape == wav.shape and not np.any(stems["accompaniment"])
    assert [round(dominant_hz(ch, sr)) for ch in stems["vocals"]] == freqs  # back at 48 kHz, each on its channel
    assert np.max(np.abs(stems["vocals"][:, 1000:-1000] - wav[:, 1000:-1000])) < 1e-3


def test_a_mono_input_is_duplicated_for_a_stereo_model_and_comes_back_mono():
    spy = SpyStemModel()
    stems = separation.separate(tones([440], 0.5, 22050), 22050, spy, separation.Params(clip="none"))
    (seen,) = spy.seen
    assert seen[0] == 44100 and round(seen[2]) == round(seen[3]) == 440
    assert stems["vocals"].shape == (1, 11025)


class SpyNotesModel:
    """Stands in for basic-pitch: checks the windows are 22050 Hz mono audio."""

    def __init__(self) -> None:
        self.hz: list[float] = []

    def __call__(self, windows):
        from mirctl.tasks.note_decoding import WINDOW_SAMPLES

        assert windows.shape[1:] == (WINDOW_SAMPLES, 1) and windows.dtype == np.float32
        self.hz.append(dominant_hz(windows[0, 4000:40000, 0], 22050))
        n = windows.shape[0]
        return {"note": np.zeros((n, 172, 88), np.float32), "onset": np.zeros((n, 172, 88), np.float32),
                "contour": np.zeros((n, 172, 264), np.float32)}


def test_transcription_hands_basic_pitch_22050_hz_mono():
    spy = SpyNotesModel()
    stereo = tones([440, 440], 3.0, 44100)
    result = transcription.transcribe(AudioSource("x.wav", stereo, 44100), spy, transcription.Params())
    assert abs(spy.hz[0] - 440) < 2 and result.data["notes"] == 0


class SpyMelodyModel:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def __call__(self, mono, sr):
        self.calls.append((sr, dominant_hz(mono, sr)))
        times = np.arange(10) * 0.01
        return {"time_s": times, "f0_hz": np.full(10, 220.0), "voiced": np.ones(10, bool), "confidence": np.ones(10)}


def test_melody_mode_hands_the_tracker_22050_hz_and_says_so():
    spy = SpyMelodyModel()
    transcription.transcribe(AudioSource("x.wav", tones([220], 1.0, 16000), 16000), spy,
                             transcription.Params(mode="melody"))
    ((sr, hz),) = spy.calls
    assert sr == 22050 and abs(hz - 220) < 2
