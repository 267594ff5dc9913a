"""A tiny task for runner tests: writes a louder and a quieter copy of each input.

Importable by name so ``--jobs`` worker processes can rebuild its SPEC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mirctl.errors import InputError
from mirctl.io.audio import AUDIO_EXTENSIONS
from mirctl.pipeline.task import OutputSlot, Task
from mirctl.types import AudioOut, TaskResult

LOADS: list[int] = []


@dataclass(frozen=True)
class Params:
    fail_on: str = ""  # inputs whose name contains this fail with an InputError
    crash_on: str = ""  # ... or with an unexpected exception
    die_on: str = ""  # ... or the process dies (as an out-of-memory kill would end it)
    model_missing: bool = False  # the model cannot load: a fatal error for the whole run


class Model:
    def __init__(self) -> None:
        LOADS.append(os.getpid())
        self.pid = os.getpid()
        self.loads = len(LOADS)
        self.info = {"name": "gain", "sha256": "0" * 64}


def process(model, source, params, progress):
    name = source.path.name
    if params.fail_on and params.fail_on in name:
        raise InputError(f"{name} is refused by the test", hint="rename it")
    if params.crash_on and params.crash_on in name:
        raise ZeroDivisionError("boom")
    if params.die_on and params.die_on in name:
        os.kill(os.getpid(), 9)
    progress(0.5)
    return TaskResult(outputs={"loud": AudioOut((source.wav * 2).clip(-1, 1), source.sr),
                               "quiet": AudioOut(source.wav * 0.5, source.sr)},
                      data={"pid": model.pid, "loads_in_process": model.loads, "frames": int(source.wav.shape[1])})


class Gain(Task[Params]):
    def slots(self, params):
        return [OutputSlot("loud", {"output": "loud", "ext": "wav"}), OutputSlot("quiet", {"output": "quiet", "ext": "wav"})]

    def model_name(self, params):
        return "gain"

    def load(self, params, ctx):
        if params.model_missing:
            from mirctl.errors import ModelError

            raise ModelError("the gain model is missing", hint="it never existed")
        return Model()

    def process(self, model, source, params, progress):
        return process(model, source, params, progress)


TASK = Gain(name="gain", ref="gain_task:TASK", extensions=AUDIO_EXTENSIONS, default_template="{track}.{output}.{ext}")
