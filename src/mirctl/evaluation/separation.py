"""Source-separation scores.

Conventions: audio is float (channels, samples); a reference is ``(wav, sr)`` and is
resampled to the estimate's rate; both are cut to the shorter length. Where the channel
counts differ, both are mixed down to mono.

- ``sdr_db``: BSS Eval v3 SDR (``mir_eval.separation.bss_eval_sources``), every stem
  with a reference evaluated jointly, on mono downmixes; None for a silent reference
  (BSS Eval is undefined there).
- ``nsdr_db``: the MDX-challenge signal-to-distortion ratio
  ``10·log10(Σs² / Σ(s-ŝ)²)`` over all channels.
"""

from __future__ import annotations

import statistics
import warnings
from typing import Any

from mirctl.errors import ValidationError


def validate(reference: dict[str, Any], estimate: dict[str, Any]) -> None:
    """``reference`` {stem: (wav, sr)}, ``estimate`` {stem: wav}: shapes (channels, samples)."""
    import numpy as np

    for what, items in (("reference", {k: v[0] for k, v in reference.items()}), ("estimate", estimate)):
        for name, wav in items.items():
            arr = np.asarray(wav)
            if arr.ndim != 2:
                raise ValidationError(f"{what} stem {name!r} has shape {arr.shape}; expected (channels, samples)")
            if not np.all(np.isfinite(arr)):
                raise ValidationError(f"{what} stem {name!r} holds NaN or infinite samples")


def evaluate(reference: dict[str, Any], estimate: dict[str, Any], sr: int) -> dict[str, Any]:
    """SDR per stem of ``estimate`` (at ``sr``) against ``reference`` where it has one."""
    import numpy as np

    from mirctl.backends._lazy import require
    from mirctl.dsp import resample

    validate(reference, estimate)
    pairs = {}
    for name, est in estimate.items():
        ref = reference.get(name)
        if ref is None:
            continue
        ref_wav, ref_sr = ref
        ref_wav = resample(ref_wav, ref_sr, sr)
        if ref_wav.shape[0] != est.shape[0]:
            ref_wav, est = ref_wav.mean(axis=0, keepdims=True), est.mean(axis=0, keepdims=True)
        m = min(ref_wav.shape[1], est.shape[1])
        pairs[name] = (ref_wav[:, :m].astype(np.float64), est[:, :m].astype(np.float64))
    if not pairs:
        return {"evaluated": [], "missing": sorted(estimate)}
    result: dict[str, Any] = {"evaluated": sorted(pairs), "missing": sorted(set(estimate) - set(pairs)), "stems": {}}
    for name, (r, e) in pairs.items():
        num, den = np.sum(r ** 2), np.sum((r - e) ** 2)
        nsdr = 10 * np.log10((num + 1e-8) / (den + 1e-8))
        result["stems"][name] = {"nsdr_db": float(nsdr)}
    separation = require("mir_eval.separation", extra="eval")
    m = min(r.shape[1] for r, _ in pairs.values())
    names = sorted(pairs)
    ref_stack = np.stack([pairs[k][0].mean(axis=0)[:m] for k in names])
    est_stack = np.stack([pairs[k][1].mean(axis=0)[:m] for k in names])
    silent = ~np.any(ref_stack, axis=1)
    if silent.any():  # BSS Eval is undefined for silent references
        for k, s in zip(names, silent):
            result["stems"][k]["sdr_db"] = None
        names = [k for k, s in zip(names, silent) if not s]
        ref_stack, est_stack = ref_stack[~silent], est_stack[~silent]
    if names:
        with warnings.catch_warnings():  # deprecated in mir_eval 0.8 (kept: the extra pins <0.9)
            warnings.simplefilter("ignore", FutureWarning)
            sdr, _sir, _sar, _perm = separation.bss_eval_sources(ref_stack, est_stack, compute_permutation=False)
        for k, v in zip(names, sdr):
            result["stems"][k]["sdr_db"] = float(v)
    return result


def score(estimate: tuple[dict[str, Any], int], references: dict[str, Any]) -> dict[str, Any]:
    """``estimate`` = ({stem: wav}, sr); ``references`` {stem: (wav, sr) or None}."""
    stems, sr = estimate
    return evaluate({k: v for k, v in references.items() if v is not None}, stems, sr)


def summarize(records: list[dict]) -> dict:
    """The median SDR per stem over the inputs that were scored."""
    sdrs: dict[str, list[float]] = {}
    for r in records:
        for stem, m in (r.get("result", {}).get("eval", {}).get("stems", {}) or {}).items():
            if m.get("sdr_db") is not None:
                sdrs.setdefault(stem, []).append(m["sdr_db"])
    if not sdrs:
        return {}
    return {"median_sdr_db": {k: round(statistics.median(v), 2) for k, v in sorted(sdrs.items())}}


def table_columns(keys: list[str]) -> list[tuple[str, str]]:
    """Short column labels for a screen table: ``<stem> SDR`` and ``<stem> nSDR``."""
    stems = sorted({k.split(".")[2] for k in keys if k.startswith("eval.stems.")})
    out = []
    for stem in stems:
        out += [(f"{stem} SDR", f"eval.stems.{stem}.sdr_db"), (f"{stem} nSDR", f"eval.stems.{stem}.nsdr_db")]
    return [(label, key) for label, key in out if key in keys]
