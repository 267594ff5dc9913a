"""TinySoundFont (``tinysoundfont`` wheel, MIT): a pip-only SoundFont synth.

Its wheel declares ``pyaudio``, which only live playback imports and which fails to
build without portaudio headers: install it ``pip install --no-deps tinysoundfont``.
It renders float32 stereo; it has no reverb or chorus, and ignores aftertouch. It has no
sustain pedal either: CC 64 is played here, by holding note-offs until the pedal lifts.

TinySoundFont scales a note's amplitude linearly with its velocity, where General MIDI
(and FluidSynth) follow 40·log10(v/127) dB, i.e. (v/127)²: velocities are squared on the
way in; its volume curve is steeper than GM's (see GM_LEVEL). Channels start at GM's
power-on volume (CC 7 = 100; TinySoundFont starts at 127).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from mirctl.backends.synth_common import Renderer, SynthOptions
from mirctl.errors import BackendUnavailable, UsageError
from mirctl.io.midi_events import BEND, CHANNEL_PRESSURE, CONTROL, DRUM_CHANNEL, KEY_PRESSURE, NOTE_OFF, NOTE_ON, PROGRAM

INSTALL_HINT = "`pip install --no-deps tinysoundfont` (its pyaudio dependency is only for live playback)"
#: output gain in dB that brings TinySoundFont to FluidSynth's level (gain 0.2) on General
#: MIDI material (measured on POP909 and Slakh MIDI with TimGM6mb and FluidR3_GM)
GAIN_DB = -4.8
#: TinySoundFont turns volume/expression (CC 7, CC 11) into 60·log10(v/127) dB; General MIDI
#: and FluidSynth use 40·log10(v/127) dB: send v' = 127·(v/127)^(2/3) for the same level
GM_LEVEL = [round(127 * (v / 127) ** (2 / 3)) for v in range(128)]


def available() -> bool:
    try:
        import tinysoundfont._tinysoundfont  # noqa: F401
    except ImportError:
        return False
    return True


class TinySoundFontRenderer(Renderer):
    name = "tinysoundfont"
    effects = False

    def __init__(self, font_path: str, options: SynthOptions) -> None:
        super().__init__(font_path, options)
        try:
            from tinysoundfont import _tinysoundfont as tsf
        except ImportError:
            raise BackendUnavailable("--synth tinysoundfont: tinysoundfont is not installed",
                                     hint=INSTALL_HINT) from None
        try:
            self._sf = tsf.SoundFont(str(font_path))
        except Exception as err:  # the extension raises a plain Exception for unreadable fonts
            raise UsageError(f"SoundFont {font_path} could not be loaded ({err})",
                             hint="check that it is an intact .sf2/.sf3 file; `mirctl models list --task soundfont` "
                                  "lists the fonts found") from None
        self._sf.set_output(tsf.OutputMode.StereoInterleaved, options.sample_rate, GAIN_DB)
        self._sf.set_max_voices(options.polyphony)
        self.missing: set[tuple[int, int]] = set()
        self._pedal = [False] * 16
        self._held: list[set[int]] = [set() for _ in range(16)]  # keys released under the pedal
        self._down: list[set[int]] = [set() for _ in range(16)]  # keys sounding, not yet released

    def reset(self) -> None:
        self._sf.reset()
        self.missing.clear()
        self._pedal = [False] * 16
        self._held = [set() for _ in range(16)]
        self._down = [set() for _ in range(16)]

    def _program(self, ch: int, program: int) -> None:
        try:
            self._sf.channel_set_preset_number(ch, program, ch == DRUM_CHANNEL)
        except Exception:
            self.missing.add((ch, program))

    def _select_initial_programs(self) -> None:
        for ch in range(16):
            self._program(ch, 0 if ch == DRUM_CHANNEL else (self.options.program or 0))
            # General MIDI's power-on volume is 100 (TinySoundFont starts at 127)
            self._sf.channel_midi_control(ch, 7, GM_LEVEL[100])

    def _write(self, buf: np.ndarray, start: int, stop: int) -> None:
        self._sf.render(memoryview(buf[start:stop]).cast("B"), False)  # interleaved stereo, in place

    def _handlers(self) -> dict[int, Callable[[int, int, int], Any]]:
        sf = self._sf
        pedal, held, down = self._pedal, self._held, self._down

        def note_on(ch: int, key: int, velocity: int) -> None:
            # a key struck again while it sounds (held by the pedal, or a second note-on
            # without a note-off) releases the old note first, as FluidSynth does;
            # TinySoundFont would keep the old voice, and one note-off ends only one
            if key in held[ch] or key in down[ch]:
                held[ch].discard(key)
                sf.channel_note_off(ch, key)
            down[ch].add(key)
            sf.channel_note_on(ch, key, (velocity / 127.0) ** 2)

        def note_off(ch: int, key: int, _velocity: int) -> None:
            if key not in down[ch]:
                return
            down[ch].discard(key)
            if pedal[ch]:
                held[ch].add(key)
            else:
                sf.channel_note_off(ch, key)

        def control(ch: int, number: int, value: int) -> None:
            if number == 64:  # TinySoundFont has no sustain pedal: note-offs wait for its release here
                pedal[ch] = value >= 64
                if not pedal[ch]:
                    for key in held[ch]:
                        sf.channel_note_off(ch, key)
                    held[ch].clear()
                return
            if number in (120, 123):  # all sound / all notes off also end what the pedal holds
                held[ch].clear()
                down[ch].clear()
            elif number == 121:  # reset all controllers releases the pedal
                pedal[ch] = False
                for key in held[ch]:
                    sf.channel_note_off(ch, key)
                held[ch].clear()
            if number in (7, 11):
                value = GM_LEVEL[value]
            sf.channel_midi_control(ch, number, value)

        def ignore(ch: int, a: int, b: int) -> None:
            pass

        return {
            NOTE_ON: note_on,
            NOTE_OFF: note_off,
            CONTROL: control,
            PROGRAM: lambda ch, a, b: self._program(ch, a),
            BEND: lambda ch, a, b: sf.channel_set_pitch_wheel(ch, a + 8192),
            CHANNEL_PRESSURE: ignore,
            KEY_PRESSURE: ignore,
        }

    def warnings(self) -> list[str]:
        return [f"no preset for program {p} on channel {ch + 1} in {self.font_path}" for ch, p in sorted(self.missing)]

    def close(self) -> None:
        self._sf = None
