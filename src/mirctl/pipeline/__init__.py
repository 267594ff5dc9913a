"""The one runner every subcommand uses: find inputs, plan outputs, run, report.

No typer or rich here: progress goes to a ``Reporter`` the cli passes in. A task
plugs in through :class:`Task` (see :mod:`mirctl.pipeline.task`). Names are imported
on first use, so a task module (or ``--help``) that only needs :class:`Task` does not
pay for the runner and its I/O.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "NullReporter": "runner", "Reporter": "runner", "RunSummary": "runner", "run": "runner",
    "RunOptions": "spec",
    "EvalRequest": "task", "OutputSlot": "task", "Session": "task", "Task": "task", "find_task": "task",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
