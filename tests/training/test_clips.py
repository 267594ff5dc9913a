"""The clip models' augmentation (mirctl.training.clips) against the front-end itself:
a pitch-shifted mel must look like the mel of the shifted sound."""

from __future__ import annotations

import numpy as np
import pytest

from mirctl.backends.musicnn_backend import mel_power
from mirctl.testing import sine
from mirctl.training.clips import ClipParams, add_noise, mel_centres, shift_pitch

CENTRES = mel_centres()


def harmonic(f0, sr=16000, sec=1.0):
    return sum(sine(f0 * k, sec, sr, amp=0.3 / k)[0] for k in (1, 2, 3))


@pytest.mark.parametrize("f0, semitones", [(220.0, 3.0), (440.0, -4.0), (1500.0, 2.0)])
def test_shift_pitch_gives_the_mel_of_the_shifted_sound(f0, semitones):
    shifted = shift_pitch(mel_power(harmonic(f0), 16000), semitones, CENTRES)
    target = mel_power(harmonic(f0 * 2 ** (semitones / 12)), 16000)
    other = mel_power(harmonic(f0 * 2 ** (-semitones / 12)), 16000)  # the shift the other way
    a, b, c = (np.log10(1 + 10000 * m.mean(axis=0)) for m in (shifted, target, other))
    assert np.argmax(a) == np.argmax(b)
    assert np.corrcoef(a, b)[0, 1] > 0.95 and np.corrcoef(a, b)[0, 1] > np.corrcoef(a, c)[0, 1] + 0.05


def test_shift_pitch_of_zero_is_the_identity_and_upward_shifts_empty_the_bottom():
    mel = np.random.default_rng(0).random((10, 96)).astype(np.float32)
    assert shift_pitch(mel, 0.0, CENTRES) is mel
    down = shift_pitch(mel, -12.0, CENTRES)  # an octave down: the top bands read above Nyquist -> 0
    assert np.all(down[:, -1] == 0) and np.all(down[:, 0] > 0)


@pytest.mark.parametrize("pink", [False, True])
def test_add_noise_lands_at_the_asked_snr(pink):
    rng = np.random.default_rng(1)
    mel = mel_power(harmonic(330.0, sec=3.0), 16000)
    noisy = add_noise(mel, 10.0, pink, rng, CENTRES)
    noise = noisy - mel
    assert np.all(noise > 0)
    snr = 10 * np.log10(mel.mean() / noise.mean())
    assert snr == pytest.approx(10.0, abs=0.3)
    low, high = noise[:, :20].mean(), noise[:, -20:].mean()
    assert (high < low / 5) if pink else (0.8 < high / low < 1.25)


def test_window_crops_repeats_and_applies_the_gain():
    from mirctl.backends.musicnn_backend import compress
    from mirctl.tasks.tag_training import TRAINABLE

    mel = mel_power(harmonic(440.0, sec=1.0), 16000).astype(np.float16)  # 63 frames: shorter than a window
    params = ClipParams(gain_db=0.0)
    win = TRAINABLE.window(mel, np.random.default_rng(0), params, CENTRES)
    assert win.shape == (187, 96) and np.allclose(win[:63], compress(mel)) and np.allclose(win[63:126], win[:63])
    loud = TRAINABLE.window(mel, np.random.default_rng(0), ClipParams(gain_db=12.0), CENTRES)
    assert not np.allclose(loud, win)
