"""dsp.py's helpers against independent computations: soxr called directly, numpy's own
mean and RMS, and scipy's Welch estimate for the 1/3-octave balance."""

from __future__ import annotations

import numpy as np
import pytest

from mirctl.dsp import THIRD_OCTAVE_CENTRES, resample, rms_db, third_octave_levels, to_mono

SR = 44100


def _music_like(seconds: float, sr: int = SR, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Harmonic tones with a decaying spectrum plus pink-ish noise: energy in every band."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wav = np.zeros((channels, t.size))
    for f0 in (110.0, 277.2, 659.3):
        for k in range(1, 12):
            wav += rng.uniform(0.2, 1.0, (channels, 1)) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6))
    noise = np.cumsum(rng.standard_normal((channels, t.size)), axis=1)
    noise -= np.linspace(noise[:, :1], noise[:, -1:], t.size, axis=1)[..., 0]
    wav += 0.002 * noise + 0.05 * rng.standard_normal((channels, t.size))
    return (0.2 * wav / np.max(np.abs(wav))).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2])
def test_resample_is_soxr_at_the_asked_quality_in_the_channels_samples_layout(channels):
    import soxr

    wav = _music_like(0.5, 48000, channels)
    for quality in ("HQ", "VHQ", "QQ"):
        out = resample(wav, 48000, 22050, quality=quality)
        want = soxr.resample(wav.T, 48000, 22050, quality=quality)
        want = want.T if want.ndim == 2 else want[None]
        assert out.shape == (channels, 11025) and out.dtype == np.float32 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, want.astype(np.float32))
    assert not np.array_equal(resample(wav, 48000, 22050, "QQ"), resample(wav, 48000, 22050))
    assert resample(wav, 48000, 48000) is wav  # equal rates: the very same array, no copy


def test_resample_gives_float32_from_float64_and_one_channel_from_one_dimension():
    import soxr

    wav = _music_like(0.25, 48000, 2).astype(np.float64)
    out = resample(wav, 48000, 16000)
    assert out.dtype == np.float32 and out.shape == (2, 4000)
    np.testing.assert_array_equal(out, soxr.resample(wav.T, 48000, 16000).T.astype(np.float32))
    flat = resample(wav[0], 48000, 16000)
    assert flat.shape == (1, 4000) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat[0], out[0])


def test_to_mono_averages_channels_in_float32():
    stereo = np.array([[1.0, 0.5, -1.0], [0.0, 0.25, 1.0]], dtype=np.float64)
    mono = to_mono(stereo)
    assert mono.dtype == np.float32 and mono.shape == (3,)
    np.testing.assert_array_equal(mono, np.array([0.5, 0.375, 0.0], np.float32))
    one = to_mono(np.array([[0.25, -0.5]], dtype=np.float64))
    assert one.dtype == np.float32 and one.tolist() == [0.25, -0.5]
    three = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(to_mono(three), three.mean(axis=0))


def test_silence_is_minus_infinity_without_a_numpy_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log10(0) would warn "divide by zero" on a user's screen
        assert rms_db(np.zeros((2, 10), np.float32)) == float("-inf")


def test_rms_db_is_the_level_of_the_root_mean_square():
    assert rms_db(np.full((2, 100), 0.5, np.float32)) == pytest.approx(20 * np.log10(0.5), abs=1e-9)
    x = _music_like(0.3)
    assert rms_db(x) == pytest.approx(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))), abs=1e-6)
    assert rms_db(np.zeros((2, 10), np.float32)) == float("-inf")
    assert rms_db(np.zeros((2, 0), np.float32)) == float("-inf")
    assert rms_db(x[:, ::2]) == pytest.approx(rms_db(np.ascontiguousarray(x[:, ::2])))  # strided views too


def _welch_band_levels(mono: np.ndarray, sr: int, n_fft: int, centres: np.ndarray) -> list[float]:
    from scipy.signal import welch

    freqs, psd = welch(mono.astype(np.float64), sr, window=np.hanning(n_fft), nperseg=n_fft,
                       noverlap=n_fft // 2, detrend=False, scaling="density")
    out = []
    for fc in centres:
        band = (freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6))
        out.append(10 * np.log10(psd[band].mean()))
    return out


