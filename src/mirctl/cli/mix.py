"""``mirctl mix``: a folder of stems to one balanced, mastered mix (pedalboard effects)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mirctl.cli.common import Bits, Common, Fmt, execute, guarded, param_option, runner_command
from mirctl.resources import setting
from mirctl.tasks.mix import Params as P

EPILOG = """Examples:

  mirctl mix stems/song/                              song.wav at -14 LUFS, -1 dBTP in ./mirctl_out/mix/

  mirctl mix mirctl_out/separate/htdemucs/ -r         every stem folder below (what `separate` wrote)

  mirctl mix --stems vox.wav gtr.wav bass.wav         three files as one stem set

  mirctl mix song/ --preset karaoke                   no vocals (or: --gain vocals=-inf, --mute vocals)

  mirctl mix song/ --solo bass --solo drums           a rhythm-section practice track

  mirctl mix song/ --reference pro_master.wav         match a finished track's loudness and tone

  mirctl mix song/ --preset flat --bits 32f           the plain sum: rebuilds what `separate` split

Presets (configs/mix/*.toml): default, karaoke (vocals muted), vocal-up (+3 LU vocals),
instrumental, flat (no processing, no loudness change), or a .toml of your own. Stem roles
come from file names (vocals, drums, bass, piano, guitar, …; configs/mix/roles.toml); a
mixture.wav beside the stems (MUSDB18) is left out. NAME in --gain/--mute/--solo is a stem
(file name) or a role. Effects are pedalboard's (GPLv3; the `mix` extra).
"""


@runner_command(model=False)
def mix(
    inputs: Annotated[Optional[list[str]], typer.Argument(
        help="Folders of stems (-r: every stem folder below), or with --stems the stem files of one set.",
        show_default=False)] = None,
    stems: Annotated[bool, typer.Option("--stems", help="The inputs are the stem files of one set, not folders.",
                                        show_default=False)] = False,
    preset: Annotated[Optional[str], param_option(P, "preset", "--preset", "-p")] = None,
    target_lufs: Annotated[Optional[float], param_option(P, "target_lufs", "--target-lufs", metavar="LUFS")] = None,
    true_peak: Annotated[Optional[float], param_option(P, "true_peak", "--true-peak", metavar="DBTP")] = None,
    gain: Annotated[Optional[list[str]], param_option(P, "gains", "--gain", metavar="NAME=DB",
                                                      show_default=False)] = None,
    mute: Annotated[Optional[list[str]], param_option(P, "mute", "--mute", metavar="NAME", show_default=False)] = None,
    solo: Annotated[Optional[list[str]], param_option(P, "solo", "--solo", metavar="NAME", show_default=False)] = None,
    reference: Annotated[Optional[str], param_option(P, "reference", "--reference", metavar="FILE")] = None,
    save_stems: Annotated[bool, param_option(P, "save_stems", "--save-stems", show_default=False)] = False,
    plot: Annotated[bool, param_option(P, "plot", "--plot", show_default=False)] = False,
    sample_rate: Annotated[Optional[int], param_option(P, "sample_rate", "--sample-rate", "--sr")] = None,
    fmt: Annotated[Optional[Fmt], param_option(P, "format", "--format")] = None,
    bits: Annotated[Optional[Bits], param_option(P, "bits")] = None,
    mp3_bitrate: Annotated[Optional[int], param_option(P, "mp3_bitrate", min=32, max=320)] = None,
    run: Common = Common(),
) -> None:
    """Mix a stem set into one balanced, mastered track at a loudness target; remix, mute, match a reference.

    Default layout: OUT/{track}.{ext} ({track}: the stem folder's name); with --save-stems
    OUT/{track}/mix.{ext} and OUT/{track}/{stem}.{ext}.
    """
    from mirctl.cli.common import fail_usage
    from mirctl.tasks import mix as task

    cmd = "mix"
    args = list(inputs or [])
    if stems and not args:
        fail_usage("--stems needs the stem files, e.g. mirctl mix --stems vocals.wav drums.wav bass.wav")

    def build() -> tuple:
        params = task.Params(
            preset=setting(cmd, "preset", preset), target_lufs=target_lufs,
            true_peak=setting(cmd, "true_peak", true_peak), gains=tuple(gain or ()), mute=tuple(mute or ()),
            solo=tuple(solo or ()), reference=reference, save_stems=save_stems, plot=plot, sample_rate=sample_rate,
            format=setting(cmd, "format", fmt.value if fmt else None), bits=setting(cmd, "bits", bits.value if bits else None),
            mp3_bitrate=setting(cmd, "mp3_bitrate", mp3_bitrate),
        )
        task.TASK.validate(params)
        return params, setting(cmd, "stems_filename" if save_stems else "filename")

    params, template = guarded(build)
    if stems:
        execute(task.TASK, params, [], run, template=template, stems=tuple(args))
    else:
        execute(task.TASK, params, args, run, template=template)
