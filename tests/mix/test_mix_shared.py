"""mirctl mix on the real MUSDB18 stems in ../shared, and chained after mirctl separate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import shared_path
from mirctl.cli.app import app

pytestmark = pytest.mark.shared
pytest.importorskip("pedalboard")
runner = CliRunner()
STEMS = ("bass", "drums", "other", "vocals")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def read(path):
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.T, sr


def corr(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / math.sqrt((a @ a) * (b @ b)))


def tracks():
    return sorted(p for p in shared_path("data", "musdb18_7s", "wav").iterdir() if p.is_dir())


def test_real_stems_reach_the_target_under_the_ceiling(tmp_path):
    import pyebur128 as e
    import soxr

    res = cli("mix", *tracks(), "-o", tmp_path, "--bits", "32f", "--json")
    assert res.exit_code == 0, res.output
    for rec, track in zip([json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")], tracks()):
        assert rec["result"]["ignored"] == ["mixture"]
        wav, sr = read(tmp_path / f"{track.name}.wav")
        state = e.R128State(2, sr, e.MeasurementMode.MODE_I | e.MeasurementMode.MODE_TRUE_PEAK)
        state.add_frames(np.ascontiguousarray(wav.T).ravel(), wav.shape[1])
        assert abs(e.get_loudness_global(state) + 14) <= 0.5
        assert 20 * math.log10(max(e.get_true_peak(state, c) for c in range(2))) <= -1.0
        assert 20 * math.log10(np.abs(soxr.resample(wav.T, sr, 4 * sr, quality="VHQ")).max()) <= -0.95
        assert np.abs(wav).max() <= 1.0


def test_real_karaoke_follows_the_other_stems_not_the_vocals(tmp_path):
    for track in tracks():
        res = cli("mix", track, "-o", tmp_path, "--gain", "vocals=-inf", "--bits", "32f")
        assert res.exit_code == 0, res.output
        out, _ = read(tmp_path / f"{track.name}.wav")
        truth = {n: read(track / f"{n}.wav")[0] for n in STEMS}
        assert abs(corr(out, truth["vocals"])) < 0.1
        assert corr(out, truth["bass"] + truth["drums"] + truth["other"]) > 0.6


def test_real_reference_matching_halves_the_spectral_distance(tmp_path):
    from mirctl.dsp import third_octave_levels
    from mirctl.loudness import integrated_loudness
    from mirctl.tasks.mix import balance_distance

    rock, falcon = tracks()[0], tracks()[1]
    ref_wav, sr = read(rock / "mixture.wav")
    assert cli("mix", falcon, "-o", tmp_path / "plain", "--bits", "32f").exit_code == 0
    res = cli("mix", falcon, "-o", tmp_path / "matched", "--reference", rock / "mixture.wav", "--bits", "32f")
    assert res.exit_code == 0, res.output
    _, ref_bands = third_octave_levels(ref_wav, sr)
    before = balance_distance(third_octave_levels(read(tmp_path / "plain" / f"{falcon.name}.wav")[0], sr)[1], ref_bands)
    out, _ = read(tmp_path / "matched" / f"{falcon.name}.wav")
    assert balance_distance(third_octave_levels(out, sr)[1], ref_bands) <= before / 2
    assert abs(integrated_loudness(out, sr) - integrated_loudness(ref_wav, sr)) <= 0.5


def test_separate_then_flat_mix_rebuilds_the_input(tmp_path):
    """`separate` (HPSS: its masks sum to one) then `mix --preset flat`: the input again."""
    track = tracks()[0]
    song = tmp_path / "song.wav"
    truth = sum(read(track / f"{n}.wav")[0] for n in STEMS)  # the stems' exact sum (see SOURCE.md)
    sf.write(str(song), truth.T, 44100, subtype="FLOAT")
    res = cli("separate", song, "--model", "hpss", "--bits", "32f", "-o", tmp_path / "sep")
    assert res.exit_code == 0, res.output
    res = cli("mix", tmp_path / "sep", "-r", "--preset", "flat", "--bits", "32f", "-o", tmp_path / "mix")
    assert res.exit_code == 0, res.output
    out, sr = read(tmp_path / "mix" / "song.wav")
    assert sr == 44100 and out.shape == truth.shape
    np.testing.assert_allclose(out, truth, atol=1e-5)
