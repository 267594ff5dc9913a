"""Task modules: pure functions from arrays/MIDI to results, plus each task's ``SPEC``
(the contract the generic runner in :mod:`mirctl.pipeline` consumes)."""
