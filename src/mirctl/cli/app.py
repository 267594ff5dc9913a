"""The root ``mirctl`` command. Only typer, rich and the standard library load here,
so ``mirctl --help`` stays fast; each command imports its task when it runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any, Optional

import typer

from mirctl import __version__

from mirctl.cli.commands import COMMANDS, FAST_EXIT, command_in  # noqa: F401  (re-exported)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mirctl {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """mirctl: separate, transcribe and inspect music from the command line."""


def build(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with just ``only`` (what ``main`` runs once it knows
    the command: the other commands' modules and option tables are never built)."""
    cli = typer.Typer(
        name="mirctl",
        help="Music information retrieval from the command line: every command takes files, folders, "
             "globs or '-' (paths on stdin), writes outputs atomically, skips finished work, and reports "
             "with --json.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode="rich",
    )
    cli.callback()(root)  # a root callback keeps a one-command build a group: `mirctl transcribe ...`
    for name in [only] if only else COMMANDS:
        module_name, function = COMMANDS[name]
        module = importlib.import_module(module_name)
        if function is None:
            cli.add_typer(module.app, name=name)
        else:
            from mirctl.cli.common import reflow

            cli.command(name, epilog=reflow(module.EPILOG))(getattr(module, function))
    return cli


def __getattr__(name: str) -> Any:
    if name == "app":  # ``from mirctl.cli.app import app``: the whole CLI, built once
        globals()["app"] = full = build()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the app; the garbage collector is on again afterwards whatever happened (see
    :mod:`mirctl.heap`), and the commands in ``FAST_EXIT`` leave without tearing the
    interpreter down. The console script and ``python -m mirctl`` reach it through
    :func:`mirctl.cli.main`, which pauses the collector first for ``PAUSE_GC`` commands."""
    from mirctl import heap

    command = command_in(sys.argv[1:])
    code: Any = 0
    try:
        build(command)()
    except SystemExit as done:
        code = done.code
    finally:
        heap.end_startup()
    if command in FAST_EXIT:
        leave(code)
    sys.exit(code)


def leave(code: Any) -> None:
    """Exit with ``code`` the way ``sys.exit`` would, minus the interpreter's teardown.

    Once a command has finished, its outputs are renamed into place and its reports are
    written; what is left for a normal exit is freeing every module and object and running
    the native libraries' destructors (onnxruntime, torch), which takes 0.05-0.1 s per
    run. So: run the atexit handlers, flush stdout and stderr, and ``os._exit``. Threads
    still running, or ``MIRCTL_FAST_EXIT=0``, get the ordinary ``sys.exit``.
    """
    threading = sys.modules.get("threading")
    if os.environ.get("MIRCTL_FAST_EXIT", "1") == "0" or (threading and threading.active_count() > 1):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message") prints the message and exits 1
        print(code, file=sys.stderr)
        status = 1
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (mirctl ... | head) or a closed stream
            pass
    os._exit(status)
