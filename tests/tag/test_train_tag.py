"""mirctl train tag: a synthetic multi-label set learnt within a minute, the checkpoint
read back by `mirctl tag --model` with identical scores and its tuned thresholds, the
musicnn-embedding head on real stems, the labels table and its splits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import shared_path
from mirctl.cli.app import app
from mirctl.testing import SYNTH_TAGS, multilabel_clip, write_multilabel_set

pytest.importorskip("torch")
pytest.importorskip("safetensors")
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def lines(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The synthetic set (80 clips: tones, bass, noise bursts, clicks, mixed at random)
    trained with a one-minute budget."""
    root = tmp_path_factory.mktemp("train_tag")
    data = write_multilabel_set(root / "data", n=80, seed=1)
    out = root / "ckpt"
    res = cli("train", "tag", "--data", data, "--out", out, "--width", 16, "--max-steps", 120, "--minutes", 1,
              "--valid-every", 40, "--threads", 2, "--json")
    assert res.exit_code == 0, res.output
    return data, out, lines(res)


def test_synthetic_multilabel_set_reaches_macro_f1_09_within_a_minute(trained):
    data, out, reports = trained
    card = json.loads((out / "card.json").read_text())
    assert card["task"] == "tag" and card["labels"] == list(SYNTH_TAGS)
    assert card["training"]["status"] == "finished" and card["training"]["stopped"] in ("max_steps", "time")
    assert card["metrics"]["macro_f1"] >= 0.9 and card["metrics"]["pr_auc"] >= 0.9
    valid = [r for r in reports if r["event"] == "valid"]
    assert valid and all("thresholds" not in r and "per_tag" not in r for r in valid)  # extras stay out of the log
    best = min(valid, key=lambda r: (r["loss"], r["step"]))
    assert card["metrics"]["step"] == best["step"] and card["metrics"]["loss"] == best["loss"]
    # the card carries the tuned thresholds and per-tag figures of that best validation
    assert set(card["thresholds"]) == set(SYNTH_TAGS) and all(0 < v < 1 for v in card["thresholds"].values())
    assert set(card["per_tag"]) == set(SYNTH_TAGS) and card["per_tag"]["bass"]["f1"] >= 0.8
    assert card["features"]["input"] == "mel" and card["architecture"] == "short-chunk CNN"
    assert card["training"]["examples"] == {"train": 64, "valid": 16}
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "model.safetensors"]


def _valid_names(card, data):
    """The validation clips: the ones the seeded split held out (train + valid = all)."""
    from mirctl.tasks.tag_training import TRAINABLE, Params

    prepared = TRAINABLE.prepare(Params(**{**card["params"], "labels": None}), data, card["training"]["seed"])
    return prepared, [e.name for e in prepared.valid]


def test_mirctl_tag_with_the_checkpoint_scores_as_validation_did(trained, tmp_path):
    """Reloaded, the checkpoint gives the validation clips the very scores training
    scored them with, and `mirctl eval tag` at the card's thresholds gives the card's F1."""
    import torch

    from mirctl.backends.clip_models import build
    from mirctl.models.trained import load_weights
    from mirctl.tasks.tag_training import TRAINABLE, Params

    data, out, _ = trained
    card = json.loads((out / "card.json").read_text())
    params = Params(**{**card["params"], "labels": None})
    prepared, names = _valid_names(card, data)
    net = build("mel", 4, params.width, params.head, params.dropout)
    net.load_state_dict(load_weights(out / "model.safetensors"))
    expected = TRAINABLE.scores(net.eval(), list(prepared.valid), params)

    preds = tmp_path / "preds.csv"
    res = cli("tag", *[data / "clips" / n for n in names], "--model", out, "--csv", preds, "--json")
    assert res.exit_code == 0, res.output
    got = {Path(r["input"]).name: r["result"] for r in lines(res)}
    scores = np.array([[got[n]["scores"][t] for t in SYNTH_TAGS] for n in names])
    assert np.abs(scores - expected).max() < 1e-6
    for n, row in zip(names, expected):  # decisions at the tuned thresholds, not at 0.5
        assert got[n]["thresholds"] == "tuned"
        assert got[n]["tags"] == [t for t in sorted(SYNTH_TAGS, key=lambda t: -row[SYNTH_TAGS.index(t)])
                                  if row[SYNTH_TAGS.index(t)] >= card["thresholds"][t]]
    with torch.no_grad():
        metrics = TRAINABLE.evaluate(net, prepared, params)
    assert metrics["macro_f1"] == card["metrics"]["macro_f1"] and metrics["thresholds"] == card["thresholds"]

    thresholds = ",".join(f"{t}={v}" for t, v in card["thresholds"].items())
    res = cli("eval", "tag", "--pred", preds, "--labels", data / "labels.csv", "--threshold", thresholds, "--json")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["files"] == len(names) and report["macro"]["f1"] == pytest.approx(card["metrics"]["macro_f1"],
                                                                                     abs=1e-4)


