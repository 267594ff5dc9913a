"""Spotify's pedalboard (JUCE effects; GPLv3, the ``mix`` extra) for ``mirctl mix``.

Every filter, compressor, reverb and limiter of a mix is a pedalboard plugin; this
module only builds the chains from a preset's settings and runs them on float32
(channels, samples) arrays. Plugins keep state, so each call builds fresh ones: chains
may run in several threads at once (pedalboard releases the GIL while processing), and
its latency compensation keeps every output aligned with its input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from mirctl.backends._lazy import require

if TYPE_CHECKING:
    import numpy as np

    from mirctl.mixpresets import CompressorSpec, EqBand, ReverbSpec, RoleSettings

INSTALL_HINT = ("pip install 'mirctl[mix]' (pedalboard, GPLv3; `make setup` installs it), or mix with "
                "--preset flat, which sums the stems without effects")
#: BS.1770 asks for 1/3-octave EQ bands at Q = 1 / (2^(1/6) - 2^(-1/6))
THIRD_OCTAVE_Q = 4.318


def _pb() -> Any:
    return require("pedalboard", extra="mix")


def version() -> str:
    return str(getattr(_pb(), "__version__", "unknown"))


def _compressor(pb: Any, spec: CompressorSpec) -> Any:
    return pb.Compressor(threshold_db=spec.threshold_db, ratio=spec.ratio, attack_ms=spec.attack_ms,
                         release_ms=spec.release_ms)


def _eq_band(pb: Any, band: EqBand) -> Any:
    if band.type == "peak":
        return pb.PeakFilter(cutoff_frequency_hz=band.hz, gain_db=band.gain_db, q=band.q)
    cls = pb.LowShelfFilter if band.type == "low_shelf" else pb.HighShelfFilter
    return cls(cutoff_frequency_hz=band.hz, gain_db=band.gain_db, q=band.q)


def stem_chain(settings: RoleSettings, sr: int) -> list[Any]:
    """High-pass (two first-order sections: 12 dB/octave), EQ bands, compressor.
    Bands at or above Nyquist are left out (they would do nothing or misbehave)."""
    pb = _pb()
    plugins: list[Any] = []
    if settings.highpass_hz:
        plugins += [pb.HighpassFilter(cutoff_frequency_hz=settings.highpass_hz) for _ in range(2)]
    plugins += [_eq_band(pb, b) for b in settings.eq if b.hz < 0.45 * sr]
    if settings.compressor is not None:
        plugins.append(_compressor(pb, settings.compressor))
    return plugins


def run(plugins: Sequence[Any], wav: np.ndarray, sr: int) -> np.ndarray:
    """``wav`` through the plugins in order; float32 (channels, samples), same length."""
    import numpy as np

    if not plugins:
        return wav
    board = _pb().Pedalboard(list(plugins))
    return np.ascontiguousarray(board(wav, float(sr)), dtype=np.float32)


def process_stem(settings: RoleSettings, wav: np.ndarray, sr: int) -> np.ndarray:
    return run(stem_chain(settings, sr), wav, sr)


#: audio run through a plugin before each later part of a signal processed in parts, so
#: that part starts in the state one pass would have reached: the limiter's and the
#: compressors' gain envelopes forget in a few release times (100-200 ms) and the reverb's
#: tail falls below float32 resolution within about 3 s (tests compare both with one pass)
PREROLL_S = 5.0
#: and after it, so the end of each part sees the peaks a limiter's lookahead reaches into
POSTROLL_S = 0.5
#: signals shorter than this many pre-rolls per part are processed in one pass
MIN_PART_PREROLLS = 4


def in_parts(make: Callable[[], Sequence[Any]], wav: np.ndarray, sr: int, parts: int = 2,
             postroll_s: float = 0.0) -> np.ndarray:
    """``wav`` through fresh plugins from ``make()``, in ``parts`` pieces at once in
    threads (pedalboard releases the GIL). Each later piece is preceded by
    :data:`PREROLL_S` of the audio before it, which is then dropped, and runs
    ``postroll_s`` past its end; joined, the pieces equal one pass over the whole for
    plugins whose state forgets within the pre-roll (limiter, compressor, reverb)."""
    import numpy as np

    n = wav.shape[-1]
    preroll = int(PREROLL_S * sr)
    if parts <= 1 or n < parts * MIN_PART_PREROLLS * preroll:
        return run(make(), wav, sr)
    from concurrent.futures import ThreadPoolExecutor

    postroll = int(postroll_s * sr)
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    spans = [(max(0, a - preroll), a, b, min(n, b + postroll)) for a, b in zip(bounds[:-1], bounds[1:])]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        pieces = list(pool.map(lambda span: run(make(), wav[:, span[0]:span[3]], sr), spans))
    return np.concatenate([p[:, a - s:b - s] for p, (s, a, b, _) in zip(pieces, spans)], axis=1)


def glue(spec: CompressorSpec, wav: np.ndarray, sr: int, parts: int = 2) -> np.ndarray:
    """The bus compressor, in ``parts`` threads (:func:`in_parts`)."""
    pb = _pb()
    return in_parts(lambda: [_compressor(pb, spec)], wav, sr, parts)


def reverb(spec: ReverbSpec, wav: np.ndarray, sr: int, parts: int = 2) -> np.ndarray:
    """The reverb return of a send bus: wet signal only, in ``parts`` threads (:func:`in_parts`)."""
    pb = _pb()
    return in_parts(lambda: [pb.Reverb(room_size=spec.room_size, damping=spec.damping, width=spec.width,
                                       wet_level=1.0, dry_level=0.0)], wav, sr, parts)


def third_octave_eq(bands: Sequence[tuple[float, float]], wav: np.ndarray, sr: int) -> np.ndarray:
    """A graphic EQ: one peak filter per (centre Hz, gain dB), 1/3 octave wide."""
    pb = _pb()
    plugins = [pb.PeakFilter(cutoff_frequency_hz=hz, gain_db=g, q=THIRD_OCTAVE_Q) for hz, g in bands if abs(g) > 0.01]
    return run(plugins, wav, sr)


LIMITER_RELEASE_MS = 100.0


def limit(wav: np.ndarray, sr: int, ceiling_db: float, true_peak: bool = True, parts: int = 2) -> np.ndarray:
    """``pedalboard.BrickwallLimiter``: lookahead, no make-up gain; ``true_peak`` makes
    its sidechain 4× oversampled (the plain ``Limiter`` overshoots 0 dBFS). A long
    signal is limited in ``parts`` threads (:func:`in_parts`; the true-peak limiter is
    the costliest step of a mix)."""
    pb = _pb()
    return in_parts(lambda: [pb.BrickwallLimiter(ceiling_db=ceiling_db, release_ms=LIMITER_RELEASE_MS,
                                                 lookahead_ms=5.0, true_peak=true_peak)], wav, sr, parts, POSTROLL_S)
