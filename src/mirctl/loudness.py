"""ITU-R BS.1770-4 integrated loudness (LUFS).

Mono and stereo go to libebur128 (``pyebur128``, the reference C implementation, MIT)
when it is installed: the same figure about five times faster (0.2 s instead of 1.1 s
for a 3-minute stereo song), which matters where every rendered or separated file is
measured. More channels, and machines without it, use the numpy implementation below
(:func:`integrated_loudness_numpy`); the tests hold both to pyloudnorm and to each other.

K-weighting is the standard's two biquads (a high shelf, then an RLB high-pass), with
coefficients derived for any sample rate from the 48 kHz reference filters. The
cascade is applied as an FIR of its impulse response (truncated where it has decayed
below 1e-12) with FFT overlap-add, so no scipy import is paid. Gating: 400 ms blocks
every 100 ms, absolute gate -70 LUFS, relative gate -10 LU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BLOCK_S = 0.4
STEP_S = 0.1
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
#: BS.1770 channel weights for L, R, C, Ls, Rs; further channels count 1.0
SURROUND_WEIGHT = 1.41


def k_weighting(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(b, a) of the shelf and the high-pass for sample rate ``sr``."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sr)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [(shelf_b, shelf_a), (hp_b, hp_a)]


@lru_cache(maxsize=8)
def _impulse_response(sr: int) -> np.ndarray:
    length = 1 << max(12, math.ceil(math.log2(sr * 0.5)))  # >= 0.5 s: the 38 Hz pole has long decayed
    h = np.zeros(length)
    h[0] = 1.0
    for b, a in k_weighting(sr):
        y = np.zeros(length)
        x1 = x2 = y1 = y2 = 0.0
        for n in range(length):
            x0 = h[n]
            y0 = b[0] * x0 + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
            y[n] = y0
            x2, x1, y2, y1 = x1, x0, y1, y0
        h = y
    last = np.nonzero(np.abs(h) > 1e-12)[0]
    return h[: int(last[-1]) + 1] if last.size else h[:1]


def _segment_energies(x: np.ndarray, h: np.ndarray, step: int) -> np.ndarray:
    """Sum of squares of the K-weighted signal in consecutive ``step``-sample segments."""
    n = x.size
    n_fft = 1 << math.ceil(math.log2(max(8 * h.size, 1 << 16)))
    block = n_fft - h.size + 1
    H = np.fft.rfft(h.astype(np.float32), n_fft)  # float32 transforms: ~1e-6 relative, far below 0.01 LU
    filtered = np.empty(n, dtype=np.float32)
    tail = np.zeros(h.size - 1, dtype=np.float32)
    for start in range(0, n, block):
        seg = x[start:start + block].astype(np.float32, copy=False)
        y = np.fft.irfft(np.fft.rfft(seg, n_fft) * H, n_fft)[: seg.size + h.size - 1]
        y[: tail.size] += tail  # the previous block's overhang (y is never shorter than it)
        filtered[start:start + seg.size] = y[: seg.size]
        tail = y[seg.size:]  # exactly h.size - 1 samples
    usable = (n // step) * step
    segs = filtered[:usable].reshape(-1, step)
    return np.square(segs).sum(axis=1, dtype=np.float64)


def _ebur128() -> object | None:
    try:
        import pyebur128
    except ImportError:
        return None
    return pyebur128


def integrated_loudness(wav: np.ndarray, sr: int) -> float | None:
    """Integrated loudness of float (channels, samples) audio in LUFS.

    None when shorter than one 400 ms block; -inf when every block is gated out (silence).
    """
    if _shorter_than_a_block(wav, sr):
        return None
    ebur = _ebur128() if wav.shape[0] <= 2 else None
    if ebur is None:
        return integrated_loudness_numpy(wav, sr)
    return _libebur128(ebur, wav, sr, with_range=False)[0]


def _shorter_than_a_block(wav: np.ndarray, sr: int) -> bool:
    return wav.shape[1] < int(round(BLOCK_S / STEP_S)) * int(round(STEP_S * sr))


def _libebur128(ebur: object, wav: np.ndarray, sr: int, with_range: bool) -> tuple[float, float | None]:
    """(integrated loudness, loudness range or None) of mono/stereo audio at least one
    400 ms block long, in one libebur128 pass."""
    mode = ebur.MeasurementMode.MODE_I | (ebur.MeasurementMode.MODE_LRA if with_range else 0)  # type: ignore[attr-defined]
    lib = _c_api(ebur)
    if lib is not None:
        return _libebur128_nogil(lib, int(mode), wav, sr, with_range)
    state = ebur.R128State(wav.shape[0], sr, mode)  # type: ignore[attr-defined]
    for chunk in _interleaved(wav):
        state.add_frames(chunk.ravel(), chunk.shape[0])
    lufs = float(ebur.get_loudness_global(state))  # type: ignore[attr-defined]  # silence: -HUGE_VAL = -inf
    return lufs, float(ebur.get_loudness_range(state)) if with_range else None  # type: ignore[attr-defined]


CHUNK_FRAMES = 1 << 20


def _interleaved(wav: np.ndarray):  # type: ignore[no-untyped-def]
    """(frames, channels) float32 chunks of (channels, samples) audio, as libebur128 reads them."""
    for start in range(0, wav.shape[1], CHUNK_FRAMES):
        yield np.ascontiguousarray(wav[:, start:start + CHUNK_FRAMES].T, dtype=np.float32)


@lru_cache(maxsize=1)
def _c_api(ebur: object) -> object | None:
    """libebur128's own functions, called through ctypes: pyebur128's extension module
    carries the library and exports its symbols. A ctypes call releases the GIL (the
    Cython wrapper holds it), so the stems of a mix are measured on both cores at once.
    None when this build does not export them (the wrapper is used then)."""
    import ctypes

    try:
        lib = ctypes.CDLL(ebur.pyebur128.__file__)  # type: ignore[attr-defined]
        spec = {"ebur128_init": (ctypes.c_void_p, [ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]),
                "ebur128_destroy": (None, [ctypes.POINTER(ctypes.c_void_p)]),
                "ebur128_add_frames_float": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]),
                "ebur128_loudness_global": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]),
                "ebur128_loudness_range": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)])}
        for name, (restype, argtypes) in spec.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
    except (AttributeError, OSError):
        return None
    return lib


def _libebur128_nogil(lib: object, mode: int, wav: np.ndarray, sr: int,
                      with_range: bool) -> tuple[float, float | None]:
    import ctypes

    state = lib.ebur128_init(wav.shape[0], sr, mode)  # type: ignore[attr-defined]
    if not state:
        raise MemoryError("libebur128 could not allocate its state")
    try:
        for chunk in _interleaved(wav):
            if lib.ebur128_add_frames_float(state, chunk.ctypes.data, chunk.shape[0]):  # type: ignore[attr-defined]
                raise MemoryError("libebur128 could not take more frames")
        lufs, lra = ctypes.c_double(), ctypes.c_double()
        lib.ebur128_loudness_global(state, ctypes.byref(lufs))  # type: ignore[attr-defined]  # silence: -inf
        if with_range:
            lib.ebur128_loudness_range(state, ctypes.byref(lra))  # type: ignore[attr-defined]
    finally:
        handle = ctypes.c_void_p(state)
        lib.ebur128_destroy(ctypes.byref(handle))  # type: ignore[attr-defined]
    return lufs.value, lra.value if with_range else None


def integrated_loudness_numpy(wav: np.ndarray, sr: int) -> float | None:
    """:func:`integrated_loudness` with numpy alone (any number of channels)."""
    if _shorter_than_a_block(wav, sr):
        return None
    step = int(round(STEP_S * sr))
    per_block = int(round(BLOCK_S / STEP_S))
    h = _impulse_response(sr)
    weights = np.ones(wav.shape[0])
    weights[3:5] = SURROUND_WEIGHT  # Ls, Rs
    seg = np.stack([_segment_energies(wav[c], h, step) for c in range(wav.shape[0])])  # (channels, segments)
    kernel = np.ones(per_block)
    blocks = np.stack([np.convolve(s, kernel, mode="valid") for s in seg]) / (per_block * step)
    power = weights @ blocks
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10 * np.log10(power)
    keep = loud > ABSOLUTE_GATE
    if not keep.any():
        return float("-inf")
    relative = -0.691 + 10 * np.log10(np.mean(power[keep])) + RELATIVE_GATE
    keep &= loud > relative
    return float(-0.691 + 10 * np.log10(np.mean(power[keep])))


# --- the full set of levels a mix reports ---------------------------------------------------

#: oversampling for true peak: BS.1770-4 asks for at least 192 kHz
def _oversampling(sr: int) -> int:
    return 4 if sr < 96000 else 2 if sr < 192000 else 1


TP_TAPS = 12  # taps per phase of the oversampling interpolator (48 at 4x, as in BS.1770-4 annex 2)
TP_BLOCK = 32  # samples per candidate block


@lru_cache(maxsize=4)
def _interpolator(factor: int) -> np.ndarray:
    """(factor, TP_TAPS) polyphase branches of a Kaiser-windowed sinc low-pass at the
    original Nyquist frequency, each normalized to unit DC gain."""
    n = factor * TP_TAPS
    m = np.arange(n) - (n - 1) / 2
    h = np.sinc(m / factor) * np.kaiser(n, 7.0)
    phases = h.reshape(TP_TAPS, factor).T[:, ::-1]  # phase p: taps h[p], h[p + factor], … (as a dot with x[k:k+TAPS])
    return np.ascontiguousarray(phases / phases.sum(axis=1, keepdims=True))


def true_peak(wav: np.ndarray, sr: int) -> float:
    """True (inter-sample) peak of (channels, samples) audio as a linear amplitude: the
    largest |value| after oversampling to at least 192 kHz (BS.1770-4: 4x at 44.1/48 kHz)
    with a 12-tap-per-phase windowed-sinc interpolator. 0.0 for silence or no samples.

    Only where a peak above the running maximum is possible is interpolated: an
    interpolated value is at most ``sum(|taps|)`` times the largest sample under the
    filter, so 32-sample blocks whose neighbourhood stays below ``best / sum(|taps|)``
    are skipped, loudest blocks first. That makes it 2-3x faster than oversampling the
    whole signal with soxr (0.17-0.3 s instead of 0.5 s for 3 minutes of stereo; a mix
    measures a dozen signals); the tests hold it to sines of known peak, to
    libebur128's meter and to soxr."""
    if wav.size == 0:
        return 0.0
    factor = _oversampling(sr)
    channels = np.atleast_2d(wav)
    starts = np.arange(0, channels.shape[1], TP_BLOCK)
    peaks = [np.maximum.reduceat(np.abs(channel), starts) for channel in channels]  # per 32-sample block
    best = max(float(p.max()) for p in peaks)  # the sample peak
    if factor == 1 or best == 0.0:
        return best
    phases = _interpolator(factor)
    bound = float(np.abs(phases).sum(axis=1).max())
    pad = TP_TAPS - 1
    for channel, block_peaks in zip(channels, peaks):
        block_max = block_peaks.astype(np.float32, copy=False)
        near = block_max.copy()  # a block's outputs read up to TP_TAPS - 1 samples of the blocks beside it
        near[1:] = np.maximum(near[1:], block_max[:-1])
        near[:-1] = np.maximum(near[:-1], block_max[1:])
        # best only grows, so a block under the bound now never becomes a candidate: sort the others alone
        candidates = np.flatnonzero(near * bound > best)
        if candidates.size == 0:
            continue
        order = candidates[np.argsort(-near[candidates], kind="stable")]
        padded = np.concatenate([np.zeros(pad, np.float32), channel.astype(np.float32, copy=False),
                                 np.zeros(TP_BLOCK + pad, np.float32)])
        offsets = np.arange(TP_BLOCK + pad)
        for first in range(0, order.size, 4096):
            chunk = order[first:first + 4096]
            chunk = chunk[near[chunk] * bound > best]
            if chunk.size == 0:
                break  # sorted: no later block can beat the best either
            segs = padded[(chunk * TP_BLOCK)[:, None] + offsets[None, :]]  # (blocks, 32 + 11)
            windows = np.lib.stride_tricks.sliding_window_view(segs, TP_TAPS, axis=1)  # (blocks, 32, 12)
            best = max(best, float(np.abs(windows @ phases.T.astype(np.float32)).max()))
    return best


