"""Typer commands: parsing and help only (typer, rich and the standard library at import)."""


def main() -> None:
    """The ``mirctl`` console script: :func:`mirctl.cli.app.main`, with the garbage
    collector paused before typer and the commands are imported (see :mod:`mirctl.heap`)."""
    from mirctl import heap

    heap.pause_gc_for_startup()
    from mirctl.cli.app import main as run

    run()
