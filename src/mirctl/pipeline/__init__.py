"""The one runner every subcommand uses: find inputs, plan outputs, run, report.

No typer or rich here: progress goes to a ``Reporter`` the cli passes in. A task
plugs in through :class:`Task` (see :mod:`mirctl.pipeline.task`).
"""

from mirctl.pipeline.runner import NullReporter, Reporter, RunSummary, run
from mirctl.pipeline.spec import RunOptions
from mirctl.pipeline.task import EvalRequest, OutputSlot, Session, Task, find_task

__all__ = ["EvalRequest", "NullReporter", "OutputSlot", "Reporter", "RunOptions", "RunSummary", "Session", "Task",
           "find_task", "run"]
