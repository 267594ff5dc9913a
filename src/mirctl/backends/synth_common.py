"""What the two SoundFont synthesizers share: the renderer interface and the loop that
plays timed events into a float32 buffer.

A renderer plays :class:`~mirctl.io.midi_events.MidiEvent` lists offline, on its own
sample clock: it renders exactly up to each event's sample, sends the event, and goes
on. Nothing is quantized to 16 bits; nothing touches an audio device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from mirctl.io.midi_events import CONTROL, DRUM_CHANNEL, PROGRAM

#: after the requested length, keep rendering in blocks while a block still sounds above
#: this peak (releases and reverb are never cut), at most ``MAX_EXTRA_S`` seconds more
QUIET_PEAK = 10 ** (-96 / 20)
EXTEND_BLOCK = 8192
#: every render is a whole number of these frames: FluidSynth computes 64-frame blocks and
#: keeps what a call did not take for the next call, so a render that ended mid-block
#: would shift the next one (events take effect at block starts in both synths)
BLOCK = 64
MAX_EXTRA_S = 30.0


@dataclass(frozen=True)
class SynthOptions:
    sample_rate: int = 44100
    reverb: bool = True
    chorus: bool = True
    #: force this program on every non-drum channel (program changes are ignored)
    program: int | None = None
    polyphony: int = 512


class Renderer:
    """Base class: ``reset()`` gives a synth in its just-loaded state; ``_write(buf, start,
    stop)`` renders frames into ``buf[start:stop]`` of an interleaved (frames, 2) float32
    array; ``_handlers()`` maps each event kind to the call that applies it."""

    name = "synth"
    #: what this synth can do, reported and warned about (tinysoundfont has no effects)
    effects = True
    #: whether two renderers of this synth render at once in two threads (the calls release
    #: the GIL); such a synth has ``twin()``, a second renderer of the same font and settings
    parallel = False

    def __init__(self, font_path: str, options: SynthOptions) -> None:
        self.font_path = font_path
        self.options = options

    # --- subclasses ------------------------------------------------------------------
    def reset(self) -> None:
        raise NotImplementedError

    def _write(self, buf: np.ndarray, start: int, stop: int) -> None:
        raise NotImplementedError

    def _handlers(self) -> dict[int, Callable[[int, int, int], Any]]:
        raise NotImplementedError

    def _select_initial_programs(self) -> None:
        """Programs before any program change: 0 on melodic channels, the kit on 10."""

    # --- the loop --------------------------------------------------------------------
    def render(self, events: Sequence[Any], frames: int, extend: bool = True,
               progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Play ``events`` (sorted, times in seconds) from a reset synth into a (2, n)
        float32 array (a view of interleaved memory, which files store as is): ``n`` is
        at least ``frames`` and, with ``extend``, longer while the synth still sounds (a
        release or reverb tail is never cut; a sustain pedal still down after ``frames``
        is lifted there, so held notes end)."""
        self.reset()
        self._select_initial_programs()
        sr = self.options.sample_rate
        forced = self.options.program
        handlers = self._handlers()
        frames = -(-max(frames, 1) // BLOCK) * BLOCK
        buf = np.zeros((frames, 2), dtype=np.float32)  # interleaved, as synths write and files store it
        pos = 0
        step = max(1, len(events) // 50)
        for i, ev in enumerate(events):
            at = min(int(round(ev.time_s * sr)), frames)
            if at > pos:
                self._write(buf, pos, at)
                pos = at
            if forced is not None and ev.kind == PROGRAM and ev.channel != DRUM_CHANNEL:
                continue
            handlers[ev.kind](ev.channel, ev.a, ev.b)
            if progress is not None and i % step == 0:
                progress(i / max(1, len(events)))
        if pos < frames:
            self._write(buf, pos, frames)
        if not extend:
            return buf.T
        for ch in range(16):  # the piece is over: a pedal still down lets its notes go now
            handlers[CONTROL](ch, 64, 0)
        blocks = [buf]
        limit = int(MAX_EXTRA_S * sr)
        extra = 0
        while extra < limit and _peak(blocks[-1][-EXTEND_BLOCK:]) > QUIET_PEAK:
            block = np.zeros((EXTEND_BLOCK, 2), dtype=np.float32)
            self._write(block, 0, EXTEND_BLOCK)
            blocks.append(block)
            extra += EXTEND_BLOCK
        return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)).T

    def describe(self) -> dict[str, Any]:
        return {"synth": self.name, "soundfont": self.font_path, "sample_rate": self.options.sample_rate,
                "reverb": self.options.reverb and self.effects, "chorus": self.options.chorus and self.effects}


def _peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x), initial=0.0))
