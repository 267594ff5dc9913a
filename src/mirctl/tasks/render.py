"""Rendering: MIDI in, audio out, through a SoundFont synthesizer.

The MIDI file becomes one timed event list (:mod:`mirctl.io.midi_events`); a renderer
(:mod:`mirctl.backends.fluidsynth_backend` or ``tinysoundfont_backend``) plays it offline
in float32. With ``stems`` every (track, channel) that plays notes is rendered on its
own — every stem sees all controller, program and pitch-bend events, but only its own
notes — and padded to one length, so a folder of stems is ready for ``mirctl mix``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mirctl.errors import InputError, MirctlWarning, UsageError
from mirctl.options import option
from mirctl.pipeline.task import OutputSlot, Task, audio_seconds
from mirctl.types import AudioOut, TaskResult

if TYPE_CHECKING:
    import numpy as np

    from mirctl.io.midi_events import MidiEvents

SYNTHS = ("fluidsynth", "tinysoundfont")
NORMALIZE = ("peak", "lufs")
DEFAULT_TARGET = {"peak": -1.0, "lufs": -14.0}  # dBFS; LUFS (streaming services' level)
SILENCE = 10 ** (-120 / 20)  # a render whose peak stays below this is digital silence
AUDIBLE_DBFS = -70.0  # a stem quieter than this (peak) is reported as inaudible
LUFS_PEAK_CEILING = -1.0  # dBFS: --normalize lufs stops short of its target rather than clip


@dataclass(frozen=True)
class Params:
    soundfont: str = option("auto", "SoundFont: a name from `mirctl models list --task soundfont`, a .sf2/.sf3 path, "
                                    "or auto (the best General MIDI font installed).", config="soundfont")
    synth: str = option("fluidsynth", "fluidsynth (the FluidSynth library) or tinysoundfont (pip-only, no effects).",
                        config="synth")
    sample_rate: int = option(44100, "Output sample rate in Hz.", config="sample_rate")
    gain_db: float = option(0.0, "Gain in dB applied to the render (FluidSynth's own level is its default gain "
                                 "0.2).")
    reverb: bool | None = option(None, "FluidSynth's reverb (default: on; tinysoundfont has none).")
    chorus: bool | None = option(None, "FluidSynth's chorus (default: on; tinysoundfont has none).")
    tail_s: float = option(1.0, "Seconds rendered after the last note-off; a release or reverb that lasts longer is "
                                "never cut.", config="tail")
    program: int | None = option(None, "Play every non-drum channel with this General MIDI program (0-127).")
    stems: bool = option(False, "One file per instrument (track/channel; drums on channel 10 their own), all of one "
                                "length, in a folder per input.")
    normalize: str | None = option(None, "Normalize the level: peak (to --target dBFS, default -1) or lufs (to "
                                         "--target LUFS, default -14, never above a -1 dBFS peak); stems keep "
                                         "their balance.")
    target: float | None = option(None, "Target for --normalize: dBFS for peak, LUFS for lufs.")
    format: str = option("wav", "Output audio format.", config="format")
    bits: str = option("16", "Sample format for wav/flac.", config="bits")
    mp3_bitrate: int = option(320, "MP3 bitrate in kbit/s.", config="mp3_bitrate")

    @property
    def effects(self) -> tuple[bool, bool]:
        """(reverb, chorus) as the synth will use them."""
        default = self.synth == "fluidsynth"
        return (default if self.reverb is None else self.reverb, default if self.chorus is None else self.chorus)


def validate(params: Params) -> None:
    from mirctl.io.audio import check_write_options

    if params.synth not in SYNTHS:
        raise UsageError(f"--synth {params.synth!r} is not one of {', '.join(SYNTHS)}")
    if not 8000 <= params.sample_rate <= 192000:
        raise UsageError(f"--sample-rate {params.sample_rate} is out of range", hint="use 8000 to 192000 Hz, e.g. 44100")
    if not (params.tail_s >= 0 and math.isfinite(params.tail_s)):
        raise UsageError(f"--tail must be a non-negative number of seconds, got {params.tail_s}")
    if params.program is not None and not 0 <= params.program <= 127:
        raise UsageError(f"--program {params.program} is not a General MIDI program",
                         hint="use 0-127 (0 is Acoustic Grand Piano)")
    if params.normalize is not None and params.normalize not in NORMALIZE:
        raise UsageError(f"--normalize {params.normalize!r} is not one of {', '.join(NORMALIZE)}")
    if params.target is not None and params.normalize is None:
        raise UsageError("--target needs --normalize peak or --normalize lufs")
    if params.normalize is not None and params.gain_db != 0.0:
        raise UsageError("--gain and --normalize both set the level", hint="use one of them")
    if not math.isfinite(params.gain_db):
        raise UsageError("--gain must be a finite number of dB")
    if params.normalize == "peak" and params.target is not None and params.target > 0:
        raise UsageError(f"--target {params.target} dBFS is above full scale", hint="use 0 or below, e.g. -1")
    if params.synth == "tinysoundfont" and (params.reverb or params.chorus):
        raise UsageError("--synth tinysoundfont has no reverb or chorus",
                         hint="drop --reverb/--chorus, or render with --synth fluidsynth")
    check_write_options(params.format, params.bits)


# --- stems ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stem:
    """One instrument of a MIDI file: the notes of ``track`` on ``channel``."""

    name: str
    track: int
    channel: int
    program: int
    notes: int

    @property
    def drums(self) -> bool:
        from mirctl.io.midi_events import DRUM_CHANNEL

        return self.channel == DRUM_CHANNEL


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _family(program: int) -> str:
    from mirctl.io.midi import import_pretty_midi

    pretty_midi = import_pretty_midi()
    return slug(pretty_midi.program_to_instrument_class(program))


def _program_name(program: int) -> str:
    from mirctl.io.midi import import_pretty_midi

    pretty_midi = import_pretty_midi()
    return slug(pretty_midi.program_to_instrument_name(program))


def find_stems(midi: MidiEvents, program: int | None = None) -> list[Stem]:
    """The stems of a file in order of their first note, named after the track (when it
    holds one instrument and has a name), else the General MIDI family (``piano``,
    ``bass``, ``drums``…); names two stems would share become ``trackNN_<program>`` (or
    ``chNN_<program>`` when one track holds several channels)."""
    from mirctl.io.midi_events import DRUM_CHANNEL, NOTE_ON, PROGRAM

    current = [0] * 16
    first: dict[tuple[int, int], int] = {}  # (track, channel) -> program at its first note
    counts: dict[tuple[int, int], int] = {}
    for ev in midi.events:
        if ev.kind == PROGRAM:
            current[ev.channel] = ev.a
        elif ev.kind == NOTE_ON:
            key = (ev.track, ev.channel)
            if key not in first:
                first[key] = current[ev.channel] if program is None or ev.channel == DRUM_CHANNEL else program
            counts[key] = counts.get(key, 0) + 1
    channels_of: dict[int, set[int]] = {}
    for track, channel in first:
        channels_of.setdefault(track, set()).add(channel)

    def base(track: int, channel: int, prog: int) -> str:
        if channel == DRUM_CHANNEL:
            return "drums"
        name = slug(midi.track_names[track]) if track < len(midi.track_names) else ""
        return name if name and len(channels_of[track]) == 1 else _family(prog)

    names = {key: base(*key, prog) for key, prog in first.items()}
    taken = [n for n in names.values()]
    for key, prog in first.items():
        track, channel = key
        if taken.count(names[key]) > 1:
            what = "drums" if channel == DRUM_CHANNEL else _program_name(prog)
            names[key] = (f"track{track:02d}_{what}" if len(channels_of[track]) == 1
                          else f"ch{channel + 1:02d}_{what}")
    seen: dict[str, int] = {}
    stems = []
    for key, prog in first.items():  # still the same (one track, one program on two channels): number them
        name = names[key]
        if list(names.values()).count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name}_{seen[name]}"
        stems.append(Stem(name, key[0], key[1], prog, counts[key]))
    return stems


def stem_events(midi: MidiEvents, stem: Stem | None) -> list[Any]:
    """Every non-note event, and the notes of ``stem`` (all notes when None)."""
    from mirctl.io.midi_events import NOTE_OFF, NOTE_ON

    if stem is None:
        return midi.events
    return [e for e in midi.events if (e.kind != NOTE_ON and e.kind != NOTE_OFF)
            or (e.track == stem.track and e.channel == stem.channel)]


# --- levels --------------------------------------------------------------------------


def peak_dbfs(wav: np.ndarray) -> float | None:
    import numpy as np

    peak = float(np.max(np.abs(wav), initial=0.0))
    return round(20 * math.log10(peak), 2) if peak > 0 else None


def loudness(wav: np.ndarray, sr: int) -> float | None:
    from mirctl.loudness import integrated_loudness

    value = integrated_loudness(wav, sr)
    return None if value is None or not math.isfinite(value) else round(value, 2)


def level_gain(mix: np.ndarray, sr: int, params: Params) -> tuple[float, str | None]:
    """Linear gain for ``--gain``/``--normalize`` measured on the full render, and a
    warning when normalization is impossible (silence, too short for LUFS)."""
    if params.normalize is None:
        return 10 ** (params.gain_db / 20), None
    target = DEFAULT_TARGET[params.normalize] if params.target is None else params.target
    if params.normalize == "peak":
        current = peak_dbfs(mix)
        what = "it is silent"
    else:
        current = loudness(mix, sr)
        what = "it is silent or shorter than 0.4 s (BS.1770 needs one gating block)"
    if current is None:
        return 1.0, f"--normalize {params.normalize}: not applied, {what}"
    gain_db = target - current
    if params.normalize == "lufs":  # never clip to reach a loudness: stop 1 dB below full scale
        peak = peak_dbfs(mix)
        if peak is not None and peak + gain_db > LUFS_PEAK_CEILING:
            reached = current + LUFS_PEAK_CEILING - peak
            return 10 ** ((LUFS_PEAK_CEILING - peak) / 20), (
                f"--normalize lufs: reached {reached:.1f} LUFS, not {target:g}: louder would push the peak above "
                f"{LUFS_PEAK_CEILING:g} dBFS (a limiter, as in `mirctl mix`, can go further)")
    return 10 ** (gain_db / 20), None


def muted_notes(midi: MidiEvents) -> int:
    """Notes that start while their channel's volume (CC 7) or expression (CC 11) is 0."""
    from mirctl.io.midi_events import CONTROL, NOTE_ON

    volume, expression = [100] * 16, [127] * 16
    muted = 0
    for ev in midi.events:
        if ev.kind == CONTROL and ev.a == 7:
            volume[ev.channel] = ev.b
        elif ev.kind == CONTROL and ev.a == 11:
            expression[ev.channel] = ev.b
        elif ev.kind == NOTE_ON and (volume[ev.channel] == 0 or expression[ev.channel] == 0):
            muted += 1
    return muted


