"""One module per task: arrays/MIDI in, results out (no file I/O, no printing).

:data:`REGISTRY` names every runnable task by its command; each module's ``TASK``
object is the :class:`mirctl.pipeline.Task` the runner (and its workers) use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mirctl.pipeline.task import Task

#: command -> "module:attribute" of its Task
REGISTRY: dict[str, str] = {
    "info": "mirctl.tasks.info:TASK",
    "separate": "mirctl.tasks.separation:TASK",
    "transcribe": "mirctl.tasks.transcription:TASK",
    "render": "mirctl.tasks.render:TASK",
    "mix": "mirctl.tasks.mix:TASK",
    "tag": "mirctl.tasks.tagging:TASK",
    "classify": "mirctl.tasks.classify:TASK",
    "generate-midi": "mirctl.tasks.midi_generation:TASK",
    "eval separate": "mirctl.tasks.scoring:SEPARATION",
    "eval transcribe": "mirctl.tasks.scoring:TRANSCRIPTION",
    "eval midi": "mirctl.tasks.scoring:SYMBOLIC",
}


def get_task(command: str) -> Task:
    from mirctl.pipeline.task import find_task

    return find_task(REGISTRY[command])