def _db(value: float) -> float | None:
    return round(20 * math.log10(value), 2) if value > 0 else None


@dataclass(frozen=True)
class Levels:
    """What a mix reports of one signal. ``lufs`` None: shorter than 400 ms or silent;
    peaks None: digital silence."""

    lufs: float | None
    lra: float | None
    sample_peak_dbfs: float | None
    true_peak_dbtp: float | None

    def shifted(self, gain_db: float) -> Levels:
        """The levels of this signal times ``gain_db`` (the range does not change)."""
        if not math.isfinite(gain_db):
            return Levels(None, None, None, None)

        def up(v: float | None) -> float | None:
            return None if v is None else round(v + gain_db, 2)

        return Levels(up(self.lufs), self.lra, up(self.sample_peak_dbfs), up(self.true_peak_dbtp))

    def as_dict(self) -> dict[str, float | None]:
        return {"lufs": self.lufs, "lra": self.lra, "sample_peak_dbfs": self.sample_peak_dbfs,
                "true_peak_dbtp": self.true_peak_dbtp}


def loudness_range(wav: np.ndarray, sr: int) -> tuple[float | None, float | None]:
    """(integrated loudness, loudness range) in one libebur128 pass; the range is None
    without pyebur128 or for more than two channels."""
    ebur = _ebur128() if wav.shape[0] <= 2 else None
    if ebur is None or _shorter_than_a_block(wav, sr):
        return integrated_loudness(wav, sr), None
    return _libebur128(ebur, wav, sr, with_range=True)


