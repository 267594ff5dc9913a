"""Fake tasks for the runner's other input shapes (importable by name for --jobs workers).

- ``SUM``: a stem set in, the sum of its stems out (what ``mix --preset flat`` will do).
- ``TONE``: a generated item in (no input file), a tone whose pitch follows the item's
  position out; a MIDI file given instead is "continued": the tone follows its first note.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mirctl.errors import InputError
from mirctl.io.artifacts import AudioWriteOptions
from mirctl.io.audio import AUDIO_EXTENSIONS
from mirctl.io.midi import MIDI_EXTENSIONS
from mirctl.pipeline.task import OutputSlot, Task
from mirctl.types import AudioOut, GeneratedSource, MidiSource, StemSetSource, TaskResult

SR = 8000


@dataclass(frozen=True)
class SumParams:
    bits: str = "32f"


class Sum(Task[SumParams]):
    def slots(self, params):
        return [OutputSlot("mix", {"output": "mix", "ext": "wav"}, AudioWriteOptions(bits=params.bits))]

    def process(self, model, source: StemSetSource, params, progress):
        rates = {sr for _, sr in source.stems.values()}
        if len(rates) != 1:
            raise InputError(f"{source.path}: stems have different rates {sorted(rates)}")
        n = max(w.shape[1] for w, _ in source.stems.values())
        total = np.zeros((1, n), np.float32)
        for wav, _ in source.stems.values():
            total[:, : wav.shape[1]] += wav.mean(axis=0)
        return TaskResult(outputs={"mix": AudioOut(total, rates.pop())},
                          data={"stems": sorted(source.stems), "pid": os.getpid()})


SUM = Sum(name="sum", ref="shape_tasks:SUM", shape="stem_sets", extensions=AUDIO_EXTENSIONS,
          default_template="{track}.{ext}")


@dataclass(frozen=True)
class ToneParams:
    seconds: float = 0.25


def tone_hz(index: int) -> float:
    return 220.0 * 2 ** (index / 12)


class Tone(Task[ToneParams]):
    def slots(self, params):
        return [OutputSlot("audio", {"output": "audio", "ext": "wav"}, AudioWriteOptions(bits="32f"))]

    def model_name(self, params):
        return "tone"

    def process(self, model, source, params, progress):
        if isinstance(source, GeneratedSource):
            hz, origin = tone_hz(source.index), {"index": source.index, "name": source.name}
        elif isinstance(source, MidiSource):
            notes = [n for inst in source.midi.instruments for n in inst.notes]
            if not notes:
                raise InputError(f"{source.path} holds no notes to continue")
            first = min(notes, key=lambda n: n.start)
            hz, origin = 440.0 * 2 ** ((first.pitch - 69) / 12), {"prompt_pitch": first.pitch}
        else:  # pragma: no cover - the runner hands only these two
            raise AssertionError(type(source))
        t = np.arange(int(params.seconds * SR)) / SR
        return TaskResult(outputs={"audio": AudioOut((0.5 * np.sin(2 * np.pi * hz * t))[None].astype(np.float32), SR)},
                          data={**origin, "hz": hz, "pid": os.getpid()})


TONE = Tone(name="tone", ref="shape_tasks:TONE", shape="generated", input_kind="midi", extensions=MIDI_EXTENSIONS,
            default_template="{track}.{ext}")
