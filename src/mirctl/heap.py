"""The cyclic garbage collector during start-up (the console script's speed trick).

Importing typer, numpy, onnxruntime or torch and building a model allocates hundreds of
thousands of container objects, so the collector runs ~70 times before the first input
is processed (~20 ms of a 1 s transcription) while finding almost nothing to free. For
the commands that measured that gain (:data:`mirctl.cli.commands.PAUSE_GC`) the console
script pauses it until the model is loaded; the runner resumes it there, with what
start-up built frozen (never scanned again; it lives until exit anyway), and the CLI
resumes it in a ``finally`` for every command, whatever happened.

glibc's allocator settings for demucs are :mod:`mirctl.backends.malloc`.
"""

from __future__ import annotations

import gc

_gc_paused = False


def pause_gc_for_startup() -> None:
    """Turn the cyclic collector off until :func:`end_startup` (console script only)."""
    global _gc_paused
    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def end_startup() -> None:
    """Turn the collector back on if :func:`pause_gc_for_startup` turned it off, first
    moving everything start-up created (modules, the model) out of its reach: otherwise
    the first collections after resuming would walk all of it anyway."""
    global _gc_paused
    if _gc_paused:
        _gc_paused = False
        gc.freeze()
        gc.enable()
