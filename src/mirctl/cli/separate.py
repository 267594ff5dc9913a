"""``mirctl separate``: split songs into stems (demucs, or the weight-free hpss/repet)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Bits, Common, Fmt, execute, guarded, param_option, runner_command
from mirctl.resources import setting
from mirctl.tasks.separation import Params as P

EPILOG = """Examples:

  mirctl separate song.wav                         4 stems with htdemucs into ./mirctl_out/separate/htdemucs/song/

  mirctl separate album/ -r --two-stems vocals     vocals + no_vocals for every song under album/

  find . -name '*.flac' | mirctl separate - --model hpss --format flac --json > report.jsonl

  mirctl separate mix.wav --model-path ~/weights --model 955717e8 --shifts 0   a local demucs checkpoint

Weights download once into the cache (see `mirctl models info htdemucs`); offline, put the files
there or pass --model-path. `--model hpss` and `--model repet` need no weights at all.
"""


class Clip(str, Enum):
    rescale = "rescale"
    clamp = "clamp"
    none = "none"


@runner_command()
def separate(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs; '-' reads paths from stdin.")],
    model: Annotated[Optional[str], param_option(P, "model", "--model", "-n")] = None,
    stems: Annotated[Optional[str], param_option(P, "stems")] = None,
    two_stems: Annotated[Optional[str], param_option(P, "two_stems", metavar="STEM")] = None,
    shifts: Annotated[Optional[int], param_option(P, "shifts")] = None,
    seed: Annotated[Optional[int], param_option(P, "seed")] = None,
    overlap: Annotated[Optional[float], param_option(P, "overlap")] = None,
    segment: Annotated[Optional[float], param_option(P, "segment")] = None,
    chunk: Annotated[Optional[float], param_option(P, "chunk_s", "--chunk")] = None,
    clip: Annotated[Optional[Clip], param_option(P, "clip")] = None,
    fmt: Annotated[Optional[Fmt], param_option(P, "format", "--format")] = None,
    bits: Annotated[Optional[Bits], param_option(P, "bits")] = None,
    mp3_bitrate: Annotated[Optional[int], param_option(P, "mp3_bitrate", min=32, max=320)] = None,
    eval_dir: Annotated[Optional[Path], param_option(P, "eval_dir", "--eval", metavar="REFDIR")] = None,
    run: Common = Common(),
) -> None:
    """Split each song into stems (vocals, drums, bass, other…).

    Default layout: OUT/{model}/{track}/{stem}.{ext}, like demucs.
    """
    from mirctl.tasks import separation as task

    cmd = "separate"

    def build() -> tuple:
        params = task.Params(
            model=setting(cmd, "model", model), model_path=run.model_path,
            stems=tuple(s.strip() for s in stems.split(",") if s.strip()) if stems else (),
            two_stems=two_stems, shifts=setting(cmd, "shifts", shifts), overlap=setting(cmd, "overlap", overlap),
            segment=segment, clip=setting(cmd, "clip", clip.value if clip else None),
            format=setting(cmd, "format", fmt.value if fmt else None), bits=setting(cmd, "bits", bits.value if bits else None),
            mp3_bitrate=setting(cmd, "mp3_bitrate", mp3_bitrate), seed=seed,
            eval_dir=eval_dir, chunk_s=setting(cmd, "chunk", chunk),
        )
        task.TASK.validate(params)
        return params, setting(cmd, "filename")

    params, template = guarded(build)  # a bad config file or option is a usage error, not a traceback
    execute(task.TASK, params, inputs, run, template=template)