def test_given_threshold_overrides_the_tuned_ones(trained):
    data, out, _ = trained
    res = cli("tag", data / "clips" / "clip000.wav", "--model", out, "--threshold", "0.0", "--json")
    result = lines(res)[0]["result"]
    assert result["thresholds"] == "given" and sorted(result["tags"]) == sorted(SYNTH_TAGS)
    # a threshold for one tag only: the others keep their tuned ones
    card = json.loads((out / "card.json").read_text())
    res = cli("tag", data / "clips" / "clip000.wav", "--model", out, "--threshold", "bass=0.0", "--json")
    result = lines(res)[0]["result"]
    assert result["thresholds"] == "given+tuned" and "bass" in result["tags"]
    assert set(result["tags"]) - {"bass"} == {t for t in SYNTH_TAGS if t != "bass"
                                              and result["scores"][t] >= card["thresholds"][t]}


def test_the_trained_tagger_sees_16k_audio_at_any_input_rate(trained):
    """The same clip at 44.1 kHz and at 16 kHz gets the same tags (the backend resamples
    to the rate it was trained at; a model fed 44.1 kHz frames as 16 kHz ones would not)."""
    from mirctl import models
    from mirctl.dsp import resample

    _, out, _ = trained
    tagger = models.load(models.get_card(str(out), task="tag"), models.RunContext(device="cpu"))
    rng = np.random.default_rng(5)
    clip = multilabel_clip((True, False, False, True), rng, sec=6.0, sr=44100)
    at_44k = tagger(clip, 44100)[0].mean(axis=0)
    at_16k = tagger(resample(clip[None], 44100, 16000)[0], 16000)[0].mean(axis=0)
    assert np.abs(at_44k - at_16k).max() < 0.05
    assert at_16k[0] > 0.5 and at_16k[3] > 0.5 and at_16k[1] < 0.5 and at_16k[2] < 0.5  # tone + clicks
    assert tagger.thresholds == json.loads((out / "card.json").read_text())["thresholds"]


def test_same_seed_same_checkpoint_bytes(tmp_path):
    data = write_multilabel_set(tmp_path / "data", n=12, seed=2, sec=1.0)
    digests = []
    for run in ("a", "b"):
        res = cli("train", "tag", "--data", data, "--out", tmp_path / run, "--width", 4, "--max-steps", 6,
                  "--valid-every", 3, "--batch-size", 4, "--seed", 9, "--threads", 1, "-q")
        assert res.exit_code == 0, res.output
        digests.append((tmp_path / run / "model.safetensors").read_bytes())
    assert digests[0] == digests[1]
    res = cli("train", "tag", "--data", data, "--out", tmp_path / "c", "--width", 4, "--max-steps", 6,
              "--valid-every", 3, "--batch-size", 4, "--seed", 10, "--threads", 1, "-q")
    assert (tmp_path / "c" / "model.safetensors").read_bytes() != digests[0]


