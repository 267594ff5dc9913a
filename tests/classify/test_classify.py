"""mirctl classify / train classify / eval classify: a synthetic 4-class set learnt
within a minute, the checkpoint read back with identical probabilities, resume, the
homework submission formats byte for byte, scikit-learn's numbers, the pretrained genre
default on real music, --separate, and instrument families on notes rendered by
mirctl render."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import shared_path
from mirctl.cli.app import app
from mirctl.testing import SYNTH_CLASSES, class_clip, write_class_folders

pytest.importorskip("torch")
pytest.importorskip("safetensors")
runner = CliRunner()
CLASSES = sorted(SYNTH_CLASSES)


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def lines(res):
    return [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_classify")
    data = write_class_folders(root / "data", n_per_class=16, seed=1)
    out = root / "ckpt"
    res = cli("train", "classify", "--data", data, "--out", out, "--width", 16, "--max-steps", 150, "--minutes", 1,
              "--valid-every", 50, "--threads", 2, "--json")
    assert res.exit_code == 0, res.output
    return data, out, lines(res)


def test_synthetic_four_classes_reach_95_percent_top1_within_a_minute(trained):
    data, out, reports = trained
    card = json.loads((out / "card.json").read_text())
    assert card["task"] == "classify" and card["labels"] == CLASSES
    assert card["metrics"]["top1"] >= 0.95 and card["metrics"]["top3"] == 1.0
    assert card["training"]["examples"] == {"train": 52, "valid": 12}  # stratified: 3 of each class's 16
    assert card["counts"] == {c: 13 for c in CLASSES} and card["aggregate"] == "mean"
    matrix = np.array(card["confusion"]["matrix"])
    assert card["confusion"]["labels"] == CLASSES and matrix.sum(axis=1).tolist() == [3, 3, 3, 3]
    assert np.trace(matrix) / 12 == pytest.approx(card["metrics"]["top1"], abs=1e-4)
    assert set(card["per_class"]) == set(CLASSES)
    assert all("confusion" not in r for r in reports if r["event"] == "valid")


def test_reloaded_checkpoint_predicts_identically_and_eval_agrees_with_the_card(trained, tmp_path):
    import torch

    from mirctl.backends.clip_models import build
    from mirctl.models.trained import load_weights
    from mirctl.tasks.classify_training import TRAINABLE, Params

    data, out, _ = trained
    card = json.loads((out / "card.json").read_text())
    params = Params(**card["params"])
    prepared = TRAINABLE.prepare(params, data, card["training"]["seed"])
    net = build("mel", 4, params.width, params.head, params.dropout, params.arch)
    net.load_state_dict(load_weights(out / "model.safetensors"))
    net.eval()
    expected = [p.mean(axis=0) for p in TRAINABLE.patch_probabilities(net, prepared.valid, params)]
    files = [next(data.rglob(e.name)) for e in prepared.valid]

    res = cli("classify", *files, "--model", out, "--json", "--submission", tmp_path / "answer.csv",
              "--csv", tmp_path / "preds.csv")
    assert res.exit_code == 0, res.output
    got = {Path(r["input"]).name: r["result"] for r in lines(res)}
    for e, mean in zip(prepared.valid, expected):
        probs = np.array([got[e.name]["probabilities"][c] for c in CLASSES])
        assert np.abs(probs - mean).max() < 1e-6
        assert got[e.name]["label"] == CLASSES[int(np.argmax(mean))]
    with torch.no_grad():
        assert TRAINABLE.evaluate(net, prepared, params)["top1"] == card["metrics"]["top1"]

    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\n" + "".join(f"{f},{f.parent.name}\n" for f in files))
    for pred in ("answer.csv", "preds.csv"):
        res = cli("eval", "classify", "--pred", tmp_path / pred, "--labels", labels, "--json")
        assert res.exit_code == 0, res.output
        report = json.loads(res.stdout.strip().splitlines()[-1])
        assert report["files"] == 12 and report["top1"] == card["metrics"]["top1"]
        assert report["confusion"] == card["confusion"]


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    from mirctl.tasks.classify_training import TRAINABLE, Params
    from mirctl.training.runner import TrainOptions, train

    data = write_class_folders(tmp_path / "data", n_per_class=4, seed=3, sec=1.0)
    params = Params(width=4, pitch_shift=2.0, noise_snr=10.0)
    opts = dict(data=data, seed=5, max_steps=12, batch_size=4, valid_every=4, threads=1, device="cpu")
    train(TRAINABLE, params, TrainOptions(out=tmp_path / "whole", **opts))
    cut = train(TRAINABLE, params, TrainOptions(out=tmp_path / "cut", **opts), stop=lambda step: step == 7)
    assert cut.status == "interrupted"
    train(TRAINABLE, params, TrainOptions(out=tmp_path / "cut", **opts))
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == (tmp_path / "cut" / "model.safetensors").read_bytes()
    whole, resumed = (json.loads((tmp_path / d / "card.json").read_text()) for d in ("whole", "cut"))
    assert whole["metrics"] == resumed["metrics"] and whole["confusion"] == resumed["confusion"]
    again = train(TRAINABLE, params, TrainOptions(out=tmp_path / "other", **{**opts, "seed": 6}))
    assert again.status == "finished"
    assert (tmp_path / "other" / "model.safetensors").read_bytes() != (tmp_path / "whole" / "model.safetensors").read_bytes()


def test_same_seed_same_checkpoint_bytes_through_the_cli(tmp_path):
    data = write_class_folders(tmp_path / "data", n_per_class=3, seed=2, sec=0.5)
    for run in ("a", "b"):
        res = cli("train", "classify", "--data", data, "--out", tmp_path / run, "--width", 4, "--max-steps", 4,
                  "--valid-every", 2, "--batch-size", 4, "--arch", "crnn", "--threads", 1, "-q")
        assert res.exit_code == 0, res.output
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "a" / "card.json").read_text())["architecture"] == "CRNN"


# --- submissions and scores -----------------------------------------------------------------------------------


def _record(path, ranks, status="ok"):
    return {"input": path, "status": status,
            "result": {"ranks": {str(i + 1): r for i, r in enumerate(ranks)}} if status == "ok" else None}


def test_submission_files_are_the_homework_formats_byte_for_byte(tmp_path):
    from mirctl.tasks.classify import submission

    records = [_record("test/010.wav", ["Beatles", "Queen", "Madonna", "Prince"]),
               _record("other/002.mp3", ["Queen", "Beatles", "Prince"]),
               _record("test/003.wav", [], status="failed"),
               _record("x/001.flac", ["a,b", 'say "hi"', "c"])]
    assert submission(Path("answer.csv"), records) == (
        'ID,No.1,No.2,No.3\n001,"a,b","say ""hi""",c\n002,Queen,Beatles,Prince\n010,Beatles,Queen,Madonna\n')
    assert submission(Path("answer.json"), records) == (
        '{\n "001": [\n  "a,b",\n  "say \\"hi\\"",\n  "c"\n ],\n "002": [\n  "Queen",\n  "Beatles",\n  "Prince"\n ],\n'
        ' "010": [\n  "Beatles",\n  "Queen",\n  "Madonna"\n ]\n}\n')
    assert json.loads(submission(Path("a.json"), records))["010"] == ["Beatles", "Queen", "Madonna"]
    two = [_record("b.wav", ["yes", "no"]), _record("a.wav", ["no", "yes"])]  # a two-class model: No.3 empty
    assert submission(Path("s.csv"), two) == "ID,No.1,No.2,No.3\na,no,yes,\nb,yes,no,\n"
    assert json.loads(submission(Path("s.json"), two)) == {"a": ["no", "yes"], "b": ["yes", "no"]}
    with pytest.raises(Exception, match="share the submission ID"):
        submission(Path("a.csv"), [_record("a/001.wav", ["x"]), _record("b/001.wav", ["y"])])


