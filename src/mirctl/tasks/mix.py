"""Mixing: a stem set in, one balanced, mastered stereo mix out.

The chain (all effects are pedalboard plugins, :mod:`mirctl.backends.pedalboard_backend`):

1. every stem is brought to one rate (the highest among them, or ``--sample-rate``;
   soxr) and to stereo (a mono stem is centred), and padded to the longest stem;
2. with a balancing preset each stem enters its chain at :data:`STAGE_LUFS`, goes
   through high-pass, EQ and compressor, is panned, and is then measured again, so
   that its fader puts it exactly ``level`` LU from the others whatever the chain did;
   ``--gain``/``--mute``/``--solo`` change faders after the preset;
3. the master bus sums the faders and a shared reverb return, is glued by a bus
   compressor, optionally matched to a reference (loudness and a 1/3-octave EQ curve),
   brought to ``--target-lufs`` and held under ``--true-peak`` by a true-peak limiter.

Loudness is measured with libebur128 and true peak by 4× oversampling near the loudest
samples (:mod:`mirctl.loudness`). ``--preset flat`` is the plain sum with no effects and no
loudness change: ``separate`` followed by it rebuilds the input.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mirctl.errors import InputError, MirctlWarning, UsageError
from mirctl.options import option
from mirctl.pipeline.task import OutputSlot, Task, audio_seconds
from mirctl.types import AudioOut, ImageOut, StemSetSource, TaskResult

if TYPE_CHECKING:
    import numpy as np

    from mirctl.loudness import Levels
    from mirctl.mixpresets import Preset

STAGE_LUFS = -20.0  # every stem enters its chain, and the bus its glue compressor, at this loudness
DEFAULT_TARGET_LUFS = -14.0
LOUDNESS_TOLERANCE = 0.5  # LU: farther from the target than this is warned about
MAX_GAIN_DB = 40.0  # the master is never raised more than this to reach a target
MAX_MATCH_DB = 12.0  # the reference EQ never boosts or cuts a band more than this


@dataclass(frozen=True)
class Params:
    preset: str = option("default", "Mix preset: default, karaoke, vocal-up, instrumental, flat, or a .toml "
                                    "file of your own (see configs/mix/default.toml).", config="preset")
    target_lufs: float | None = option(None, "Integrated loudness of the master in LUFS (default: -14, or the "
                                             "--reference's loudness).")
    true_peak: float = option(-1.0, "True-peak ceiling of the master in dBTP.", config="true_peak")
    gains: tuple[str, ...] = option((), "NAME=DB: change a stem's or a role's level after the preset, e.g. "
                                        "vocals=-inf drums=+3 (repeat the option).")
    mute: tuple[str, ...] = option((), "Leave out these stems or roles (repeat the option).")
    solo: tuple[str, ...] = option((), "Keep only these stems or roles (repeat the option).")
    reference: str | None = option(None, "A finished track to match: its loudness and its long-term 1/3-octave "
                                         "spectral balance.")
    save_stems: bool = option(False, "Also write every processed stem at its level in the mix.")
    plot: bool = option(False, "Also write a PNG of the stems' and the master's waveforms with their loudness.")
    sample_rate: int | None = option(None, "Output sample rate (default: the highest among the stems).")
    format: str = option("wav", "Output audio format.", config="format")
    bits: str = option("16", "Sample format for wav/flac.", config="bits")
    mp3_bitrate: int = option(320, "MP3 bitrate in kbit/s.", config="mp3_bitrate")


def parse_gain(text: str) -> tuple[str, float]:
    """``"vocals=-inf"`` -> ``("vocals", -inf)``; ``"drums=+3"`` -> ``("drums", 3.0)``."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip().lower()
    if not sep or not name or not value:
        raise UsageError(f"--gain {text!r} is not NAME=DB", hint="e.g. --gain vocals=-inf --gain drums=+3")
    if value in ("-inf", "-infinity", "mute"):
        return name, -math.inf
    try:
        db = float(value.removesuffix("db"))
    except ValueError:
        raise UsageError(f"--gain {text!r}: {value!r} is not a number of dB",
                         hint="e.g. drums=+3, bass=-2.5 or vocals=-inf") from None
    if not math.isfinite(db) or not -60 <= db <= 24:
        raise UsageError(f"--gain {text!r}: use -60 … +24 dB, or -inf to mute")
    return name, db