# --- the task ------------------------------------------------------------------------


@dataclass
class MidiEventsSource:
    path: object
    midi: Any
    refs: dict


def render(source: MidiEventsSource, renderer: Any, params: Params,
           progress: Callable[[float], None] | None = None) -> TaskResult:
    """Render one MIDI file (or its stems); returns the audio and its levels."""
    import numpy as np

    midi = source.midi
    sr = params.sample_rate
    notes = midi.notes
    frames = int(round(((midi.last_note_off_s if notes else 0.0) + params.tail_s) * sr))
    stems = find_stems(midi, params.program) if params.stems else []
    parts: list[tuple[str, np.ndarray]] = []
    warnings_: list[str] = []
    if not notes:
        silent = np.zeros((2, max(frames, 1)), dtype=np.float32)
        parts = [("mix", silent)] if not params.stems else []
    else:
        jobs = stems or [None]
        for stem, (wav, said) in zip(jobs, _render_each(renderer, midi, jobs, frames, progress)):
            parts.append(("mix" if stem is None else stem.name, wav))
            warnings_ += said
    length = max((w.shape[1] for _, w in parts), default=0)
    parts = [(name, w if w.shape[1] == length else np.pad(w, ((0, 0), (0, length - w.shape[1])))) for name, w in parts]
    if not params.stems:
        mix = parts[0][1]
    elif parts:  # summed in place: no stack of every stem in memory
        mix = parts[0][1].copy()
        for _, w in parts[1:]:
            mix += w
    else:
        mix = np.zeros((2, max(frames, 1)), dtype=np.float32)
    if notes and float(np.max(np.abs(mix), initial=0.0)) < SILENCE:
        reasons = list(dict.fromkeys(warnings_))[:3]
        muted = muted_notes(midi)
        if muted == notes:
            reasons.append("every note plays on a channel whose volume (CC 7) or expression (CC 11) is 0")
        raise InputError(f"{source.path}: its {notes} notes render to digital silence"
                         + (f" ({'; '.join(reasons)})" if reasons else ""),
                         hint="the SoundFont may lack these programs/banks: try another --soundfont "
                              "(e.g. fluidr3-gm) or --program 0")
    gain, problem = level_gain(mix, sr, params)
    if problem:
        warnings_.append(f"{source.path}: {problem}")
    if gain != 1.0:  # in place: the mix is the only part without --stems, else a sum of its own
        for _, w in parts:
            w *= np.float32(gain)
        if params.stems:
            mix *= np.float32(gain)
    import warnings

    for text in dict.fromkeys(warnings_):
        warnings.warn(text, MirctlWarning, stacklevel=2)
    mix_peak = peak_dbfs(mix)
    if mix_peak is not None and mix_peak > 0 and not (params.bits == "32f" and params.format == "wav"):
        where = "MP3" if params.format == "mp3" else f"{params.bits}-bit"
        warnings.warn(f"{source.path}: the render peaks at {mix_peak:+.1f} dBFS and clips in {where} output; use "
                      "--normalize peak, a negative --gain or --bits 32f", MirctlWarning, stacklevel=2)
    data: dict[str, Any] = {
        "duration_s": round(length / sr, 4), "sample_rate": sr, "notes": notes, "empty": notes == 0,
        "peak_dbfs": mix_peak, "loudness_lufs": loudness(mix, sr), "gain_db": round(20 * math.log10(gain), 2),
        "tempo_changes": midi.tempo_changes, "synth": renderer.describe(),
    }
    if params.stems:
        by_name = dict(parts)
        data["stems"] = {s.name: {"track": s.track, "channel": s.channel + 1, "program": s.program,
                                  "drums": s.drums, "notes": s.notes, "peak_dbfs": peak_dbfs(by_name[s.name]),
                                  "loudness_lufs": loudness(by_name[s.name], sr)} for s in stems}
        quiet = [name for name, v in data["stems"].items() if v["peak_dbfs"] is None or v["peak_dbfs"] < AUDIBLE_DBFS]
        if quiet:
            warnings.warn(f"{source.path}: stem(s) {', '.join(quiet)} are inaudible (peak below {AUDIBLE_DBFS:g} "
                          "dBFS): a program the SoundFont lacks, or a muted channel", MirctlWarning, stacklevel=2)
        outputs = {f"stem:{name}": AudioOut(w, sr) for name, w in parts}
    else:
        outputs = {"audio": AudioOut(mix, sr)}
    return TaskResult(outputs=outputs, data=data)


