"""mirctl.evaluation.classification: the prediction and label tables it reads (every
form, every refusal), the scores on edge cases, and the confusion table it writes."""

from __future__ import annotations

import json
import warnings

import pytest

from mirctl.errors import UsageError
from mirctl.evaluation.classification import (confusion_csv, evaluate, read_labels, read_predictions,
                                              read_tables)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_submission_csv_ranks_in_their_numeric_order_and_ids_lose_folders(tmp_path):
    p = write(tmp_path / "a.csv", "ID,No.3,No.1,No.10,No.2,note\nx/001.wav,c,a,j,b,hi\n002,q,,,,\n")
    assert read_predictions(p) == {"001": ["a", "b", "c", "j"], "002": ["q"]}  # empty cells dropped
    # only numbered rank columns: not No.x, Notes or a second dot
    p = write(tmp_path / "b.csv", "ID,No.x,Notes,No.2,no.1,No.1.5,RANKS.3\n003,z,n,b,a,w,c\n")
    assert read_predictions(p) == {"003": ["a", "b", "c"]}


def test_classify_csv_keeps_only_finished_inputs_and_reads_ranks_columns(tmp_path):
    p = write(tmp_path / "preds.csv", "input,status,label,ranks.2,ranks.1,ranks.3\n"
                                      "songs/a.wav,ok,x,y,x,z\nsongs/b.wav,failed,,,,\nsongs/c.mp3,ok,q,r,q,s\n")
    assert read_predictions(p) == {"a": ["x", "y", "z"], "c": ["q", "r", "s"]}


def test_a_table_whose_key_column_is_not_first(tmp_path):
    p = write(tmp_path / "p.csv", "No.1,path,No.2\nx,dir/s1.flac,y\n")
    assert read_predictions(p) == {"s1": ["x", "y"]}
    p = write(tmp_path / "l.csv", "label,FILE\nrock,dir/s1.flac\n")
    assert read_labels(p) == {"s1": "rock"}


@pytest.mark.parametrize("header", ["track", "filename", "input", "Id"])
def test_every_key_column_name_is_recognised(tmp_path, header):
    p = write(tmp_path / "p.csv", f"No.1,{header}\nx,d/s2.wav\n")
    assert read_predictions(p) == {"s2": ["x"]}


def test_submission_json_and_its_refusals(tmp_path):
    p = write(tmp_path / "a.json", json.dumps({"001": ["a", "b", "c"], "dir/002.wav": [1, 2]}))
    assert read_predictions(p) == {"001": ["a", "b", "c"], "002": ["1", "2"]}
    with pytest.raises(UsageError, match=r"b\.json is not a submission JSON") as err:
        read_predictions(write(tmp_path / "b.json", json.dumps(["a"])))
    assert '{"ID": ["label1", "label2", "label3"]}' in err.value.hint
    with pytest.raises(UsageError, match="is not a submission JSON"):
        read_predictions(write(tmp_path / "c.json", json.dumps({"1": "a"})))
    with pytest.raises(UsageError, match=r"cannot read .*d\.json"):
        read_predictions(write(tmp_path / "d.json", "{not json"))
    (tmp_path / "e.json").write_bytes('{"ü": ["é"]}'.encode("utf-8"))
    assert read_predictions(tmp_path / "e.json") == {"ü": ["é"]}


def test_prediction_table_refusals(tmp_path):
    with pytest.raises(UsageError, match="has no ranked label columns") as err:
        read_predictions(write(tmp_path / "a.csv", "ID,label\n1,x\n"))
    assert "ID,No.1,No.2,No.3" in err.value.hint
    with pytest.raises(UsageError, match=r"two rows are for '001'"):
        read_predictions(write(tmp_path / "b.csv", "ID,No.1\na/001.wav,x\nb/001.mp3,y\n"))
    with pytest.raises(UsageError, match="has no rows"):
        read_predictions(write(tmp_path / "c.csv", "ID,No.1\n"))
    with pytest.raises(UsageError, match="cannot read"):
        read_predictions(tmp_path / "missing.csv")


def test_labels_table_forms_and_refusals(tmp_path):
    assert read_labels(write(tmp_path / "a.csv", "path,class\nx/1.wav,jazz\n")) == {"1": "jazz"}
    assert read_labels(write(tmp_path / "b.csv", "path,label\n1.wav,jazz\nother/1.mp3,jazz\n")) == {"1": "jazz"}
    with pytest.raises(UsageError, match="has two labels"):
        read_labels(write(tmp_path / "c.csv", "path,label\n1.wav,jazz\nother/1.mp3,rock\n"))
    with pytest.raises(UsageError, match="has no label column"):
        read_labels(write(tmp_path / "d.csv", "path,genre\n1.wav,jazz\n"))


