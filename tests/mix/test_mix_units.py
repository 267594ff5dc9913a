"""The pieces of mix: presets and roles, what the effects receive (a spy), the loudness
search, the reference EQ fit, and the measurements it reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mirctl.errors import UsageError
from mixstems import SR, make_stems


@pytest.mark.parametrize("name,role", [
    ("vocals", "vocals"), ("Lead Vocals 2", "vocals"), ("melody", "vocals"), ("drums", "drums"),
    ("percussive", "drums"), ("bass", "bass"), ("bass_guitar", "bass"), ("electric_piano", "piano"),
    ("bridge", "piano"), ("acoustic_guitar", "guitar"), ("synth_lead", "synth"), ("track03_violin", "strings"),
    ("mixture", "mixture"), ("harmonic", "other"), ("accompaniment", "other"), ("ch02_26", "other"),
])
def test_roles_come_from_stem_names(name, role):
    from mirctl.mixpresets import role_of

    assert role_of(name) == role


def test_presets_load_and_extend():
    from mirctl.mixpresets import load_preset, preset_names

    assert {"default", "karaoke", "vocal-up", "instrumental", "flat"} <= set(preset_names())
    default, karaoke, up = load_preset("default"), load_preset("karaoke"), load_preset("vocal-up")
    assert karaoke.for_role("vocals").level == -math.inf
    assert karaoke.for_role("vocals").highpass_hz == default.for_role("vocals").highpass_hz  # the rest is inherited
    assert up.for_role("vocals").level == default.for_role("vocals").level + 3
    assert default.for_role("kazoo") == default.for_role("other")  # a role the preset lacks is "other"
    flat = load_preset("flat")
    assert not flat.master.balance and not flat.master.normalize
    assert not flat.for_role("vocals").processed and flat.for_role("vocals").level == 0.0


def test_user_preset_file(tmp_path):
    from mirctl.mixpresets import load_preset

    path = tmp_path / "mine.toml"
    path.write_text('extends = "default"\n[roles.bass]\nlevel = 2.0\npan = -0.5\n')
    preset = load_preset(str(path))
    assert preset.name == "mine" and preset.for_role("bass").level == 2.0 and preset.for_role("bass").pan == -0.5
    assert preset.for_role("bass").compressor == load_preset("default").for_role("bass").compressor


@pytest.mark.parametrize("text,message", [
    ("[roles.vocals]\nlevle = 1\n", "unknown key(s) levle"),
    ("[roles.vocals]\nlevel = \"loud\"\n", "level must be a number"),
    ("[roles.kazoo]\nlevel = 1\n", "[roles.kazoo] is not a stem role"),
    ("[roles.vocals]\neq = [{ type = \"notch\", hz = 100, gain_db = 1 }]\n", "type must be one of"),
    ("[roles.vocals]\ncompressor = { ratio = 2 }\n", "needs threshold_db and ratio"),
    ("[master]\nnormalize = \"yes\"\n", "normalize must be true or false"),
    ("[roles.vocals]\npan = 3\n", "outside -1 … 1"),
    ("extends = \"loop\"\n", "extend each other in a loop"),
    ("[roles.vocals\n", "not valid TOML"),
])
def test_bad_preset_files_are_usage_errors(tmp_path, text, message):
    from mirctl.mixpresets import load_preset

    path = tmp_path / "loop.toml"
    path.write_text(text.replace('"loop"', f'"{path}"'))
    with pytest.raises(UsageError) as err:
        load_preset(str(path))
    assert message in err.value.message


@pytest.mark.parametrize("text,want", [("vocals=-inf", ("vocals", -math.inf)), ("drums=+3", ("drums", 3.0)),
                                       ("Bass=-2.5dB", ("Bass", -2.5)), ("other = 0", ("other", 0.0))])
def test_parse_gain(text, want):
    from mirctl.tasks.mix import parse_gain

    assert parse_gain(text) == want


class SpyEffects:
    """The real pedalboard backend, recording what each stem chain receives."""

    def __init__(self):
        from mirctl.backends import pedalboard_backend

        self.real = pedalboard_backend
        self.calls = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def process_stem(self, settings, wav, sr):
        from mirctl.loudness import integrated_loudness

        self.calls.append((settings, integrated_loudness(wav, sr), sr, wav.shape))
        return self.real.process_stem(settings, wav, sr)


def _source(stems, sr=SR):
    from mirctl.types import StemSetSource

    return StemSetSource("song", {k: (v, sr) for k, v in stems.items()}, {})


def test_each_stem_chain_gets_its_role_settings_at_the_staging_loudness():
    from mirctl.mixpresets import load_preset
    from mirctl.tasks import mix

    stems = make_stems(seconds=3.0)
    stems["bass"] = stems["bass"][:, ::2]  # at 22.05 kHz: converted before any effect sees it
    session = mix.TASK.open(mix.Params())
    spy = SpyEffects()
    session.model.effects = spy
    source = _source({k: v for k, v in stems.items() if k != "bass"})
    source.stems["bass"] = (stems["bass"], SR // 2)
    result = session.run(source)
    preset = load_preset("default")
    assert len(spy.calls) == 4
    got = {}
    for settings, lufs, sr, shape in spy.calls:
        assert sr == SR and shape == (2, 3 * SR)
        assert abs(lufs - mix.STAGE_LUFS) < 0.05
        got[next(r for r in ("vocals", "drums", "bass", "other") if preset.for_role(r) == settings)] = True
    assert sorted(got) == ["bass", "drums", "other", "vocals"]
    assert result.data["sample_rate"] == SR


def test_flat_preset_loads_no_effects_at_all():
    from mirctl.tasks import mix

    session = mix.TASK.open(mix.Params(preset="flat"))
    assert session.model.effects is None


def test_search_gain_stops_where_more_gain_gives_less_loudness():
    from mirctl.tasks.mix import search_gain

    calls = []

    def limiter(g):  # loudness rises to -10 at +6 dB, then falls (an over-driven limiter)
        calls.append(g)
        return -16 + g if g <= 6 else -10 - 0.5 * (g - 6)

    gain, reached = search_gain(limiter, 0.0, -4.0)
    assert reached >= -11.0 and 3.0 <= gain <= 9.0  # near the best the stage can give, not run away
    tried = list(calls)
    assert reached == max(limiter(g) for g in tried) and len(tried) <= 5
    gain, reached = search_gain(lambda g: -20 + 0.8 * g, 0.0, -14.0)  # a compressing but monotonic stage
    assert abs(reached + 14) < 0.05


def test_fit_eq_makes_the_peak_filter_cascade_follow_the_curve():
    from mirctl.backends import pedalboard_backend
    from mirctl.dsp import THIRD_OCTAVE_CENTRES, third_octave_levels
    from mirctl.tasks.mix import fit_eq

    pytest.importorskip("pedalboard")
    centres = THIRD_OCTAVE_CENTRES[:27]
    wanted = 6 * np.sin(np.arange(centres.size) / 3)  # neighbouring bands differ by up to 2 dB
    gains = fit_eq(pedalboard_backend, centres, wanted, SR)
    impulse = np.zeros((1, 1 << 16), np.float32)
    impulse[0, 1 << 15] = 1
    _, flat = third_octave_levels(impulse, SR, n_fft=1 << 16, centres=centres)
    _, got = third_octave_levels(pedalboard_backend.third_octave_eq(list(zip(centres, gains)), impulse, SR), SR,
                                 n_fft=1 << 16, centres=centres)
    assert np.max(np.abs(got - flat - wanted)) < 0.5
    naive = pedalboard_backend.third_octave_eq(list(zip(centres, wanted)), impulse, SR)
    assert np.max(np.abs(third_octave_levels(naive, SR, n_fft=1 << 16, centres=centres)[1] - flat - wanted)) > 1.0


def test_match_curve_removes_level_and_limits_boosts():
    from mirctl.tasks.mix import MAX_MATCH_DB, balance_distance, match_curve

    mix_db = np.linspace(-10, -40, 20)
    tilt = np.linspace(-3, 3, 20)
    curve = match_curve(mix_db, mix_db + tilt + 7.0)  # the same balance 7 dB louder plus a tilt
    assert abs(np.median(curve)) < 0.5 and np.allclose(curve[2:-2], tilt[2:-2], atol=0.05)
    assert balance_distance(mix_db, mix_db + 7.0) == 0.0
    assert np.max(np.abs(match_curve(mix_db, mix_db + np.linspace(-40, 40, 20)))) == MAX_MATCH_DB


def test_third_octave_levels_place_a_tone_in_its_band_and_white_noise_flat():
    from mirctl.dsp import third_octave_levels

    t = np.arange(SR * 2) / SR
    centres, levels = third_octave_levels(np.sin(2 * np.pi * 1000 * t)[None].astype(np.float32), SR)
    assert abs(centres[np.argmax(levels)] - 1000) < 1
    noise = np.random.default_rng(0).standard_normal((2, SR * 4)).astype(np.float32)
    _, levels = third_octave_levels(noise, SR)
    assert np.ptp(levels[3:]) < 1.5  # a flat density is flat per band (the lowest bands hold few bins)
    assert centres[-1] < 0.45 * SR


def test_true_peak_finds_peaks_between_samples():
    """Sines whose peaks fall between samples: the true peak is their amplitude."""
    from mirctl.loudness import true_peak

    t = np.arange(SR) / SR
    for freq, amp, phase in ((SR / 4, 0.9, np.pi / 4), (11025, 0.5, 0.3), (15000, 0.5, 0.3), (5000, 0.7, 1.0)):
        fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # no steps at the ends (those overshoot too)
        wav = (amp * fade * np.sin(2 * np.pi * freq * t + phase))[None].astype(np.float32)
        assert abs(20 * math.log10(true_peak(wav, SR)) - 20 * math.log10(amp)) < 0.2, freq
    quarter = (0.9 * np.sin(2 * np.pi * SR / 4 * t + np.pi / 4))[None].astype(np.float32)
    assert 20 * math.log10(np.abs(quarter).max()) < 20 * math.log10(0.9) - 2.9  # the samples miss it by 3 dB
    assert 20 * math.log10(true_peak(quarter, SR)) > 20 * math.log10(np.abs(quarter).max()) + 2.7


def test_true_peak_agrees_with_libebur128_and_soxr_on_music():
    pyebur128 = pytest.importorskip("pyebur128")
    import soxr

    from mirctl.loudness import measure, true_peak

    pedalboard = pytest.importorskip("pedalboard")
    music = sum(make_stems(seconds=3.0).values())
    limited = pedalboard.BrickwallLimiter(ceiling_db=-1.0, true_peak=True)(music * 3, SR)  # a loud master
    for wav in (music, music / np.abs(music).max(), limited):
        state = pyebur128.R128State(wav.shape[0], SR, pyebur128.MeasurementMode.MODE_TRUE_PEAK)
        state.add_frames(np.ascontiguousarray(wav.T).ravel(), wav.shape[1])
        theirs = 20 * math.log10(max(pyebur128.get_true_peak(state, c) for c in range(wav.shape[0])))
        ours = 20 * math.log10(true_peak(wav, SR))
        oversampled = 20 * math.log10(float(np.abs(soxr.resample(wav.T, SR, 4 * SR, quality="VHQ")).max()))
        assert abs(ours - theirs) < 0.1 and abs(ours - oversampled) < 0.15, (ours, theirs, oversampled)
    silent = measure(np.zeros((2, SR), np.float32), SR)
    assert silent.lufs is None and silent.true_peak_dbtp is None and silent.sample_peak_dbfs is None
    assert measure(music, SR).shifted(-math.inf).lufs is None
    shifted = measure(music, SR).shifted(-6.0)
    assert shifted.lra == measure(music, SR).lra and abs(shifted.lufs - measure(music * 0.5, SR).lufs) < 0.05


def test_limiting_in_parts_equals_one_pass():
    from mirctl.backends import pedalboard_backend

    pytest.importorskip("pedalboard")
    music = np.tile(sum(make_stems(seconds=6.0, seed=2).values()), (1, 8)) * 4  # 48 s, far over the ceiling
    for true_peak in (False, True):
        whole = pedalboard_backend.limit(music, SR, -1.0, true_peak=true_peak, parts=1)
        split = pedalboard_backend.limit(music, SR, -1.0, true_peak=true_peak, parts=2)
        assert split.shape == whole.shape
        np.testing.assert_allclose(split, whole, atol=1e-6)
        assert np.abs(whole).max() < 10 ** (-0.9 / 20)  # and it did limit: 12 dB over, held at the ceiling


@pytest.mark.parametrize("target, level", [(-10.0, 4.0), (-30.0, 1.0), (-14.0, 0.0)])
def test_the_master_s_levels_are_measured_once_and_are_the_output_s(target, level):
    """finish() measures the master as it makes it (through the limiter, or by a plain
    gain): the levels it hands the report are a fresh measurement of what it returns."""
    from mirctl.backends import pedalboard_backend
    from mirctl.loudness import measure
    from mirctl.tasks.mix import finish

    pytest.importorskip("pedalboard")
    bus = np.tile(sum(make_stems(seconds=6.0, seed=4).values()), (1, 2)) * np.float32(level)  # 12 s
    master, gain, notes = finish(pedalboard_backend, bus, SR, target, -1.0)
    got, fresh = master.levels(), measure(master.wav, SR)
    if level == 0.0:
        assert notes == ["the mix is digital silence"] and got == fresh and got.lufs is None
        return
    for field in ("lufs", "true_peak_dbtp", "sample_peak_dbfs"):
        assert getattr(got, field) == pytest.approx(getattr(fresh, field), abs=0.011), field
    assert got.lra == pytest.approx(fresh.lra, abs=0.02)
    assert abs(got.lufs - target) < 0.5 and got.true_peak_dbtp <= -1.0
    plain = np.allclose(master.wav, bus * np.float32(10 ** (gain / 20)), rtol=0, atol=1e-6)
    assert plain == (target == -30.0)  # one case goes through the limiter, one takes a plain gain


def test_reverb_and_glue_in_parts_equal_one_pass():
    """The master's reverb and glue compressor run in two threads over two halves, each
    later half after PREROLL_S of the audio before it: the same samples as one pass."""
    from mirctl.backends import pedalboard_backend
    from mirctl.mixpresets import load_preset

    pytest.importorskip("pedalboard")
    master = load_preset("default").master
    music = np.tile(sum(make_stems(seconds=6.0, seed=3).values()), (1, 8))  # 48 s
    assert music.shape[1] >= 2 * pedalboard_backend.MIN_PART_PREROLLS * pedalboard_backend.PREROLL_S * SR
    for fn, spec, x in ((pedalboard_backend.reverb, master.reverb, music * 0.3),
                        (pedalboard_backend.glue, master.glue, music * 4)):
        whole, split = fn(spec, x, SR, parts=1), fn(spec, x, SR, parts=2)
        assert split.shape == whole.shape
        np.testing.assert_allclose(split, whole, atol=1e-7)
        assert np.abs(whole - x).max() > 0.01  # it did change the signal


def test_python_api_mixes_arrays_and_folders_like_the_command(tmp_path):
    from mirctl import api
    from mixstems import write_stems

    stems = make_stems(seconds=2.0)
    flat = api.Mixer(preset="flat")
    wav, sr, report = flat.mix({**stems, "vocals": stems["vocals"][0]}, sr=SR)  # a mono stem is centred
    want = sum(stems.values())
    want[1] += stems["vocals"][0] - stems["vocals"][1]
    np.testing.assert_allclose(wav, want, atol=1e-6)
    assert sr == SR and report["stems"]["vocals"]["role"] == "vocals"
    wav, sr, report = api.Mixer(target_lufs=-18).mix(write_stems(tmp_path / "song", stems))
    assert abs(report["master"]["lufs"] + 18) <= 0.5 and wav.shape == (2, 2 * SR)
    with pytest.raises(UsageError):
        api.Mixer(loudness=3)


def test_summary_counts_the_audio_of_finished_inputs_only():
    from mirctl.pipeline.task import audio_seconds

    records = [{"status": "ok", "result": {"duration_s": 1.5}}, {"status": "failed", "result": {"duration_s": 9.0}},
               {"status": "ok", "result": {"duration_s": 2.25}}, {"status": "skipped", "result": {}}]
    assert audio_seconds(records) == {"audio_s": 3.75}


def test_third_octave_levels_of_short_and_one_dimensional_signals():
    from mirctl.dsp import third_octave_levels

    t = np.arange(int(0.1 * SR)) / SR  # shorter than one analysis frame: zero-padded
    tone = np.sin(2 * np.pi * 2000 * t).astype(np.float32)
    centres, flat = third_octave_levels(tone, SR)
    _, stacked = third_octave_levels(tone[None], SR)
    np.testing.assert_allclose(flat, stacked)
    assert abs(centres[np.argmax(flat)] - 2000) < 1 and centres[0] < 32
    low_rate, _ = third_octave_levels(tone, 16000)
    assert low_rate[-1] < 0.45 * 16000 < low_rate[-1] * 2 ** (1 / 3) * 2 ** (1 / 6) * 1.01


def test_measure_reports_what_libebur128_measures():
    pyebur128 = pytest.importorskip("pyebur128")
    from mirctl.loudness import loudness_range, measure

    part = sum(make_stems(seconds=6.0, seed=4).values())
    music = np.concatenate([part * 0.05, part * 0.5], axis=1)  # a quiet then a loud half: a range of ~20 LU
    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_LRA
    state = pyebur128.R128State(2, SR, mode)
    state.add_frames(np.ascontiguousarray(music.T).ravel(), music.shape[1])
    levels = measure(music, SR)
    assert abs(levels.lufs - pyebur128.get_loudness_global(state)) < 0.01
    assert abs(levels.lra - pyebur128.get_loudness_range(state)) < 0.01 and levels.lra > 10
    assert levels.sample_peak_dbfs == round(20 * math.log10(float(np.abs(music).max())), 2)
    assert levels.true_peak_dbtp >= levels.sample_peak_dbfs
    assert levels.as_dict() == {"lufs": levels.lufs, "lra": levels.lra, "sample_peak_dbfs": levels.sample_peak_dbfs,
                                "true_peak_dbtp": levels.true_peak_dbtp}
    assert loudness_range(music[:, : int(0.3 * SR)], SR) == (None, None)  # shorter than one 400 ms block
    surround = np.concatenate([music, music[:1]])  # three channels: numpy's meter, no range
    lufs, lra = loudness_range(surround, SR)
    assert lra is None and lufs > levels.lufs
    quiet = measure(music * 1e-5, SR)  # below the -70 LUFS gate: no loudness, but peaks
    assert quiet.lufs is None and quiet.lra is None and quiet.sample_peak_dbfs is not None


@pytest.mark.parametrize("table,message", [
    ("[roles.vocals]\ncompressor = { threshold_db = 3, ratio = 2 }\n", "threshold_db = 3 is outside -80 … 0"),
    ("[roles.vocals]\ncompressor = { threshold_db = -20, ratio = 0.5 }\n", "ratio = 0.5 is outside 1 … 100"),
    ("[roles.vocals]\neq = [{ type = \"peak\", hz = 5, gain_db = 1 }]\n", "hz = 5 is outside 10 … 30000"),
    ("[roles.vocals]\neq = [{ type = \"peak\", hz = 500, gain_db = 30 }]\n", "gain_db = 30 is outside -24 … 24"),
    ("[roles.vocals]\neq = [{ type = \"peak\", hz = 500, gain_db = 3, q = 50 }]\n", "q = 50 is outside 0.1 … 20"),
    ("[roles.vocals]\nhighpass_hz = 5000\n", "highpass_hz = 5000 is outside 10 … 2000"),
    ("[roles.vocals]\nsend_db = 6\n", "send_db = 6 is outside -100 … 0"),
    ("[roles.vocals]\nlevel = true\n", "level must be a number"),
    ("[master]\nreverb = { room_size = 2 }\n", "room_size = 2 is outside 0 … 1"),
    ("[master]\nreverb = { size = 0.5 }\n", "unknown key(s) size"),
    ("[master]\nglue = { threshold_db = -20 }\n", "needs threshold_db and ratio"),
    ("[roles.vocals]\neq = { type = \"peak\" }\n", "must be a list of bands"),
    ("[roles]\nvocals = 3\n", "must be a table"),
    ("colour = 1\n", "unknown key(s) colour"),
])
def test_preset_values_are_range_checked(tmp_path, table, message):
    from mirctl.mixpresets import load_preset

    path = tmp_path / "p.toml"
    path.write_text(table)
    with pytest.raises(UsageError) as err:
        load_preset(str(path))
    assert message in err.value.message
    assert str(path) in err.value.message


def test_preset_defaults_fill_what_a_file_leaves_out(tmp_path):
    from mirctl.mixpresets import CompressorSpec, load_preset, preset_names

    path = tmp_path / "mine.toml"
    path.write_text('[roles.bass]\ncompressor = { threshold_db = -30, ratio = 3 }\neq = [{ type = "low_shelf", '
                    'hz = 80, gain_db = 2 }]\nsend_db = "-inf"\n[master]\nreverb = {}\n')
    preset = load_preset(str(path))
    bass = preset.for_role("bass")
    assert bass.compressor == CompressorSpec(-30.0, 3.0, 10.0, 100.0) and bass.eq[0].q == 0.7071
    assert bass.send_db == -math.inf and bass.level == 0.0 and bass.pan == 0.0 and bass.processed
    assert preset.master.reverb is not None and preset.master.balance and preset.master.normalize
    assert preset.master.reverb.room_size == 0.35 and preset.master.glue is None
    assert "roles" not in preset_names() and preset.description == ""
    with pytest.raises(UsageError, match="no such file"):
        load_preset(str(tmp_path / "missing.toml"))


@pytest.mark.parametrize("name,role", [
    ("Chromatic Percussion", "piano"),  # a whole name wins over a word another role names ("percussion": drums)
    ("synth lead", "synth"),  # whole "synth_lead", though "lead" alone is a vocals word
    ("lead synth", "vocals"),  # no whole name: the first role in roles.toml order naming a word
    ("STRINGS", "strings"), ("Sound-Effects", "other"), ("808s", "other"), ("", "other"), ("__", "other"),
    ("kick_in", "drums"), ("Mix", "mixture"),
])
def test_role_of_prefers_a_whole_name_then_the_first_role_naming_a_word(name, role):
    from mirctl.mixpresets import role_of, words

    assert role_of(name) == role
    assert words("Lead Vocals_2.take-3") == ["lead", "vocals", "2", "take", "3"] and words("--") == []


def test_every_role_names_itself_and_roles_toml_lists_them_in_order():
    from mirctl.mixpresets import _roles, known_roles

    assert known_roles() == ("mixture", "vocals", "drums", "bass", "piano", "guitar", "strings", "brass", "synth",
                             "other")
    assert all(role in names for role, names in _roles())


def test_preset_numbers_bounds_are_inclusive_and_messages_exact():
    from mirctl.mixpresets import _number

    assert _number(-60, "w", "level", -60, 24) == -60.0 and _number(24, "w", "level", -60, 24) == 24.0
    assert type(_number(3, "w", "k")) is float
    for text in ("-inf", " -INF ", "-Infinity"):
        assert _number(text, "w", "level", -60, 24, allow_minus_inf=True) == -math.inf
    cases = [((True, "w", "level", -60, 24, True), 'w: level must be a number (or "-inf" to mute), got True'),
             (("-inf", "w", "pan", -1, 1), "w: pan must be a number, got '-inf'"),
             ((math.nan, "w", "pan"), "w: pan must be a number, got nan"),
             ((math.inf, "w", "level", -60, 24, True), 'w: level must be a number (or "-inf" to mute), got inf'),
             ((24.5, "w", "level", -60, 24), "w: level = 24.5 is outside -60 … 24"),
             ((0.005, "w", "attack_ms", 0.01, 1000), "w: attack_ms = 0.005 is outside 0.01 … 1000"),
             ((-61, "f [roles.x]", "level", -60, 24, True), "f [roles.x]: level = -61 is outside -60 … 24")]
    for args, message in cases:
        with pytest.raises(UsageError) as err:
            _number(*args)
        assert err.value.message == message


def _preset_error(tmp_path, text):
    from mirctl.mixpresets import load_preset

    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_preset(str(path))
    return str(path), err.value


PRESET_ERRORS = [  # (preset file, message after its path, hint)
    ("[roles.vocals]\nlevle = 1\n", " [roles.vocals]: unknown key(s) levle",
     "allowed: level, highpass_hz, eq, compressor, pan, send_db"),
    ("colour = 1\nshade = 2\n", ": unknown key(s) colour, shade", "allowed: extends, description, master, roles"),
    ("master = 3\n", " [master] must be a table, got 3", None),
    ("[master]\nlimiter = true\n", " [master]: unknown key(s) limiter", "allowed: balance, normalize, glue, reverb"),
    ("[master]\nbalance = 1\n", " [master]: balance must be true or false", None),
    ("[master]\nglue = { threshold_db = -20, ratio = 2, knee = 3 }\n", " [master].glue: unknown key(s) knee",
     "allowed: threshold_db, ratio, attack_ms, release_ms"),
    ("[master]\nreverb = 0.5\n", " [master].reverb must be a table, got 0.5", None),
    ("[master]\nreverb = { damping = 1.5 }\n", " [master].reverb: damping = 1.5 is outside 0 … 1", None),
    ("roles = 3\n", " [roles] must be a table, got 3", None),
    ("[roles.kazoo]\nlevel = 1\n", ": [roles.kazoo] is not a stem role",
     "roles: vocals, drums, bass, piano, guitar, strings, brass, synth, other"),
    ('[roles.vocals]\neq = [{ type = "peak", hz = 100, gain_db = 1 }, { type = "low_shelf", hz = 100 }]\n',
     " [roles.vocals].eq[1] needs hz and gain_db", None),
    ("[roles.vocals]\neq = [3]\n", " [roles.vocals].eq[0] must be a table, got 3", None),
    ("[roles.vocals]\neq = [{ hz = 100, gain_db = 1 }]\n",
     " [roles.vocals].eq[0]: type must be one of peak, low_shelf, high_shelf, got None", None),
    ('[roles.vocals]\neq = [{ type = "notch", hz = 100, gain_db = 1 }]\n',
     " [roles.vocals].eq[0]: type must be one of peak, low_shelf, high_shelf, got 'notch'", None),
    ('[roles.vocals]\neq = [{ type = "peak", hz = 100, gain_db = 1, width = 2 }]\n',
     " [roles.vocals].eq[0]: unknown key(s) width", "allowed: type, hz, gain_db, q"),
    ('[roles.vocals]\neq = "bright"\n',
     ' [roles.vocals].eq must be a list of bands, e.g. [{ type = "peak", hz = 3000, gain_db = 2 }]', None),
    ("[roles.vocals]\ncompressor = 3\n", " [roles.vocals].compressor must be a table, got 3", None),
    ("[roles.vocals]\ncompressor = { threshold_db = -20 }\n", " [roles.vocals].compressor needs threshold_db and ratio",
     None),
    ("[roles.vocals]\ncompressor = { threshold_db = -20, ratio = 2, attack_ms = 1000.5 }\n",
     " [roles.vocals].compressor: attack_ms = 1000.5 is outside 0.01 … 1000", None),
    ("[roles.vocals]\ncompressor = { threshold_db = -20, ratio = 2, release_ms = 5001 }\n",
     " [roles.vocals].compressor: release_ms = 5001 is outside 1 … 5000", None),
]


@pytest.mark.parametrize("text, message, hint", PRESET_ERRORS)
def test_preset_errors_name_the_file_table_and_key_and_hint_the_fix(tmp_path, text, message, hint):
    where, err = _preset_error(tmp_path, text)
    assert (err.message, err.hint) == (where + message, hint)


def test_preset_names_and_files_and_a_chain_of_extends(tmp_path):
    from mirctl.mixpresets import load_preset, preset_names

    with pytest.raises(UsageError) as err:
        load_preset("loudest")
    assert err.value.message == "--preset 'loudest' is not a mix preset"
    assert err.value.hint == ("use one of " + ", ".join(preset_names())
                              + ", or the path of your own .toml (see configs/mix/default.toml)")
    assert preset_names() == sorted(preset_names()) and "default" in preset_names()
    base = tmp_path / "base.toml"
    base.write_text('extends = "karaoke"\ndescription = "mine"\n[master]\nnormalize = false\n'
                    '[roles.bass]\nlevel = 1.5\n')
    child = tmp_path / "child"  # a file path without the .toml ending works too
    child.write_text(f'extends = "{base}"\n[roles.drums]\npan = 0.25\n[master]\nglue = {{ threshold_db = -10, '
                     'ratio = 2 }\n')
    preset = load_preset(str(child))
    karaoke = load_preset("karaoke")
    assert preset.name == "child" and preset.description == "mine"  # inherited
    assert preset.for_role("vocals") == karaoke.for_role("vocals")  # from two levels up
    assert preset.for_role("bass").level == 1.5 and preset.for_role("bass").compressor == \
        karaoke.for_role("bass").compressor
    assert preset.for_role("drums").pan == 0.25 and preset.for_role("drums").level == karaoke.for_role("drums").level
    assert preset.master.normalize is False and preset.master.balance == karaoke.master.balance
    assert preset.master.glue.threshold_db == -10.0 and preset.master.reverb == karaoke.master.reverb
    with pytest.raises(UsageError) as err:
        load_preset(str(tmp_path / "nothing.toml"))
    assert err.value.message == f"--preset {tmp_path / 'nothing.toml'}: no such file"
    loop_a, loop_b = tmp_path / "a.toml", tmp_path / "b.toml"
    loop_a.write_text(f'extends = "{loop_b}"\n')
    loop_b.write_text(f'extends = "{loop_a}"\n')
    with pytest.raises(UsageError) as err:
        load_preset(str(loop_a))
    assert err.value.message == f"{loop_a}: presets extend each other in a loop (a → b → a)"
    where, bad = _preset_error(tmp_path, "[roles.vocals\n")
    assert bad.message.startswith(f"{where} is not valid TOML: ")


def test_preset_role_defaults_and_what_counts_as_processing():
    from mirctl.mixpresets import CompressorSpec, EqBand, Preset, RoleSettings

    plain = RoleSettings()
    assert (plain.level, plain.highpass_hz, plain.eq, plain.compressor, plain.pan, plain.send_db) == (
        0.0, None, (), None, 0.0, -math.inf)
    assert not plain.processed and not RoleSettings(level=-3.0, pan=0.5, send_db=-10.0).processed
    assert RoleSettings(highpass_hz=80.0).processed and RoleSettings(eq=(EqBand("peak", 1000.0, 2.0),)).processed
    assert RoleSettings(compressor=CompressorSpec(-20.0, 2.0)).processed
    assert Preset("p", roles={"vocals": plain}).for_role("drums") == RoleSettings()  # no "other" either


def test_preset_compressor_and_eq_values_are_read_as_written(tmp_path):
    from mirctl.mixpresets import CompressorSpec, EqBand, load_preset

    path = tmp_path / "p.toml"
    path.write_text('[roles.drums]\ncompressor = { threshold_db = -80, ratio = 100, attack_ms = 1000, '
                    'release_ms = 1 }\neq = [{ type = "high_shelf", hz = 30000, gain_db = -24, q = 20 }, '
                    '{ type = "peak", hz = 10, gain_db = 24, q = 0.1 }]\n'
                    '[roles.bass]\ncompressor = { threshold_db = 0, ratio = 1, attack_ms = 0.01, release_ms = 5000 }\n')
    preset = load_preset(str(path))
    assert preset.for_role("drums").compressor == CompressorSpec(-80.0, 100.0, 1000.0, 1.0)
    assert preset.for_role("bass").compressor == CompressorSpec(0.0, 1.0, 0.01, 5000.0)
    assert preset.for_role("drums").eq == (EqBand("high_shelf", 30000.0, -24.0, 20.0), EqBand("peak", 10.0, 24.0, 0.1))


@pytest.mark.parametrize("key, lo, hi", [("level", -60, 24), ("highpass_hz", 10, 2000), ("pan", -1, 1),
                                         ("send_db", -100, 0)])
def test_preset_role_values_take_their_range_ends_and_nothing_past_them(tmp_path, key, lo, hi):
    from mirctl.mixpresets import load_preset

    for value in (lo, hi):
        path = tmp_path / "ok.toml"
        path.write_text(f"[roles.vocals]\n{key} = {value}\n")
        assert getattr(load_preset(str(path)).for_role("vocals"), key) == value
    for value in (lo - 0.5, hi + 0.5):
        where, err = _preset_error(tmp_path, f"[roles.vocals]\n{key} = {value}\n")
        assert err.message == f"{where} [roles.vocals]: {key} = {value} is outside {lo} … {hi}"
