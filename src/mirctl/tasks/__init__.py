"""Task modules: pure functions from arrays/MIDI to results, plus each task's ``SPEC``.

``get_spec(command)`` imports the task module for a command on demand (worker
processes use it to rebuild the spec by name).
"""

from __future__ import annotations

import importlib

_MODULES = {
    "info": "mirctl.tasks.info",
    "separate": "mirctl.tasks.separation",
    "transcribe": "mirctl.tasks.transcription",
}


def get_spec(command: str):
    return importlib.import_module(_MODULES[command]).SPEC