def _render_each(renderer: Any, midi: MidiEvents, jobs: list[Stem | None], frames: int,
                 progress: Callable[[float], None] | None) -> list[tuple[np.ndarray, list[str]]]:
    """(audio, the synth's warnings) of each job (a stem, or None for every note), in
    order. Each job starts from a fresh synth, so which renderer plays it changes
    nothing; with several stems and a synth that renders in parallel (FluidSynth), two
    renderers of the font play two stems at once in two threads."""
    if len(jobs) < 2 or not getattr(renderer, "parallel", False):
        out = []
        for n, stem in enumerate(jobs):
            def step(f: float, n: int = n) -> None:
                if progress is not None:
                    progress((n + f) / len(jobs))
            wav = renderer.render(stem_events(midi, stem), frames, progress=step)
            out.append((wav, renderer.warnings()))
        return out
    import queue
    from concurrent.futures import ThreadPoolExecutor, as_completed

    free: queue.Queue[Any] = queue.Queue()
    for r in (renderer, renderer.twin()):
        free.put(r)

    def one(stem: Stem | None) -> tuple[np.ndarray, list[str]]:
        r = free.get()
        try:
            wav = r.render(stem_events(midi, stem), frames)
            return wav, r.warnings()
        finally:
            free.put(r)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(one, stem) for stem in jobs]
        for done, _ in enumerate(as_completed(futures), 1):  # progress from this thread only
            if progress is not None:
                progress(done / len(jobs))
        return [f.result() for f in futures]


