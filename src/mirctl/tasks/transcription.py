"""Transcription: audio in, notes out (``notes`` mode, basic-pitch) or an f0 melody
(``melody`` mode, pYIN).

Notes mode mirrors basic-pitch's ``predict``: mono mixdown, soxr-HQ resampling to
22050 Hz, 2 s windows with 30 frames of overlap, the same note decoding
(:mod:`mirctl.tasks.note_decoding`) and MIDI writing (one "Electric Piano 1" track,
pitch bends dropped from overlapping notes unless ``multiple_pitch_bends``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

from mirctl.errors import UsageError
from mirctl.io.midi import MidiScore, MidiTrack
from mirctl.options import option
from mirctl.pipeline.task import EvalRequest, OutputSlot, Task
from mirctl.types import ArraysOut, AudioOut, AudioSource, ImageOut, MidiOut, Note, TaskResult, TextOut

OUTPUT_KINDS = {"midi": "mid", "csv": "csv", "npz": "npz", "sonify": "wav", "plot": "png"}
MODES = ("notes", "melody")
ELECTRIC_PIANO_1 = 4  # General MIDI program number basic-pitch writes
MIN_TEMPO = 3.6  # BPM: a MIDI tempo is at most 2**24 - 1 microseconds per beat


@dataclass(frozen=True)
class DecodeParams:
    """basic-pitch's note decoding options (its ``predict`` defaults)."""

    onset_threshold: float = option(0.5, "Minimum onset activation to start a note.", config="onset_threshold")
    frame_threshold: float = option(0.3, "Minimum frame activation to keep a note on.", config="frame_threshold")
    min_note_ms: float = option(127.70, "Shortest note kept, in ms.", config="min_note_ms")
    min_freq: float | None = option(None, "Ignore notes below this frequency (Hz).")
    max_freq: float | None = option(None, "Ignore notes above this frequency (Hz).")
    melodia_trick: bool = option(True, "Apply the melodia post-processing step.")
    infer_onsets: bool = True
    pitch_bends: bool = True

    @property
    def min_note_frames(self) -> int:
        return int(round(self.min_note_ms / 1000 * (22050 / 256)))  # frames at basic-pitch's 22050 / 256 Hz


@dataclass(frozen=True)
class Params:
    mode: str = option("notes", "notes: polyphonic note events; melody: monophonic f0.")
    model: str = option("basic-pitch", "Notes model card.", config="model")
    melody_model: str = option("pyin", "Melody (f0) model: pyin (weight-free), crepe-tiny or crepe-full.",
                               config="melody_model")
    outputs: tuple[str, ...] = option(("midi",), "Comma-separated: midi,csv,npz,sonify,plot.", config="outputs")
    decode: DecodeParams = field(default_factory=DecodeParams)
    multiple_pitch_bends: bool = option(False, "Keep pitch bends on overlapping notes (one MIDI track per pitch).")
    midi_tempo: float = option(120.0, "Tempo written to the MIDI file (BPM).", config="midi_tempo")
    sonify_sr: int = 44100
    eval_ref: Path | None = option(None, "Reference .mid/.csv, or a folder with <track>.mid|.csv: adds note "
                                         "P/R/F1 (mir_eval).")


def validate(params: Params) -> None:
    if params.mode not in MODES:
        raise UsageError(f"--mode {params.mode!r} is not one of {', '.join(MODES)}")
    unknown = [o for o in params.outputs if o not in OUTPUT_KINDS]
    if unknown or not params.outputs:
        raise UsageError(f"--outputs: unknown kind(s) {', '.join(unknown) or '(none given)'}",
                         hint="choose from " + ", ".join(OUTPUT_KINDS))
    d = params.decode
    for name, value in (("--onset-threshold", d.onset_threshold), ("--frame-threshold", d.frame_threshold)):
        if not 0 < value <= 1:
            raise UsageError(f"{name} must be in (0, 1], got {value}")
    if d.min_note_ms < 0:
        raise UsageError("--min-note-ms must not be negative")
    if d.min_freq is not None and d.max_freq is not None and d.min_freq >= d.max_freq:
        raise UsageError("--min-freq must be below --max-freq")
    if not params.midi_tempo >= MIN_TEMPO:
        raise UsageError(f"--midi-tempo must be at least {MIN_TEMPO} BPM (the slowest a MIDI file can store)")


# --- notes mode -----------------------------------------------------------------------


