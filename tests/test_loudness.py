"""loudness.py held to exact references: the BS.1770-4 filter table, scipy's lfilter for
the K-weighting FIR and its overlap-add, pyloudnorm's gating run on our filters, and
libebur128 (the C meter) for sines across the band and long signals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mirctl import loudness


def _noise_song(seconds: float, sr: int, channels: int, seed: int = 0) -> np.ndarray:
    """Sections of noise and tones at very different levels (every gate has work to do)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = 0.05 * rng.standard_normal((channels, n))
    x += 0.2 * np.sin(2 * np.pi * rng.uniform(60, 4000, (channels, 1)) * t)
    level = np.repeat(rng.choice([1.0, 0.3, 0.02, 1e-4], size=int(seconds * 2) + 1), sr // 2)[:n]
    return (x * level).astype(np.float32)


def test_k_weighting_at_48k_is_the_bs1770_table():
    (shelf_b, shelf_a), (hp_b, hp_a) = loudness.k_weighting(48000)
    np.testing.assert_allclose(shelf_b, [1.53512485958697, -2.69169618940638, 1.19839281085285], rtol=0, atol=1e-12)
    np.testing.assert_allclose(shelf_a, [1.0, -1.69065929318241, 0.73248077421585], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(hp_b, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(hp_a, [1.0, -1.99004745483398, 0.99007225036621], rtol=0, atol=1e-12)


@pytest.mark.parametrize("sr", [22050, 44100, 96000])
def test_k_weighting_at_other_rates_is_libebur128_s(sr):
    """libebur128 derives its filters for any rate from the same analogue parameters: a
    steady sine anywhere in the band reads the same loudness through both meters."""
    pyebur128 = pytest.importorskip("pyebur128")
    t = np.arange(2 * sr) / sr
    for freq in (25.0, 40.0, 100.0, 1000.0, 1681.0, 3000.0, 8000.0, 0.4 * sr):
        x = (0.3 * np.sin(2 * np.pi * freq * t))[None].astype(np.float32)
        state = pyebur128.R128State(1, sr, pyebur128.MeasurementMode.MODE_I)
        state.add_frames(np.ascontiguousarray(x[0]), x.shape[1])
        theirs = pyebur128.get_loudness_global(state)
        assert loudness.integrated_loudness_numpy(x, sr) == pytest.approx(theirs, abs=2e-3), freq


@pytest.mark.parametrize("sr", [8000, 44100, 48000])
def test_the_fir_is_the_biquad_cascade_s_impulse_response(sr):
    from scipy.signal import lfilter

    h = loudness._impulse_response(sr)
    impulse = np.zeros(1 << max(12, math.ceil(math.log2(sr * 0.5))))
    impulse[0] = 1.0
    want = impulse
    for b, a in loudness.k_weighting(sr):
        want = lfilter(b, a, want)
    last = int(np.nonzero(np.abs(want) > 1e-12)[0][-1])
    assert h.size == last + 1 and abs(want[last + 1:]).max() <= 1e-12  # cut where it decayed below 1e-12
    np.testing.assert_allclose(h, want[: last + 1], rtol=0, atol=1e-14)


def test_segment_energies_are_the_filtered_signal_s_over_several_fft_blocks():
    from scipy.signal import lfilter

    sr = 8000
    h = loudness._impulse_response(sr)
    x = _noise_song(70.0, sr, 1, seed=4)[0]  # 560000 samples: more than one overlap-add block
    n_fft = 1 << math.ceil(math.log2(max(8 * h.size, 1 << 16)))
    assert x.size > 2 * (n_fft - h.size + 1)
    y = x.astype(np.float64)
    for b, a in loudness.k_weighting(sr):
        y = lfilter(b, a, y)
    step = 800
    got = loudness._segment_energies(x, h, step)
    want = np.square(y[: (y.size // step) * step].reshape(-1, step)).sum(axis=1)
    assert got.shape == want.shape == (700,) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
    ragged = loudness._segment_energies(x[:-123], h, step)  # a last partial segment is left out
    assert ragged.shape == (699,)
    np.testing.assert_allclose(ragged, want[:699], rtol=2e-4, atol=1e-9)


def _pyloudnorm_on_our_filters(x: np.ndarray, sr: int) -> float:
    """pyloudnorm's own blocks, channel weights and gates, with our K-weighting biquads."""
    pyloudnorm = pytest.importorskip("pyloudnorm")
    from scipy.signal import lfilter

    class Biquad:  # what pyloudnorm's meter asks of a filter stage
        def __init__(self, b, a):
            self.b, self.a = b, a

        def apply_filter(self, data):
            return lfilter(self.b, self.a, data)

    meter = pyloudnorm.Meter(sr)
    meter._filters = {f"stage{i}": Biquad(b, a) for i, (b, a) in enumerate(loudness.k_weighting(sr))}
    return meter.integrated_loudness(x.T.astype(np.float64))


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("sr", [44100, 48000])
def test_gating_blocks_and_channel_weights_are_pyloudnorm_s(channels, sr):
    x = _noise_song(12.0, sr, channels, seed=channels)
    want = _pyloudnorm_on_our_filters(x, sr)
    assert loudness.integrated_loudness_numpy(x, sr) == pytest.approx(want, abs=1e-3)
    if channels <= 2:
        assert loudness.integrated_loudness(x, sr) == pytest.approx(want, abs=5e-3)  # libebur128


def test_the_relative_gate_leaves_out_quiet_sections():
    """A loud half and a half 20 dB down: the quiet half is under the relative gate, so the
    figure is the loud half's alone (and not the two halves' mean power)."""
    sr = 48000
    loud = 0.1 * np.random.default_rng(1).standard_normal((2, 6 * sr))
    quiet = 0.1 * loud
    both = np.concatenate([loud, quiet], axis=1).astype(np.float32)
    alone = loudness.integrated_loudness_numpy(loud.astype(np.float32), sr)
    # the blocks that straddle the step count; the mean power of both halves would be 2.96 dB down
    assert loudness.integrated_loudness_numpy(both, sr) == pytest.approx(alone, abs=0.15)
    assert loudness.integrated_loudness_numpy(both, sr) == pytest.approx(_pyloudnorm_on_our_filters(both, sr), abs=1e-3)
    below = np.concatenate([loud, 1e-5 * loud], axis=1).astype(np.float32)  # under the absolute gate (-70)
    assert loudness.integrated_loudness_numpy(below, sr) == pytest.approx(alone, abs=0.15)
    assert loudness.integrated_loudness_numpy(1e-5 * loud.astype(np.float32), sr) == float("-inf")


def test_surround_weights_and_channels_past_five():
    sr = 48000
    t = np.arange(2 * sr) / sr
    one = (0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)
    base = loudness.integrated_loudness_numpy(one[None], sr)
    for channel, weight in enumerate([1.0, 1.0, 1.0, 1.41, 1.41, 1.0, 1.0]):
        x = np.zeros((7, one.size), np.float32)
        x[channel] = one
        assert loudness.integrated_loudness_numpy(x, sr) == pytest.approx(base + 10 * math.log10(weight), abs=1e-6)


def test_a_block_long_signal_is_measured_and_a_shorter_one_is_not():
    sr = 44100
    x = _noise_song(1.0, sr, 2)[:, : 4 * 4410]  # exactly one 400 ms block of four 100 ms steps
    assert loudness.integrated_loudness_numpy(x, sr) is not None
    assert loudness.integrated_loudness(x, sr) is not None
    assert loudness.integrated_loudness_numpy(x[:, :-1], sr) is None
    assert loudness.integrated_loudness(x[:, :-1], sr) is None
    assert loudness.loudness_range(x[:, :-1], sr) == (None, None)


def test_libebur128_is_fed_long_signals_in_chunks_without_losing_frames():
    pytest.importorskip("pyebur128")
    sr = 44100
    x = _noise_song(26.0, sr, 2, seed=5)  # 1.15 M frames: two chunks of 2**20
    x[:, (1 << 20):] *= 3.0  # the second chunk is louder: dropping it would show
    assert loudness.integrated_loudness(x, sr) == pytest.approx(loudness.integrated_loudness_numpy(x, sr), abs=5e-3)


def test_loudness_range_is_libebur128_s_lra():
    pyebur128 = pytest.importorskip("pyebur128")
    sr = 44100
    x = _noise_song(20.0, sr, 2, seed=6)
    lufs, lra = loudness.loudness_range(x, sr)
    state = pyebur128.R128State(2, sr, pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_LRA)
    frames = np.ascontiguousarray(x.T)
    state.add_frames(frames.ravel(), frames.shape[0])
    assert lra == pytest.approx(pyebur128.get_loudness_range(state), abs=1e-9) and lra > 3
    assert lufs == pytest.approx(pyebur128.get_loudness_global(state), abs=1e-9)
    assert loudness.loudness_range(np.zeros((2, sr), np.float32), sr) == (float("-inf"), 0.0)
    assert loudness.loudness_range(np.stack([x[0]] * 3), sr)[1] is None  # three channels: the numpy path, no range


def test_libebur128_called_without_the_gil_measures_what_its_wrapper_measures(monkeypatch):
    """The meter calls libebur128's C functions through ctypes (no GIL held, so two
    threads measure at once); the figures are the Cython wrapper's, digit for digit."""
    pyebur128 = pytest.importorskip("pyebur128")
    assert loudness._c_api(pyebur128) is not None  # this install takes the ctypes path
    sr = 44100
    x = _noise_song(26.0, sr, 2, seed=9)  # two chunks of 2**20 frames
    x[:, (1 << 20):] *= 0.25
    cases = [(x, True), (x[:1], True), (x, False), (np.zeros((2, sr), np.float32), True)]
    fast = [loudness._libebur128(pyebur128, w, sr, r) for w, r in cases]
    monkeypatch.setattr(loudness, "_c_api", lambda ebur: None)
    assert fast == [loudness._libebur128(pyebur128, w, sr, r) for w, r in cases]
    assert fast[0][1] > 3 and fast[2][1] is None and fast[3] == (float("-inf"), 0.0)
    monkeypatch.undo()
    assert loudness._libebur128(pyebur128, x.astype(np.float64), sr, True) == fast[0]  # fed as float32 frames
    taken = []
    real = loudness._libebur128_nogil
    monkeypatch.setattr(loudness, "_libebur128_nogil", lambda *a: taken.append(a[1:]) or real(*a))
    assert loudness.integrated_loudness(x, sr) == fast[2][0] and len(taken) == 1  # the measurement takes this path

    class NoMemory:  # libebur128 that cannot allocate its state, or take frames
        def __init__(self, state):
            self.state, self.destroyed = state, 0

        def ebur128_init(self, *args):
            return self.state

        def ebur128_add_frames_float(self, *args):
            return 1

        def ebur128_destroy(self, handle):
            self.destroyed += 1

    for lib, message in ((NoMemory(0), "libebur128 could not allocate its state"),
                         (NoMemory(1234), "libebur128 could not take more frames")):
        with pytest.raises(MemoryError) as err:
            real(lib, 5, x, sr, False)
        assert str(err.value) == message and lib.destroyed == (lib.state != 0)


def test_long_signals_are_measured_in_two_threads_with_the_same_figures():
    sr = 44100
    x = _noise_song(12.0, sr, 2, seed=10)  # over PARALLEL_S: loudness and true peak side by side
    assert x.shape[1] >= loudness.PARALLEL_S * sr
    assert loudness.loudness_and_true_peak(x, sr, with_range=True) == (*loudness.loudness_range(x, sr),
                                                                       loudness.true_peak(x, sr))
    assert loudness.loudness_and_true_peak(x, sr) == (loudness.integrated_loudness(x, sr), None,
                                                      loudness.true_peak(x, sr))
    levels = loudness.measure(x, sr)
    lufs, lra = loudness.loudness_range(x, sr)
    assert (levels.lufs, levels.lra) == (round(lufs, 2), round(lra, 2) if lra is not None else None)
    assert levels.true_peak_dbtp == round(20 * math.log10(loudness.true_peak(x, sr)), 2)


def test_only_long_signals_take_a_second_thread_for_the_true_peak(monkeypatch):
    import threading

    sr = 44100
    where = []
    real = loudness.true_peak
    monkeypatch.setattr(loudness, "true_peak", lambda w, r: where.append(threading.current_thread()) or real(w, r))
    x = _noise_song(10.0, sr, 2, seed=11)
    loudness.loudness_and_true_peak(x, sr)
    loudness.loudness_and_true_peak(x[:, :-1], sr)
    assert where[0] is not threading.main_thread() and where[1] is threading.main_thread()


def test_levels_shift_round_and_report():
    levels = loudness.Levels(-20.0, 5.5, -3.0, -2.5)
    assert levels.shifted(1.234) == loudness.Levels(-18.77, 5.5, -1.77, -1.27)
    assert levels.shifted(-math.inf) == loudness.Levels(None, None, None, None)
    assert loudness.Levels(None, None, None, None).shifted(3.0) == loudness.Levels(None, None, None, None)
    assert levels.as_dict() == {"lufs": -20.0, "lra": 5.5, "sample_peak_dbfs": -3.0, "true_peak_dbtp": -2.5}


def test_measure_rounds_to_hundredths_and_says_none_for_silence():
    pytest.importorskip("pyebur128")
    sr = 48000
    x = _noise_song(8.0, sr, 2, seed=7)
    got = loudness.measure(x, sr)
    lufs, lra = loudness.loudness_range(x, sr)
    assert got.lufs == round(lufs, 2) and got.lra == round(lra, 2)
    assert got.sample_peak_dbfs == round(20 * math.log10(float(np.abs(x).max())), 2)
    assert got.true_peak_dbtp == round(20 * math.log10(loudness.true_peak(x, sr)), 2)
    assert got.true_peak_dbtp >= got.sample_peak_dbfs
    assert loudness.measure(np.zeros((2, sr), np.float32), sr) == loudness.Levels(None, None, None, None)
    short = loudness.measure(x[:, :100], sr)
    assert short.lufs is None and short.lra is None and short.sample_peak_dbfs is not None


@pytest.mark.parametrize("sr,factor", [(44100, 4), (95999, 4), (96000, 2), (191999, 2), (192000, 1)])
def test_true_peak_oversamples_to_at_least_192k(sr, factor):
    assert loudness._oversampling(sr) == factor
    x = np.zeros((1, 64), np.float32)
    x[0, 10] = 0.5
    x[0, 11] = -0.5
    if factor == 1:
        assert loudness.true_peak(x, sr) == 0.5  # no interpolation at 192 kHz
    else:
        assert loudness.true_peak(x, sr) > 0.5  # the alternating pair overshoots between samples


def test_true_peak_interpolator_is_a_unit_gain_windowed_sinc():
    for factor in (2, 4):
        phases = loudness._interpolator(factor)
        assert phases.shape == (factor, loudness.TP_TAPS)
        np.testing.assert_allclose(phases.sum(axis=1), 1.0, atol=1e-12)
        n = factor * loudness.TP_TAPS
        m = np.arange(n) - (n - 1) / 2
        h = np.sinc(m / factor) * np.kaiser(n, 7.0)
        # phase p reads x[k..k+11] against taps h[p], h[p+factor], ... reversed
        for p in range(factor):
            want = h[p::factor][::-1]
            np.testing.assert_allclose(phases[p], want / want.sum(), atol=1e-12)
    assert loudness.true_peak(np.zeros((2, 0), np.float32), 48000) == 0.0
    assert loudness.true_peak(np.zeros((2, 10), np.float32), 48000) == 0.0


def test_empty_audio_measures_as_nothing():
    assert loudness.measure(np.zeros((2, 0), np.float32), 48000) == loudness.Levels(None, None, None, None)


def test_silent_blocks_raise_no_numpy_warning():
    import warnings

    sr = 48000
    x = np.zeros((2, 3 * sr), np.float32)
    x[:, sr:2 * sr] = _noise_song(1.0, sr, 2, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log10 of an all-zero block would warn on a user's screen
        assert math.isfinite(loudness.integrated_loudness_numpy(x, sr))
        assert loudness.integrated_loudness_numpy(np.zeros((2, sr), np.float32), sr) == float("-inf")


def test_the_absolute_gate_still_holds_when_the_relative_gate_falls_below_it():
    """A very quiet recording (about -64 LUFS) has its relative gate near -74 LUFS: blocks
    between -74 and -70 are still out, by the absolute gate (pyloudnorm agrees)."""
    sr = 48000
    rng = np.random.default_rng(11)
    quiet = 0.0003 * rng.standard_normal((2, 4 * sr))  # about -64 LUFS
    quieter = 0.000125 * rng.standard_normal((2, 4 * sr))  # about -72: under -70, above the relative gate
    x = np.concatenate([quiet, quieter], axis=1).astype(np.float32)
    ours = loudness.integrated_loudness_numpy(x, sr)
    assert -66 < ours < -63
    assert ours == pytest.approx(_pyloudnorm_on_our_filters(x, sr), abs=1e-3)
    assert ours == pytest.approx(loudness.integrated_loudness_numpy(quiet.astype(np.float32), sr), abs=0.15)


def test_mono_and_stereo_go_to_libebur128_for_the_integrated_figure_alone(monkeypatch):
    """libebur128 measures one and two channels (faster; asked for no range), numpy
    three and more: both give the same figure, so only a spy tells the paths apart."""
    pytest.importorskip("pyebur128")
    sr = 44100
    calls = []
    real = loudness._libebur128

    def spy(ebur, wav, rate, with_range):
        calls.append((wav.shape[0], with_range))
        return real(ebur, wav, rate, with_range)

    monkeypatch.setattr(loudness, "_libebur128", spy)
    x = _noise_song(2.0, sr, 3, seed=8)
    for channels in (1, 2, 3):
        loudness.integrated_loudness(x[:channels], sr)
    assert calls == [(1, False), (2, False)]
    assert loudness.loudness_range(x[:2], sr)[1] is not None and calls[-1] == (2, True)


def _every_interpolated_value_peak(wav: np.ndarray, sr: int) -> float:
    """The definition true_peak() computes faster: the largest |value| among the samples
    and every output of the polyphase interpolator, each window of 12 samples tried."""
    from numpy.lib.stride_tricks import sliding_window_view

    factor = loudness._oversampling(sr)
    phases = loudness._interpolator(factor)
    best = float(np.abs(wav).max())
    for x in wav.astype(np.float64):
        padded = np.concatenate([np.zeros(loudness.TP_TAPS - 1), x, np.zeros(loudness.TP_TAPS - 1)])
        best = max(best, float(np.abs(sliding_window_view(padded, loudness.TP_TAPS) @ phases.T).max()))
    return best


@pytest.mark.parametrize("sr", [44100, 96000])
def test_true_peak_is_the_largest_interpolated_value_wherever_it_lies(sr):
    """Random bursts of any length, at any offset (the first samples, block edges), in
    quiet signals longer than one batch of blocks: skipping blocks never loses the peak."""
    rng = np.random.default_rng(sr)
    signals = []
    for length in (40, 64, 95, 1000, 4097, 33 * 32 + 5):
        x = rng.standard_normal((2, length)) * rng.uniform(0.05, 0.5, (2, 1))
        signals.append(x)
    # near-Nyquist bursts whose peaks fall between samples; the short ones end a block, so
    # the windows that reach their peak end in the next, quiet block
    for start, size in ((0, 24), (31, 24), (32, 24), (63, 24), (88, 8), (216, 8), (217, 8)):
        x = 0.01 * rng.standard_normal((1, 2048))
        n = np.arange(size)
        x[0, start:start + size] += 0.6 * np.sin(np.pi / 2 * n + np.pi / 4) * np.hanning(size + 2)[1:-1]
        signals.append(x)
    long = 0.001 * rng.standard_normal((1, 4096 * 32 * 2 + 77))  # more blocks than one batch of 4096
    long[0, 200_001:200_025] += 0.8 * np.sin(np.pi / 2 * np.arange(24) + np.pi / 4)
    signals.append(long)
    for x in signals:
        x[:, -16:] = 0.0  # nothing rings past the end: every window that matters ends inside
        wav = x.astype(np.float32)
        expected = _every_interpolated_value_peak(wav, sr)
        assert loudness.true_peak(wav, sr) == pytest.approx(expected, rel=2e-6), x.shape
    assert _every_interpolated_value_peak(signals[6].astype(np.float32), sr) > 1.2 * np.abs(signals[6]).max()


def test_true_peak_finds_an_overshoot_in_a_later_batch_of_candidates_and_in_one_short_block():
    """Thousands of blocks of one sample level are candidates, sorted in index order and
    taken 4096 at a time: an inter-sample overshoot is found in the first batch (after
    which the rest are skipped) and in the second; a signal of one block has one candidate."""
    sr = 44100
    x = np.zeros(4200 * loudness.TP_BLOCK, np.float32)
    x[16::loudness.TP_BLOCK] = 0.5  # an impulse in every block
    burst = 0.5 * np.array([1, 1, -1, -1, 1, 1, -1, -1], np.float32)  # fs/4 at 45°: peaks between samples
    for block in (0, 4096):
        y = x.copy()
        start = block * loudness.TP_BLOCK + 4
        y[start:start + burst.size] = burst
        expected = _every_interpolated_value_peak(y[None], sr)
        assert expected > 0.6 and loudness.true_peak(y[None], sr) == pytest.approx(expected, rel=1e-6), block
    for n in (6, 12, 20):
        y = np.resize(burst, n)[None]
        expected = _every_interpolated_value_peak(y, sr)
        assert expected > 0.55 and loudness.true_peak(y, sr) == pytest.approx(expected, rel=1e-6), n


def test_true_peak_at_192k_is_the_sample_peak_wherever_it_lies():
    """From 192 kHz on, BS.1770 needs no oversampling: the sample peak, also when it is
    the very first sample or sits in a pattern that would overshoot between samples."""
    burst = 0.5 * np.array([1, 1, -1, -1] * 20, np.float32)
    first = np.zeros(100, np.float32)
    first[0], first[50] = -0.9, 0.3
    for wav in (burst[None], first[None], np.stack([first[::-1], first])):
        assert loudness.true_peak(wav, 192000) == float(np.abs(wav).max())
    assert loudness.true_peak(first[None], 44100) == pytest.approx(_every_interpolated_value_peak(first[None], 44100))
