"""mirctl.evaluation and the ``mirctl eval`` group: values, not keys."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import tone, write_wav
from mirctl.cli.app import app
from mirctl.evaluation import flatten
from mirctl.evaluation import transcription as note_eval
from mirctl.errors import ValidationError
from mirctl.io.notes import notes_to_csv
from mirctl.types import Note

runner = CliRunner()
REF = [Note(0.5 * i, 0.5 * i + 0.4, 60 + i, 80) for i in range(8)]


def write_notes(path: Path, notes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notes_to_csv(notes))
    return path


def mir_eval_f1(ref, est, offset_ratio):
    import mir_eval

    def arr(notes):
        return (np.array([[n.start_s, n.end_s] for n in notes]),
                np.array([440 * 2 ** ((n.pitch - 69) / 12) for n in notes]))

    (ri, rp), (ei, ep) = arr(ref), arr(est)
    return mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=offset_ratio)[2]


def test_note_scores_equal_mir_eval_called_directly():
    est = [Note(n.start_s + (0.03 if i % 2 else 0.2), n.end_s, n.pitch, 80) for i, n in enumerate(REF)]
    scores = note_eval.evaluate(REF, est)
    assert scores["onset"]["f1"] == pytest.approx(mir_eval_f1(REF, est, None)) == pytest.approx(0.5)
    assert scores["onset_offset"]["f1"] == pytest.approx(mir_eval_f1(REF, est, 0.2))
    assert (scores["ref_notes"], scores["est_notes"]) == (8, 8)


def test_note_validate_refuses_impossible_notes_and_warns_on_empty():
    with pytest.raises(ValidationError, match="pitch 200"):
        note_eval.validate(REF, [Note(0.0, 1.0, 200, 80)])
    with pytest.warns(UserWarning, match="no notes"):
        note_eval.validate(REF, [])
    assert note_eval.score([], {"reference": None}) == {"error": "no reference found"}


def test_flatten_makes_csv_columns():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": "1 2", "d": None}


def test_eval_transcribe_pairs_files_by_track_and_writes_a_csv(tmp_path):
    refs, preds = tmp_path / "refs", tmp_path / "preds"
    write_notes(refs / "perfect.csv", REF)
    write_notes(refs / "half.csv", REF)
    write_notes(preds / "perfect.csv", REF)
    write_notes(preds / "half.csv", REF[:4])
    write_notes(preds / "orphan.csv", REF)
    table = tmp_path / "scores.csv"
    res = runner.invoke(app, ["eval", "transcribe", str(preds), "--ref", str(refs), "--csv", str(table), "--json"])
    assert res.exit_code == 0, res.output
    recs = {Path(r["input"]).stem: r for r in map(json.loads, res.stdout.splitlines())}
    assert recs["perfect"]["result"]["eval"]["onset_offset"]["f1"] == 1.0
    assert recs["half"]["result"]["eval"]["onset"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
    assert recs["orphan"]["result"]["eval"] == {"error": "no reference found"}
    rows = {Path(r["input"]).stem: r for r in csv.DictReader(table.open())}
    assert float(rows["half"]["eval.onset.recall"]) == 0.5 and rows["orphan"]["eval.error"] == "no reference found"
    assert list(rows) == ["half", "orphan", "perfect"]  # sorted by input
    screen = CliRunner().invoke(app, ["eval", "transcribe", str(preds), "--ref", str(refs)])
    (row,) = [line for line in screen.output.splitlines() if line.startswith("half.csv")]  # the table, not progress
    assert row.split()[1:] == ["│", "8/4", "│", "1.000", "│", "0.500", "│", "0.667", "│", "1.000", "│", "0.500", "│",
                               "0.667"]
    (orphan,) = [line for line in screen.output.splitlines() if line.startswith("orphan.csv")]
    assert orphan.startswith("orphan.csv (no") and "reference found)" in screen.output  # the reason, folded


def test_eval_transcribe_needs_an_existing_ref(tmp_path):
    write_notes(tmp_path / "p.csv", REF)
    res = runner.invoke(app, ["eval", "transcribe", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "--ref is required" in " ".join(res.output.split())
    res = runner.invoke(app, ["eval", "transcribe", str(tmp_path / "p.csv"), "--ref", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in " ".join(res.output.split())


def test_separate_eval_and_eval_separate_give_the_same_scores(tmp_path):
    """--eval inside separate and the eval group run the same code on the same stems."""
    sr = 22050
    rng = np.random.default_rng(0)
    harmonic = tone(440, 2.0, sr, 1, 0.3)
    percussive = (0.3 * rng.standard_normal((1, 2 * sr)) * (rng.random((1, 2 * sr)) > 0.995)).astype(np.float32)
    write_wav(tmp_path / "refs" / "song" / "harmonic.wav", harmonic, sr, "FLOAT")
    write_wav(tmp_path / "refs" / "song" / "percussive.wav", percussive, sr, "FLOAT")
    write_wav(tmp_path / "song.wav", harmonic + percussive, sr, "FLOAT")
    out = tmp_path / "out"
    sep = runner.invoke(app, ["separate", str(tmp_path / "song.wav"), "--model", "hpss", "-o", str(out), "--bits",
                              "32f", "--eval", str(tmp_path / "refs"), "--json"])
    assert sep.exit_code == 0, sep.output
    inline = json.loads(sep.stdout.splitlines()[0])["result"]["eval"]
    ev = runner.invoke(app, ["eval", "separate", str(out), "-r", "--ref", str(tmp_path / "refs"), "--json"])
    assert ev.exit_code == 0, ev.output
    (rec,) = [json.loads(x) for x in ev.stdout.splitlines()]
    assert rec["input"] == str(out / "hpss" / "song")
    group = rec["result"]["eval"]
    assert group["evaluated"] == inline["evaluated"] == ["harmonic", "percussive"]
    for stem in ("harmonic", "percussive"):
        assert group["stems"][stem]["sdr_db"] == pytest.approx(inline["stems"][stem]["sdr_db"], abs=1e-3)
    assert group["stems"]["harmonic"]["sdr_db"] > 10  # hpss finds the tone


def test_note_validation_messages_and_summary():
    with pytest.raises(ValidationError) as err:
        note_eval.validate([Note(-0.5, 1.0, 60, 80)], REF)
    assert (err.value.message, err.value.hint) == ("reference note has a negative start time (-0.5 s)",
                                                   "times are seconds from the start of the recording")
    with pytest.raises(ValidationError) as err:
        note_eval.validate(REF, [Note(1.25, 2.0, -1, 80)])
    assert err.value.message == "estimate note at 1.250 s has pitch -1 outside 0-127"
    note_eval.validate([Note(0.0, 1.0, 0, 1), Note(0.0, 1.0, 127, 1)], REF)  # the range ends are legal
    ok = {"status": "ok", "result": {"eval": {"onset": {"f1": 0.5}, "onset_offset": {"f1": 0.25}}}}
    other = {"status": "ok", "result": {"eval": {"onset": {"f1": 1.0}, "onset_offset": {"f1": 0.75}}}}
    unscored = [{"status": "failed", "result": {}}, {"status": "ok", "result": {"eval": {"error": "x"}}}]
    assert note_eval.summarize([ok, other] + unscored) == {"mean_note_f1": {"onset": 0.75, "onset_offset": 0.5}}
    assert note_eval.summarize(unscored) == {}


def test_zero_length_notes_are_left_out_and_an_empty_side_scores_zero():
    est = REF + [Note(9.0, 9.0, 60, 80)]  # zero duration: not a note
    assert note_eval.evaluate(REF, est)["est_notes"] == 8
    empty = note_eval.evaluate(REF, [])
    assert empty == {"ref_notes": 8, "est_notes": 0, "onset": {"precision": 0.0, "recall": 0.0, "f1": 0.0},
                     "onset_offset": {"precision": 0.0, "recall": 0.0, "f1": 0.0}}


def test_table_columns_label_every_score():
    from mirctl.evaluation import separation as sep_eval

    keys = list(flatten({"eval": note_eval.evaluate(REF, REF)}))
    assert note_eval.table_columns(keys) == [
        ("ref/est", ("eval.ref_notes", "eval.est_notes")), ("P", "eval.onset.precision"), ("R", "eval.onset.recall"),
        ("F1", "eval.onset.f1"), ("P+off", "eval.onset_offset.precision"), ("R+off", "eval.onset_offset.recall"),
        ("F1+off", "eval.onset_offset.f1")]
    assert note_eval.table_columns(["eval.error"]) == []
    keys = ["eval.stems.vocals.sdr_db", "eval.stems.vocals.nsdr_db", "eval.stems.bass.nsdr_db", "eval.missing"]
    assert sep_eval.table_columns(keys) == [("bass nSDR", "eval.stems.bass.nsdr_db"),
                                            ("vocals SDR", "eval.stems.vocals.sdr_db"),
                                            ("vocals nSDR", "eval.stems.vocals.nsdr_db")]


def test_separation_validation_messages():
    from mirctl.evaluation import separation as sep_eval

    with pytest.raises(ValidationError) as err:
        sep_eval.validate({"vocals": (np.zeros(10), 8000)}, {})
    assert err.value.message == "reference stem 'vocals' has shape (10,); expected (channels, samples)"
    bad = np.zeros((1, 10))
    bad[0, 3] = np.nan
    with pytest.raises(ValidationError) as err:
        sep_eval.validate({}, {"drums": bad})
    assert err.value.message == "estimate stem 'drums' holds NaN or infinite samples"
    assert sep_eval.evaluate({}, {"drums": np.zeros((1, 10))}, 8000) == {"evaluated": [], "missing": ["drums"]}


def test_note_scores_are_mir_evals_precision_recall_and_f1_with_and_without_offsets():
    import mir_eval

    est = [Note(n.start_s + 0.01 * i, n.end_s + (0.3 if i % 3 == 0 else 0.05), n.pitch + (i == 5), 80)
           for i, n in enumerate(REF)] + [Note(7.0, 7.5, 40, 80)]
    scores = note_eval.evaluate(REF, est)
    ri = np.array([[n.start_s, n.end_s] for n in REF])
    ei = np.array([[n.start_s, n.end_s] for n in est])
    rp, ep = (np.array([440 * 2 ** ((n.pitch - 69) / 12) for n in x]) for x in (REF, est))
    for key, ratio in (("onset", None), ("onset_offset", 0.2)):
        p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ri, rp, ei, ep, offset_ratio=ratio)
        assert scores[key] == {"precision": pytest.approx(p, abs=1e-12), "recall": pytest.approx(r, abs=1e-12),
                               "f1": pytest.approx(f, abs=1e-12)}
        assert all(type(v) is float for v in scores[key].values())
    assert scores["onset"]["recall"] == pytest.approx(5 / 8)  # onsets 60 and 70 ms late and a semitone off miss
    assert scores["onset_offset"]["recall"] == pytest.approx(3 / 8)  # and two offsets 0.3 s late


def test_notes_without_duration_are_left_out_on_both_sides():
    ref = REF + [Note(8.0, 8.0, 60, 80), Note(9.0, 8.5, 61, 80)]
    scores = note_eval.evaluate(ref, REF + [Note(3.0, 2.0, 70, 80)])
    assert (scores["ref_notes"], scores["est_notes"]) == (8, 8)
    assert scores["onset_offset"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert note_eval.evaluate([Note(1.0, 1.0, 60, 80)], REF) == {
        "ref_notes": 0, "est_notes": 8, "onset": {"precision": 0.0, "recall": 0.0, "f1": 0.0},
        "onset_offset": {"precision": 0.0, "recall": 0.0, "f1": 0.0}}


def test_score_checks_the_notes_quietly_and_uses_the_first_reference():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty estimate scores 0 without a warning here
        assert note_eval.score([], {"reference": REF})["onset"]["f1"] == 0.0
    assert note_eval.score(REF[:4], {"reference": REF, "other": []})["onset"]["recall"] == 0.5
    with pytest.raises(ValidationError, match="pitch 128"):
        note_eval.score([Note(0.0, 1.0, 128, 80)], {"reference": REF})
    with pytest.raises(ValidationError, match="negative start"):
        note_eval.score(REF, {"reference": [Note(-0.1, 1.0, 60, 80)]})
    assert note_eval.score(REF, {}) == {"error": "no reference found"}


def test_note_summary_averages_scored_inputs_only_to_four_places():
    def rec(onset, offset, status="ok"):
        return {"status": status, "result": {"eval": {"onset": {"f1": onset}, "onset_offset": {"f1": offset}}}}

    recs = [rec(1 / 3, 0.1), rec(1.0, 0.2), rec(0.0, 0.0, status="failed"), {"status": "ok", "result": {"eval": "x"}},
            {"status": "ok"}]
    assert note_eval.summarize(recs) == {"mean_note_f1": {"onset": 0.6667, "onset_offset": 0.15}}
    assert list(note_eval.summarize(recs)["mean_note_f1"]) == ["onset", "onset_offset"]


def test_one_note_each_side_is_scored_and_a_missing_mir_eval_names_the_extra(monkeypatch):
    one = [Note(1.0, 1.5, 60, 80)]
    assert note_eval.evaluate(one, one)["onset_offset"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert note_eval.evaluate(one, [Note(1.0, 1.5, 61, 80)])["onset"]["f1"] == 0.0
    assert note_eval.evaluate([Note(1, 2, 60, 80)], [Note(1, 2, 60, 80)])["onset"]["f1"] == 1.0  # int times
    import sys

    from mirctl.errors import BackendUnavailable
    from mirctl.evaluation import separation as sep_eval

    monkeypatch.setitem(sys.modules, "mir_eval.transcription", None)  # as if mir_eval were not installed
    monkeypatch.setitem(sys.modules, "mir_eval.separation", None)
    with pytest.raises(BackendUnavailable) as err:
        note_eval.evaluate(one, one)
    assert err.value.hint == "pip install 'mirctl[eval]'"
    ref = np.ones((1, 100))
    with pytest.raises(BackendUnavailable) as err:
        sep_eval.evaluate({"a": (ref, 8000)}, {"a": ref}, 8000)
    assert err.value.hint == "pip install 'mirctl[eval]'"


def test_only_an_empty_side_warns_and_the_warning_points_at_the_caller():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        note_eval.validate(REF, REF)  # no warning for notes on both sides
    with pytest.warns(UserWarning) as record:
        note_eval.validate(REF, [])
    assert [str(w.message) for w in record] == ["the estimate holds no notes: every score is 0"]
    assert record[0].filename == __file__  # stacklevel 2: the line that called validate
    with pytest.warns(UserWarning) as record:
        note_eval.validate([], [])
    assert [str(w.message) for w in record] == ["the reference holds no notes: every score is 0",
                                                "the estimate holds no notes: every score is 0"]
