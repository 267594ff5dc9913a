"""The root ``mirctl`` command. Only typer, rich and the standard library load here,
so ``mirctl --help`` stays fast; each command imports its task when it runs.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer

from mirctl import __version__
from mirctl.cli import info as info_cmd
from mirctl.cli import models as models_cmd
from mirctl.cli import separate as separate_cmd
from mirctl.cli import transcribe as transcribe_cmd

app = typer.Typer(
    name="mirctl",
    help="Music information retrieval from the command line: every command takes files, folders, "
         "globs or '-' (paths on stdin), writes outputs atomically, skips finished work, and reports "
         "with --json.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mirctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
) -> None:
    """mirctl: separate, transcribe and inspect music from the command line."""


app.command("info", epilog=info_cmd.EPILOG)(info_cmd.info)
app.command("separate", epilog=separate_cmd.EPILOG)(separate_cmd.separate)
app.command("transcribe", epilog=transcribe_cmd.EPILOG)(transcribe_cmd.transcribe)
app.add_typer(models_cmd.app, name="models")


def main() -> None:
    """The ``mirctl`` console script: run the app, then leave without tearing the interpreter down."""
    try:
        app()
    except SystemExit as done:
        leave(done.code)
    leave(0)


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