def measure(wav: np.ndarray, sr: int) -> Levels:
    """Integrated loudness, loudness range, sample peak and true peak of one signal
    (libebur128's pass and the true peak at once, in two threads, for a long signal)."""
    return levels_of(wav, *loudness_and_true_peak(wav, sr, with_range=True))


def levels_of(wav: np.ndarray, lufs: float | None, lra: float | None, peak: float) -> Levels:
    """The report's levels of ``wav`` from its measured loudness, range and true peak
    (linear), rounded to 0.01; its sample peak is taken here."""
    sample = float(np.max(np.abs(wav))) if wav.size else 0.0
    finite = lufs is not None and math.isfinite(lufs)
    return Levels(round(lufs, 2) if finite else None, round(lra, 2) if finite and lra is not None else None,
                  _db(sample), _db(peak))


#: signals at least this long are measured in two threads (shorter: a thread costs more than it saves)
PARALLEL_S = 10.0


def loudness_and_true_peak(wav: np.ndarray, sr: int, with_range: bool = False
                           ) -> tuple[float | None, float | None, float]:
    """(integrated loudness, loudness range or None, true peak as a linear amplitude):
    :func:`loudness_range` (or :func:`integrated_loudness`) and :func:`true_peak`, run
    side by side for long signals (libebur128 is called without the GIL)."""
    def levels() -> tuple[float | None, float | None]:
        return loudness_range(wav, sr) if with_range else (integrated_loudness(wav, sr), None)

    if wav.shape[-1] < PARALLEL_S * sr:
        lufs, lra = levels()
        return lufs, lra, true_peak(wav, sr)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        peak = pool.submit(true_peak, wav, sr)
        lufs, lra = levels()
        return lufs, lra, peak.result()