def _key(name: str) -> str:
    from mirctl.mixpresets import words

    return "_".join(words(name))


@dataclass(frozen=True)
class Plan:
    """Everything decided once per run: the preset and the per-name changes."""

    preset: Preset
    gains: dict[str, float] = field(default_factory=dict)
    mute: frozenset[str] = frozenset()
    solo: frozenset[str] = frozenset()

    @property
    def names(self) -> set[str]:
        return set(self.gains) | set(self.mute) | set(self.solo)

    def user_gain(self, stem: str, role: str) -> float:
        """``--gain`` for this stem: by its name, else by its role, else 0 dB."""
        return self.gains.get(_key(stem), self.gains.get(role, 0.0))

    def muted(self, stem: str, role: str) -> bool:
        """Left out of the mix: muted or not soloed (by name or role), or at -inf by the
        preset or by ``--gain``."""
        key = _key(stem)
        soloed = not self.solo or key in self.solo or role in self.solo
        return (key in self.mute or role in self.mute or not soloed
                or self.preset.for_role(role).level == -math.inf or self.user_gain(stem, role) == -math.inf)


def make_plan(params: Params) -> Plan:
    from mirctl.mixpresets import load_preset

    preset = load_preset(params.preset)
    gains: dict[str, float] = {}
    for text in params.gains:
        name, db = parse_gain(text)
        gains[_key(name)] = db
    return Plan(preset, gains, frozenset(_key(n) for n in params.mute), frozenset(_key(n) for n in params.solo))


def validate(params: Params) -> Plan:
    from mirctl.io.audio import check_write_options

    plan = make_plan(params)
    if not plan.preset.master.normalize:
        if params.target_lufs is not None:
            raise UsageError(f"--preset {params.preset} does not change the loudness, so --target-lufs has no effect",
                             hint="drop --target-lufs, or use a preset that normalizes (e.g. default)")
        if params.reference is not None:
            raise UsageError(f"--preset {params.preset} applies no processing, so it cannot match a --reference",
                             hint="use --preset default (or another preset that normalizes)")
    if params.target_lufs is not None and params.reference is not None:
        raise UsageError("--target-lufs and --reference both set the loudness",
                         hint="drop one: --reference matches the reference's loudness")
    if params.target_lufs is not None and not (math.isfinite(params.target_lufs) and -60 <= params.target_lufs <= 0):
        raise UsageError(f"--target-lufs {params.target_lufs} is out of range", hint="use -60 … 0, e.g. -14")
    if not (math.isfinite(params.true_peak) and -20 <= params.true_peak <= 0):
        raise UsageError(f"--true-peak {params.true_peak} is out of range", hint="use -20 … 0 dBTP, e.g. -1")
    if params.sample_rate is not None and not 8000 <= params.sample_rate <= 192000:
        raise UsageError(f"--sample-rate {params.sample_rate} is out of range", hint="use 8000 to 192000 Hz")
    if params.reference is not None and not Path(params.reference).is_file():
        raise UsageError(f"--reference {params.reference} does not exist")
    if plan.mute & plan.solo:
        raise UsageError(f"{', '.join(sorted(plan.mute & plan.solo))} is both muted and soloed")
    check_write_options(params.format, params.bits)
    return plan


def db_gain(db: float) -> float:
    return 0.0 if db == -math.inf else 10 ** (db / 20)


# --- the loaded "model": preset, effects and reference -------------------------------------


@dataclass
class Reference:
    """What matching needs of the reference track, analysed once per run."""

    path: str
    lufs: float
    centres: Any
    levels_db: Any


@dataclass
class Mixer:
    plan: Plan
    effects: Any  # the pedalboard backend module, or None when nothing needs it
    reference: Reference | None = None
    info: dict[str, Any] = field(default_factory=dict)


