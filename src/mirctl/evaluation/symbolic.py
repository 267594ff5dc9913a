"""The symbolic-music metrics of the course's generation homework, as MusDr defines them
(Wu & Yang, "The Jazz Transformer on the Front Line", ISMIR 2020; ``slSeanWU/MusDr``).

A piece is a list of bars; each bar a list of ``(position, pitch)`` note onsets on a grid
of ``positions`` per bar (REMI's Position and Pitch tokens: 16 per bar in mirctl).

``H(w)`` — pitch-class histogram entropy: for every window of ``w`` consecutive bars
(sliding by one bar), the histogram of the onsets' pitch classes, normalised, and its
entropy in bits; windows without notes are left out; the mean over windows. A window
longer than the piece shrinks to the piece. The homework reports H1 and H4.

``GS`` — grooving pattern similarity: each bar's binary onset vector (which positions
hold an onset); for every pair of bars, 1 − (positions where exactly one of the two has
an onset) / positions; the mean over pairs. MusDr samples 1,000 pairs at random when a
piece has more; this module averages over every pair (the value that sampling
estimates), so the result is exact and repeatable.

A trailing empty bar marker (a Bar token with nothing after it) is dropped first, as
MusDr does.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

Bars = list[list[tuple[int, int]]]


def bars_from_tokens(tokens: Iterable[str]) -> Bars:
    """Bars of ``(position, pitch)`` onsets from REMI token names (``Bar_None``,
    ``Position_3``, ``Pitch_60`` …; other tokens are ignored, notes before the first bar
    too). A trailing bar with no token after its Bar marker is dropped."""
    tokens = list(tokens)
    bars: Bars = []
    for token in tokens:
        kind, _, value = token.partition("_")
        if kind == "Bar":
            bars.append([])
            position = 0
        elif not bars:
            continue  # before the first bar: no position to put it at
        elif kind == "Position":
            position = int(value)
        elif kind == "Pitch":
            bars[-1].append((position, int(value)))
    if tokens and tokens[-1].partition("_")[0] == "Bar":  # a trailing marker opens no bar
        bars.pop()
    return bars


def histogram_entropy(counts: Sequence[float]) -> float:
    """Entropy in bits of a histogram (normalised here; empty bins add nothing)."""
    p = np.asarray(counts)
    p = p[p > 0] / p.sum()  # floats, whatever the counts were
    return float(-(p * np.log2(p)).sum())


def pitch_class_entropy(bars: Bars, window: int) -> float | None:
    """MusDr's ``H``: the mean pitch-class entropy over every ``window``-bar window
    (None when no window holds a note)."""
    if window < 1:
        raise ValueError("window must be at least 1 bar")
    n = len(bars)
    window = min(window, n)
    values = []
    for start in range(n - window + 1):
        classes = [pitch % 12 for bar in bars[start:start + window] for _, pitch in bar]
        if classes:  # windows without notes are left out
            values.append(histogram_entropy(np.bincount(classes)))
    return float(np.mean(values)) if values else None


def onset_vectors(bars: Bars, positions: int) -> np.ndarray:
    """(bars, positions) binary: which grid positions of each bar hold an onset."""
    vec = np.zeros((len(bars), positions), dtype=bool)
    for i, bar in enumerate(bars):
        for position, _ in bar:
            vec[i, position] = True
    return vec


def grooving_similarity(bars: Bars, positions: int = 16) -> float | None:
    """MusDr's ``GS`` over every pair of bars (None for a piece of fewer than two bars)."""
    n = len(bars)
    if n < 2:
        return None
    vec = onset_vectors(bars, positions)
    xor = (vec[:, None, :] != vec[None, :, :]).sum(axis=2)  # positions where exactly one bar has an onset
    upper = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - xor[upper] / positions))


def piece_metrics(bars: Bars, positions: int = 16) -> dict[str, Any]:
    return {"H1": pitch_class_entropy(bars, 1), "H4": pitch_class_entropy(bars, 4),  # None without notes
            "GS": grooving_similarity(bars, positions), "bars": len(bars),
            "notes": sum(len(b) for b in bars)}


def mean_row(rows: list[dict[str, Any]], keys: Sequence[str] = ("H1", "H4", "GS")) -> dict[str, float | None]:
    """The mean of each metric over the pieces that have it."""
    out: dict[str, float | None] = {}
    for key in keys:
        values = [r[key] for r in rows if r.get(key) is not None and not math.isnan(r[key])]
        out[key] = float(np.mean(values)) if values else None
    return out


# --- what `mirctl eval midi` needs of an evaluation module ---------------------------------

def summarize(records: list[dict]) -> dict:
    """The mean H1, H4 and GS over the scored pieces (the homework's mean row)."""
    rows = [r["result"] for r in records if r.get("status") == "ok" and r.get("result")]
    if not rows:
        return {}
    return {"mean": {k: (round(v, 4) if v is not None else None) for k, v in mean_row(rows).items()}}


def table_columns(keys: list[str]) -> list[tuple[str, Any]]:
    return [(k, k) for k in ("H1", "H4", "GS", "bars", "notes") if k in keys]


def homework_csv(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """The homework's table: ``piece_name,H1,H4,GS``, one row per piece (sorted by name),
    then a ``mean`` row; values to 4 decimals, empty where a metric is undefined."""
    from mirctl.io.tables import csv_text

    def cell(value: Any) -> str:
        return "" if value is None else f"{value:.4f}"

    ordered = sorted(rows, key=lambda r: r[0])
    body = [[name, *(cell(m.get(k)) for k in ("H1", "H4", "GS"))] for name, m in ordered]
    mean = mean_row([m for _, m in ordered])
    body.append(["mean", *(cell(mean[k]) for k in ("H1", "H4", "GS"))])
    return csv_text([["piece_name", "H1", "H4", "GS"], *body])
