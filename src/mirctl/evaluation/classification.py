"""Single-label classification scores: top-1 and top-3 accuracy, per-class precision,
recall and F1, macro F1 and the confusion matrix (scikit-learn for the numbers).

Conventions: ``reference`` is the true label per file, ``ranked`` the predicted labels
per file, best first (the homework submissions rank three). Macro F1 is the mean over
the classes that occur in the reference or the top-1 predictions (scikit-learn's
default); the confusion matrix has a row per true and a column per predicted class.

Tables: predictions are a submission CSV (``ID,No.1,No.2,No.3``), a submission JSON
(``{"ID": [l1, l2, l3]}``) or the CSV of ``mirctl classify --csv`` (``ranks.1``,
``ranks.2`` … columns); labels a CSV with a file column and a ``label`` (or ``class``)
column. Rows are matched by file name without folder and extension (a submission's IDs
are those names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from mirctl.errors import UsageError
from mirctl.io.tables import csv_text, key_column, read_rows


def evaluate(reference: Sequence[str], ranked: Sequence[Sequence[str]],
             classes: Sequence[str] | None = None) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

    if len(reference) != len(ranked) or not reference:
        raise UsageError("classification scores need one ranked prediction per reference label")
    if any(len(r) == 0 for r in ranked):
        raise UsageError("a prediction ranks no label")
    top1 = [r[0] for r in ranked]
    classes = list(classes) if classes else sorted(set(reference) | set(top1))
    precision, recall, f1, support = precision_recall_fscore_support(reference, top1, labels=classes,
                                                                     zero_division=0)
    matrix = confusion_matrix(reference, top1, labels=classes)
    n = len(reference)
    return {
        "files": n,
        "top1": round(sum(t == p for t, p in zip(reference, top1)) / n, 4),
        "top3": round(sum(t in r[:3] for t, r in zip(reference, ranked)) / n, 4),
        "macro_f1": round(float(f1_score(reference, top1, average="macro", zero_division=0)), 4),
        "classes": {c: {"support": int(s), "precision": round(float(p), 4), "recall": round(float(r), 4),
                        "f1": round(float(f), 4)}
                    for c, p, r, f, s in zip(classes, precision, recall, f1, support)},
        "confusion": {"labels": classes, "matrix": matrix.tolist()},
    }


KEY_COLUMNS = ("id", "input", "path", "file", "filename", "track")


def _key(header: list[str]) -> str:
    return key_column(header, KEY_COLUMNS)


def _rank(column: str) -> int | None:
    """The rank a ``No.2`` (submission) or ``ranks.2`` (``classify --csv``) column holds;
    None for any other column."""
    prefix, _, number = column.partition(".")
    return int(number) if prefix.lower() in ("no", "ranks") and number.isdigit() else None


def read_predictions(path: Path) -> dict[str, list[str]]:
    """{file name: ranked labels} of a submission CSV/JSON or a ``classify --csv`` table."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read {path}: {err}") from None
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise UsageError(f"{path} is not a submission JSON", hint='expected {"ID": ["label1", "label2", "label3"]}')
        return {Path(str(k)).stem: [str(x) for x in v] for k, v in data.items()}
    header, rows = read_rows(path)
    key = _key(header)
    if "status" in header:  # mirctl classify --csv: failed inputs have no prediction
        rows = [r for r in rows if r["status"] == "ok"]
    ranks = sorted((c for c in header if _rank(c) is not None), key=_rank)
    if not ranks:
        raise UsageError(f"{path} has no ranked label columns",
                         hint="a submission (ID,No.1,No.2,No.3) or the CSV of `mirctl classify --csv`")
    out: dict[str, list[str]] = {}
    for row in rows:
        name = Path(row[key]).stem
        if name in out:
            raise UsageError(f"{path}: two rows are for {name!r}", hint="file names must be unique without folders")
        out[name] = [row[c] for c in ranks if row.get(c)]
    return out


def read_labels(path: Path) -> dict[str, str]:
    """{file name: true label} of a ``path,label`` CSV."""
    header, rows = read_rows(Path(path))
    key = _key(header)
    lowered = {c.lower(): c for c in header}
    column = lowered.get("label") or lowered.get("class")
    if column is None:
        raise UsageError(f"{path} has no label column", hint="a CSV with a file column and a label column")
    out: dict[str, str] = {}
    for row in rows:
        name = Path(row[key]).stem
        if name in out and out[name] != row[column]:
            raise UsageError(f"{path}: {name!r} has two labels")
        out[name] = row[column]
    return out


def read_tables(pred_path: Path, labels_path: Path) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """(names, reference, ranked, notes) for the files both tables have."""
    preds, labels = read_predictions(pred_path), read_labels(labels_path)
    names = sorted(set(preds) & set(labels))
    if not names:
        raise UsageError(f"no file of {pred_path} is in {labels_path}", hint="rows are matched by file name")
    notes = []
    if len(preds) > len(names):
        notes.append(f"{len(preds) - len(names)} predicted file(s) have no label, left out")
    if len(labels) > len(names):
        notes.append(f"{len(labels) - len(names)} labelled file(s) have no prediction, left out")
    return names, [labels[n] for n in names], [preds[n] for n in names], notes


def confusion_csv(report: dict[str, Any]) -> str:
    labels, matrix = report["confusion"]["labels"], report["confusion"]["matrix"]
    return csv_text([["true\\predicted", *labels], *([c, *row] for c, row in zip(labels, matrix))])
