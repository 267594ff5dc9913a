"""mirctl tag: the torch port of musicnn/VGG against the original TensorFlow outputs
(fixtures made by tools/convert_musicnn.py), the front-end against musicnn's, real
clips, and the command's behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import shared_path, write_wav
from mirctl.cli.app import app

pytest.importorskip("torch")
pytest.importorskip("safetensors")
FIXTURES = Path(__file__).parent / "fixtures" / "musicnn_taggrams.npz"
MODELS = ("musicnn-mtt", "musicnn-msd", "vgg-mtt", "vgg-msd")
FILES = {"musicnn-mtt": "mtt-musicnn", "musicnn-msd": "msd-musicnn", "vgg-mtt": "mtt-vgg", "vgg-msd": "msd-vgg"}
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, ["tag", *[str(a) for a in args]])


def records(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


def tagger(name):
    from mirctl import models
    from mirctl.models import RunContext

    return models.load(models.get_card(name, task="tag"), RunContext(device="cpu"))


@pytest.mark.parametrize("name", MODELS)
def test_torch_port_matches_the_tensorflow_original(name):
    """Every patch, every tag: within 1e-4 of musicnn's own graph run in TensorFlow 2.15."""
    fixtures = np.load(FIXTURES)
    model = tagger(name)
    probs, hidden = model.predict(fixtures["patches"])
    original = fixtures[f"{FILES[name]}/taggram"]
    assert probs.shape == original.shape == (4, 50)
    assert np.abs(probs - original).max() <= 1e-4
    if "musicnn" in name:  # the embedding is the penultimate layer
        assert np.abs(hidden - fixtures[f"{FILES[name]}/penultimate"]).max() <= 1e-4
    # and a trained model, not random weights: patch 0 is MUSDB's "80s Rock" mixture
    assert "rock" in [model.labels[i] for i in np.argsort(-probs[0])[:5]]


@pytest.mark.shared
def test_front_end_equals_musicnns_on_the_fixture_clips():
    from mirctl.backends import musicnn_backend as mb
    from mirctl.dsp import to_mono
    from mirctl.io.audio import read_audio

    clips = (("musdb18_7s/wav/Music Delta - 80s Rock/mixture.wav", 2), ("basic_pitch_vocadito/vocadito_10.wav", 1),
             ("medley_solos_db/audio/Medley-solos-DB_training-4_008bc279-90a2-5de5-fe5a-ab011cef41a1.wav", 1))
    ours = []
    for rel, keep in clips:
        wav, sr = read_audio(shared_path("data", *rel.split("/")))
        ours.append(mb.patches(mb.log_mel(to_mono(wav), sr))[:keep])
    np.testing.assert_allclose(np.concatenate(ours), np.load(FIXTURES)["patches"], atol=1e-3)


def test_patches_follow_musicnn_and_pad_short_clips():
    from mirctl.backends.musicnn_backend import N_FRAMES, patches

    rep = np.arange(500 * 96, dtype=np.float32).reshape(500, 96)
    out = patches(rep)
    assert out.shape == (2, N_FRAMES, 96)  # 500 frames: two whole patches, the rest dropped (as musicnn)
    np.testing.assert_array_equal(out[1], rep[N_FRAMES:2 * N_FRAMES])
    short = patches(rep[:50])
    assert short.shape == (1, N_FRAMES, 96)
    np.testing.assert_array_equal(short[0, 50:100], rep[:50])  # repeated, in order


@pytest.mark.shared
def test_real_solo_clips_get_their_instrument():
    """Medley-solos-DB clips (2.97 s, padded to one patch): what musicnn-mtt gets right.
    (Its own TensorFlow model ranks the piano clip 'slow, indian, sitar' too: see README.)"""
    folder = shared_path("data", "medley_solos_db", "audio")
    res = cli(folder, "--json", "--top-k", "5")
    assert res.exit_code == 0, res.output
    top = {Path(r["input"]).name.split("_")[1]: [t for t, _ in r["result"]["top"]] for r in records(res)}
    assert "flute" in top["training-3"] and top["validation-3"][0] == "flute"  # the two flutes
    assert "violin" in top["training-7"][:2]
    assert {"vocal", "male", "female", "singing", "voice"} & set(top["training-2"])  # the singer
    assert all(r["result"]["padded"] and r["result"]["patches"] == 1 for r in records(res))