def test_npy_clips_a_tags_column_and_a_split_column(tmp_path):
    """Course data sets ship .npy clips; labels may name the tags in one column."""
    data = tmp_path / "hw"
    (data / "npy").mkdir(parents=True)
    rng = np.random.default_rng(3)
    rows = ["file,tags,split"]
    for i in range(12):
        active = (i % 2 == 0, i % 3 == 0, False, False)
        np.save(data / "npy" / f"c{i}.npy", multilabel_clip(active, rng, sec=1.0, sr=24000))
        names = ";".join(t for t, a in zip(SYNTH_TAGS, active) if a)
        rows.append(f"npy/c{i}.npy,{names},{'valid' if i >= 9 else 'train'}")
    (data / "train.csv").write_text("\n".join(rows) + "\n")
    res = cli("train", "tag", "--data", data, "--labels", data / "train.csv", "--npy-sr", 24000, "--out",
              tmp_path / "ck", "--width", 4, "--max-steps", 4, "--valid-every", 2, "--threads", 1, "-q")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "ck" / "card.json").read_text())
    assert card["labels"] == ["bass", "tone"]  # only the tags that occur, sorted
    assert card["training"]["examples"] == {"train": 9, "valid": 3}
    assert card["positives"] == {"bass": 3, "tone": 5}  # in the training rows 0..8


def test_musicnn_features_and_the_lengths_a_clip_may_have(tmp_path):
    """The musicnn head trains on the frozen tagger's embeddings; clips shorter than a
    patch are repeated to fill one, longer ones give several patches."""
    from mirctl.tasks.tag_training import TRAINABLE, Params

    data = write_multilabel_set(tmp_path / "data", n=10, seed=4, sec=1.0)
    sf.write(data / "clips" / "clip000.wav", multilabel_clip((1, 0, 0, 0), np.random.default_rng(0), 7.0), 16000)
    prepared = TRAINABLE.prepare(Params(features="musicnn-mtt"), data, 0)
    shapes = {e.name: e.x.shape for e in list(prepared.train) + list(prepared.valid)}
    assert shapes["clip000.wav"] == (2, 200) and shapes["clip001.wav"] == (1, 200)
    res = cli("train", "tag", "--data", data, "--features", "musicnn", "--head", "linear", "--out", tmp_path / "ck",
              "--max-steps", 5, "--valid-every", 5, "--threads", 1, "-q")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "ck" / "card.json").read_text())
    assert card["features"]["input"] == "musicnn-mtt" and card["architecture"] == "linear head on musicnn-mtt"
    res = cli("tag", data / "clips" / "clip000.wav", "--model", tmp_path / "ck", "--json", "--embeddings",
              "-o", tmp_path / "tags")
    result = lines(res)[0]
    assert result["status"] == "ok" and result["result"]["patches"] == 2
    emb = np.load(tmp_path / "tags" / "clip000.embeddings.npz")
    assert emb["patches"].shape == (2, 200)  # a linear head: the embedding is musicnn's own


@pytest.mark.slow
@pytest.mark.shared
def test_musicnn_head_learns_piano_and_bass_on_real_slakh_stems(tmp_path):
    """Real music: 3 s chunks of Slakh's piano and bass stems, alone and summed, labelled
    by which stem sounds in them; chunks of one moment share a group, so the split never
    puts a moment on both sides."""
    stems = shared_path("data", "slakh_stems_midi", "Track00001", "stems")
    piano, sr = sf.read(stems / "S02.flac", dtype="float32", frames=44100 * 90)
    bass, _ = sf.read(stems / "S03.flac", dtype="float32", frames=44100 * 90)
    data = tmp_path / "slakh"
    (data / "clips").mkdir(parents=True)
    sounds = lambda x: 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12) > -35  # noqa: E731
    rows, n = ["path,piano,bass,group"], 3 * sr
    for i in range(len(piano) // n):
        p, b = piano[i * n:(i + 1) * n], bass[i * n:(i + 1) * n]
        for kind, x, labels in (("piano", p, (sounds(p), 0)), ("bass", b, (0, sounds(b))),
                                ("both", p + b, (sounds(p), sounds(b)))):
            sf.write(data / "clips" / f"{kind}{i:02d}.wav", x, sr)
            rows.append(f"clips/{kind}{i:02d}.wav,{int(labels[0])},{int(labels[1])},{i}")
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    res = cli("train", "tag", "--data", data, "--features", "musicnn", "--out", tmp_path / "ck", "--max-steps", 150,
              "--valid-every", 50, "--threads", 2, "-q")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "ck" / "card.json").read_text())
    assert card["metrics"]["macro_f1"] >= 0.9, card["metrics"]
    assert card["per_tag"]["piano"]["f1"] >= 0.9 and card["per_tag"]["bass"]["f1"] >= 0.9


