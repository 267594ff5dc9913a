"""Options every runner command shares, added by one decorator, and the code that runs
a task and turns its outcome into an exit code.

Heavy modules (numpy, torch, the pipeline) are imported inside ``execute`` only.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from mirctl.errors import MirctlError


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Fmt(str, Enum):
    """``--format`` of commands that write audio."""

    wav = "wav"
    flac = "flac"
    mp3 = "mp3"


class Bits(str, Enum):
    """``--bits`` of commands that write audio."""

    b16 = "16"
    b24 = "24"
    b32f = "32f"


@dataclass(frozen=True)
class Common:
    """The shared options, as the decorated command receives them (``run=``)."""

    out_dir: Optional[Path] = None
    filename: Optional[str] = None
    overwrite: bool = False
    recursive: bool = False
    jobs: int = 1
    shard: Optional[str] = None
    fail_fast: bool = False
    json: bool = False
    report: Optional[Path] = None
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    device: Device = Device.auto
    threads: Optional[int] = None
    model_path: Optional[Path] = None


_IO = "Inputs and outputs"
_BATCH = "Batch and report"
_MODEL = "Model and device"

_OUTPUT_OPTS = [
    ("out_dir", Annotated[Optional[Path], typer.Option(
        "--out-dir", "-o", help="Output folder (default: ./mirctl_out/<command>).", rich_help_panel=_IO)], None),
    ("filename", Annotated[Optional[str], typer.Option(
        help="Output path template inside --out-dir, with fields like {track} {stem} {ext} {model} {parent} "
             "{reldir}; see the command's default below.", rich_help_panel=_IO)], None),
    ("overwrite", Annotated[bool, typer.Option(
        "--overwrite", help="Redo inputs whose outputs exist (default: skip them).", rich_help_panel=_IO)], False),
]
_INPUT_OPTS = [
    ("recursive", Annotated[bool, typer.Option(
        "--recursive", "-r", help="Descend into sub-folders of folder inputs.", rich_help_panel=_IO)], False),
]
_BATCH_OPTS = [
    ("jobs", Annotated[int, typer.Option(
        "--jobs", "-j", min=1, help="Worker processes; each loads the model once.", rich_help_panel=_BATCH)], 1),
    ("shard", Annotated[Optional[str], typer.Option(
        help="Take only slice I of N of the sorted inputs, e.g. 2/4 (for SLURM arrays, GNU parallel).",
        rich_help_panel=_BATCH)], None),
    ("fail_fast", Annotated[bool, typer.Option(
        "--fail-fast", help="Stop at the first failed input.", rich_help_panel=_BATCH)], False),
    ("json", Annotated[bool, typer.Option(
        "--json", help="Print one JSON object per input on stdout.", rich_help_panel=_BATCH)], False),
    ("report", Annotated[Optional[Path], typer.Option(
        help="Also write the JSON lines to this file.", rich_help_panel=_BATCH)], None),
    ("quiet", Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only failures.", rich_help_panel=_BATCH)], False),
    ("verbose", Annotated[bool, typer.Option(
        "--verbose", "-v", help="Print every output path and hints.", rich_help_panel=_BATCH)], False),
    ("debug", Annotated[bool, typer.Option(
        "--debug", help="Re-raise unexpected errors with a full traceback.", rich_help_panel=_BATCH)], False),
]
_MODEL_OPTS = [
    ("device", Annotated[Device, typer.Option(
        help="Where the model runs; auto picks cuda, then mps, then cpu.", rich_help_panel=_MODEL,
        envvar="MIRCTL_DEVICE")], Device.auto),
    ("threads", Annotated[Optional[int], typer.Option(
        min=1, help="CPU threads per process (default: all cores / --jobs).", rich_help_panel=_MODEL)], None),
    ("model_path", Annotated[Optional[Path], typer.Option(
        help="Folder (or file) holding the model's weight files; nothing is downloaded.",
        rich_help_panel=_MODEL)], None),
]


def param_option(params: type, name: str, *decls: str, **kw: Any) -> Any:
    """A ``typer.Option`` whose help and shown default come from the task's ``Params``
    field ``name`` (declared once there with :func:`mirctl.options.option`)."""
    from mirctl.options import default_of, help_of, shown_default

    kw.setdefault("show_default", shown_default(default_of(params, name)))
    return typer.Option(*decls, help=help_of(params, name), **kw)


def reflow(epilog: str | None) -> str | None:
    """An epilog as rich should print it: prose paragraphs joined into one line each (rich
    wraps them to the terminal; a hard break at 90 columns would break every line again on
    an 80-column terminal), example paragraphs (every line indented) kept line for line."""
    if not epilog:
        return epilog
    paragraphs = []
    for block in epilog.strip("\n").split("\n\n"):
        lines = block.split("\n")
        paragraphs.append(block if all(line.startswith("  ") for line in lines)
                          else " ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs) + "\n"


def bundled_options(extra: list[tuple[str, Any, Any]], bundle: str, cls: type) -> Callable[[Callable], Callable]:
    """Add the options ``extra`` (name, annotation, default) to a command's signature;
    the command receives their values as one ``cls`` instance in its ``bundle`` argument."""
    names = {name for name, _, _ in extra}

    def decorate(fn: Callable) -> Callable:
        hints = typing.get_type_hints(fn, include_extras=True)  # resolve string annotations in fn's module
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(fn).parameters.values() if p.name != bundle]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in extra]

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            shared = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            return fn(**{bundle: cls(**shared)}, **kwargs)

        del wrapper.__wrapped__  # typer must see the merged signature, not the original
        wrapper.__signature__ = inspect.Signature(own + added)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + added}
        return wrapper

    return decorate


def runner_command(outputs: bool = True, model: bool = True) -> Callable[[Callable], Callable]:
    """Add the shared options to a command; it receives them bundled as ``run: Common``."""
    extra = _INPUT_OPTS + _BATCH_OPTS + (_OUTPUT_OPTS if outputs else []) + (_MODEL_OPTS if model else [])
    return bundled_options(extra, "run", Common)


def read_stdin_paths(inputs: list[str]) -> tuple[str, ...] | None:
    if "-" not in inputs:
        return None
    if sys.stdin is None or sys.stdin.isatty():
        return ()
    return tuple(sys.stdin.read().splitlines())


def execute(task: Any, params: Any, inputs: list[str], run: Common, template: str | None = None,
            describe: Callable | None = None, score_table: str = "", **more: Any) -> None:
    """Run ``task`` through the pipeline, render it, and exit with the run's code.

    ``more`` sets the other :class:`~mirctl.pipeline.RunOptions` a command has (``stems``,
    ``count``, ``names``, ``table``); ``score_table`` names the ``mirctl.evaluation``
    module whose scores an ``eval`` command shows as one table at the end.
    """
    from mirctl.cli.reporting import CliReporter, print_error
    from mirctl.pipeline import RunOptions
    from mirctl.pipeline import run as run_pipeline

    reporter = CliReporter(json_out=run.json, quiet=run.quiet, verbose=run.verbose, describe=describe,
                           score_table=score_table)
    options = RunOptions(
        inputs=tuple(inputs), out_dir=run.out_dir, filename=run.filename, overwrite=run.overwrite,
        recursive=run.recursive, fail_fast=run.fail_fast, jobs=run.jobs, shard=run.shard,
        device=run.device.value, threads=run.threads, model_path=run.model_path, report=run.report,
        debug=run.debug, stdin_lines=read_stdin_paths(inputs), **more,
    )
    try:
        summary = run_pipeline(task, params, options, reporter, template=template)
    except MirctlError as err:
        if reporter.progress is not None:
            reporter.progress.stop()
        if run.debug:
            raise
        print_error(err.message, err.hint)
        raise typer.Exit(err.exit_code) from None
    except KeyboardInterrupt as stop:
        _ignore_interrupts()
        if reporter.progress is not None:
            reporter.progress.stop()
        interrupted(getattr(stop, "summary", None))
    raise typer.Exit(summary.exit_code)


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the exit is left to do: no traceback on a second Ctrl-C


def interrupted(summary: Any) -> None:
    from mirctl.cli.reporting import print_error

    done = f" after {summary.count('ok')} finished input(s); {summary.not_run} not run" if summary is not None else ""
    print_error(f"interrupted{done}: finished outputs are kept and reported, unfinished ones were removed",
                "run the same command again to resume (finished inputs are skipped)")
    raise typer.Exit(130)


def fail_usage(message: str, hint: str | None = None) -> None:
    """Print a usage error and exit 2 (for checks done in a command body)."""
    from mirctl.cli.reporting import print_error

    print_error(message, hint)
    raise typer.Exit(2)


def guarded(build: Callable[[], Any]) -> Any:
    """Call ``build`` (which may raise MirctlError while validating params) with clean errors."""
    try:
        return build()
    except MirctlError as err:
        from mirctl.cli.reporting import print_error

        print_error(err.message, err.hint)
        raise typer.Exit(err.exit_code) from None