def load_mixer(params: Params) -> Mixer:
    plan = validate(params)
    preset = plan.preset
    needs_effects = preset.master.normalize or any(s.processed for s in preset.roles.values())
    effects, version = None, None
    if needs_effects:
        from mirctl.backends import pedalboard_backend as effects
        from mirctl.errors import BackendUnavailable

        try:
            version = effects.version()  # imports pedalboard
        except BackendUnavailable as err:
            raise BackendUnavailable(f"--preset {preset.name}: {err.message}",
                                     hint=effects.INSTALL_HINT) from None
    reference = None
    if params.reference is not None:
        reference = analyse_reference(Path(params.reference))
    info = {"name": preset.name, "preset": preset.description,
            "effects": f"pedalboard {version}" if effects else None,
            "reference": str(params.reference) if params.reference else None}
    return Mixer(plan, effects, reference, info)


def analyse_reference(path: Path) -> Reference:
    from mirctl.dsp import third_octave_levels
    from mirctl.errors import MirctlError
    from mirctl.io.audio import read_audio
    from mirctl.loudness import integrated_loudness

    try:
        wav, sr = read_audio(path)
    except MirctlError as err:
        raise UsageError(f"--reference: {err.message}", err.hint) from None
    if wav.shape[0] > 2:
        wav = wav[:2]
    lufs = integrated_loudness(wav, sr)
    if lufs is None or not math.isfinite(lufs):
        raise UsageError(f"--reference {path} is silent or shorter than 0.4 s: it has no loudness to match")
    centres, levels = third_octave_levels(wav, sr)
    return Reference(str(path), round(lufs, 2), centres, levels)


# --- one stem set ---------------------------------------------------------------------------


@dataclass
class Strip:
    """One stem on its way through the mix."""

    name: str
    role: str
    wav: Any  # (2, n) float32 at the mix rate
    level_db: float  # the preset's level (LU relative, or a plain gain without balance)
    user_db: float = 0.0
    muted: bool = False
    before: Levels | None = None
    post: Levels | None = None  # after its chain and pan, before the fader
    after: Levels | None = None  # as it sits in the mix (fader and master gain applied)
    fader_db: float = 0.0
    send_db: float = -math.inf
    silent: bool = False


def pan(wav: np.ndarray, position: float) -> np.ndarray:
    """Constant-power balance of a stereo signal: -1 left … +1 right; 0 leaves it as is."""
    import numpy as np

    if position == 0.0:
        return wav
    theta = (position + 1.0) * math.pi / 4
    gains = np.array([math.sqrt(2) * math.cos(theta), math.sqrt(2) * math.sin(theta)], np.float32)[:, None]
    return wav * gains


def to_stereo(name: str, wav: np.ndarray, sr: int, rate: int, path: Any) -> np.ndarray:
    import numpy as np

    from mirctl.dsp import resample

    if wav.shape[0] > 2:
        raise InputError(f"stem {name} ({path}) has {wav.shape[0]} channels; mix takes mono or stereo stems",
                         hint="downmix it first, e.g. `ffmpeg -i in.wav -ac 2 out.wav`")
    wav = resample(wav, sr, rate)
    if wav.shape[0] == 1:  # centred: the same signal on both sides
        wav = np.repeat(wav, 2, axis=0)
    return np.ascontiguousarray(wav, dtype=np.float32)


def _check_names(plan: Plan, strips: list[Strip], path: Any) -> list[str]:
    """Every --gain/--mute/--solo name must be a stem of this set or a known role; a role
    this set lacks is only worth a warning (another set of the batch may have it)."""
    from mirctl.mixpresets import known_roles

    here = {_key(s.name) for s in strips} | {s.role for s in strips}
    notes = []
    for name in sorted(plan.names):
        if name in here:
            continue
        if name in known_roles():
            notes.append(f"{path}: no {name} stem to change")
            continue
        raise InputError(f"{path}: --gain/--mute/--solo name {name!r} is neither a stem of this set nor a role",
                         hint="stems here: " + ", ".join(s.name for s in strips) + "; roles: "
                              + ", ".join(r for r in known_roles() if r != "mixture"))
    return notes