def test_read_tables_matches_by_name_and_says_what_it_left_out(tmp_path):
    preds = write(tmp_path / "p.csv", "ID,No.1,No.2\n1,a,b\n2,b,a\n9,a,b\n")
    labels = write(tmp_path / "l.csv", "path,label\nx/2.wav,a\nx/1.wav,a\nx/3.wav,b\nx/4.wav,b\n")
    names, reference, ranked, notes = read_tables(preds, labels)
    assert names == ["1", "2"] and reference == ["a", "a"] and ranked == [["a", "b"], ["b", "a"]]
    assert notes == ["1 predicted file(s) have no label, left out", "2 labelled file(s) have no prediction, left out"]
    names, _, _, notes = read_tables(write(tmp_path / "p2.csv", "ID,No.1\n1,a\n"),
                                     write(tmp_path / "l2.csv", "path,label\n1.wav,a\n"))
    assert names == ["1"] and notes == []
    with pytest.raises(UsageError, match="no file of .*p3.csv is in") as err:
        read_tables(write(tmp_path / "p3.csv", "ID,No.1\n7,a\n"), labels)
    assert err.value.hint == "rows are matched by file name"


def test_evaluate_on_edge_cases():
    # classes in the caller's order, one of them never true nor predicted: 0 for it, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = evaluate(["b", "a", "b"], [["b", "a"], ["b", "a", "c"], ["a", "c", "b"]], ["c", "b", "a"])
    assert report["files"] == 3 and report["top1"] == round(1 / 3, 4) and report["top3"] == 1.0
    assert list(report["classes"]) == ["c", "b", "a"]
    assert report["classes"]["c"] == {"support": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert report["classes"]["b"] == {"support": 2, "precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert report["classes"]["a"] == {"support": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert report["confusion"] == {"labels": ["c", "b", "a"], "matrix": [[0, 0, 0], [0, 1, 1], [0, 1, 0]]}
    assert report["macro_f1"] == 0.25  # over a and b (in the labels or the top-1s), not c
    # top-3 looks at three ranks only, and the default classes are the sorted union
    report = evaluate(["d", "x"], [["a", "b", "c", "d"], ["x"]])
    assert report["top3"] == 0.5 and report["confusion"]["labels"] == ["a", "d", "x"]
    assert evaluate(["a", "b", "c"], [["x", "y", "a"], ["x"], ["y"]])["top3"] == 0.3333  # four places
    with pytest.raises(UsageError, match="one ranked prediction per reference label"):
        evaluate(["a"], [["a"], ["b"]])
    with pytest.raises(UsageError, match="one ranked prediction per reference label"):
        evaluate([], [])
    with pytest.raises(UsageError, match="ranks no label"):
        evaluate(["a", "b"], [["a"], []])


def test_confusion_csv_quotes_what_needs_quoting():
    report = evaluate(['say "a"', "b,c"], [["b,c"], ["b,c"]], ['say "a"', "b,c"])
    assert confusion_csv(report) == 'true\\predicted,"say ""a""","b,c"\n"say ""a""",0,1\n"b,c",0,1\n'


def test_hints_say_the_way_out(tmp_path):
    with pytest.raises(UsageError) as err:
        read_predictions(write(tmp_path / "a.csv", "ID,label\n1,x\n"))
    assert err.value.hint == "a submission (ID,No.1,No.2,No.3) or the CSV of `mirctl classify --csv`"
    with pytest.raises(UsageError) as err:
        read_predictions(write(tmp_path / "b.csv", "ID,No.1\na/001.wav,x\nb/001.mp3,y\n"))
    assert err.value.hint == "file names must be unique without folders"
    with pytest.raises(UsageError) as err:
        read_labels(write(tmp_path / "d.csv", "path,genre\n1.wav,jazz\n"))
    assert err.value.hint == "a CSV with a file column and a label column"
    with pytest.raises(UsageError) as err:
        read_predictions(write(tmp_path / "c.json", "[]"))
    assert err.value.hint == 'expected {"ID": ["label1", "label2", "label3"]}'
    with pytest.raises(UsageError, match="^classification scores need one ranked prediction per reference label$"):
        evaluate(["a"], [])
    with pytest.raises(UsageError, match="^a prediction ranks no label$"):
        evaluate(["a"], [[]])


def test_a_byte_order_mark_and_an_unknown_first_column(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffNo.1,ID\nx,7\n".encode("utf-8"))
    assert read_predictions(tmp_path / "bom.csv") == {"7": ["x"]}
    p = write(tmp_path / "k.csv", "song,No.1\nd/8.wav,y\n")
    assert read_predictions(p) == {"8": ["y"]}
    assert read_labels(write(tmp_path / "l.csv", "song,label\nd/8.wav,y\n")) == {"8": "y"}


def test_per_class_figures_are_rounded_to_four_places():
    report = evaluate(["a", "a", "a", "b", "b", "b"], [["a"], ["a"], ["b"], ["b"], ["b"], ["a"]])
    assert report["classes"]["a"] == {"support": 3, "precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    assert report["top1"] == 0.6667 and report["macro_f1"] == 0.6667


def test_only_commas_quotes_and_newlines_are_quoted():
    report = evaluate(["X", "a\nb"], [["X"], ["X"]], ["X", "a\nb"])
    assert confusion_csv(report) == 'true\\predicted,X,"a\nb"\nX,1,0\n"a\nb",1,0\n'
