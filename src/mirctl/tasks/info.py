"""``mirctl info``: describe audio (duration, rate, channels, LUFS, peak) and MIDI files.

Loudness is ITU-R BS.1770-4 integrated loudness (:mod:`mirctl.loudness`); peak is the sample peak in
dBFS. For MIDI: tracks, instruments, notes, tempo, duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from mirctl.pipeline.task import OutputSlot, Task
from mirctl.types import AudioSource, ImageOut, MidiSource, TaskResult


@dataclass(frozen=True)
class Params:
    plot: bool = False


def describe_audio(src: AudioSource) -> dict[str, Any]:
    import numpy as np

    from mirctl.io.audio import integrated_loudness

    from mirctl.io.audio import level_flags

    wav, sr = src.wav, src.sr
    peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    flags = level_flags(wav)
    return {
        "type": "audio",
        "format": src.file_format,
        "subtype": src.subtype,
        "duration_s": round(wav.shape[1] / sr, 6),
        "sample_rate": sr,
        "channels": int(wav.shape[0]),
        "frames": int(wav.shape[1]),
        "loudness_lufs": integrated_loudness(wav, sr),
        "peak_dbfs": 20 * float(np.log10(peak)) if peak > 0 else None,
        "clipped": flags["clipped"],
        "out_of_range": flags["out_of_range"],
    }


def describe_midi(src: MidiSource) -> dict[str, Any]:
    pm, header = src.midi, src.header
    _, tempi = pm.get_tempo_changes()
    instruments = [
        {"name": inst.name, "program": inst.program, "is_drum": inst.is_drum, "notes": len(inst.notes)}
        for inst in pm.instruments
    ]
    pitches = [n.pitch for inst in pm.instruments for n in inst.notes]
    return {
        "type": "midi",
        "midi_type": header.type,
        "tracks": header.tracks,
        "ticks_per_beat": header.ticks_per_beat,
        "instruments": instruments,
        "notes": len(pitches),
        "pitch_range": [min(pitches), max(pitches)] if pitches else None,
        "tempo_bpm": round(float(tempi[0]), 3) if len(tempi) else 120.0,
        "tempo_changes": len(tempi),
        "time_signatures": [f"{ts.numerator}/{ts.denominator}" for ts in pm.time_signature_changes],
        "duration_s": round(float(pm.get_end_time()), 6),
    }


def info(source: AudioSource | MidiSource, params: Params) -> TaskResult:
    """Describe one input; with ``params.plot`` also a waveform or piano-roll picture."""
    from mirctl import viz
    from mirctl.io.notes import notes_from_midi

    name = getattr(source.path, "name", str(source.path))
    if isinstance(source, MidiSource):
        data = describe_midi(source)
        picture = partial(viz.render_pianoroll, notes=notes_from_midi(source.midi), title=name)
    else:
        data = describe_audio(source)
        picture = partial(viz.render_waveform, wav=source.wav, sr=source.sr, title=name)
    outputs = {"plot": ImageOut(render=lambda path: picture(path))} if params.plot else {}
    return TaskResult(outputs=outputs, data=data)


class Info(Task[Params]):
    def slots(self, params: Params) -> list[OutputSlot]:
        return [OutputSlot("plot", {"output": "plot", "ext": "png"})] if params.plot else []

    def process(self, model: Any, source: Any, params: Params, progress: Any) -> TaskResult:
        return info(source, params)


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS
    from mirctl.io.midi import MIDI_EXTENSIONS

    return AUDIO_EXTENSIONS + MIDI_EXTENSIONS


TASK = Info(name="info", ref=f"{__name__}:TASK", input_kind="media", extensions=_extensions(),
            default_template="{track}.{ext}")