# --- the labels table, the split and the errors ---------------------------------------------------------------


def test_tune_thresholds_picks_the_middle_of_the_best_range():
    from mirctl.evaluation.tagging import tune_thresholds

    reference = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]], bool)
    scores = np.array([[0.9, 0.35, 0.2], [0.7, 0.3, 0.1], [0.2, 0.6, 0.3], [0.1, 0.55, 0.4]])
    t = tune_thresholds(reference, scores)
    # tag 0: any threshold in (0.2, 0.7] is perfect -> 0.21…0.70, middle 0.45 (or 0.46)
    assert 0.44 <= t[0] <= 0.47
    # tag 1: positives at 0.35 and 0.6, a negative at 0.55 (and 0.3): best F1 0.8 at (0.3, 0.35]
    # (both positives, one false) — 0.31…0.35 -> 0.33
    assert t[1] == pytest.approx(0.33)
    assert t[2] == 0.5  # no positive: the default


@pytest.mark.parametrize("args, message", [
    (["--features", "vgg"], "'vgg' is not one of"),
    (["--labels", "nothing.csv"], "does not exist"),
])
def test_usage_errors(tmp_path, args, message):
    data = write_multilabel_set(tmp_path / "data", n=4, seed=0, sec=0.5)
    res = cli("train", "tag", "--data", data, "--out", tmp_path / "ck", *args)
    assert res.exit_code == 2 and message in res.output


def test_a_tag_no_training_clip_has_is_refused(tmp_path):
    data = write_multilabel_set(tmp_path / "data", n=6, seed=0, sec=0.5)
    rows = list(csv.reader((data / "labels.csv").open()))
    rows[0].append("harp")
    for r in rows[1:]:
        r.append("0")
    (data / "labels.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    res = cli("train", "tag", "--data", data, "--out", tmp_path / "ck", "--max-steps", 2)
    assert res.exit_code == 2 and "no training clip has the tag(s) harp" in res.output


def test_a_checkpoint_of_another_task_is_refused_by_tag(tmp_path):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "card.json").write_text(json.dumps({"format": "mirctl-checkpoint/1", "task": "points",
                                                           "backend": "x:y"}))
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"")
    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    res = cli("tag", tmp_path / "a.wav", "--model", tmp_path / "ck")
    assert res.exit_code == 2 and "trained for 'points', not 'tag'" in res.output


def test_the_screen_shows_each_files_top_tags_and_decisions(trained):
    data, out, _ = trained
    res = cli("tag", data / "clips" / "clip001.wav", "--model", out)
    assert res.exit_code == 0, res.output
    result = lines(cli("tag", data / "clips" / "clip001.wav", "--model", out, "--json"))[0]["result"]
    shown = "        " + ", ".join(f"{name} {score:.2f}" for name, score in result["top"])
    assert shown in res.output
    assert f"tags (tuned thresholds): {', '.join(result['tags']) or 'none'}" in res.output


def test_python_api_tagger_loads_a_checkpoint_and_agrees_with_the_command(trained):
    from mirctl import api

    data, out, _ = trained
    tagger = api.Tagger(out, device="cpu")
    assert tagger.labels == SYNTH_TAGS
    clip = data / "clips" / "clip003.wav"
    result = tagger.tag(clip)
    cmd = lines(cli("tag", clip, "--model", out, "--json"))[0]["result"]
    assert result["scores"] == cmd["scores"] and result["tags"] == cmd["tags"]
    wav, sr = sf.read(clip, dtype="float32")
    taggram, embeddings = tagger.taggram(wav, sr)
    assert taggram.shape == (1, 4) and embeddings.shape == (1, 64)  # width 16: 4×16 channels
    assert np.allclose(taggram.mean(axis=0), [result["scores"][t] for t in SYNTH_TAGS], atol=1e-6)
