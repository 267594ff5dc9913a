"""Spotify's pedalboard (JUCE effects; GPLv3, the ``mix`` extra) for ``mirctl mix``.

Every filter, compressor, reverb and limiter of a mix is a pedalboard plugin; this
module only builds the chains from a preset's settings and runs them on float32
(channels, samples) arrays. Plugins keep state, so each call builds fresh ones: chains
may run in several threads at once (pedalboard releases the GIL while processing), and
its latency compensation keeps every output aligned with its input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

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


def glue(spec: CompressorSpec, wav: np.ndarray, sr: int) -> np.ndarray:
    return run([_compressor(_pb(), spec)], wav, sr)


def reverb(spec: ReverbSpec, wav: np.ndarray, sr: int) -> np.ndarray:
    """The reverb return of a send bus: wet signal only."""
    pb = _pb()
    return run([pb.Reverb(room_size=spec.room_size, damping=spec.damping, width=spec.width, wet_level=1.0,
                          dry_level=0.0)], wav, sr)


def third_octave_eq(bands: Sequence[tuple[float, float]], wav: np.ndarray, sr: int) -> np.ndarray:
    """A graphic EQ: one peak filter per (centre Hz, gain dB), 1/3 octave wide."""
    pb = _pb()
    plugins = [pb.PeakFilter(cutoff_frequency_hz=hz, gain_db=g, q=THIRD_OCTAVE_Q) for hz, g in bands if abs(g) > 0.01]
    return run(plugins, wav, sr)


LIMITER_RELEASE_MS = 100.0
#: audio run through the limiter before each later part, so that part starts with the
#: gain state a single pass would have reached: 3 s is 30 release times (e^-30)
PREROLL_S = 3.0
#: and after it, so the end of each piece sees the peaks its lookahead reaches into
POSTROLL_S = 0.5


def limit(wav: np.ndarray, sr: int, ceiling_db: float, true_peak: bool = True, parts: int = 2) -> np.ndarray:
    """``pedalboard.BrickwallLimiter``: lookahead, no make-up gain; ``true_peak`` makes
    its sidechain 4× oversampled (the plain ``Limiter`` overshoots 0 dBFS).

    A long signal is limited in ``parts`` pieces at once in threads (pedalboard releases
    the GIL; the true-peak limiter is the costliest step of a mix). Each later piece is
    preceded by :data:`PREROLL_S` of the audio before it, which is then dropped: the
    limiter's gain envelope forgets everything older than a few release times, so the
    joined result equals one pass over the whole (the tests compare them). Each piece
    also runs :data:`POSTROLL_S` past its end, for the peaks its lookahead must see."""
    import numpy as np

    pb = _pb()

    def one(part: np.ndarray) -> np.ndarray:
        return run([pb.BrickwallLimiter(ceiling_db=ceiling_db, release_ms=LIMITER_RELEASE_MS, lookahead_ms=5.0,
                                        true_peak=true_peak)], part, sr)

    n = wav.shape[-1]
    preroll = int(PREROLL_S * sr)
    if parts <= 1 or n < parts * 4 * preroll:
        return one(wav)
    from concurrent.futures import ThreadPoolExecutor

    postroll = int(POSTROLL_S * sr)
    bounds = [round(i * n / parts) for i in range(parts + 1)]
    spans = [(max(0, a - preroll), a, b, min(n, b + postroll)) for a, b in zip(bounds[:-1], bounds[1:])]
    with ThreadPoolExecutor(max_workers=parts) as pool:
        pieces = list(pool.map(one, [wav[:, s:e] for s, _, _, e in spans]))
    return np.concatenate([p[:, a - s:b - s] for p, (s, a, b, _) in zip(pieces, spans)], axis=1)