class Rendering(Task[Params]):
    """``mirctl render``: MIDI files in, audio (or one file per instrument) out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def _audio(self, params: Params) -> Any:
        from mirctl.io.artifacts import AudioWriteOptions

        return AudioWriteOptions(bits=params.bits, mp3_bitrate=params.mp3_bitrate)

    def slots(self, params: Params) -> list[OutputSlot]:
        if params.stems:  # a stand-in for the template checks; each input names its own stems
            return [OutputSlot(f"stem:{name}", {"stem": name, "ext": params.format}, self._audio(params))
                    for name in ("piano", "drums")]
        return [OutputSlot("audio", {"stem": "mix", "ext": params.format}, self._audio(params))]

    def item_slots(self, params: Params, item: Any) -> list[OutputSlot] | None:
        if not params.stems:
            return None
        from mirctl.io.files import check_input_file
        from mirctl.io.midi_events import read_midi_events

        check_input_file(item.path)
        stems = find_stems(read_midi_events(item.path), params.program)
        return [OutputSlot(f"stem:{s.name}", {"stem": s.name, "ext": params.format}, self._audio(params))
                for s in stems]

    def model_name(self, params: Params) -> str:
        from mirctl.models import soundfonts

        try:
            return soundfonts.resolve(params.soundfont).name
        except UsageError:
            return params.soundfont

    def load(self, params: Params, ctx: Any) -> Any:
        from mirctl.backends.synth_common import SynthOptions
        from mirctl.models import soundfonts

        font = soundfonts.resolve(params.soundfont)
        reverb, chorus = params.effects
        options = SynthOptions(sample_rate=params.sample_rate, reverb=reverb, chorus=chorus, program=params.program)
        return open_renderer(params.synth, str(font.path), options, font)

    def read(self, item: Any) -> MidiEventsSource:
        from mirctl.io.files import check_input_file
        from mirctl.io.midi_events import read_midi_events

        check_input_file(item.path)
        return MidiEventsSource(item.path, read_midi_events(item.path), {})

    def process(self, model: Any, source: MidiEventsSource, params: Params,
                progress: Callable[[float], None]) -> TaskResult:
        return render(source, model, params, progress)

    def summarize(self, records: list[dict]) -> dict:
        return audio_seconds(records)


def open_renderer(synth: str, font_path: str, options: Any, font: Any = None) -> Any:
    """A loaded renderer; its ``info`` is the report's model entry."""
    if synth == "fluidsynth":
        from mirctl.backends.fluidsynth_backend import FluidSynthRenderer as cls
    else:
        from mirctl.backends.tinysoundfont_backend import TinySoundFontRenderer as cls
    renderer = cls(font_path, options)
    renderer.info = {"name": font.name if font else Path(font_path).stem, "synth": synth, "soundfont": font_path,
                     "license": font.license if font else None}
    return renderer


