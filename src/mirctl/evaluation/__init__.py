"""Scoring, one module per task, in mir_eval's style.

Each ``mirctl.evaluation.<task>`` module states its data conventions in its docstring
and offers:

``validate(reference, estimate)``
    raise :class:`~mirctl.errors.ValidationError` for input that cannot be scored
    (naming the offending value); only warn for degenerate but legal input;
``evaluate(reference, estimate)``
    every metric, as a JSON-able dict (what ``--eval`` puts under ``result.eval``);
``score(estimate, references)``
    what the runner calls: the references it found for one input (a missing one is
    None) against the task's estimate;
``summarize(records)``
    run-level figures (medians, means) for the summary line;
``table_columns(keys)``
    short labels for the screen table of ``mirctl eval`` (flattened result keys).

The same functions serve ``--eval`` on every command and the ``mirctl eval`` group.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def module(name: str) -> ModuleType:
    """``mirctl.evaluation.<name>``."""
    return importlib.import_module(f"{__name__}.{name}")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested result as flat ``a.b.c`` columns (for CSV files and tables); lists are
    joined with spaces, and pairs in them with a colon (``[["rock", 0.6]]`` -> ``rock:0.6``)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, (list, tuple)):
        return {prefix: " ".join(":".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)
                                 for v in value)}
    return {prefix: value}
