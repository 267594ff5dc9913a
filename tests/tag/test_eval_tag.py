"""mirctl eval tag: multi-label scores against hand-computed values."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mirctl.cli.app import app

pytest.importorskip("sklearn")
runner = CliRunner()

PREDS = """input,status,top,scores.piano,scores.flute,scores.guitar
clips/a.wav,ok,x,0.9,0.2,0.5
clips/b.wav,ok,x,0.6,0.7,0.5
other/c.mp3,ok,x,0.4,0.1,0.5
d.flac,ok,x,0.7,0.3,0.5
e.wav,failed,,,,
f.wav,ok,x,0.1,0.1,0.1
"""
LABELS = """path,piano,flute,cello
a.wav,1,0,0
b.wav,1,1,0
c.wav,0,0,1
d.wav,0,1,0
"""


def write(tmp_path, preds=PREDS, labels=LABELS):
    (tmp_path / "p.csv").write_text(preds)
    (tmp_path / "l.csv").write_text(labels)
    return tmp_path / "p.csv", tmp_path / "l.csv"


def run(*args):
    return runner.invoke(app, ["eval", "tag", *[str(a) for a in args]])


def test_scores_equal_hand_computed_values(tmp_path):
    p, lab = write(tmp_path)
    res = run("--pred", p, "--labels", lab, "--json", "--csv", tmp_path / "scores.csv")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout.strip().splitlines()[-1])
    piano, flute = report["tags"]["piano"], report["tags"]["flute"]
    assert report["files"] == 4 and set(report["tags"]) == {"piano", "flute"}  # cello has no predictions
    assert (piano["tp"], piano["fp"], piano["fn"]) == (2, 1, 0)
    assert (piano["precision"], piano["recall"], piano["f1"]) == (0.6667, 1.0, 0.8)
    assert (piano["roc_auc"], piano["pr_auc"]) == (0.75, 0.8333)
    assert (flute["precision"], flute["recall"], flute["f1"], flute["roc_auc"], flute["pr_auc"]) == (
        1.0, 0.5, 0.6667, 1.0, 1.0)
    assert report["macro"] == {"precision": 0.8333, "recall": 0.75, "f1": 0.7333, "roc_auc": 0.875, "pr_auc": 0.9167}
    assert "cello" in res.stderr and "1 predicted file(s) have no labels" in res.stderr
    rows = (tmp_path / "scores.csv").read_text().splitlines()
    assert rows[0].startswith("tag,threshold") and rows[-1].startswith("macro,") and len(rows) == 4


def test_per_tag_thresholds_and_the_screen_table(tmp_path):
    p, lab = write(tmp_path)
    res = run("--pred", p, "--labels", lab, "--threshold", "0.5,flute=0.25", "--json")
    flute = json.loads(res.stdout.strip().splitlines()[-1])["tags"]["flute"]
    assert (flute["threshold"], flute["tp"], flute["f1"]) == (0.25, 2, 1.0)
    shown = run("--pred", p, "--labels", lab)
    assert shown.exit_code == 0 and "macro" in shown.stdout and "0.875" in shown.stdout


def test_undefined_figures_are_none_not_zero(tmp_path):
    p, lab = write(tmp_path, labels="path,piano\na.wav,1\nb.wav,1\nc.wav,1\nd.wav,1\n")
    report = json.loads(run("--pred", p, "--labels", lab, "--json").stdout.strip().splitlines()[-1])
    assert report["tags"]["piano"]["roc_auc"] is None and report["macro"]["roc_auc"] is None  # one class only


@pytest.mark.parametrize("labels,message", [
    ("path,bass\na.wav,1\n", "share no tag column"),
    ("path,piano\nzzz.wav,1\n", "no file of"),
    ("path,piano\na.wav,2\n", "must be 0 or 1"),
    ("path,piano\na.wav,yes\n", "is not a number"),
    ("path,piano\na.wav,1\nx/a.mp3,0\n", "two rows are for 'a'"),
])
def test_bad_tables_are_usage_errors(tmp_path, labels, message):
    p, lab = write(tmp_path, labels=labels)
    res = run("--pred", p, "--labels", lab)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())


def test_unknown_threshold_tag_and_missing_file(tmp_path):
    p, lab = write(tmp_path)
    assert "do not share" in " ".join(run("--pred", p, "--labels", lab, "--threshold", "banjo=0.2").output.split())
    res = run("--pred", tmp_path / "none.csv", "--labels", lab)
    assert res.exit_code == 2 and "cannot read" in res.output
