"""``mirctl tag``: music auto-tagging with the musicnn / VGG taggers (ported to torch)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, guarded, param_option, runner_command
from mirctl.resources import setting
from mirctl.tasks.tagging import Params as P

EPILOG = """Examples:

  mirctl tag song.mp3                                 the 5 best MagnaTagATune tags, on screen

  mirctl tag music/ -r --csv tags.csv                 every file below, all 50 scores per row

  mirctl tag song.wav --model musicnn-msd --top-k 10  last.fm tags (genres, eras, moods)

  mirctl tag clips/ --threshold 0.3,piano=0.2 --json  multi-label decisions in "tags"

  mirctl tag song.wav --timeline csv --plot           the taggram (tags per 3 s) and its picture

  mirctl tag clips/ --embeddings                      penultimate-layer features per 3 s (.npz)

Models (`mirctl models list --task tag`): musicnn-mtt (default), musicnn-msd, vgg-mtt,
vgg-msd — Pons & Serra's musicnn weights (ISC), shipped with mirctl; nothing is
downloaded and no TensorFlow is needed. Audio is tagged in 3 s patches at 16 kHz mono; a
file's scores are the mean over its patches; a file shorter than 3 s is repeated to fill one.
"""


class Timeline(str, Enum):
    csv = "csv"
    npz = "npz"


@runner_command()
def tag(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs; '-' reads paths from stdin.")],
    model: Annotated[Optional[str], param_option(P, "model", "--model", "-m")] = None,
    top_k: Annotated[Optional[int], param_option(P, "top_k", "--top-k", "-k")] = None,
    threshold: Annotated[Optional[str], param_option(P, "threshold", "--threshold", metavar="SCORE|TAG=SCORE,…")] = None,
    timeline: Annotated[Optional[Timeline], param_option(P, "timeline")] = None,
    plot: Annotated[bool, param_option(P, "plot", "--plot", show_default=False)] = False,
    embeddings: Annotated[bool, param_option(P, "embeddings", "--embeddings", show_default=False)] = False,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write every file's scores (one row per file, a column "
                                                              "per tag) to this CSV.", metavar="FILE")] = None,
    run: Common = Common(),
) -> None:
    """Tag music: genres, instruments, moods and voice, per file and over time.

    Files written only with --timeline/--plot/--embeddings: OUT/{track}.{output}.{ext}.
    """
    from mirctl.tasks import tagging as task

    cmd = "tag"

    def build() -> P:
        params = task.Params(model=setting(cmd, "model", model), top_k=setting(cmd, "top_k", top_k),
                             threshold=threshold, timeline=timeline.value if timeline else None, plot=plot,
                             embeddings=embeddings)
        task.TASK.validate(params)
        return params

    params = guarded(build)
    execute(task.TASK, params, inputs, run, template=setting(cmd, "filename"), table=csv)
