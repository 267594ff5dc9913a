"""Which module defines each command, and which speed tricks each command opts into.

Standard library only: the console script reads this before it imports typer.
"""

from __future__ import annotations

# command name -> (module, function); a None function means the module's ``app`` is a
# command group. Modules are imported only for the commands an invocation builds.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "info": ("mirctl.cli.info", "info"),
    "separate": ("mirctl.cli.separate", "separate"),
    "transcribe": ("mirctl.cli.transcribe", "transcribe"),
    "render": ("mirctl.cli.render", "render"),
    "mix": ("mirctl.cli.mix", "mix"),
    "tag": ("mirctl.cli.tag", "tag"),
    "classify": ("mirctl.cli.classify", "classify"),
    "generate-midi": ("mirctl.cli.generate", "generate_midi"),
    "models": ("mirctl.cli.models", None),
    "train": ("mirctl.cli.train", None),
    "eval": ("mirctl.cli.eval", None),
}

#: commands that measured a gain from pausing the garbage collector until their model is
#: loaded (mirctl.heap); every other command runs with the collector as Python leaves it
PAUSE_GC = frozenset({"info", "separate", "transcribe"})
#: commands (None: the root's --help/--version) that leave through os._exit once done
#: (mirctl.cli.app.leave); never a command that trains or holds state worth a full teardown
FAST_EXIT = frozenset({None, "info", "separate", "transcribe", "tag", "classify"})


def command_in(argv: list[str]) -> str | None:
    """The command an argument list runs, if it is a known one (the root takes only flags;
    ``mirctl --help transcribe`` is the root's help, which lists every command)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
        if arg in ("-h", "--help"):
            return None
    return None