@pytest.mark.parametrize("sr,n_fft", [(SR, None), (22050, 4096), (48000, 1 << 15)])
def test_third_octave_levels_are_welch_s_band_means_up_to_one_constant(sr, n_fft):
    """Our levels are Welch's one-sided density (Hann frames, half overlap, no detrending)
    averaged over each band's bins, less the density's fixed scale, for every band kept."""
    wav = _music_like(2.0, sr, seed=sr)
    centres, levels = third_octave_levels(wav, sr, n_fft=n_fft)
    n = n_fft or 1 << int(np.ceil(np.log2(sr / 2.7)))
    if n_fft is None:
        assert n == 16384  # ~2.7 Hz bins at 44.1 kHz
    want = _welch_band_levels(to_mono(wav), sr, n, centres)
    window = np.hanning(n)
    scale_db = 10 * np.log10(2.0 / (sr * np.sum(window ** 2)))  # Welch's one-sided density scale
    np.testing.assert_allclose(levels + scale_db, want, atol=2e-3)
    # every ISO band whose upper edge is below 0.45 sr and that holds a bin, in order
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    expect = [fc for fc in THIRD_OCTAVE_CENTRES if fc * 2 ** (1 / 6) <= 0.45 * sr
              and np.any((freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6)))]
    np.testing.assert_array_equal(centres, expect)


def test_the_default_frame_gives_bins_of_at_most_2_7_hz():
    for sr, n_fft in ((44100, 16384), (48000, 32768), (8000, 4096)):
        wav = _music_like(0.5, sr, 1, seed=1)
        default = third_octave_levels(wav, sr)
        for a, b in zip(default, third_octave_levels(wav, sr, n_fft=n_fft)):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(third_octave_levels(wav, 8000)[1], third_octave_levels(wav, 8000, n_fft=2048)[1])


def test_a_signal_shorter_than_a_frame_is_zero_padded_and_one_dimension_is_one_channel():
    wav = _music_like(0.1, SR, 1, seed=2)  # 4410 samples, frames of 16384
    padded = np.pad(wav[0], (0, 16384 - wav.shape[1]))
    centres, levels = third_octave_levels(wav, SR)
    want = _welch_band_levels(padded, SR, 16384, centres)  # one frame: the padded signal itself
    scale_db = 10 * np.log10(2.0 / (SR * np.sum(np.hanning(16384) ** 2)))
    np.testing.assert_allclose(levels + scale_db, want, atol=2e-3)
    flat_centres, flat = third_octave_levels(wav[0].astype(np.float64), SR)
    np.testing.assert_array_equal(flat_centres, centres)
    np.testing.assert_array_equal(flat, levels)  # a 1-D float64 signal is analysed in float32 like (1, n)


def test_bands_without_a_bin_are_left_out_and_silence_has_a_floor():
    centres, levels = third_octave_levels(np.zeros((1, 4096), np.float32), SR, n_fft=256)  # 172 Hz bins
    assert centres[0] > 150  # the lowest bands hold no bin
    assert np.all(levels == pytest.approx(-200.0))  # 10 log10(1e-20): no -inf in a level table
    freqs = np.fft.rfftfreq(256, 1.0 / SR)
    for fc in centres:
        assert np.any((freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6)))
    dropped = [fc for fc in THIRD_OCTAVE_CENTRES if fc < centres[0]]
    for fc in dropped:
        assert not np.any((freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6)))


def test_a_long_signal_is_analysed_in_batches_with_the_same_result():
    """More frames than one batch holds (2**24 samples of frames, ~64 MB) give what one
    frame gives when every frame is the same: a signal that repeats every hop (32 samples)."""
    rng = np.random.default_rng(3)
    period = rng.standard_normal(32).astype(np.float32)
    n_frames = 3 * (1 << 17) + 157  # a batch of 2**18 frames of 64 samples and a second, half as big
    long = np.tile(period, n_frames + 1)
    centres, levels = third_octave_levels(long, 8000, n_fft=64)
    spec = np.fft.rfft(long[:64].astype(np.float64) * np.hanning(64))
    power = np.abs(spec) ** 2
    freqs = np.fft.rfftfreq(64, 1 / 8000)
    want = [10 * np.log10(power[(freqs >= fc * 2 ** (-1 / 6)) & (freqs < fc * 2 ** (1 / 6))].mean()) for fc in centres]
    np.testing.assert_allclose(levels, want, atol=0.05)  # float32 sums over 400k frames; a lost batch is -1.8 dB
    assert len(centres) == 12 and centres[-1] == pytest.approx(3174.8)  # 125 Hz bins; edges below 3.6 kHz
