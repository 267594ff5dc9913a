"""Note-transcription scores (mir_eval.transcription).

Conventions: notes are :class:`mirctl.types.Note` (times in seconds, MIDI pitch).
Notes with zero or negative duration are left out. A note matches when its onset is
within 50 ms and its pitch within 50 cents; ``onset_offset`` also needs the offset
within 20 % of the reference note's length or 50 ms, whichever is larger.
"""

from __future__ import annotations

import warnings
from typing import Any

from mirctl.errors import ValidationError

METRICS = ("onset", "onset_offset")


def validate(reference: list[Any], estimate: list[Any]) -> None:
    """Refuse notes with impossible values; warn (score 0) for an empty side."""
    for what, notes in (("reference", reference), ("estimate", estimate)):
        for n in notes:
            if not 0 <= n.pitch <= 127:
                raise ValidationError(f"{what} note at {n.start_s:.3f} s has pitch {n.pitch} outside 0-127")
            if n.start_s < 0:
                raise ValidationError(f"{what} note has a negative start time ({n.start_s} s)",
                                      hint="times are seconds from the start of the recording")
        if not notes:
            warnings.warn(f"the {what} holds no notes: every score is 0", stacklevel=2)


def evaluate(reference: list[Any], estimate: list[Any]) -> dict[str, Any]:
    """Precision, recall and F1, onset-only and with offsets, plus the note counts."""
    import numpy as np

    from mirctl.backends._lazy import require

    transcription = require("mir_eval.transcription", extra="eval")

    def arrays(notes: list[Any]) -> tuple[Any, Any]:
        keep = [n for n in notes if n.end_s > n.start_s]
        iv = np.array([[n.start_s, n.end_s] for n in keep]).reshape(-1, 2)  # (0, 2) when empty
        return iv, transcription.util.midi_to_hz(np.array([n.pitch for n in keep]))

    ref_iv, ref_hz = arrays(reference)
    est_iv, est_hz = arrays(estimate)
    result: dict[str, Any] = {"ref_notes": len(ref_hz), "est_notes": len(est_hz)}
    if len(ref_hz) == 0 or len(est_hz) == 0:
        zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {**result, "onset": dict(zero), "onset_offset": dict(zero)}
    for key, ratio in (("onset", None), ("onset_offset", 0.2)):
        p, r, f, _ = transcription.precision_recall_f1_overlap(ref_iv, ref_hz, est_iv, est_hz, offset_ratio=ratio)
        result[key] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    return result


def score(estimate: list[Any], references: dict[str, Any]) -> dict[str, Any]:
    """``references`` {"reference": notes or None} (see :mod:`mirctl.pipeline.references`)."""
    ref = next(iter(references.values()), None)
    if ref is None:
        return {"error": "no reference found"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # validate's empty-side warning: the scores say it (all 0)
        validate(ref, estimate)
    return evaluate(ref, estimate)


def summarize(records: list[dict]) -> dict:
    """The mean note F1 (onset-only and with offsets) over the scored inputs."""
    scores = [r["result"]["eval"] for r in records if r.get("status") == "ok"
              and isinstance(r.get("result", {}).get("eval"), dict) and "onset" in r["result"]["eval"]]
    if not scores:
        return {}
    return {"mean_note_f1": {k: round(sum(s[k]["f1"] for s in scores) / len(scores), 4) for k in METRICS}}


def table_columns(keys: list[str]) -> list[tuple[str, Any]]:
    """Short column labels for a screen table of flattened results: the note counts as
    ``ref/est``, then precision, recall and F1 onset-only and with offsets (``+off``).
    A key given as a tuple is shown as its values joined by ``/``."""
    columns: list[tuple[str, Any]] = []
    if "eval.ref_notes" in keys:
        columns.append(("ref/est", ("eval.ref_notes", "eval.est_notes")))
    for metric, suffix in (("onset", ""), ("onset_offset", "+off")):
        for short, name in (("P", "precision"), ("R", "recall"), ("F1", "f1")):
            if f"eval.{metric}.{name}" in keys:
                columns.append((short + suffix, f"eval.{metric}.{name}"))
    return columns
