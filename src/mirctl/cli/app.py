"""The root ``mirctl`` command. Only typer, rich and the standard library load here,
so ``mirctl --help`` stays fast; each command imports its task when it runs.
"""

from __future__ import annotations

from typing import Annotated, Optional

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
    app()
