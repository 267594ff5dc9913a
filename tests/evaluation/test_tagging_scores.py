"""``mirctl.evaluation.tagging`` called directly: every figure against scikit-learn on
random scores, the undefined cases, threshold tuning against a brute-force search, and
the table reader's matching rules and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from mirctl.errors import UsageError
from mirctl.evaluation import tagging

metrics = pytest.importorskip("sklearn.metrics")


def data(seed: int, files: int = 40, tags: int = 5):
    rng = np.random.default_rng(seed)
    reference = rng.random((files, tags)) < 0.4
    estimate = np.clip(0.35 * reference + rng.uniform(0, 0.7, (files, tags)), 0, 1)
    return reference, np.round(estimate, 2)  # rounded: some scores sit exactly on a threshold


@pytest.mark.parametrize("seed", range(3))
def test_every_figure_equals_scikit_learns(seed):
    reference, estimate = data(seed)
    tags = [f"t{j}" for j in range(reference.shape[1])]
    thresholds = {"t0": 0.3, "t1": 0.55, "t3": float(estimate[0, 3])}  # t2, t4 keep 0.5; t3 on a score
    res = tagging.evaluate(reference.astype(float), estimate, tags, thresholds)
    assert res["files"] == 40 and list(res["tags"]) == tags
    raw = {m: [] for m in ("precision", "recall", "f1", "roc_auc", "pr_auc")}
    for j, tag in enumerate(tags):
        y, s = reference[:, j], estimate[:, j]
        limit = thresholds.get(tag, 0.5)
        predicted = s >= limit
        row = res["tags"][tag]
        assert row["threshold"] == limit and row["positives"] == int(y.sum())
        assert (row["tp"], row["fp"], row["fn"]) == (int(np.sum(predicted & y)), int(np.sum(predicted & ~y)),
                                                     int(np.sum(~predicted & y)))
        want = {"precision": metrics.precision_score(y, predicted), "recall": metrics.recall_score(y, predicted),
                "f1": metrics.f1_score(y, predicted), "roc_auc": metrics.roc_auc_score(y, s),
                "pr_auc": metrics.average_precision_score(y, s)}
        for m, v in want.items():
            assert row[m] == round(v, 4) and type(row[m]) is float
            raw[m].append(v)
    assert res["macro"] == {m: round(float(np.mean(v)), 4) for m, v in raw.items()}


def test_one_threshold_for_all_tags_and_the_boundary_counts_as_tagged():
    reference = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], bool)
    estimate = np.array([[0.7, 0.69], [0.7, 0.71], [0.2, 0.7], [0.1, 0.0]])
    res = tagging.evaluate(reference, estimate, ["a", "b"], 0.7)
    # a: the two 0.7s are tagged, one right; ROC-AUC 2.5 of 4 pairs; AP 0.5·0.5 + 0.5·2/3
    assert res["tags"]["a"] == {"threshold": 0.7, "positives": 2, "tp": 1, "fp": 1, "fn": 1, "precision": 0.5,
                                "recall": 0.5, "f1": 0.5, "roc_auc": 0.625, "pr_auc": 0.5833}
    assert (res["tags"]["b"]["tp"], res["tags"]["b"]["fp"], res["tags"]["b"]["fn"]) == (2, 0, 0)
    assert tagging.evaluate(reference, estimate, ["a", "b"])["tags"]["a"]["threshold"] == 0.5  # the default


def test_figures_a_tag_cannot_have_are_none_and_left_out_of_the_macro_mean():
    reference = np.array([[0, 1, 1, 1], [0, 1, 0, 0], [0, 1, 0, 1]], bool)
    estimate = np.array([[0.9, 0.1, 0.2, 0.8], [0.1, 0.2, 0.9, 0.1], [0.2, 0.3, 0.1, 0.9]])
    res = tagging.evaluate(reference, estimate, ["none", "all", "wrong", "good"])
    none, every, wrong, good = (res["tags"][k] for k in ("none", "all", "wrong", "good"))
    # no positives: recall, F1, both areas undefined; one false positive: precision 0
    assert (none["precision"], none["recall"], none["f1"], none["roc_auc"], none["pr_auc"]) == (0.0, None, None, None,
                                                                                                  None)
    # only positives, none predicted: precision undefined, recall 0; no negatives: no ROC-AUC
    assert (every["precision"], every["recall"], every["f1"], every["roc_auc"]) == (None, 0.0, None, None)
    assert every["pr_auc"] == 1.0
    # precision and recall both 0: F1 is 0, not undefined
    assert (wrong["precision"], wrong["recall"], wrong["f1"]) == (0.0, 0.0, 0.0)
    assert (good["precision"], good["recall"], good["f1"], good["roc_auc"]) == (1.0, 1.0, 1.0, 1.0)
    assert res["macro"]["precision"] == round((0 + 0 + 1) / 3, 4)
    assert res["macro"]["recall"] == round((0 + 0 + 1) / 3, 4)
    assert res["macro"]["f1"] == 0.5 and res["macro"]["roc_auc"] == round((wrong["roc_auc"] + 1) / 2, 4)
    assert tagging.evaluate(reference[:, :1], estimate[:, :1], ["none"])["macro"] == {
        "precision": 0.0, "recall": None, "f1": None, "roc_auc": None, "pr_auc": None}


def test_the_macro_mean_is_taken_before_rounding():
    # precisions 1/8 and 1/7: their mean is 0.13393 -> 0.1339, the mean of 0.125 and 0.1429 rounds to 0.134
    reference = np.zeros((8, 2), bool)
    reference[0] = True
    estimate = np.full((8, 2), 0.9)
    estimate[7, 1] = 0.1
    res = tagging.evaluate(reference, estimate, ["a", "b"])
    assert (res["tags"]["a"]["precision"], res["tags"]["b"]["precision"]) == (0.125, 0.1429)
    assert res["macro"]["precision"] == 0.1339
    reference = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [1, 1], [0, 0], [0, 0]], bool)
    estimate = np.array([[0.9, 0.9], [0.9, 0.1], [0.9, 0.9], [0.9, 0.9], [0.9, 0.9], [0.9, 0.1], [0.9, 0.1]])
    res = tagging.evaluate(reference, estimate, ["a", "b"])
    p = [3 / 7, 3 / 4]
    assert res["macro"]["precision"] == round(np.mean(p), 4) == 0.5893
    assert res["macro"]["f1"] == round(np.mean([2 * 3 / 7 / (3 / 7 + 1), 2 * 0.75 / 1.75]), 4)


def brute_force(y: np.ndarray, s: np.ndarray, grid: np.ndarray) -> float:
    f1 = np.array([metrics.f1_score(y, s >= g, zero_division=0) for g in grid])
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(grid[best[len(best) // 2]])


@pytest.mark.parametrize("seed", range(3))
def test_tuned_thresholds_are_the_middle_of_scikit_learns_best_f1s(seed):
    reference, estimate = data(seed + 10, files=30, tags=4)
    reference[:, 3] = True  # a tag without negatives keeps 0.5
    grid = np.round(np.arange(1, 100) / 100, 2)
    tuned = tagging.tune_thresholds(reference, estimate)
    for j in range(3):
        assert tuned[j] == brute_force(reference[:, j], estimate[:, j], grid)
    assert tuned[3] == 0.5
    coarse = np.array([0.2, 0.4, 0.6, 0.8])
    assert list(tagging.tune_thresholds(reference, estimate, coarse)[:3]) == [
        brute_force(reference[:, j], estimate[:, j], coarse) for j in range(3)]


def test_tuning_searches_0_01_to_0_99_in_steps_of_0_01_and_skips_one_class_tags_wherever_they_are():
    labels = np.array([[0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 1]], float)  # 0/1 floats work as labels too
    scores = np.array([[0.2, 0.6, 0.0, 1.0], [0.9, 0.0, 1.0, 0.0], [0.4, 0.6, 0.0, 1.0]])
    # tag 0 has no positive: kept at 0.5, and the tags after it are still tuned;
    # tag 1: perfect for thresholds in (0, 0.6]: 0.01 … 0.60, middle 0.31;
    # tag 2: its positive scores 0 and a negative 1, so only a threshold of 0 would tag it:
    #   no grid point does better than another, middle of 0.01 … 0.99: 0.50;
    # tag 3: perfect for every threshold in (0, 1]: 0.01 … 0.99 (not 1.00), middle 0.50
    assert tagging.tune_thresholds(labels, scores).tolist() == [0.5, 0.31, 0.5, 0.5]
    # best F1 (3 right, 2 wrong) for thresholds in (0.03, 0.54]: 0.04 … 0.54, middle 0.29
    y = np.array([[1], [1], [1], [0], [0], [0], [0]], bool)
    s = np.array([[0.54], [0.94], [0.82], [0.0], [0.86], [0.03], [0.73]])
    assert tagging.tune_thresholds(y, s).tolist() == [0.29]
    assert tagging.tune_thresholds(y, s, [0.5, 0.6, 0.7]).tolist() == [0.5]


def test_tuning_takes_the_middle_of_an_even_run_of_best_points():
    reference = np.array([[1], [0]], bool)
    estimate = np.array([[0.5], [0.1]])
    # F1 is 1 for every threshold in (0.1, 0.5]: 0.11 ... 0.50, 40 points, index 20 -> 0.31
    assert tagging.tune_thresholds(reference, estimate)[0] == 0.31
    assert tagging.tune_thresholds(np.array([[0], [0]], bool), estimate)[0] == 0.5


# --- tables -----------------------------------------------------------------------------------------


def write(tmp_path, preds: str, labels: str):
    (tmp_path / "p.csv").write_text(preds)
    (tmp_path / "l.csv").write_text(labels)
    return tmp_path / "p.csv", tmp_path / "l.csv"


def test_mirctl_tag_tables_match_rows_by_file_name_and_skip_failed_inputs(tmp_path):
    p, lab = write(tmp_path, "input,status,top,scores.piano,scores.vocal\nx/a.wav,ok,piano,0.9,0.25\n"
                             "b.mp3,failed,,,\nc.wav,ok,vocal,0.1,0.75\nz.wav,ok,x,0.5,0.5\n",
                   "File,vocal,drums,piano,cello\nother/c.flac,1,0,0,0\na.wav,0,1,1,0\nb.wav,1,1,1,1\n")
    tags, reference, estimate, names, notes = tagging.read_tables(p, lab)
    assert tags == ["vocal", "piano"] and names == ["a", "c"]
    assert reference.dtype == bool and reference.tolist() == [[False, True], [True, False]]
    assert estimate.tolist() == [[0.25, 0.9], [0.75, 0.1]]
    assert notes == ["label column(s) without predictions, left out: drums, cello",
                     "1 predicted file(s) have no labels, left out"]


def test_plain_tables_take_the_first_column_as_the_file(tmp_path):
    p, lab = write(tmp_path, "clip,piano,vocal\na.wav,0.5,1e-3\nb.wav,0.25,1\n", "name,piano\na,1\nb,0\n")
    tags, reference, estimate, names, notes = tagging.read_tables(p, lab)
    assert (tags, names, notes) == (["piano"], ["a", "b"], [])
    assert reference.tolist() == [[True], [False]] and estimate.tolist() == [[0.5], [0.25]]
    # a key column is found by its name anywhere in the header, not only first
    p, lab = write(tmp_path, "piano,Track\n0.5,a.wav\n", "piano,path\n1,a.wav\n")
    assert tagging.read_tables(p, lab)[:4][0] == ["piano"]


@pytest.mark.parametrize("preds, labels, message, hint", [
    ("input,piano\na.wav,0.5\n", "path,bass\na.wav,1\n", "p.csv and {lab} share no tag column",
     "label columns must be named as the tags, e.g. piano,flute,vocal"),
    ("input,piano\na.wav,0.5\n", "path,piano\nq.wav,1\n", "no file of {p} is in {lab}", "rows are matched by file name"),
    ("input,piano\na.wav,0.5\n", "path,piano\na.wav,0.5\n", "{lab}: labels must be 0 or 1", None),
    ("input,piano\na.wav,high\n", "path,piano\na.wav,1\n", "{p}: piano = 'high' is not a number", None),
    ("input,piano\na.wav,nan\n", "path,piano\na.wav,1\n", "{p}: piano = 'nan' is not finite", None),
    ("input,piano\na.wav,inf\n", "path,piano\na.wav,1\n", "{p}: piano = 'inf' is not finite", None),
    ("input,piano\na.wav,0.5\n", "path,piano\na.wav,\n", "{lab}: piano = '' is not a number", None),
    ("input,piano\na.wav,0.5\nb/a.ogg,0.1\n", "path,piano\na.wav,1\n", "{p}: two rows are for 'a'",
     "file names must be unique without folders"),
    ("input,piano\na.wav,0.5\n", "path,piano\na.wav,1\nx/a.mid,0\n", "{lab}: two rows are for 'a'",
     "file names must be unique without folders"),
    ("input,piano\n", "path,piano\na.wav,1\n", "{p} has no rows", None),
    ("input\na.wav\n", "path,piano\na.wav,1\n", "{p} has no columns besides the file name", None),
])
def test_bad_tables_say_which_file_and_what(tmp_path, preds, labels, message, hint):
    p, lab = write(tmp_path, preds, labels)
    with pytest.raises(UsageError) as err:
        tagging.read_tables(p, lab)
    assert err.value.message == message.format(p=p, lab=lab).replace("p.csv and", f"{p} and")
    assert err.value.hint == hint


def test_tables_saved_by_a_spreadsheet_read_alike(tmp_path):
    """A byte-order mark (Excel's "CSV UTF-8"), CRLF line ends, spaces around cells."""
    (tmp_path / "p.csv").write_bytes("\ufeffinput , piano\r\nrock/á.wav , 0.75\r\n".encode())
    (tmp_path / "l.csv").write_bytes("\ufeffpath,piano\r\ná.wav,1\r\n".encode())
    tags, reference, estimate, names, notes = tagging.read_tables(tmp_path / "p.csv", tmp_path / "l.csv")
    assert (tags, names, reference.tolist(), estimate.tolist(), notes) == (["piano"], ["á"], [[True]], [[0.75]], [])


def test_unreadable_tables_are_usage_errors(tmp_path):
    (tmp_path / "l.csv").write_text("path,piano\na.wav,1\n")
    (tmp_path / "bin.csv").write_bytes(b"input,piano\n\xff\xfe,0.5\n")
    with pytest.raises(UsageError, match=r"cannot read .*bin\.csv"):
        tagging.read_tables(tmp_path / "bin.csv", tmp_path / "l.csv")
    with pytest.raises(UsageError, match=r"cannot read .*missing\.csv"):
        tagging.read_tables(tmp_path / "missing.csv", tmp_path / "l.csv")
