"""Multi-label tagging scores: per tag and macro precision, recall and F1 at a threshold,
ROC-AUC and PR-AUC (average precision), with scikit-learn for the areas.

Conventions: ``reference`` is a (files, tags) matrix of 0/1 labels, ``estimate`` the
same shape of scores in [0, 1]; a file is tagged with a tag when its score is at or
above that tag's threshold. A figure a tag cannot have (precision when nothing was
predicted, ROC-AUC when the reference has only one class) is ``None`` and left out of
the macro average, which is the mean over the tags that have it.

Tables: predictions are the CSV ``mirctl tag --csv`` writes (``input``, ``status``,
``scores.<tag>`` columns) or any CSV with a file column (``input``, ``path``, ``file``
or the first column) and one score column per tag; labels are a multi-hot CSV with a
file column and one 0/1 column per tag. Rows are matched by file name without folder
and extension.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mirctl.errors import UsageError

KEY_COLUMNS = ("input", "path", "file", "filename", "track")


def _key_column(header: list[str]) -> str:
    from mirctl.io.tables import key_column

    return key_column(header, KEY_COLUMNS)


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    from mirctl.io.tables import read_rows

    header, rows = read_rows(path)
    if len(header) < 2:
        raise UsageError(f"{path} has no columns besides the file name")
    return header, rows


def _by_name(path: Path, key: str, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        name = Path(row[key]).stem
        if name in out:
            raise UsageError(f"{path}: two rows are for {name!r}", hint="file names must be unique without folders")
        out[name] = row
    return out


def _number(path: Path, row: dict[str, str], column: str) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        raise UsageError(f"{path}: {column} = {row[column]!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"{path}: {column} = {row[column]!r} is not finite")
    return value


def read_tables(pred_path: Path, labels_path: Path) -> tuple[list[str], np.ndarray, np.ndarray, list[str], list[str]]:
    """(tags, reference, estimate, file names, notes) for the files and tags both tables have."""
    p_header, p_rows = _read(pred_path)
    l_header, l_rows = _read(labels_path)
    p_key, l_key = _key_column(p_header), _key_column(l_header)
    if "status" in p_header:  # mirctl tag --csv: failed inputs have no scores
        p_rows = [r for r in p_rows if r["status"] == "ok"]
    prefixed = any(c.startswith("scores.") for c in p_header)
    p_tags = {c[len("scores."):]: c for c in p_header if c.startswith("scores.")} if prefixed else \
        {c: c for c in p_header if c != p_key}
    tags = [c for c in l_header if c != l_key and c in p_tags]
    notes = []
    missing = [c for c in l_header if c != l_key and c not in p_tags]
    if missing:
        notes.append(f"label column(s) without predictions, left out: {', '.join(missing)}")
    if not tags:
        raise UsageError(f"{pred_path} and {labels_path} share no tag column",
                         hint="label columns must be named as the tags, e.g. piano,flute,vocal")
    preds, labels = _by_name(pred_path, p_key, p_rows), _by_name(labels_path, l_key, l_rows)
    names = sorted(set(preds) & set(labels))
    if not names:
        raise UsageError(f"no file of {pred_path} is in {labels_path}", hint="rows are matched by file name")
    unlabelled = len(set(preds) - set(labels))
    if unlabelled:
        notes.append(f"{unlabelled} predicted file(s) have no labels, left out")
    reference = np.array([[_number(labels_path, labels[n], t) for t in tags] for n in names])
    if not np.isin(reference, (0.0, 1.0)).all():
        raise UsageError(f"{labels_path}: labels must be 0 or 1")
    estimate = np.array([[_number(pred_path, preds[n], p_tags[t]) for t in tags] for n in names])
    return tags, reference.astype(bool), estimate, names, notes


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


def evaluate(reference: np.ndarray, estimate: np.ndarray, tags: list[str],
             thresholds: dict[str, float] | float = 0.5) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    per_tag: dict[str, dict[str, Any]] = {}
    for j, tag in enumerate(tags):
        y, s = reference[:, j].astype(bool), estimate[:, j]
        limit = thresholds if isinstance(thresholds, (int, float)) else thresholds.get(tag, 0.5)
        predicted = s >= limit
        tp, fp, fn = int(np.sum(predicted & y)), int(np.sum(predicted & ~y)), int(np.sum(~predicted & y))
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        f1 = (2 * precision * recall / (precision + recall) if precision + recall else 0.0) \
            if precision is not None and recall is not None else None
        both = bool(y.any() and (~y).any())
        per_tag[tag] = {
            "threshold": limit, "positives": int(y.sum()), "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1,
            "roc_auc": float(roc_auc_score(y, s)) if both else None,
            "pr_auc": float(average_precision_score(y, s)) if y.any() else None,
        }
    metrics = ("precision", "recall", "f1", "roc_auc", "pr_auc")
    macro = {m: _mean([v[m] for v in per_tag.values()]) for m in metrics}  # from unrounded values
    for row in per_tag.values():
        row.update({m: None if row[m] is None else round(row[m], 4) for m in metrics})
    return {"files": int(reference.shape[0]), "tags": per_tag, "macro": macro}


def tune_thresholds(reference: np.ndarray, estimate: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """Per-tag decision thresholds that maximise each tag's F1 on (reference, estimate):
    of the grid points (0.01 … 0.99) with the best F1, the middle one, which leaves the
    widest margin on both sides. A tag without both positives and negatives keeps 0.5."""
    grid = np.arange(1, 100) / 100 if grid is None else np.asarray(grid)  # 0.01 … 0.99, each the nearest double
    reference = np.asarray(reference, bool)
    out = np.full(reference.shape[1], 0.5)
    for j in range(reference.shape[1]):
        y = reference[:, j]
        if y.all() or not y.any():
            continue
        predicted = estimate[:, j][None, :] >= grid[:, None]  # (grid, files)
        tp = (predicted & y).sum(axis=1)
        half_f1 = tp / (predicted.sum(axis=1) + y.sum())  # F1 = 2 tp / (predicted + positives)
        best = np.flatnonzero(half_f1 == half_f1.max())  # exact: equal fractions divide to equal doubles
        out[j] = grid[best[len(best) // 2]]
    return out