def model_input(wav: Any, sr: int) -> Any:
    """Mono float32 at 22050 Hz, exactly as basic-pitch prepares audio (librosa.load)."""
    import numpy as np
    import soxr

    from mirctl.dsp import to_mono
    from mirctl.tasks.note_decoding import SR

    mono = to_mono(wav)
    if sr == SR:
        return mono
    out = soxr.resample(mono, sr, SR, quality="soxr_hq")
    n = int(np.ceil(mono.size * SR / sr))
    return np.pad(out, (0, max(0, n - out.size)))[:n].astype(np.float32)


def posteriorgrams(mono_22k: Any, model: Callable[[Any], dict]) -> dict[str, Any]:
    """Run the model over overlapping windows and stitch: {note, onset, contour} (frames, bins)."""
    from mirctl.tasks.note_decoding import frame_windows, stitch

    raw = model(frame_windows(mono_22k))
    return {k: stitch(v, mono_22k.size) for k, v in raw.items()}


def notes_from_posteriorgrams(out: dict[str, Any], p: DecodeParams) -> list[Note]:
    import numpy as np

    from mirctl.tasks.note_decoding import decode_notes, frame_times, pitch_bends

    events = decode_notes(out["note"], out["onset"], p)
    bends = pitch_bends(out["contour"], events) if p.pitch_bends else [None] * len(events)
    times = frame_times(out["contour"].shape[0])
    return [Note(float(times[s]), float(times[e]), int(pitch), int(np.round(127 * amp)), float(amp),
                 tuple(b) if b else None)
            for (s, e, pitch, amp), b in zip(events, bends)]


def _without_overlapping_bends(notes: list[Note]) -> list[Note]:
    """Sort by onset and clear pitch bends of notes that overlap another (MIDI has one
    bend per channel)."""
    ordered = sorted(notes, key=lambda n: (n.start_s, n.end_s, n.pitch, n.amplitude))
    clear = [False] * len(ordered)
    for i in range(len(ordered) - 1):
        for j in range(i + 1, len(ordered)):
            if ordered[j].start_s >= ordered[i].end_s:
                break
            clear[i] = clear[j] = True
    return [Note(n.start_s, n.end_s, n.pitch, n.velocity, n.amplitude, None) if c else n
            for n, c in zip(ordered, clear)]


def notes_to_midi(notes: list[Note], tempo_bpm: float = 120.0, multiple_pitch_bends: bool = False,
                  program: int = ELECTRIC_PIANO_1) -> MidiScore:
    """The notes as basic-pitch writes them: one track (or one per pitch with
    ``multiple_pitch_bends``), pitch bends in a ±2 semitone range spread over each note."""
    import numpy as np

    if not multiple_pitch_bends:
        notes = _without_overlapping_bends(notes)
    tracks: dict[int, MidiTrack] = {}
    for n in notes:
        track = tracks.setdefault(n.pitch if multiple_pitch_bends else 0, MidiTrack(program))
        track.notes.append((n.start_s, n.end_s, n.pitch, n.velocity))
        if n.bends:
            values = np.clip(np.round(np.array(n.bends) * 4096 / 3).astype(int), -8192, 8191)
            times = np.linspace(n.start_s, n.end_s, len(n.bends))
            track.bends.extend((float(t), int(v)) for t, v in zip(times, values))
    return MidiScore(tempo_bpm, list(tracks.values()))


# --- melody mode ----------------------------------------------------------------------


