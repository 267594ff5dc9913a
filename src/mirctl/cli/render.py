"""``mirctl render``: MIDI to audio with a General MIDI SoundFont (FluidSynth or TinySoundFont)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Bits, Common, Fmt, execute, guarded, param_option, runner_command
from mirctl.resources import setting
from mirctl.tasks.render import Params as P

EPILOG = """Examples:

  mirctl render song.mid                              song.wav in ./mirctl_out/render/

  mirctl render generated/ --normalize lufs -j 2      every MIDI of a folder at -14 LUFS, two workers

  mirctl render song.mid --stems                      song/piano.wav, song/bass.wav, song/drums.wav …

  mirctl render song.mid --stems -o stems && mirctl mix stems/song    stems for `mix`

  mirctl render melody.mid --program 0 --soundfont fluidr3-gm        all on a grand piano

  mirctl render song.mid --synth tinysoundfont        no FluidSynth library needed

SoundFonts: `mirctl models list --task soundfont` shows the fonts found and the default
(FluidR3_GM or MuseScore General when installed, else TimGM6mb from the pretty_midi wheel).
Stems are rendered one by one with the same settings; their sum is the full render up to
the synth's own voice interactions (README: Rendering). A MIDI whose notes render to
silence fails with the reason; a MIDI without notes gives a --tail-long silent file.
"""


class Synth(str, Enum):
    fluidsynth = "fluidsynth"
    tinysoundfont = "tinysoundfont"


class Normalize(str, Enum):
    peak = "peak"
    lufs = "lufs"


@runner_command(model=False)
def render(
    inputs: Annotated[list[str], typer.Argument(help="MIDI files, folders or globs; '-' reads paths from stdin.")],
    soundfont: Annotated[Optional[str], param_option(P, "soundfont", "--soundfont", "-f")] = None,
    synth: Annotated[Optional[Synth], param_option(P, "synth")] = None,
    stems: Annotated[bool, param_option(P, "stems", "--stems", show_default=False)] = False,
    sample_rate: Annotated[Optional[int], param_option(P, "sample_rate", "--sample-rate", "--sr")] = None,
    gain: Annotated[float, param_option(P, "gain_db", "--gain", metavar="DB")] = 0.0,
    normalize: Annotated[Optional[Normalize], param_option(P, "normalize")] = None,
    target: Annotated[Optional[float], param_option(P, "target")] = None,
    reverb: Annotated[Optional[bool], param_option(P, "reverb", "--reverb/--no-reverb")] = None,
    chorus: Annotated[Optional[bool], param_option(P, "chorus", "--chorus/--no-chorus")] = None,
    tail: Annotated[Optional[float], param_option(P, "tail_s", "--tail", metavar="SECONDS")] = None,
    program: Annotated[Optional[int], param_option(P, "program")] = None,
    fmt: Annotated[Optional[Fmt], param_option(P, "format", "--format")] = None,
    bits: Annotated[Optional[Bits], param_option(P, "bits")] = None,
    mp3_bitrate: Annotated[Optional[int], param_option(P, "mp3_bitrate", min=32, max=320)] = None,
    run: Common = Common(),
) -> None:
    """Render MIDI files to audio with a SoundFont, whole or one stem per instrument.

    Default layout: OUT/{track}.{ext}; with --stems OUT/{track}/{stem}.{ext}.
    """
    from mirctl.tasks import render as task

    cmd = "render"

    def build() -> tuple:
        params = task.Params(
            soundfont=setting(cmd, "soundfont", soundfont), synth=setting(cmd, "synth", synth.value if synth else None),
            sample_rate=setting(cmd, "sample_rate", sample_rate), gain_db=gain, reverb=reverb, chorus=chorus,
            tail_s=setting(cmd, "tail", tail), program=program, stems=stems,
            normalize=normalize.value if normalize else None, target=target,
            format=setting(cmd, "format", fmt.value if fmt else None), bits=setting(cmd, "bits", bits.value if bits else None),
            mp3_bitrate=setting(cmd, "mp3_bitrate", mp3_bitrate),
        )
        task.TASK.validate(params)
        return params, setting(cmd, "stems_filename" if stems else "filename")

    params, template = guarded(build)  # a bad config file or option is a usage error, not a traceback
    execute(task.TASK, params, inputs, run, template=template)
