"""The one runner every subcommand uses: find inputs, plan outputs, run, report.

No typer or rich here: progress goes to a ``Reporter`` the cli passes in.
"""

from mirctl.pipeline.runner import NullReporter, Reporter, RunSummary, run
from mirctl.pipeline.spec import OutputSlot, RunOptions, TaskSpec

__all__ = ["NullReporter", "OutputSlot", "Reporter", "RunOptions", "RunSummary", "TaskSpec", "run"]