def test_eval_numbers_equal_scikit_learns(tmp_path):
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score, top_k_accuracy_score

    from mirctl.evaluation.classification import evaluate

    rng = np.random.default_rng(0)
    classes = ["a", "b", "c", "d", "e"]
    truth = rng.integers(0, 5, 60)
    probs = rng.random((60, 5)) + np.eye(5)[truth] * rng.random(60)[:, None]
    ranked = [[classes[i] for i in np.argsort(-p)] for p in probs]
    reference = [classes[i] for i in truth]
    report = evaluate(reference, ranked, classes)
    top1 = [r[0] for r in ranked]
    assert report["top1"] == round(accuracy_score(reference, top1), 4)
    assert report["top3"] == round(top_k_accuracy_score(truth, probs, k=3, labels=range(5)), 4)
    assert report["macro_f1"] == round(f1_score(reference, top1, average="macro"), 4)
    recall = recall_score(reference, top1, labels=classes, average=None)
    assert [report["classes"][c]["recall"] for c in classes] == [round(float(r), 4) for r in recall]
    assert report["confusion"]["matrix"] == confusion_matrix(reference, top1, labels=classes).tolist()

    # through the files: a submission JSON and a labels CSV with folders and extensions
    (tmp_path / "answer.json").write_text(json.dumps({f"{i:03d}": r[:3] for i, r in enumerate(ranked)}))
    (tmp_path / "labels.csv").write_text("file,label\n" + "".join(f"songs/{i:03d}.mp3,{t}\n"
                                                                  for i, t in enumerate(reference)))
    res = cli("eval", "classify", "--pred", tmp_path / "answer.json", "--labels", tmp_path / "labels.csv", "--json",
              "--confusion", tmp_path / "cm.csv", "--confusion", tmp_path / "cm.png")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["top3"] == report["top3"]
    table = (tmp_path / "cm.csv").read_text().splitlines()
    assert table[0] == "true\\predicted,a,b,c,d,e"
    assert table[1] == "a," + ",".join(map(str, report["confusion"]["matrix"][0]))
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rank_by_vote_breaks_ties_by_mean_probability():
    from mirctl.tasks.classify import rank

    probs = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6], [0.0, 0.2, 0.8]])
    order, votes, mean = rank(probs, "vote")
    assert list(votes) == [0.5, 0.0, 0.5] and list(order) == [2, 0, 1]  # a 2-2 vote: class 2 has the higher mean
    probs[3] = [0.1, 0.8, 0.1]  # now 0 has two votes, 1 and 2 one each; by mean 1 (0.45) beats 0 (0.325)
    order, votes, _ = rank(probs, "vote")
    assert list(order) == [0, 1, 2]
    order, scores, _ = rank(probs, "mean")
    assert list(order) == [1, 0, 2] and np.allclose(scores, probs.mean(axis=0))