def f0_to_notes(times: Any, f0_hz: Any, voiced: Any, min_note_s: float = 0.06) -> list[Note]:
    """Segment a voiced f0 contour into notes: a new note starts where the rounded MIDI
    pitch changes; segments shorter than ``min_note_s`` are dropped."""
    import numpy as np

    if len(times) < 2:
        return []
    hop = float(times[1] - times[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        midi = np.where(voiced & (f0_hz > 0), 69 + 12 * np.log2(np.maximum(f0_hz, 1e-9) / 440.0), np.nan)
    pitch = np.where(np.isnan(midi), -1, np.round(np.nan_to_num(midi, nan=-1))).astype(int)
    notes, start = [], 0
    for i in range(1, len(pitch) + 1):
        if i == len(pitch) or pitch[i] != pitch[start]:
            if pitch[start] >= 0 and (i - start) * hop >= min_note_s:
                notes.append(Note(float(times[start]), float(times[start] + (i - start) * hop), int(pitch[start]), 100))
            start = i
    return notes


def f0_csv(track: dict[str, Any]) -> str:
    lines = ["time_s,f0_hz,voiced,confidence"]
    for t, f, v, c in zip(track["time_s"], track["f0_hz"], track["voiced"], track["confidence"]):
        lines.append(f"{t:.6f},{f:.4f},{int(bool(v))},{0.0 if math.isnan(c) else c:.4f}")
    return "\n".join(lines) + "\n"


# --- shared ---------------------------------------------------------------------------


def sonify(notes: list[Note], params: Params, duration_s: float) -> Any:
    """The transcription played on a SoundFont piano (``mirctl render``'s synth and default
    font), as long as the input at least."""
    from mirctl.tasks.render import render_score

    score = notes_to_midi(notes, params.midi_tempo, params.multiple_pitch_bends, program=0)
    return render_score(score, params.sonify_sr, duration_s)


def transcribe(source: AudioSource, model: Any, params: Params,
               progress: Callable[[float], None] | None = None) -> TaskResult:
    """Transcribe one input; returns artifacts for ``params.outputs`` and note statistics."""
    from mirctl import viz
    from mirctl.io.notes import notes_to_csv
    from mirctl.tasks.note_decoding import SR, frame_times

    mono = model_input(source.wav, source.sr)
    if params.mode == "notes":
        out = posteriorgrams(mono, model)
        if progress:
            progress(0.7)
        notes = notes_from_posteriorgrams(out, params.decode)
        arrays = {**out, "frame_times_s": frame_times(out["note"].shape[0])}
    else:
        track = model(mono, SR)
        notes = f0_to_notes(track["time_s"], track["f0_hz"], track["voiced"])
        arrays = dict(track)
    ordered = sorted(notes, key=lambda n: (n.start_s, n.pitch))
    builders = {  # only the requested outputs are built
        "midi": lambda: MidiOut(notes_to_midi(notes, params.midi_tempo, params.multiple_pitch_bends)),
        "csv": lambda: TextOut(notes_to_csv(ordered) if params.mode == "notes" else f0_csv(track)),
        "npz": lambda: ArraysOut(arrays),
        "sonify": lambda: AudioOut(sonify(notes, params, source.wav.shape[1] / source.sr), params.sonify_sr),
        "plot": lambda: ImageOut(partial(viz.render_pianoroll, notes=ordered, mono=mono, sr=SR,
                                         title=f"{Path(str(source.path)).name}: {len(notes)} notes")),
    }
    outputs = {kind: builders[kind]() for kind in params.outputs}
    pitches = [n.pitch for n in notes]
    data: dict[str, Any] = {"mode": params.mode, "notes": len(notes), "duration_s": source.wav.shape[1] / source.sr,
                            "pitch_range": [min(pitches), max(pitches)] if pitches else None}
    return TaskResult(outputs=outputs, data=data, estimate=notes)


class Transcription(Task[Params]):
    """``mirctl transcribe``: one audio file in, notes (MIDI, CSV…) or an f0 melody out."""

    def validate(self, params: Params) -> None:
        validate(params)

    def slots(self, params: Params) -> list[OutputSlot]:
        return [OutputSlot(kind, {"output": kind, "ext": OUTPUT_KINDS[kind]}) for kind in params.outputs]

    def model_name(self, params: Params) -> str:
        return params.model if params.mode == "notes" else params.melody_model

    def load(self, params: Params, ctx: Any) -> Any:
        from mirctl import models

        task = "transcribe" if params.mode == "notes" else "melody"
        return models.load(models.get_card(self.model_name(params), task=task), ctx)

    def process(self, model: Any, source: AudioSource, params: Params, progress: Callable[[float], None]) -> TaskResult:
        return transcribe(source, model, params, progress)

    def eval_request(self, params: Params) -> EvalRequest | None:
        """``--eval REF``: a .mid/.csv file used for every input, or a folder holding
        <track>.mid, <track>.midi or <track>.csv."""
        if params.eval_ref is None:
            return None
        return EvalRequest(Path(params.eval_ref), (".mid", ".midi", ".csv"), evaluation="transcription")


def _extensions() -> tuple[str, ...]:
    from mirctl.io.audio import AUDIO_EXTENSIONS

    return AUDIO_EXTENSIONS


TASK = Transcription(name="transcribe", ref=f"{__name__}:TASK", input_kind="audio", extensions=_extensions(),
                     default_template="{track}.{ext}")
