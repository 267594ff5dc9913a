"""mirctl mix on synthetic stems: every promise is measured on the written file
(loudness with libebur128, true peak with libebur128 and with 4x soxr oversampling,
levels of the saved stems, correlations with the true stems)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import write_wav
from mirctl.cli.app import app
from mixstems import SR, make_stems, write_stems

pytest.importorskip("pedalboard")
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, ["mix", *[str(a) for a in args]])


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


def read(path):
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T, sr


def ebur(wav, sr):
    """(integrated LUFS, true peak dBTP) straight from libebur128, independent of mirctl."""
    import pyebur128 as e

    mode = e.MeasurementMode.MODE_I | e.MeasurementMode.MODE_TRUE_PEAK
    state = e.R128State(wav.shape[0], sr, mode)
    state.add_frames(np.ascontiguousarray(wav.T, dtype=np.float32).ravel(), wav.shape[1])
    peak = max(e.get_true_peak(state, c) for c in range(wav.shape[0]))
    return e.get_loudness_global(state), 20 * math.log10(peak)


def oversampled_peak_db(wav, sr):
    import soxr

    return 20 * math.log10(float(np.abs(soxr.resample(wav.T, sr, 4 * sr, quality="VHQ")).max()))


def corr(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / math.sqrt((a @ a) * (b @ b)))


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    return write_stems(tmp_path_factory.mktemp("stems") / "song")


@pytest.mark.parametrize("target,ceiling", [(-14.0, -1.0), (-20.0, -1.0), (-11.0, -1.0), (-16.0, -3.0)])
def test_master_reaches_target_under_true_peak_ceiling(song, tmp_path, target, ceiling):
    res = cli(song, "-o", tmp_path, "--target-lufs", target, "--true-peak", ceiling, "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    wav, sr = read(tmp_path / "song.wav")
    lufs, tp = ebur(wav, sr)
    assert abs(lufs - target) <= 0.5
    assert tp <= ceiling + 1e-6
    assert oversampled_peak_db(wav, sr) <= ceiling + 0.05  # another oversampler agrees
    assert np.abs(wav).max() <= 1.0
    master = rec["result"]["master"]
    assert abs(master["lufs"] - lufs) < 0.05 and abs(master["true_peak_dbtp"] - tp) < 0.2
    assert rec["result"]["target_lufs"] == target and rec["result"]["true_peak_ceiling_dbtp"] == ceiling


def test_an_unreachable_target_is_warned_about_and_the_ceiling_still_holds(song, tmp_path):
    res = cli(song, "-o", tmp_path, "--target-lufs", -4, "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    lufs, tp = ebur(*read(tmp_path / "song.wav"))
    assert tp <= -1.0 and lufs < -4.5
    assert any(f"reached {lufs:.1f} LUFS" in w for w in rec["warnings"]), rec["warnings"]


def test_preset_levels_hold_through_the_chain(song, tmp_path):
    """Saved stems are the stems as they sit in the mix: their loudness differences are the
    preset's levels (default: vocals 0, drums -1.5, bass -3, other -3.5) within 1 LU."""
    from mirctl.loudness import integrated_loudness

    res = cli(song, "-o", tmp_path, "--save-stems", "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    result = records(res)[0]["result"]
    levels = {n: integrated_loudness(*read(tmp_path / "song" / f"{n}.wav")) for n in ("vocals", "drums", "bass", "other")}
    want = {"vocals": 0.0, "drums": -1.5, "bass": -3.0, "other": -3.5}
    for name, rel in want.items():
        assert abs((levels[name] - levels["vocals"]) - rel) <= 1.0, (name, levels)
        assert abs(result["stems"][name]["after"]["lufs"] - levels[name]) < 0.1  # the report says what was written
        assert result["stems"][name]["role"] == name
    mixed, _ = read(tmp_path / "song" / "mix.wav")
    assert corr(mixed, sum(read(tmp_path / "song" / f"{n}.wav")[0] for n in want)) > 0.95


def test_vocal_up_puts_vocals_three_lu_further_forward(song, tmp_path):
    from mirctl.loudness import integrated_loudness

    rel = {}
    for preset in ("default", "vocal-up"):
        out = tmp_path / preset
        assert cli(song, "-o", out, "--preset", preset, "--save-stems", "--bits", "32f").exit_code == 0
        loud = {n: integrated_loudness(*read(out / "song" / f"{n}.wav")) for n in ("vocals", "drums")}
        rel[preset] = loud["vocals"] - loud["drums"]
    assert abs(rel["vocal-up"] - rel["default"] - 3.0) <= 0.5


def test_gain_minus_inf_leaves_the_vocals_out(song, tmp_path):
    truth = make_stems()
    res = cli(song, "-o", tmp_path, "--gain", "vocals=-inf", "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    out, _ = read(tmp_path / "song.wav")
    others = truth["drums"] + truth["bass"] + truth["other"]
    assert abs(corr(out, truth["vocals"])) < 0.1
    assert corr(out, others) > 0.6
    stems = records(res)[0]["result"]["stems"]
    assert stems["vocals"]["muted"] is True and "after" not in stems["vocals"]


def test_karaoke_preset_and_mute_give_no_vocals(song, tmp_path):
    truth = make_stems()
    for args in (["--preset", "karaoke"], ["--mute", "vocals"]):
        out = tmp_path / args[-1]
        res = cli(song, "-o", out, "--save-stems", "--bits", "32f", *args)
        assert res.exit_code == 0, res.output
        assert sorted(p.name for p in (out / "song").iterdir()) == ["bass.wav", "drums.wav", "mix.wav", "other.wav"]
        assert abs(corr(read(out / "song" / "mix.wav")[0], truth["vocals"])) < 0.1


def test_solo_keeps_only_the_named_stems(song, tmp_path):
    truth = make_stems()
    res = cli(song, "-o", tmp_path, "--solo", "bass", "--preset", "flat", "--bits", "32f")
    assert res.exit_code == 0, res.output
    out, _ = read(tmp_path / "song.wav")
    np.testing.assert_allclose(out, truth["bass"], atol=1e-6)


def test_flat_preset_is_the_exact_sum_and_gains_are_decibels(song, tmp_path):
    truth = make_stems()
    assert cli(song, "-o", tmp_path / "a", "--preset", "flat", "--bits", "32f").exit_code == 0
    out, sr = read(tmp_path / "a" / "song.wav")
    assert sr == SR
    np.testing.assert_allclose(out, sum(truth.values()), atol=1e-6)
    assert cli(song, "-o", tmp_path / "b", "--preset", "flat", "--bits", "32f", "--gain", "drums=+6",
               "--gain", "bass=-6").exit_code == 0
    out, _ = read(tmp_path / "b" / "song.wav")
    want = truth["vocals"] + truth["other"] + truth["drums"] * 10 ** (6 / 20) + truth["bass"] * 10 ** (-6 / 20)
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_mono_other_rate_and_shorter_stems_are_converted(tmp_path):
    stems = make_stems(seconds=4.0)
    folder = tmp_path / "odd"
    write_wav(folder / "vocals.wav", stems["vocals"][:1], SR, subtype="FLOAT")  # mono
    write_wav(folder / "bass.wav", stems["bass"][:, ::2][:, : int(2.0 * SR / 2)], SR // 2, subtype="FLOAT")  # 22.05 kHz, 2 s
    write_wav(folder / "drums.wav", stems["drums"], SR, subtype="FLOAT")
    res = cli(folder, "-o", tmp_path / "out", "--preset", "flat", "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    out, sr = read(tmp_path / "out" / "odd.wav")
    assert sr == SR and out.shape == (2, 4 * SR)  # the highest rate, the longest stem
    # only the mono vocal and the drums play after 2 s: the vocal is centred (same on both sides)
    late = out[:, int(2.2 * SR):] - stems["drums"][:, int(2.2 * SR):]
    np.testing.assert_allclose(late[0], late[1], atol=1e-6)
    np.testing.assert_allclose(late[0], stems["vocals"][0, int(2.2 * SR):], atol=1e-6)
    assert records(res)[0]["result"]["sample_rate"] == SR


def test_sample_rate_option_resamples_the_mix(song, tmp_path):
    res = cli(song, "-o", tmp_path, "--sample-rate", 48000, "--json")
    assert res.exit_code == 0, res.output
    wav, sr = read(tmp_path / "song.wav")
    assert sr == 48000 and abs(wav.shape[1] / sr - 6.0) < 1e-3


def test_silent_stem_gives_no_nan_and_is_reported(tmp_path):
    stems = make_stems(seconds=3.0)
    stems["other"] = np.zeros_like(stems["other"])
    folder = write_stems(tmp_path / "s", stems)
    res = cli(folder, "-o", tmp_path / "out", "--json", "--save-stems", "--bits", "32f")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    assert rec["result"]["stems"]["other"]["before"]["lufs"] is None
    assert any("other is silent" in w for w in rec["warnings"])
    for path in (tmp_path / "out" / "s").iterdir():
        if path.suffix == ".wav":
            assert np.isfinite(read(path)[0]).all()
    assert abs(rec["result"]["master"]["lufs"] + 14) <= 0.5


def test_bad_stem_sets_fail_per_input_with_reasons(tmp_path):
    sr = SR
    write_wav(tmp_path / "eight" / "drums.wav", np.full((8, sr), 0.1, np.float32), sr)
    write_wav(tmp_path / "eight" / "bass.wav", np.full((2, sr), 0.1, np.float32), sr)
    write_wav(tmp_path / "onlymix" / "mixture.wav", make_stems(seconds=1.0)["drums"], sr)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio")
    write_wav(tmp_path / "zero" / "bass.wav", np.zeros((2, 0), np.float32), sr)
    write_wav(tmp_path / "zero" / "drums.wav", make_stems(seconds=1.0)["drums"], sr)
    write_stems(tmp_path / "good", make_stems(seconds=2.0))
    res = cli(tmp_path / "eight", tmp_path / "onlymix", tmp_path / "empty", tmp_path / "zero", tmp_path / "good",
              "-o", tmp_path / "out", "--json")
    assert res.exit_code == 1, res.output  # some failed, the good one was mixed
    by_input = {r["input"].rsplit("/", 1)[-1]: r for r in records(res)}
    assert by_input["good"]["status"] == "ok"
    assert "8 channels" in by_input["eight"]["error"] and "ffmpeg" in by_input["eight"]["hint"]
    assert "only a full mix" in by_input["onlymix"]["error"]
    assert "no audio stems" in by_input["empty"]["error"]
    assert "bass.wav" in by_input["zero"]["error"] and "empty" in by_input["zero"]["error"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.wav"]


def test_a_mixture_beside_the_stems_is_left_out(tmp_path):
    stems = make_stems(seconds=2.0)
    folder = write_stems(tmp_path / "track", stems)
    write_wav(folder / "mixture.wav", 5 * stems["vocals"], SR, subtype="FLOAT")  # would dominate if mixed
    res = cli(folder, "-o", tmp_path / "out", "--preset", "flat", "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    assert records(res)[0]["result"]["ignored"] == ["mixture"]
    np.testing.assert_allclose(read(tmp_path / "out" / "track.wav")[0], sum(stems.values()), atol=1e-6)


def test_stems_option_names_one_set_by_hand(tmp_path):
    stems = make_stems(seconds=2.0)
    folder = write_stems(tmp_path / "parts", stems)
    files = [folder / "vocals.wav", folder / "bass.wav"]
    res = cli("--stems", *files, "-o", tmp_path / "out", "--preset", "flat", "--bits", "32f")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(read(tmp_path / "out" / "parts.wav")[0], stems["vocals"] + stems["bass"], atol=1e-6)


def test_recursive_takes_every_stem_folder_of_the_separate_layout(tmp_path):
    root = tmp_path / "separated" / "htdemucs"
    for i, name in enumerate(("song_a", "song_b")):
        write_stems(root / name, make_stems(seconds=2.0, seed=i))
    res = cli(tmp_path / "separated", "-r", "-o", tmp_path / "out", "--json")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["song_a.wav", "song_b.wav"]
    again = cli(tmp_path / "separated", "-r", "-o", tmp_path / "out", "--json")  # finished outputs are skipped
    assert [r["status"] for r in records(again)] == ["skipped", "skipped"]


def test_unknown_name_fails_that_input_and_names_the_stems(song, tmp_path):
    res = cli(song, "-o", tmp_path, "--gain", "vocalz=3", "--json")
    assert res.exit_code == 1
    rec = records(res)[0]
    assert "vocalz" in rec["error"] and "bass, drums, other, vocals" in rec["hint"]
    res = cli(song, "-o", tmp_path, "--mute", "guitar", "--json")  # a role this set lacks: a warning only
    assert res.exit_code == 0
    assert any("no guitar stem" in w for w in records(res)[0]["warnings"])


@pytest.mark.parametrize("args,message", [
    (["--gain", "vocals"], "is not NAME=DB"),
    (["--gain", "vocals=loud"], "not a number of dB"),
    (["--preset", "nope"], "not a mix preset"),
    (["--preset", "flat", "--target-lufs", "-14"], "does not change the loudness"),
    (["--target-lufs", "-14", "--reference", "REF"], "both set the loudness"),
    (["--mute", "bass", "--solo", "bass"], "both muted and soloed"),
    (["--true-peak", "3"], "--true-peak 3.0 is out of range"),
    (["--target-lufs", "5"], "out of range"),
    (["--reference", "missing.wav"], "does not exist"),
])
def test_usage_errors_exit_2_before_any_work(song, tmp_path, args, message):
    ref = write_wav(tmp_path / "ref.wav", make_stems(seconds=1.0)["drums"])
    args = [str(ref) if a == "REF" else a for a in args]
    res = cli(song, "-o", tmp_path / "out", *args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert not (tmp_path / "out").exists()


def test_reference_moves_loudness_and_spectral_balance_toward_it(song, tmp_path):
    """A dark reference (a low-passed, quieter mix): the output takes its loudness and the
    1/3-octave distance to it at least halves."""
    import pedalboard

    from mirctl.dsp import third_octave_levels
    from mirctl.loudness import integrated_loudness
    from mirctl.tasks.mix import balance_distance

    truth = make_stems(seed=5)
    dark = pedalboard.Pedalboard([pedalboard.LowShelfFilter(200, 6.0), pedalboard.HighShelfFilter(3000, -9.0)])(
        sum(truth.values()) * 0.3, SR)
    ref = write_wav(tmp_path / "ref.wav", dark, SR, subtype="FLOAT")
    plain = cli(song, "-o", tmp_path / "plain", "--bits", "32f")
    matched = cli(song, "-o", tmp_path / "matched", "--reference", ref, "--bits", "32f", "--json")
    assert plain.exit_code == 0 and matched.exit_code == 0, matched.output
    _, ref_bands = third_octave_levels(dark, SR)
    before = balance_distance(third_octave_levels(read(tmp_path / "plain" / "song.wav")[0], SR)[1], ref_bands)
    out, _ = read(tmp_path / "matched" / "song.wav")
    after = balance_distance(third_octave_levels(out, SR)[1], ref_bands)
    assert after <= before / 2, (before, after)
    assert abs(integrated_loudness(out, SR) - integrated_loudness(dark, SR)) <= 0.5
    report = records(matched)[0]["result"]["reference"]
    assert report["balance_distance_db"]["after"] < report["balance_distance_db"]["before"]


def test_plot_draws_stems_and_master(song, tmp_path):
    res = cli(song, "-o", tmp_path, "--plot", "--preset", "flat")
    assert res.exit_code == 0, res.output
    png = (tmp_path / "song.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_saved_stems_are_lowered_together_rather_than_clip(tmp_path):
    stems = make_stems(seconds=3.0)
    stems["drums"] = stems["drums"] * 4  # far above the others: its mix level peaks over 0 dBFS
    folder = write_stems(tmp_path / "loud", stems)
    res = cli(folder, "-o", tmp_path / "out", "--save-stems", "--preset", "flat", "--json")  # 16-bit output
    assert res.exit_code == 0, res.output
    trim = records(res)[0]["result"]["saved_stems_gain_db"]
    assert trim < 0
    drums, _ = read(tmp_path / "out" / "loud" / "drums.wav")
    vocals, _ = read(tmp_path / "out" / "loud" / "vocals.wav")
    assert np.abs(drums).max() < 1.0
    gain = 10 ** (trim / 20)
    np.testing.assert_allclose(vocals, stems["vocals"] * gain, atol=2e-4)  # the same trim for every stem


def test_without_pedalboard_effects_exit_2_naming_the_extra_and_flat_still_works(song, tmp_path, monkeypatch):
    from mirctl.backends import _lazy, pedalboard_backend
    from mirctl.errors import BackendUnavailable

    real = _lazy.require

    def no_pedalboard(module, extra):
        if module.startswith("pedalboard"):
            raise BackendUnavailable("pedalboard is not installed", hint=f"pip install 'mirctl[{extra}]'")
        return real(module, extra)

    monkeypatch.setattr(pedalboard_backend, "require", no_pedalboard)
    res = cli(song, "-o", tmp_path / "a")
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "pedalboard" in text and "mirctl[mix]" in text and "--preset flat" in text
    assert cli(song, "-o", tmp_path / "b", "--preset", "flat").exit_code == 0


def test_a_reference_at_another_rate_is_matched_on_the_bands_both_hold(song, tmp_path):
    truth = make_stems(seed=3)
    ref = write_wav(tmp_path / "ref22k.wav", sum(truth.values())[:, ::2] * 0.5, SR // 2, subtype="FLOAT")
    res = cli(song, "-o", tmp_path, "--reference", ref, "--json")
    assert res.exit_code == 0, res.output
    bands = records(res)[0]["result"]["reference"]["eq_db"]
    assert max(float(hz) for hz in bands) < 0.45 * SR / 2 and len(bands) >= 20
