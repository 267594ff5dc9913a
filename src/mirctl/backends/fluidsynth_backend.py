"""FluidSynth, the library (libfluidsynth), driven offline through ctypes.

``pyfluidsynth`` finds and opens the shared library on every platform; the calls that
matter here are made on that handle directly: ``fluid_synth_write_float`` renders float
samples straight into numpy buffers (pyfluidsynth's ``get_samples`` gives int16 only),
and FluidSynth's log goes to a list instead of stderr so that "no preset for bank X"
becomes part of the report.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable

import numpy as np

from mirctl.backends.synth_common import Renderer, SynthOptions
from mirctl.errors import BackendUnavailable, UsageError
from mirctl.io.midi_events import BEND, CHANNEL_PRESSURE, CONTROL, DRUM_CHANNEL, KEY_PRESSURE, NOTE_OFF, NOTE_ON, PROGRAM

INSTALL_HINT = ("install the FluidSynth library: `apt-get install --no-install-recommends libfluidsynth3` "
                "(Debian/Ubuntu), `brew install fluid-synth` (macOS), then `pip install pyfluidsynth`; or render "
                "with `--synth tinysoundfont`, which needs no system library")

_LOG_LEVELS = range(5)  # FLUID_PANIC … FLUID_DBG
_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
# FluidSynth's log function is process-wide: one callback, alive for the whole process
# (a renderer's own would dangle once that renderer is gone while another still logs),
# writing to the log of the renderer that works in the calling thread now (FluidSynth
# logs from the thread that calls it; two renderers may work in two threads at once)
_log_sink = threading.local()
_log_callback = None


def _on_log(level: int, message: bytes, _data: Any) -> None:
    sink = getattr(_log_sink, "log", None)
    if sink is not None:
        sink.append((level, message.decode("utf-8", "replace")))


def _install_log(lib: Any) -> None:
    global _log_callback
    if _log_callback is None:
        _log_callback = _LOG_FN(_on_log)
        for level in _LOG_LEVELS:
            lib.fluid_set_log_function(level, _log_callback, None)


def _library() -> Any:
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints where it found the library when $CI is set
            import fluidsynth
    except ImportError as err:
        missing = "pyfluidsynth is not installed" if "fluidsynth" in str(err) and "library" not in str(err) \
            else "the FluidSynth library (libfluidsynth) was not found"
        raise BackendUnavailable(f"--synth fluidsynth: {missing}", hint=INSTALL_HINT) from None
    except OSError as err:
        raise BackendUnavailable(f"--synth fluidsynth: the FluidSynth library could not be loaded ({err})",
                                 hint=INSTALL_HINT) from None
    return fluidsynth._fl


def available() -> bool:
    try:
        _library()
    except BackendUnavailable:
        return False
    return True


def _bind(lib: Any) -> Any:
    c_void_p, c_int, c_char_p, c_double = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_double
    spec = {
        "new_fluid_settings": (c_void_p, []),
        "delete_fluid_settings": (None, [c_void_p]),
        "fluid_settings_setint": (c_int, [c_void_p, c_char_p, c_int]),
        "fluid_settings_setnum": (c_int, [c_void_p, c_char_p, c_double]),
        "new_fluid_synth": (c_void_p, [c_void_p]),
        "delete_fluid_synth": (None, [c_void_p]),
        "fluid_synth_sfload": (c_int, [c_void_p, c_char_p, c_int]),
        "fluid_synth_get_sfont_by_id": (c_void_p, [c_void_p, c_int]),
        "fluid_synth_add_sfont": (c_int, [c_void_p, c_void_p]),
        "fluid_synth_remove_sfont": (c_int, [c_void_p, c_void_p]),
        "fluid_synth_program_select": (c_int, [c_void_p, c_int, c_int, c_int, c_int]),
        "fluid_synth_noteon": (c_int, [c_void_p, c_int, c_int, c_int]),
        "fluid_synth_noteoff": (c_int, [c_void_p, c_int, c_int]),
        "fluid_synth_cc": (c_int, [c_void_p, c_int, c_int, c_int]),
        "fluid_synth_program_change": (c_int, [c_void_p, c_int, c_int]),
        "fluid_synth_pitch_bend": (c_int, [c_void_p, c_int, c_int]),
        "fluid_synth_channel_pressure": (c_int, [c_void_p, c_int, c_int]),
        "fluid_synth_key_pressure": (c_int, [c_void_p, c_int, c_int, c_int]),
        "fluid_synth_write_float": (c_int, [c_void_p, c_int, c_void_p, c_int, c_int, c_void_p, c_int, c_int]),
        "fluid_set_log_function": (c_void_p, [c_int, _LOG_FN, c_void_p]),
    }
    for name, (restype, argtypes) in spec.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


class FluidSynthRenderer(Renderer):
    """FluidSynth with one SoundFont, loaded once; every ``render`` starts from a new synth."""

    name = "fluidsynth"
    #: ctypes releases the GIL during FluidSynth's calls: two renderers render at once in two threads
    parallel = True

    def __init__(self, font_path: str, options: SynthOptions) -> None:
        super().__init__(font_path, options)
        lib = self._lib = _bind(_library())
        self.log: list[tuple[int, str]] = []  # (level, message); level 0-2: panic, error, warning
        _install_log(lib)
        _log_sink.log = self.log
        settings = self._settings = lib.new_fluid_settings()
        for key, value in (("synth.sample-rate", float(options.sample_rate)), ("synth.gain", 0.2)):
            lib.fluid_settings_setnum(settings, key.encode(), value)
        for key, ivalue in (("synth.reverb.active", int(options.reverb)), ("synth.chorus.active", int(options.chorus)),
                            ("synth.polyphony", options.polyphony), ("synth.midi-channels", 16),
                            # one thread: with synth.cpu-cores 2 a render is 1.3x faster but not
                            # repeatable (8 of 12 renders of one song differed, by up to 0.04)
                            ("synth.cpu-cores", 1)):
            lib.fluid_settings_setint(settings, key.encode(), ivalue)
        self._synth = None
        # the holder loads the font once and owns it; each render borrows it into a new synth
        self._holder = lib.new_fluid_synth(settings)
        if not self._holder:
            raise BackendUnavailable("FluidSynth could not create a synthesizer",
                                     hint="; ".join(m for _, m in self.log[-3:]) or None)
        sfid = lib.fluid_synth_sfload(self._holder, str(font_path).encode(), 0)
        if sfid < 0:
            reason = self.log[-1][1] if self.log else "FluidSynth refused it"
            self.close()
            raise UsageError(f"SoundFont {font_path} could not be loaded ({reason})",
                             hint="check that it is an intact .sf2/.sf3 file; `mirctl models list --task soundfont` "
                                  "lists the fonts found")
        self._sfont = lib.fluid_synth_get_sfont_by_id(self._holder, sfid)
        self.log.clear()

    def reset(self) -> None:
        """Every render gets a new synth (``fluid_synth_system_reset`` leaves state behind: a
        second render of the same events would differ from the first by up to -50 dB, and
        stems must sum to the full render) that borrows the font the holder loaded once."""
        _log_sink.log = self.log
        self._drop_synth()
        lib = self._lib
        self._synth = lib.new_fluid_synth(self._settings)
        if not self._synth:
            raise BackendUnavailable("FluidSynth could not create a synthesizer",
                                     hint="; ".join(m for _, m in self.log[-3:]) or None)
        self._sfid = lib.fluid_synth_add_sfont(self._synth, self._sfont)
        self.log.clear()

    def _drop_synth(self) -> None:
        if self._synth:
            self._lib.fluid_synth_remove_sfont(self._synth, self._sfont)  # the holder still owns it
            self._lib.delete_fluid_synth(self._synth)
            self._synth = None

    def _select_initial_programs(self) -> None:
        program = self.options.program or 0
        for ch in range(16):
            if ch == DRUM_CHANNEL:
                self._lib.fluid_synth_program_select(self._synth, ch, self._sfid, 128, 0)
            else:
                self._lib.fluid_synth_program_select(self._synth, ch, self._sfid, 0, program)

    def _write(self, buf: np.ndarray, start: int, stop: int) -> None:
        base = buf.ctypes.data  # interleaved: left at even, right at odd float offsets
        self._lib.fluid_synth_write_float(self._synth, stop - start, base, 2 * start, 2, base, 2 * start + 1, 2)

    def _handlers(self) -> dict[int, Callable[[int, int, int], Any]]:
        lib, synth = self._lib, self._synth
        return {
            NOTE_ON: lambda ch, a, b: lib.fluid_synth_noteon(synth, ch, a, b),
            NOTE_OFF: lambda ch, a, b: lib.fluid_synth_noteoff(synth, ch, a),
            CONTROL: lambda ch, a, b: lib.fluid_synth_cc(synth, ch, a, b),
            PROGRAM: lambda ch, a, b: lib.fluid_synth_program_change(synth, ch, a),
            BEND: lambda ch, a, b: lib.fluid_synth_pitch_bend(synth, ch, a + 8192),
            CHANNEL_PRESSURE: lambda ch, a, b: lib.fluid_synth_channel_pressure(synth, ch, a),
            KEY_PRESSURE: lambda ch, a, b: lib.fluid_synth_key_pressure(synth, ch, a, b),
        }

    def warnings(self) -> list[str]:
        """FluidSynth's own warnings from the last render (missing presets …), deduplicated."""
        return list(dict.fromkeys(m for level, m in self.log if level <= 2))

    def twin(self) -> FluidSynthRenderer:
        """A second renderer of the same font and settings, for another thread. FluidSynth's
        sample cache shares the font's samples between the two loads (FluidR3_GM: +16 MB,
        0.07 s, instead of +180 MB and 0.3 s). Made once, closed with this one."""
        if getattr(self, "_twin", None) is None:
            self._twin = FluidSynthRenderer(self.font_path, self.options)
        return self._twin

    def close(self) -> None:
        if getattr(self, "_twin", None) is not None:
            self._twin.close()
            self._twin = None
        if getattr(self, "_synth", None):
            self._drop_synth()
        if getattr(self, "_holder", None):
            self._lib.delete_fluid_synth(self._holder)
            self._holder = None
        if getattr(self, "_settings", None):
            self._lib.delete_fluid_settings(self._settings)
            self._settings = None

    def __del__(self) -> None:  # pragma: no cover - interpreter teardown order varies
        try:
            self.close()
        except Exception:
            pass