def build_strips(source: StemSetSource, plan: Plan, rate_wanted: int | None) -> tuple[list[Strip], list[str], int]:
    """Stems at one rate, in stereo, of one length, with their role and fader settings;
    also the names of files left out (a full mixture lying beside the stems)."""
    import numpy as np

    from mirctl.mixpresets import MIXTURE, role_of

    roles = {name: role_of(name) for name in source.stems}
    ignored = sorted(n for n, r in roles.items() if r == MIXTURE)
    names = sorted(n for n, r in roles.items() if r != MIXTURE)
    if not names:
        raise InputError(f"{source.path} holds only a full mix ({', '.join(ignored)}), no stems to mix",
                         hint="a stem set is a folder of parts such as vocals.wav, drums.wav, bass.wav")
    rate = rate_wanted or max(source.stems[n][1] for n in names)
    wavs = {n: to_stereo(n, *source.stems[n], rate, source.paths.get(n, source.path)) for n in names}
    length = max(w.shape[1] for w in wavs.values())
    strips = []
    for n in names:
        w = wavs[n]
        if w.shape[1] < length:
            w = np.pad(w, ((0, 0), (0, length - w.shape[1])))
        settings = plan.preset.for_role(roles[n])
        strips.append(Strip(n, roles[n], w, settings.level, send_db=settings.send_db))
    for s in strips:
        s.user_db = plan.user_gain(s.name, s.role)
        s.muted = plan.muted(s.name, s.role)
    return strips, ignored, rate


def run_strip(strip: Strip, mixer: Mixer, rate: int) -> Strip:
    """Measure, process and set the fader of one stem (runs in a worker thread)."""
    from mirctl.loudness import measure

    strip.before = measure(strip.wav, rate)
    strip.silent = strip.before.sample_peak_dbfs is None
    if strip.muted:
        strip.wav = None
        return strip
    preset = mixer.plan.preset
    settings = preset.for_role(strip.role)
    if not preset.master.balance:
        wav = mixer.effects.process_stem(settings, strip.wav, rate) if settings.processed else strip.wav
        strip.wav = pan(wav, settings.pan)
        strip.fader_db = strip.level_db + strip.user_db
        unchanged = not settings.processed and settings.pan == 0.0
        strip.post = strip.before if unchanged else measure(strip.wav, rate)
        return strip
    if strip.before.lufs is None:  # silent or shorter than one loudness block: nothing to balance
        strip.post = strip.before
        strip.fader_db = strip.user_db
        return strip
    wav = strip.wav * db_gain(STAGE_LUFS - strip.before.lufs)
    if settings.processed:
        wav = mixer.effects.process_stem(settings, wav, rate)
    strip.wav = pan(wav, settings.pan)
    strip.post = measure(strip.wav, rate)
    if strip.post.lufs is None:  # the chain removed it all (a high-pass on a sub-bass stem)
        strip.fader_db = strip.user_db
    else:
        strip.fader_db = STAGE_LUFS + strip.level_db + strip.user_db - strip.post.lufs
    return strip


