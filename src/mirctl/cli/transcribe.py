"""``mirctl transcribe``: audio to MIDI (basic-pitch via ONNX) or to an f0 melody (pYIN)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, guarded, param_option, runner_command
from mirctl.resources import setting
from mirctl.tasks.transcription import DecodeParams as D
from mirctl.tasks.transcription import Params as P

EPILOG = """Examples:

  mirctl transcribe piano.wav                          piano.mid in ./mirctl_out/transcribe/

  mirctl transcribe takes/ --outputs midi,csv,plot     notes, a note CSV and a piano roll per file

  mirctl transcribe song.wav --eval song_ref.mid --json | jq .result.eval.onset.f1

  mirctl transcribe voice.wav --mode melody --outputs csv,midi    f0 contour (pYIN) and a melody MIDI

  mirctl transcribe voice.wav --mode melody --melody-model crepe-full   the neural CREPE tracker

Outputs (--outputs): midi (.mid), csv (notes, or f0 in melody mode), npz (raw model outputs),
sonify (.wav of the transcription), plot (.png piano roll over the spectrogram).
"""


class Mode(str, Enum):
    notes = "notes"
    melody = "melody"


@runner_command()
def transcribe(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs; '-' reads paths from stdin.")],
    mode: Annotated[Mode, param_option(P, "mode", show_default=True)] = Mode.notes,
    model: Annotated[Optional[str], param_option(P, "model", "--model", "-n")] = None,
    melody_model: Annotated[Optional[str], param_option(P, "melody_model")] = None,
    outputs: Annotated[Optional[str], param_option(P, "outputs")] = None,
    onset_threshold: Annotated[Optional[float], param_option(D, "onset_threshold")] = None,
    frame_threshold: Annotated[Optional[float], param_option(D, "frame_threshold")] = None,
    min_note_ms: Annotated[Optional[float], param_option(D, "min_note_ms")] = None,
    min_freq: Annotated[Optional[float], param_option(D, "min_freq")] = None,
    max_freq: Annotated[Optional[float], param_option(D, "max_freq")] = None,
    no_melodia_trick: Annotated[bool, typer.Option("--no-melodia-trick", help="Skip the melodia post-processing step.")] = False,
    multiple_pitch_bends: Annotated[bool, param_option(P, "multiple_pitch_bends", "--multiple-pitch-bends",
                                                      show_default=False)] = False,
    midi_tempo: Annotated[Optional[float], param_option(P, "midi_tempo")] = None,
    eval_ref: Annotated[Optional[Path], param_option(P, "eval_ref", "--eval", metavar="REF")] = None,
    run: Common = Common(),
) -> None:
    """Transcribe audio to notes (MIDI, CSV) with basic-pitch, or to an f0 melody with pYIN."""
    from mirctl.tasks import transcription as task

    cmd = "transcribe"

    def build() -> tuple:
        params = task.Params(
            mode=mode.value, model=setting(cmd, "model", model), melody_model=setting(cmd, "melody_model", melody_model),
            outputs=tuple(o.strip() for o in setting(cmd, "outputs", outputs).split(",") if o.strip()),
            decode=D(onset_threshold=setting(cmd, "onset_threshold", onset_threshold),
                     frame_threshold=setting(cmd, "frame_threshold", frame_threshold),
                     min_note_ms=setting(cmd, "min_note_ms", min_note_ms), min_freq=min_freq,
                     max_freq=max_freq, melodia_trick=not no_melodia_trick),
            multiple_pitch_bends=multiple_pitch_bends, midi_tempo=setting(cmd, "midi_tempo", midi_tempo),
            eval_ref=eval_ref,
        )
        task.TASK.validate(params)
        return params, setting(cmd, "filename")

    params, template = guarded(build)  # a bad config file or option is a usage error, not a traceback
    execute(task.TASK, params, inputs, run, template=template)
