"""Render a run on the terminal: progress on stderr, JSON lines on stdout.

A rich progress bar (files, and the current file where the task reports progress) is
shown only when stderr is a terminal; otherwise one plain line per file. ``--quiet``
keeps only failures; ``--json`` writes one JSON object per input to stdout.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from rich.console import Console

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "red"}


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_error(message: str, hint: str | None = None, console: Console | None = None) -> None:
    console = console or stderr_console()
    console.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        console.print(f"[bold]hint:[/] {escape(hint)}")


class CliReporter:
    def __init__(self, json_out: bool = False, quiet: bool = False, verbose: bool = False,
                 describe: Callable[[dict[str, Any]], Any] | None = None,
                 console: Console | None = None, stdout: Any = None) -> None:
        self.json_out, self.quiet, self.verbose = json_out, quiet, verbose
        self.describe = describe
        self._console = console  # made on first use: a quiet run that succeeds never imports rich
        self.stdout = stdout or sys.stdout
        self.progress = None
        self.total = self.done = 0
        self._overall = self._current = None

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = stderr_console()
        return self._console

    # Reporter protocol -----------------------------------------------------------
    def start(self, command: str, total: int, todo: int) -> None:
        self.total = total
        if not self.quiet and todo and self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=self.console, transient=True)
            self.progress.start()
            self._overall = self.progress.add_task(command, total=total)

    def file_start(self, label: str) -> None:
        if self.progress is not None:
            if self._current is not None:
                self.progress.remove_task(self._current)
            self._current = self.progress.add_task(_short(label), total=100)

    def file_progress(self, label: str, fraction: float) -> None:
        if self.progress is not None and self._current is not None:
            self.progress.update(self._current, completed=max(0.0, min(1.0, fraction)) * 100)

    def file_done(self, record: dict[str, Any]) -> None:
        self.done += 1
        if self.json_out:
            self.stdout.write(json.dumps(record) + "\n")
            self.stdout.flush()
        if self.progress is not None and self._overall is not None:
            self.progress.update(self._overall, advance=1)
        status = record["status"]
        if self.quiet and status != "failed":
            return
        out = self.progress.console if self.progress is not None else self.console
        style = STATUS_STYLE.get(status, "")
        line = f"[{self.done}/{self.total}] [{style}]{status:>7}[/] {escape(record['input'])}"
        if status == "ok":
            n = len(record["outputs"])
            line += f" ({record['seconds']:.2f} s" + (f", {n} file{'s' * (n != 1)})" if n else ")")
        elif status == "failed":
            line += f": {escape(record['error'] or 'failed')}"
        out.print(line, soft_wrap=True)
        if status == "failed" and record.get("hint") and (self.verbose or self.total == 1):
            out.print(f"        [bold]hint:[/] {escape(record['hint'])}", soft_wrap=True)
        if status == "ok" and self.verbose:
            for path in record["outputs"]:
                out.print(f"        → {escape(path)}", soft_wrap=True)
        if status == "ok" and self.describe is not None and not self.json_out:
            renderable = self.describe(record)
            if renderable is not None:
                out.print(renderable)

    def finish(self, summary: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.quiet:
            return
        s = summary.as_dict()
        parts = [f"[green]{s['ok']} ok[/]", f"[yellow]{s['skipped']} skipped[/]", f"[red]{s['failed']} failed[/]"]
        if s["not_run"]:
            parts.append(f"{s['not_run']} not run (--fail-fast)")
        extra = {k: v for k, v in s.items() if k not in {"command", "ok", "skipped", "failed", "not_run", "seconds"}}
        self.console.print(f"{summary.command}: " + ", ".join(parts) + f" in {s['seconds']:.1f} s")
        for key, value in extra.items():
            self.console.print(f"  {escape(key.replace('_', ' '))}: {escape(_figures(value))}")


def _figures(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', '+')} {_figures(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]