def test_command_reports_top_tags_thresholds_and_writes_its_outputs(tmp_path):
    sr = 22050
    t = np.arange(int(7 * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2).astype(np.float32)
    song = write_wav(tmp_path / "in" / "song.wav", tone[None], sr)
    res = cli(song, "-o", tmp_path / "out", "--json", "--top-k", 3, "--threshold", "0.05,piano=0.99",
              "--timeline", "csv", "--plot", "--embeddings", "--csv", tmp_path / "all.csv")
    assert res.exit_code == 0, res.output
    result = records(res)[0]["result"]
    assert len(result["top"]) == 3 and result["patches"] == 2 and not result["padded"]
    scores = result["scores"]
    assert len(scores) == 50 and [t for t, _ in result["top"]] == sorted(scores, key=lambda k: -scores[k])[:3]
    assert "piano" not in result["tags"] and all(scores[t] >= 0.05 for t in result["tags"])
    rows = (tmp_path / "out" / "song.taggram.csv").read_text().splitlines()
    assert rows[0].startswith("start_s,guitar,classical") and len(rows) == 3
    assert (tmp_path / "out" / "song.taggram.png").read_bytes()[:4] == b"\x89PNG"
    emb = np.load(tmp_path / "out" / "song.embeddings.npz")
    assert emb["patches"].shape == (2, 200) and np.allclose(emb["mean"], emb["patches"].mean(axis=0))
    table = (tmp_path / "all.csv").read_text().splitlines()
    assert "scores.piano" in table[0] and len(table) == 2


def test_silence_is_tagged_without_nan_and_bad_files_fail_alone(tmp_path):
    write_wav(tmp_path / "in" / "silence.wav", np.zeros((1, 16000 * 4), np.float32), 16000)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    res = cli(tmp_path / "in", "--json")
    assert res.exit_code == 1
    by_name = {Path(r["input"]).name: r for r in records(res)}
    assert by_name["broken.wav"]["status"] == "failed"
    silent = by_name["silence.wav"]["result"]
    assert silent["patches"] == 1 and all(np.isfinite(v) for v in silent["scores"].values())


@pytest.mark.parametrize("args,message", [(["--top-k", "0"], "--top-k must be at least 1"),
                                          (["--threshold", "loud"], "is not a score"),
                                          (["--threshold", "1.5"], "between 0 and 1"),
                                          (["--threshold", "pianoo=0.3"], "that model does not have"),
                                          (["--model", "nope"], "nope")])
def test_usage_errors(tmp_path, args, message):
    song = write_wav(tmp_path / "song.wav", np.zeros((1, 16000), np.float32), 16000)
    res = cli(song, *args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())


def test_models_list_shows_the_taggers():
    res = runner.invoke(app, ["models", "list", "--task", "tag", "--json"])
    assert res.exit_code == 0, res.output
    assert set(MODELS) <= set(res.output.replace('"', " ").split())


def test_mel_front_end_equals_librosa():
    librosa = pytest.importorskip("librosa")
    from mirctl.backends import musicnn_backend as mb

    np.testing.assert_allclose(mb.mel_filters(), librosa.filters.mel(sr=16000, n_fft=512, n_mels=96), rtol=1e-5,
                               atol=1e-9)
    x = np.random.default_rng(0).standard_normal(16000 * 3 + 77).astype(np.float32) * 0.2
    theirs = librosa.feature.melspectrogram(y=x, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    ours = mb.power_spectrogram(x) @ mb.mel_filters().T
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
