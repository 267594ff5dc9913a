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
    # soft_wrap: the line is left for the terminal to wrap, so a long path in the message
    # is never broken by an inserted newline (logs and pipes keep it whole for grep/copy)
    console = console or stderr_console()
    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        console.print(f"[bold]hint:[/] {escape(hint)}", soft_wrap=True)


class CliReporter:
    def __init__(self, json_out: bool = False, quiet: bool = False, verbose: bool = False,
                 describe: Callable[[dict[str, Any]], Any] | None = None,
                 console: Console | None = None, stdout: Any = None, score_table: str = "") -> None:
        self.json_out, self.quiet, self.verbose = json_out, quiet, verbose
        self.score_table = score_table  # eval commands: the mirctl.evaluation module of the table at the end
        self._warned: set[str] = set()
        self.records: list[dict[str, Any]] = []
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
        if self.score_table:
            self.records.append(record)
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
        for message in record.get("warnings") or ():
            if message not in self._warned:  # the same warning once per run (e.g. an ignored --device)
                self._warned.add(message)
                out.print(f"        [yellow]warning:[/] {escape(message)}", soft_wrap=True)
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
        extra = {k: v for k, v in s.items()
                 if k not in {"command", "ok", "skipped", "failed", "not_run", "seconds", "interrupted"}}
        if self.score_table and self.records:
            self.console.print(scores_table(self.records, self.score_table))
        self.console.print(f"{summary.command}: " + ", ".join(parts) + f" in {s['seconds']:.1f} s")
        for key, value in extra.items():
            self.console.print(f"  {escape(key.replace('_', ' '))}: {escape(_figures(value))}")


def scores_table(records: list[dict[str, Any]], evaluation_module: str) -> Any:
    """A rich table: one row per input (paths shown below their common folder), one column
    per score the evaluation module labels; a failed or unscored input shows why."""
    import os

    from rich.table import Table

    from mirctl.evaluation import flatten, module

    flat = {r["input"]: flatten(r.get("result") or {}) for r in records}
    keys = sorted({k for f in flat.values() for k in f})
    columns = module(evaluation_module).table_columns(keys)
    inputs = sorted(flat)
    try:
        common = os.path.commonpath([os.path.dirname(os.path.abspath(i)) for i in inputs])
    except ValueError:
        common = ""
    table = Table(show_edge=False, pad_edge=False, title=f"scores (inputs below {common})" if common else None,
                  title_justify="left")
    shown = {i: os.path.relpath(os.path.abspath(i), common) if common else i for i in inputs}
    table.add_column("input", overflow="fold", min_width=min(max(len(v) for v in shown.values()), 24))
    for label, _ in columns:
        table.add_column(label, justify="right", no_wrap=True)
    by_input = {r["input"]: r for r in records}
    for name in inputs:
        values = flat[name]
        reason = values.get("eval.error") or by_input[name].get("error")
        if reason and not any(_get(values, k) is not None for _, k in columns):
            table.add_row(f"{escape(shown[name])} [red]({escape(str(reason))})[/]", *[""] * len(columns))
            continue
        table.add_row(escape(shown[name]), *[_cell(_get(values, k)) for _, k in columns])
    return table


def _get(values: dict[str, Any], key: Any) -> Any:
    """One flattened value, or for a tuple of keys their values joined by '/'."""
    if isinstance(key, tuple):
        parts = [values.get(k) for k in key]
        return None if all(p is None for p in parts) else "/".join(_cell(p) for p in parts)
    return values.get(key)


def top_line(pairs: Any) -> str:
    """A result's ranked ``[[name, score], …]`` as the line under its status line."""
    return "        " + ", ".join(f"{escape(str(name))} [bold]{score:.2f}[/]" for name, score in pairs)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _figures(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', '+')} {_figures(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]


class CliTrainReporter:
    """Training progress: a rich bar with the loss and the last validation on a terminal,
    otherwise one plain line per report; ``--json`` writes every report as a JSON line
    on stdout."""

    def __init__(self, json_out: bool = False, quiet: bool = False, console: Console | None = None,
                 stdout: Any = None) -> None:
        self.json_out, self.quiet = json_out, quiet
        self._console = console
        self.stdout = stdout or sys.stdout
        self.progress = None
        self._bar = None
        self.last_valid = ""

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = stderr_console()
        return self._console

    def _json(self, record: dict[str, Any]) -> None:
        if self.json_out:
            self.stdout.write(json.dumps(record) + "\n")
            self.stdout.flush()

    def start(self, task: str, max_steps: int, resumed_from: int) -> None:
        if self.quiet:
            return
        if resumed_from:
            self.console.print(f"train {escape(task)}: resuming at step {resumed_from} of {max_steps}")
        if self.console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("[bold]train {task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[figures]}"), console=self.console,
                                     transient=True)
            self.progress.start()
            self._bar = self.progress.add_task(task, total=max_steps, completed=resumed_from, figures="")

    def step(self, record: dict[str, Any]) -> None:
        self._json(record)
        figures = "  ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("event", "step", "epoch")
                            and isinstance(v, float))
        if self.progress is not None:
            self.progress.update(self._bar, completed=record["step"], figures=f"{figures}  {self.last_valid}")
        elif not self.quiet:
            self.console.print(f"step {record['step']} (epoch {record['epoch']}): {figures}", soft_wrap=True)

    def validation(self, record: dict[str, Any]) -> None:
        self._json(record)
        figures = "  ".join(f"{k} {v:.4g}" for k, v in record.items()
                            if k not in ("event", "step", "improved") and isinstance(v, float))
        self.last_valid = f"[dim]valid[/] {figures}"
        if self.progress is not None:
            self.progress.update(self._bar, figures=self.last_valid)
        elif not self.quiet:
            mark = " (best so far)" if record.get("improved") else ""
            self.console.print(f"validation at step {record['step']}: {figures}{mark}", soft_wrap=True)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def finish(self, summary: Any) -> None:
        self.stop()
        self._json(summary.as_dict())
        best = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.best.items())
        if summary.status == "skipped":
            self.console.print(f"train {summary.task}: {summary.out} holds a finished run; skipped "
                               "(--overwrite trains again)")
        elif summary.status == "interrupted":
            print_error(f"interrupted at step {summary.steps}; the checkpoint in {summary.out} is resumable",
                        "run the same command again to resume", self.console)
        else:
            self.console.print(f"train {summary.task}: {summary.steps} steps ({summary.stopped}) in "
                               f"{summary.seconds:.1f} s; best {best or 'n/a'} → {summary.out}")
