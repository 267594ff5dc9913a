"""Typer commands: parsing and help only (typer, rich and the standard library at import)."""


def main() -> None:
    """The ``mirctl`` console script: :func:`mirctl.cli.app.main`, with the garbage
    collector paused before typer and the command are imported when the command is one
    that measured a gain from it (:data:`mirctl.cli.commands.PAUSE_GC`)."""
    import sys

    from mirctl.cli.commands import PAUSE_GC, command_in

    if command_in(sys.argv[1:]) in PAUSE_GC:
        from mirctl import heap

        heap.pause_gc_for_startup()
    from mirctl.cli.app import main as run

    run()
