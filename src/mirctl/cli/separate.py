"""``mirctl separate``: split songs into stems (demucs, or the weight-free hpss/repet)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, guarded, runner_command
from mirctl.resources import setting

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


class Fmt(str, Enum):
    wav = "wav"
    flac = "flac"
    mp3 = "mp3"


class Bits(str, Enum):
    b16 = "16"
    b24 = "24"
    b32f = "32f"


@runner_command()
def separate(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs; '-' reads paths from stdin.")],
    model: Annotated[Optional[str], typer.Option("--model", "-n", help="Model card (`mirctl models list --task separate`) "
                     "or, with --model-path, a demucs signature.", show_default="htdemucs")] = None,
    stems: Annotated[Optional[str], typer.Option(help="Comma-separated subset of stems to write, e.g. vocals,drums.")] = None,
    two_stems: Annotated[Optional[str], typer.Option(help="Write STEM and no_STEM (the sum of the others).", metavar="STEM")] = None,
    shifts: Annotated[Optional[int], typer.Option(help="Random time shifts averaged (demucs' equivariant trick); 0 is deterministic.", show_default="1")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for the shifts, so shifted runs are reproducible.")] = None,
    overlap: Annotated[Optional[float], typer.Option(help="Overlap between chunks.", show_default="0.25")] = None,
    segment: Annotated[Optional[float], typer.Option(help="Chunk length in seconds (smaller uses less memory).")] = None,
    chunk: Annotated[Optional[float], typer.Option(help="Songs longer than this many seconds are separated in cross-faded chunks, which bounds memory; 0 never chunks.", show_default="60")] = None,
    clip: Annotated[Optional[Clip], typer.Option(help="Avoid clipping by rescaling a stem, clamping, or not at all.", show_default="rescale")] = None,
    fmt: Annotated[Optional[Fmt], typer.Option("--format", help="Output audio format.", show_default="wav")] = None,
    bits: Annotated[Optional[Bits], typer.Option(help="Sample format for wav/flac.", show_default="16")] = None,
    mp3_bitrate: Annotated[Optional[int], typer.Option(min=32, max=320, help="MP3 bitrate in kbit/s.", show_default="320")] = None,
    eval_dir: Annotated[Optional[Path], typer.Option("--eval", help="Folder of true stems (REF/<track>/<stem>.wav or REF/<stem>.wav): adds SDR per stem.", metavar="REFDIR")] = None,
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
