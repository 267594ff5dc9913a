"""Separation: fake-model plumbing, weight-free baselines on real music, SDR evaluation,
and demucs equivalence with the demucs CLI through the real checkpoint-loading path."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import shared_path, tone, write_wav
from mirctl.cli.app import app
from mirctl.errors import UsageError
from mirctl.evaluation.separation import evaluate
from mirctl.tasks.separation import Params, apply_clip, separate
from mirctl.testing import FakeStemModel

runner = CliRunner()
MUSDB_TRACK = ("data", "musdb18_7s", "wav", "Music Delta - 80s Rock")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


class StereoOnlyModel(FakeStemModel):
    """Like a demucs model: insists on stereo at 44.1 kHz and records what it saw."""

    sample_rate = 44100
    channels = 2

    def __init__(self):
        self.seen = []

    def __call__(self, wav, **kw):
        assert wav.shape[0] == 2 and wav.dtype == np.float32
        self.seen.append(wav.shape)
        return super().__call__(wav)


@pytest.mark.parametrize("channels", [1, 2, 3, 8])
@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_layout_and_rate_come_back_as_the_input(channels, sr):
    x = tone(330, 0.5, sr, channels)
    model = StereoOnlyModel()
    stems = separate(x, sr, model, Params(clip="none"))
    assert set(stems) == {"vocals", "accompaniment"}
    for s in stems.values():
        assert s.shape == x.shape
    assert len(model.seen) == (channels + 1) // 2  # channel pairs, a lone channel duplicated
    tol = 1e-6 if sr == 44100 else 2e-3  # resampling round trip
    assert np.max(np.abs(stems["vocals"] - 0.3 * x)) < tol


class LinearModel(FakeStemModel):
    """Pointwise and linear, so cross-faded chunks must reproduce the unchunked result."""

    def __init__(self):
        self.calls = []

    def __call__(self, wav, **kw):
        self.calls.append(wav.shape[1])
        return super().__call__(wav)


def test_long_inputs_run_in_cross_faded_chunks():
    sr = 8000
    x = np.random.default_rng(3).standard_normal((2, sr * 50)).astype(np.float32)
    whole = separate(x, sr, LinearModel(), Params(clip="none", chunk_s=0))
    model = LinearModel()
    chunked = separate(x, sr, model, Params(clip="none", chunk_s=12.0))
    assert len(model.calls) > 3 and max(model.calls) == 12 * sr
    for stem in whole:
        assert np.max(np.abs(whole[stem] - chunked[stem])) < 1e-5


def test_chunk_too_short_is_usage_error():
    from mirctl.tasks.separation import validate

    with pytest.raises(UsageError):
        validate(Params(chunk_s=4.0))


def test_one_sample_input_is_padded_and_trimmed():
    stems = separate(np.full((2, 1), 0.5, np.float32), 44100, StereoOnlyModel(), Params(clip="none"))
    assert stems["vocals"].shape == (2, 1) and abs(stems["vocals"][0, 0] - 0.15) < 1e-6


def test_two_stems_and_subset():
    x = tone(220, 0.2, 44100, 2)
    two = separate(x, 44100, FakeStemModel(), Params(two_stems="vocals", clip="none"))
    assert list(two) == ["vocals", "no_vocals"]
    assert np.allclose(two["vocals"] + two["no_vocals"], x, atol=1e-6)
    sub = separate(x, 44100, FakeStemModel(), Params(stems=("accompaniment",), clip="none"))
    assert list(sub) == ["accompaniment"]
    with pytest.raises(UsageError):
        separate(x, 44100, FakeStemModel(), Params(stems=("drums",)))


def test_clip_policies():
    loud = np.array([[2.0, -0.5, 0.25]], np.float32)
    assert np.allclose(apply_clip(loud.copy(), "rescale"), loud / 2.02)
    assert np.allclose(apply_clip(loud.copy(), "clamp"), [[0.99, -0.5, 0.25]])
    assert np.array_equal(apply_clip(loud.copy(), "none"), loud)
    quiet = loud / 4
    assert np.array_equal(apply_clip(quiet.copy(), "rescale"), quiet)


def test_eval_perfect_separation_is_high_and_swapped_is_low():
    rng = np.random.default_rng(1)
    sr = 16000
    a = (0.3 * rng.standard_normal((2, sr * 2))).astype(np.float32)
    b = tone(440, 2.0, sr, 2) * np.linspace(0, 1, sr * 2, dtype=np.float32)
    refs = {"vocals": (a, sr), "drums": (b, sr)}
    good = evaluate(refs, {"vocals": a + 1e-4 * b, "drums": b + 1e-4 * a}, sr)
    bad = evaluate(refs, {"vocals": b, "drums": a}, sr)
    for stem in ("vocals", "drums"):
        assert good["stems"][stem]["sdr_db"] > 40 and good["stems"][stem]["nsdr_db"] > 40
        assert bad["stems"][stem]["sdr_db"] < 0 and bad["stems"][stem]["nsdr_db"] < 0
    import mir_eval

    with pytest.warns(FutureWarning):
        direct = mir_eval.separation.bss_eval_sources(np.stack([b.mean(0), a.mean(0)]),
                                                      np.stack([a.mean(0), b.mean(0)]), compute_permutation=False)[0]
    assert np.allclose([bad["stems"]["drums"]["sdr_db"], bad["stems"]["vocals"]["sdr_db"]], direct)


# --- weight-free baselines on real music ----------------------------------------------


def envelope(x, hop=512):
    mono = x.mean(axis=0) if x.ndim == 2 else x
    frames = mono[: mono.size // hop * hop].reshape(-1, hop)
    return np.sqrt(np.mean(frames ** 2, axis=1))


@pytest.mark.shared
def test_hpss_on_real_music_sums_back_and_percussive_follows_the_drums(tmp_path):
    track = shared_path(*MUSDB_TRACK)
    res = cli("separate", track / "mixture.wav", "--model", "hpss", "-o", tmp_path, "--bits", "32f", "--clip", "none",
              "--json")
    assert res.exit_code == 0, res.output
    mix, sr = sf.read(track / "mixture.wav", always_2d=True)
    out = tmp_path / "hpss" / "mixture"
    harmonic, _ = sf.read(out / "harmonic.wav", always_2d=True)
    percussive, _ = sf.read(out / "percussive.wav", always_2d=True)
    assert harmonic.shape == mix.shape
    assert np.max(np.abs(harmonic + percussive - mix)) < 1e-5
    drums, _ = sf.read(track / "drums.wav", always_2d=True)
    # spectral flux of the percussive stem tracks the true drums better than the harmonic stem's
    d = np.diff(envelope(drums.T))
    corr_p = np.corrcoef(np.diff(envelope(percussive.T)), d)[0, 1]
    corr_h = np.corrcoef(np.diff(envelope(harmonic.T)), d)[0, 1]
    assert corr_p > corr_h + 0.2
    rec = records(res)[0]
    assert set(rec["result"]["stems"]) == {"harmonic", "percussive"}
    assert rec["model"]["name"] == "hpss"


@pytest.mark.shared
def test_repet_on_real_music_sums_back(tmp_path):
    track = shared_path(*MUSDB_TRACK)
    res = cli("separate", track / "mixture.wav", "--model", "repet", "-o", tmp_path, "--bits", "32f", "--clip", "none")
    assert res.exit_code == 0, res.output
    mix, _ = sf.read(track / "mixture.wav", always_2d=True)
    out = tmp_path / "repet" / "mixture"
    vocals, _ = sf.read(out / "vocals.wav", always_2d=True)
    acc, _ = sf.read(out / "accompaniment.wav", always_2d=True)
    assert np.max(np.abs(vocals + acc - mix)) < 1e-5
    assert 0 < np.sum(vocals ** 2) < np.sum(mix ** 2)
    true = {k: sf.read(track / f"{k}.wav", always_2d=True)[0] for k in ("vocals", "drums", "bass", "other")}
    backing = true["drums"] + true["bass"] + true["other"]

    def corr(a, b):
        a, b = a.mean(axis=1), b.mean(axis=1)
        return float(a @ b / np.sqrt((a @ a) * (b @ b)))

    # REPET's foreground follows the singer and its background the band (measured 0.72 vs 0.55, 0.77 vs 0.32)
    assert corr(vocals, true["vocals"]) > corr(vocals, backing) + 0.1
    assert corr(acc, backing) > corr(acc, true["vocals"]) + 0.3
    scale = float(np.sum(vocals * mix) / np.sum(mix * mix))
    assert np.linalg.norm(vocals - scale * mix) > 0.3 * np.linalg.norm(vocals)  # not a scaled copy of the mix


@pytest.mark.shared
def test_eval_on_real_multitrack_with_hpss(tmp_path):
    track = shared_path(*MUSDB_TRACK)
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "percussive.wav").write_bytes((track / "drums.wav").read_bytes())
    pitched = [sf.read(track / f"{k}.wav", always_2d=True) for k in ("bass", "other", "vocals")]
    sf.write(ref / "harmonic.wav", sum(x for x, _ in pitched), pitched[0][1], subtype="FLOAT")
    res = cli("separate", track / "mixture.wav", "--model", "hpss", "-o", tmp_path / "o", "--eval", ref, "--json")
    assert res.exit_code == 0, res.output
    ev = records(res)[0]["result"]["eval"]
    assert ev["evaluated"] == ["harmonic", "percussive"]
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    (swapped / "harmonic.wav").write_bytes((ref / "percussive.wav").read_bytes())
    (swapped / "percussive.wav").write_bytes((ref / "harmonic.wav").read_bytes())
    res = cli("separate", track / "mixture.wav", "--model", "hpss", "-o", tmp_path / "o2", "--eval", swapped, "--json")
    wrong = records(res)[0]["result"]["eval"]
    for stem in ("harmonic", "percussive"):  # the right references score far better than swapped ones
        assert ev["stems"][stem]["sdr_db"] > wrong["stems"][stem]["sdr_db"] + 5
        assert ev["stems"][stem]["nsdr_db"] > wrong["stems"][stem]["nsdr_db"] + 2  # measured: 2.6 and more


# --- demucs through the real checkpoint path ------------------------------------------


@pytest.fixture(scope="module")
def tiny_htdemucs(tmp_path_factory):
    """A small untrained HTDemucs saved as a demucs export package `<sig>-<sha256[:8]>.th`."""
    torch = pytest.importorskip("torch")
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state

    torch.manual_seed(0)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], channels=8, t_layers=1, t_heads=2, dconv_comp=4)
    args, kwargs = model._init_args_kwargs
    package = {"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": get_state(model, None, half=False),
               "training_args": {}}
    folder = tmp_path_factory.mktemp("repo")
    tmp = folder / "tmp.th"
    torch.save(package, str(tmp))
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = folder / f"tinyht00-{sha[:8]}.th"
    tmp.rename(path)
    return folder


@pytest.fixture
def stereo_mix(tmp_path):
    rng = np.random.default_rng(0)
    x = tone(220, 4.0, 44100, 2, amp=0.3) + 0.05 * rng.standard_normal((2, 176400)).astype(np.float32)
    return write_wav(tmp_path / "mix" / "song.wav", x, 44100, subtype="FLOAT")


@pytest.mark.slow
def test_demucs_stems_match_the_demucs_cli(tiny_htdemucs, stereo_mix, tmp_path):
    ref_out = tmp_path / "demucs_cli"
    subprocess.run([sys.executable, "-m", "demucs.separate", "--repo", str(tiny_htdemucs), "-n", "tinyht00",
                    "--shifts", "0", "--float32", "--clip-mode", "none", "-o", str(ref_out), str(stereo_mix)],
                   check=True, capture_output=True, timeout=600)
    res = cli("separate", stereo_mix, "--model-path", tiny_htdemucs, "--model", "tinyht00", "--shifts", "0",
              "--bits", "32f", "--clip", "none", "-o", tmp_path / "ours", "--json")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    assert rec["model"]["name"] == "tinyht00" and len(next(iter(rec["model"]["sha256"].values()))) == 64
    for stem in ("drums", "bass", "other", "vocals"):
        theirs, _ = sf.read(ref_out / "tinyht00" / "song" / f"{stem}.wav")
        ours, _ = sf.read(tmp_path / "ours" / "tinyht00" / "song" / f"{stem}.wav")
        assert theirs.shape == ours.shape
        assert np.max(np.abs(theirs - ours)) <= 1e-4


@pytest.mark.slow
def test_seed_makes_shifted_runs_reproducible(tiny_htdemucs, stereo_mix, tmp_path):
    def run(seed, out):
        res = cli("separate", stereo_mix, "--model-path", tiny_htdemucs / next(tiny_htdemucs.glob("*.th")).name,
                  "--shifts", "2", "--seed", seed, "--bits", "32f", "--stems", "vocals", "-o", tmp_path / out)
        assert res.exit_code == 0, res.output
        return sf.read(next((tmp_path / out).rglob("vocals.wav")))[0]

    a, b, c = run(7, "a"), run(7, "b"), run(8, "c")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.shared
@pytest.mark.slow
def test_shared_checkpoints_separate_real_music_and_eval(tmp_path):
    repo = shared_path("models", "demucs")
    track = shared_path(*MUSDB_TRACK)
    res = cli("separate", track / "mixture.wav", "--model-path", repo, "--model", "0b6894ef", "-o", tmp_path,
              "--eval", track.parent, "--json", "--format", "flac", "--bits", "24")
    assert res.exit_code == 0, res.output
    rec = records(res)[0]
    assert sorted(Path(p).name for p in rec["outputs"]) == sorted(
        f"{s}.flac" for s in ("drums", "bass", "other", "vocals", "guitars"))
    assert sf.info(rec["outputs"][0]).subtype == "PCM_24"
    ev = rec["result"]["eval"]
    assert ev["evaluated"] == ["bass", "drums", "other", "vocals"] and ev["missing"] == ["guitars"]
    assert all(np.isfinite(v["sdr_db"]) for v in ev["stems"].values())
    levels = rec["result"]["stems"]["vocals"]
    assert levels["rms_dbfs"] < 0 and levels["loudness_lufs"] is not None


@pytest.mark.slow
def test_bad_inputs_in_a_batch(tiny_htdemucs, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a_unreadable.wav").write_bytes(b"this is not audio")
    write_wav(folder / "b_silence.wav", np.zeros((2, 44100), np.float32))
    write_wav(folder / "c_one_sample.wav", np.full((1, 1), 0.25, np.float32))
    write_wav(folder / "d_eight_channels.wav", tone(330, 0.5, 48000, 8), 48000)
    model = next(tiny_htdemucs.glob("*.th"))
    res = cli("separate", folder, "--model-path", model, "-o", tmp_path / "o", "--json")
    assert res.exit_code == 1
    by_name = {Path(r["input"]).stem: r for r in records(res)}
    assert by_name["a_unreadable"]["status"] == "failed"
    assert "not readable audio" in by_name["a_unreadable"]["error"]
    for name in ("b_silence", "c_one_sample", "d_eight_channels"):
        assert by_name[name]["status"] == "ok", by_name[name]
    silent, _ = sf.read(tmp_path / "o" / model.stem.split("-")[0] / "b_silence" / "vocals.wav", always_2d=True)
    assert silent.shape == (44100, 2) and np.max(np.abs(silent)) < 1e-3
    one, _ = sf.read(tmp_path / "o" / model.stem.split("-")[0] / "c_one_sample" / "drums.wav", always_2d=True)
    assert one.shape == (1, 1)
    eight = sf.info(str(tmp_path / "o" / model.stem.split("-")[0] / "d_eight_channels" / "bass.wav"))
    assert eight.channels == 8 and eight.samplerate == 48000 and eight.frames == 24000


def test_missing_weights_message_through_the_cli(sine_wav):
    res = cli("separate", sine_wav, "--model", "htdemucs_ft")
    assert res.exit_code == 2
    assert "f7e0c4bc-ba3fe64a.th" in res.output and "hpss" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_cuda_request_without_a_gpu_is_a_clear_error(tiny_htdemucs, stereo_mix, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    res = cli("separate", stereo_mix, "--model-path", tiny_htdemucs, "--model", "tinyht00", "--device", "cuda",
              "-o", tmp_path)
    assert res.exit_code == 2
    assert "no CUDA device" in res.output and "--device cpu" in res.output


@pytest.mark.gpu
def test_cuda_matches_cpu(tiny_htdemucs, stereo_mix, tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    outs = {}
    for device in ("cpu", "cuda"):
        res = cli("separate", stereo_mix, "--model-path", tiny_htdemucs, "--model", "tinyht00", "--device", device,
                  "--shifts", "0", "--bits", "32f", "-o", tmp_path / device)
        assert res.exit_code == 0, res.output
        outs[device] = sf.read(tmp_path / device / "tinyht00" / "song" / "vocals.wav")[0]
    assert np.max(np.abs(outs["cpu"] - outs["cuda"])) < 1e-3