@lru_cache(maxsize=2)
def default_renderer(sample_rate: int) -> Any:
    """The renderer other tasks use to make notes audible (``transcribe --outputs sonify``):
    FluidSynth when its library is present, else TinySoundFont, with the default font."""
    from mirctl.backends import fluidsynth_backend, tinysoundfont_backend
    from mirctl.backends.synth_common import SynthOptions
    from mirctl.errors import BackendUnavailable
    from mirctl.models import soundfonts

    if fluidsynth_backend.available():
        synth = "fluidsynth"
    elif tinysoundfont_backend.available():
        synth = "tinysoundfont"
    else:
        raise BackendUnavailable("sonify needs a SoundFont synth: neither FluidSynth nor tinysoundfont is installed",
                                 hint=fluidsynth_backend.INSTALL_HINT)
    font = soundfonts.resolve("auto")
    return open_renderer(synth, str(font.path), SynthOptions(sample_rate=sample_rate, reverb=synth == "fluidsynth",
                                                             chorus=False, program=0), font)


def render_score(score: Any, sample_rate: int, min_seconds: float = 0.0, tail_s: float = 1.0) -> np.ndarray:
    """A MIDI score (:class:`mirctl.io.midi.MidiScore`) played on the default font's piano,
    at least ``min_seconds`` long; float32 (2, n)."""
    return render_midi(score, sample_rate, min_seconds, tail_s)


def render_midi(midi: Any, sample_rate: int, min_seconds: float = 0.0, tail_s: float = 1.0) -> np.ndarray:
    """A MIDI file's content (a :class:`mirctl.io.midi.MidiScore` or a ``mido.MidiFile``)
    played with the default font, at least ``min_seconds`` long; float32 (2, n)."""
    import io

    import numpy as np

    from mirctl.io.midi_events import events_from_bytes

    if hasattr(midi, "to_bytes"):
        data = midi.to_bytes()
    else:
        buf = io.BytesIO()
        midi.save(file=buf)
        data = buf.getvalue()
    events = events_from_bytes(data)
    renderer = default_renderer(sample_rate)
    frames = int(round(max(min_seconds, (events.last_note_off_s + tail_s) if events.notes else 0.0) * sample_rate))
    return renderer.render(events.events, frames) if events.notes else np.zeros((2, max(frames, 1)), np.float32)


def _extensions() -> tuple[str, ...]:
    from mirctl.io.midi import MIDI_EXTENSIONS

    return MIDI_EXTENSIONS


TASK = Rendering(name="render", ref=f"{__name__}:TASK", input_kind="midi", extensions=_extensions(),
                 default_template="{track}.{ext}", template_fields=("stem", "ext"), per_item_slots=True)