def test_grouped_split_keeps_every_song_on_one_side(tmp_path):
    from mirctl.tasks.classify_training import TRAINABLE, Params

    data = tmp_path / "songs"
    data.mkdir()
    rng = np.random.default_rng(0)
    rows = ["path,label,group"]
    for song in range(10):
        kind = SYNTH_CLASSES[song % 2]
        for seg in range(3):
            sf.write(data / f"s{song}_{seg}.wav", class_clip(kind, rng, 0.5), 16000)
            rows.append(f"s{song}_{seg}.wav,{kind},song{song}")
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    prepared = TRAINABLE.prepare(Params(), data, seed=4)
    song = lambda e: e.name.split("_")[0]  # noqa: E731
    assert len(prepared.valid) == 6 and not {song(e) for e in prepared.train} & {song(e) for e in prepared.valid}


def test_usage_errors(tmp_path):
    data = write_class_folders(tmp_path / "data", n_per_class=2, seed=0, sec=0.5)
    res = cli("train", "classify", "--data", tmp_path / "data" / "low_sine", "--out", tmp_path / "ck")
    assert res.exit_code == 2 and "classification needs at least two" in " ".join(res.output.split())
    res = cli("classify", next(data.rglob("*.wav")), "--submission", tmp_path / "answer.txt")
    assert res.exit_code == 2 and "must end in .csv or .json" in " ".join(res.output.split())
    res = cli("classify", next(data.rglob("*.wav")), "--aggregate", "median")
    assert res.exit_code == 2
    res = cli("classify", next(data.rglob("*.wav")), "--separate", "drums", "--separate-model", "repet")
    assert res.exit_code == 2 and "repet gives the stems vocals, accompaniment" in " ".join(res.output.split())