def match_curve(mix_db: np.ndarray, ref_db: np.ndarray) -> np.ndarray:
    """The EQ (dB per band) that moves the mix's spectral balance to the reference's:
    their difference with its median removed (balance, not level), smoothed over three
    bands (1/4, 1/2, 1/4), limited to ±:data:`MAX_MATCH_DB`; bands where either is 80 dB under its
    loudest band (no content to match) are left alone."""
    import numpy as np

    valid = (mix_db > mix_db.max() - 80) & (ref_db > ref_db.max() - 80)
    diff = np.where(valid, ref_db - mix_db, 0.0)
    if valid.any():
        diff = np.where(valid, diff - np.median(diff[valid]), 0.0)
    smooth = np.convolve(np.pad(diff, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    return np.where(valid, np.clip(smooth, -MAX_MATCH_DB, MAX_MATCH_DB), 0.0)


def balance_distance(mix_db: np.ndarray, ref_db: np.ndarray) -> float:
    """RMS difference in dB of two spectral balances over their shared bands (level removed)."""
    import numpy as np

    valid = (mix_db > mix_db.max() - 80) & (ref_db > ref_db.max() - 80)
    if not valid.any():
        return 0.0
    diff = (ref_db - mix_db)[valid]
    return float(np.sqrt(np.mean((diff - np.median(diff)) ** 2)))


def fit_eq(effects: Any, centres: np.ndarray, wanted: np.ndarray, sr: int, rounds: int = 4) -> np.ndarray:
    """Peak-filter gains whose combined 1/3-octave response is ``wanted``: neighbouring
    filters overlap, so the gains are corrected from the measured response of the
    cascade to an impulse (cheap) a few times before the music is filtered once."""
    import numpy as np

    from mirctl.dsp import third_octave_levels

    n = 1 << 16
    impulse = np.zeros((1, n), np.float32)
    impulse[0, n // 2] = 1.0
    flat_c, flat = third_octave_levels(impulse, sr, n_fft=n, centres=centres)
    gains = wanted.copy()
    for _ in range(rounds):
        response = effects.third_octave_eq(list(zip(centres, gains)), impulse, sr)
        _, got = third_octave_levels(response, sr, n_fft=n, centres=centres)
        got = got - flat
        gains = np.clip(gains + (wanted - got), -MAX_MATCH_DB - 6, MAX_MATCH_DB + 6)
    return gains


def match_reference(effects: Any, ref: Reference, bus: np.ndarray, sr: int, passes: int = 2) -> tuple[np.ndarray, dict]:
    """``bus`` with the reference's long-term spectral balance: a 1/3-octave peak-filter
    EQ fitted to the smoothed difference, refined once more from the equalized music
    (the fit is made on an impulse; music through a limiter-free bus follows it closely
    but not exactly). Returns the equalized bus and what the report says of it."""
    import numpy as np

    from mirctl.dsp import third_octave_levels

    centres, mine = third_octave_levels(bus, sr, centres=ref.centres)
    shared = np.isin(centres, ref.centres)  # the bands both rates can hold (a 22 kHz reference has fewer)
    centres, mine = centres[shared], mine[shared]
    theirs = ref.levels_db[np.isin(ref.centres, centres)]
    wanted = np.zeros(centres.size)
    now, out = mine, bus
    for _ in range(passes):
        wanted = np.clip(wanted + match_curve(now, theirs), -MAX_MATCH_DB, MAX_MATCH_DB)
        gains = fit_eq(effects, centres, wanted, sr)
        out = effects.third_octave_eq(list(zip(centres, gains)), bus, sr)
        _, now = third_octave_levels(out, sr, centres=centres)
    report = {"path": ref.path, "lufs": ref.lufs,
              "balance_distance_db": {"before": round(balance_distance(mine, theirs), 2),
                                      "after": round(balance_distance(now, theirs), 2)},
              "eq_db": {f"{c:.0f}": round(float(g), 2) for c, g in zip(centres, wanted)}}
    return out, report


def search_gain(evaluate: Callable[[float], float], gain: float, target: float, tolerance: float = 0.05,
                rounds: int = 5) -> tuple[float, float]:
    """The gain (dB) before a limiter that brings its output closest to ``target`` LUFS:
    secant steps on ``evaluate(gain) -> loudness``. A limiter driven harder eventually
    gets *quieter* (its gain reduction no longer recovers between peaks), so the search
    stops where more gain stopped giving more loudness and keeps the best gain tried.
    Returns (gain, the loudness it gave)."""
    tried: list[tuple[float, float]] = []
    for _ in range(rounds):
        reached = evaluate(gain)
        tried.append((gain, reached))
        if abs(reached - target) < tolerance:
            break
        step = target - reached
        if len(tried) >= 2:
            (g0, r0), (g1, r1) = tried[-2], tried[-1]
            if (g1 - g0) * (r1 - r0) <= 0:  # more gain, no more loudness: past the limiter's best
                break
            step /= max((r1 - r0) / (g1 - g0), 0.1)
        gain = min(gain + max(-6.0, min(6.0, step)), MAX_GAIN_DB)
        if any(abs(gain - g) < 1e-3 for g, _ in tried):
            break
    return min(tried, key=lambda t: abs(t[1] - target))


@dataclass
class Master:
    """The master and what was measured of it on the way: integrated loudness, range and
    true peak (linear) in one pass (:func:`mirctl.loudness.loudness_and_true_peak`)."""

    wav: Any
    lufs: float | None
    lra: float | None
    peak: float

    def scaled(self, gain_db: float) -> Master:
        import numpy as np

        g = db_gain(gain_db)
        lufs = self.lufs + gain_db if self.lufs is not None and math.isfinite(self.lufs) else self.lufs
        return Master(self.wav * np.float32(g), lufs, self.lra, self.peak * g)

    def levels(self) -> Levels:
        from mirctl.loudness import levels_of

        return levels_of(self.wav, self.lufs, self.lra, self.peak)


def measured(wav: np.ndarray, sr: int) -> Master:
    from mirctl.loudness import loudness_and_true_peak

    return Master(wav, *loudness_and_true_peak(wav, sr, with_range=True))


def finish(effects: Any, bus: np.ndarray, sr: int, target: float, ceiling: float) -> tuple[Master, float, list[str]]:
    """The master at ``target`` LUFS with its true peak at most ``ceiling`` dBTP: gain,
    and a true-peak limiter when the gain alone would pass the ceiling. The gain that
    reaches the target through the limiter is found with the (much cheaper) sample-peak
    limiter first, then confirmed and corrected with the true-peak one.
    Returns (the master with its levels, the gain applied before the limiter in dB, warnings)."""
    import numpy as np

    from mirctl.loudness import integrated_loudness

    start = measured(bus, sr)
    loud, peak = start.lufs, start.peak
    if peak == 0.0:
        return start, 0.0, ["the mix is digital silence"]
    if loud is None or not math.isfinite(loud):  # too short (or too quiet) to gate: only the ceiling holds
        over = 20 * math.log10(peak) - ceiling
        gain = -over - 0.01 if over > 0 else 0.0
        return start.scaled(gain), gain, [
            "the mix is shorter than 0.4 s (or below -70 LUFS), so it has no integrated loudness to bring to the "
            "target; it was only kept under the true-peak ceiling"]
    gain = min(target - loud, MAX_GAIN_DB)
    margin = 0.15  # dB under the ceiling for the limiter: its oversampled detector is not exact
    if 20 * math.log10(peak) + gain <= ceiling - margin:
        return start.scaled(gain), gain, []

    def limited(g: float) -> Master:  # through the true-peak limiter, measured
        return measured(effects.limit(bus * np.float32(db_gain(g)), sr, ceiling - margin, true_peak=True), sr)

    def search_limited(g: float) -> float:  # the sample-peak limiter's loudness: cheap, close
        return integrated_loudness(effects.limit(bus * np.float32(db_gain(g)), sr, ceiling - margin,
                                                 true_peak=False), sr)

    def over_by(m: Master) -> float:
        return 20 * math.log10(max(m.peak, 1e-12)) - ceiling

    gain, _ = search_gain(search_limited, gain, target)
    out = limited(gain)
    over = over_by(out)
    for _ in range(2):  # an inter-sample peak got through: a lower ceiling
        if over <= 0:
            break
        margin += over + 0.05
        out = limited(gain)
        over = over_by(out)
    if over <= 0 and abs(out.lufs - target) > 0.2:  # the true-peak limiter takes a little more: one correction
        other_gain = min(gain + max(-6.0, min(6.0, target - out.lufs)), MAX_GAIN_DB)
        again = limited(other_gain)
        if over_by(again) <= 0 and abs(again.lufs - target) < abs(out.lufs - target):
            out, gain = again, other_gain
    notes = []
    if over > 0:  # the limiter still let an inter-sample peak through: lower the whole master
        out = out.scaled(-over - 0.01)
        gain -= over + 0.01
    if abs(out.lufs - target) > LOUDNESS_TOLERANCE:
        notes.append(f"the master reached {out.lufs:.1f} LUFS, not {target:g}: the limiter cannot make it louder "
                     f"under a {ceiling:g} dBTP ceiling without crushing it (lower --target-lufs)")
    return out, gain, notes


def mix(source: StemSetSource, mixer: Mixer, params: Params, progress: Callable[[float], None]) -> TaskResult:
    import numpy as np

    from mirctl import loudness

    plan, preset = mixer.plan, mixer.plan.preset
    strips, ignored, sr = build_strips(source, plan, params.sample_rate)
    notes = _check_names(plan, strips, source.path)
    with ThreadPoolExecutor(max_workers=2) as pool:  # pedalboard and numpy's matmul release the GIL
        futures = [pool.submit(run_strip, strip, mixer, sr) for strip in strips]
        for done, _ in enumerate(as_completed(futures), 1):  # progress from this thread only
            progress(0.6 * done / len(futures))
        strips = [f.result() for f in futures]
    live = [s for s in strips if not s.muted]
    if not live:
        raise InputError(f"{source.path}: every stem is muted ({', '.join(s.name for s in strips)})",
                         hint="check --mute/--solo/--gain and the preset's levels")
    for s in live:
        if s.silent:
            notes.append(f"{source.path}: stem {s.name} is silent")
    length = live[0].wav.shape[1]
    bus = np.zeros((2, length), np.float32)
    sends = np.zeros((2, length), np.float32) if preset.master.reverb is not None else None
    for s in live:
        s.wav = s.wav * np.float32(db_gain(s.fader_db))
        bus += s.wav
        if sends is not None and s.send_db > -math.inf:
            sends += s.wav * np.float32(db_gain(s.send_db))
    if sends is not None and np.any(sends):
        bus += mixer.effects.reverb(preset.master.reverb, sends, sr)
    progress(0.75)
    common_db = 0.0  # what the master bus did to the level of every stem
    data: dict[str, Any] = {}
    target = None
    if preset.master.normalize:
        target = mixer.reference.lufs if mixer.reference else (
            params.target_lufs if params.target_lufs is not None else DEFAULT_TARGET_LUFS)
        loud = loudness.integrated_loudness(bus, sr)
        if loud is not None and math.isfinite(loud):
            stage = STAGE_LUFS - loud
            bus *= np.float32(db_gain(stage))
            common_db += stage
            if preset.master.glue is not None:
                bus = mixer.effects.glue(preset.master.glue, bus, sr)
            if mixer.reference is not None:
                bus, data["reference"] = match_reference(mixer.effects, mixer.reference, bus, sr)
        mastered, gain, warn = finish(mixer.effects, bus, sr, target, params.true_peak)
        bus, master = mastered.wav, mastered.levels()
        common_db += gain
        notes += [f"{source.path}: {w}" for w in warn]
    else:
        master = loudness.measure(bus, sr)
    progress(0.9)
    import warnings

    for text in dict.fromkeys(notes):
        warnings.warn(text, MirctlWarning, stacklevel=2)
    if master.sample_peak_dbfs is not None and master.sample_peak_dbfs > 0 and not (
            params.bits == "32f" and params.format == "wav"):
        warnings.warn(f"{source.path}: the mix peaks at {master.sample_peak_dbfs:+.1f} dBFS and clips in "
                      f"{params.format} {params.bits}-bit output; use a preset that normalizes, a negative --gain, "
                      "or --bits 32f", MirctlWarning, stacklevel=2)
    stems_data = {}
    for s in strips:
        entry: dict[str, Any] = {"role": s.role, "muted": s.muted, "before": s.before.as_dict()}
        if not s.muted:
            s.after = after = s.post.shifted(s.fader_db + common_db) if s.post else None
            entry["after"] = after.as_dict() if after else None
            entry["loudness_change_lu"] = (round(after.lufs - s.before.lufs, 2)
                                           if after and after.lufs is not None and s.before.lufs is not None else None)
        stems_data[s.name] = entry
    data.update({
        "preset": preset.name, "sample_rate": sr, "duration_s": round(length / sr, 4),
        "target_lufs": target, "true_peak_ceiling_dbtp": params.true_peak if preset.master.normalize else None,
        "master": master.as_dict(), "stems": stems_data, "ignored": ignored,
    })
    outputs: dict[str, Any] = {"mix": AudioOut(bus, sr)}
    common = np.float32(db_gain(common_db))
    if params.save_stems:
        saved = {s.name: s.wav * common for s in strips if not s.muted}
        peak = max(float(np.max(np.abs(w), initial=0.0)) for w in saved.values())
        trim = 0.0  # saved stems keep their balance; lowered together when one would clip
        if peak > 10 ** (-0.1 / 20) and not (params.format == "wav" and params.bits == "32f"):
            trim = -0.1 - 20 * math.log10(peak)
            for w in saved.values():
                w *= np.float32(db_gain(trim))
        data["saved_stems_gain_db"] = round(trim, 2)
        outputs.update({f"stem:{name}": AudioOut(w, sr) for name, w in saved.items()})
    if params.plot:
        outputs["plot"] = ImageOut(render=_plot(strips, common, bus, master, sr, Path(str(source.path)).name))
    progress(1.0)
    return TaskResult(outputs=outputs, data=data)


def _label(name: str, levels: Levels | None) -> str:
    if levels is None or levels.lufs is None:
        return f"{name}   silent"
    return f"{name}   {levels.lufs:.1f} LUFS   LRA {levels.lra:.1f} LU   {levels.true_peak_dbtp:+.1f} dBTP"


def _plot(strips: list[Strip], common: float, bus: np.ndarray, master: Levels, sr: int, title: str) -> Callable:
    rows = []
    for s in strips:
        if not s.muted:
            rows.append((_label(f"{s.name} ({s.role})", s.after), s.wav * common))
    rows.append((_label("master", master), bus))

    def draw(path: str) -> None:
        from mirctl import viz

        viz.render_mix(path, rows, sr, title=title)

    return draw


class Mixing(Task[Params]):
    """``mirctl mix``: one folder of stems in, one mix out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def _audio(self, params: Params) -> Any:
        from mirctl.io.artifacts import AudioWriteOptions

        return AudioWriteOptions(bits=params.bits, mp3_bitrate=params.mp3_bitrate)

    def _slots(self, params: Params, stems: list[str]) -> list[OutputSlot]:
        slots = [OutputSlot("mix", {"stem": "mix", "ext": params.format}, self._audio(params))]
        if params.save_stems:
            slots += [OutputSlot(f"stem:{n}", {"stem": n, "ext": params.format}, self._audio(params)) for n in stems]
        if params.plot:
            slots.append(OutputSlot("plot", {"stem": "mix", "ext": "png"}))
        return slots

    def slots(self, params: Params) -> list[OutputSlot]:
        return self._slots(params, ["vocals", "drums"])  # a stand-in for the template checks

    def item_slots(self, params: Params, item: Any) -> list[OutputSlot] | None:
        if not params.save_stems:
            return None
        from mirctl.mixpresets import MIXTURE, role_of

        plan = make_plan(params)
        names = [Path(member).stem for member in item.members]
        kept = [n for n in names if role_of(n) != MIXTURE and not plan.muted(n, role_of(n))]
        return self._slots(params, kept)

    def model_name(self, params: Params) -> str:
        return Path(params.preset).stem if params.preset.endswith(".toml") else params.preset

    def load(self, params: Params, ctx: Any) -> Mixer:
        return load_mixer(params)

    def process(self, model: Mixer, source: StemSetSource, params: Params,
                progress: Callable[[float], None]) -> TaskResult:
        return mix(source, model, params, progress)

    def summarize(self, records: list[dict]) -> dict:
        return audio_seconds(records)


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


TASK = Mixing(name="mix", ref=f"{__name__}:TASK", shape="stem_sets", extensions=_extensions(),
              default_template="{track}.{ext}", template_fields=("stem", "ext"), per_item_slots=True)