def test_separate_first_classifies_the_asked_stem(trained, tmp_path):
    """--separate vocals runs the separation and classifies its vocals stem: the result
    says so, and the probabilities are those of the stem, not of the file."""
    from mirctl import api

    data, out, _ = trained
    rng = np.random.default_rng(2)
    mix = class_clip("low_sine", rng, 6.0) + 0.5 * class_clip("white_noise", rng, 6.0)
    sf.write(tmp_path / "mix.wav", mix, 16000)
    res = cli("classify", tmp_path / "mix.wav", "--model", out, "--separate", "vocals", "--separate-model", "repet",
              "--json")
    result = lines(res)[0]["result"]
    assert result["separated"] == "classified the vocals stem of repet"
    stem = api.Separator(model="repet").separate(tmp_path / "mix.wav")["vocals"]
    direct = lines(cli("classify", tmp_path / "mix.wav", "--model", out, "--json"))[0]["result"]
    sf.write(tmp_path / "vocals.wav", stem[0], 16000, subtype="FLOAT")
    on_stem = lines(cli("classify", tmp_path / "vocals.wav", "--model", out, "--json"))[0]["result"]
    assert result["probabilities"] == pytest.approx(on_stem["probabilities"], abs=2e-4)
    assert result["probabilities"] != direct["probabilities"]


@pytest.mark.shared
def test_the_pretrained_genre_default_on_real_rock(tmp_path):
    song = shared_path("data", "musdb18_7s", "wav", "Music Delta - 80s Rock", "mixture.wav")
    res = cli("classify", song, "--json", "--top-k", 14)
    result = lines(res)[0]["result"]
    assert result["model"] == "genre" and result["label"] == "rock"
    assert len(result["probabilities"]) == 14 and sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert "rock" in cli("classify", song).output  # on screen too


@pytest.mark.slow
def test_instrument_families_of_unseen_pitches_from_notes_rendered_by_mirctl_render(tmp_path):
    """Real synthesized instruments: notes of six GM families (three programs each)
    rendered by `mirctl render` with the bundled SoundFont; the held-out notes (pitches
    no training note has) are the validation split, so the card's figures are theirs.
    Chance is 1/6; the musicnn head gets most of them (0.87 measured)."""
    import ctypes.util

    from notes import HELD_OUT_PITCHES, write_notes

    data = write_notes(tmp_path / "notes")
    synth = "fluidsynth" if ctypes.util.find_library("fluidsynth") else "tinysoundfont"
    res = cli("render", data / "midi", "-o", data / "audio", "--sample-rate", 16000, "--tail", 0.4, "--synth", synth,
              "-q")
    assert res.exit_code == 0, res.output
    res = cli("train", "classify", "--data", data, "--features", "musicnn", "--out", tmp_path / "ck",
              "--max-steps", 200, "--valid-every", 100, "--threads", 2, "-q")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "ck" / "card.json").read_text())
    assert card["training"]["examples"] == {"train": 216, "valid": 6 * 3 * len(HELD_OUT_PITCHES)}
    assert card["metrics"]["top1"] >= 0.6 and card["metrics"]["top3"] >= 0.9, card["metrics"]
    recalls = [row["recall"] for row in card["per_class"].values()]
    assert sum(r >= 0.5 for r in recalls) >= 5  # not one family carrying the score


def test_python_api_classifier_agrees_with_the_command(trained):
    from mirctl import api

    data, out, _ = trained
    clip = next(data.rglob("white_noise00.wav"))
    clf = api.Classifier(out, device="cpu", aggregate="vote")
    assert clf.labels == tuple(CLASSES)
    result = clf.classify(clip)
    cmd = lines(cli("classify", clip, "--model", out, "--aggregate", "vote", "--json"))[0]
    assert result == cmd["result"] and result["aggregate"] == "vote" and "votes" in result
    assert cmd["model"]["name"] == out.name and len(cmd["model"]["sha256"]) == 64
