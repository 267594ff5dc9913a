"""``mirctl tag``: music auto-tagging with the musicnn / VGG taggers (ported to torch)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, guarded, param_option, runner_command
from mirctl.cli.trainer import ClipOptions, TrainCommon, clip_options, execute_training, trainer_command
from mirctl.resources import setting
from mirctl.tasks.tagging import Params as P

EPILOG = """Examples:

  mirctl tag song.mp3                                 the 5 best MagnaTagATune tags, on screen

  mirctl tag music/ -r --csv tags.csv                 every file below, all 50 scores per row

  mirctl tag song.wav --model musicnn-msd --top-k 10  last.fm tags (genres, eras, moods)

  mirctl tag clips/ --threshold 0.3,piano=0.2 --json  multi-label decisions in "tags"

  mirctl tag song.wav --timeline csv --plot           the taggram (tags per 3 s) and its picture

  mirctl tag clips/ --embeddings                      penultimate-layer features per 3 s (.npz)

  mirctl tag test/ --model taggers/run1               a `mirctl train tag` checkpoint; "tags" at its tuned thresholds

Models (`mirctl models list --task tag`): musicnn-mtt (default), musicnn-msd, vgg-mtt,
vgg-msd — Pons & Serra's musicnn weights (ISC), shipped with mirctl; nothing is
downloaded and no TensorFlow is needed. Audio is tagged in 3 s patches at 16 kHz mono; a
file's scores are the mean over its patches; a file shorter than 3 s is repeated to fill one.
"""


def _describe(record: dict) -> str | None:
    """The top tags under a file's status line (and its multi-label decisions)."""
    from rich.markup import escape

    from mirctl.cli.reporting import top_line

    r = record.get("result") or {}
    if not r.get("top"):
        return None
    text = top_line(r["top"])
    if "tags" in r:
        text += (f"\n        tags ({r['thresholds']} thresholds): "
                 + (escape(", ".join(r["tags"])) if r["tags"] else "[dim]none[/]"))
    return text


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
    execute(task.TASK, params, inputs, run, template=setting(cmd, "filename"), table=csv, describe=_describe)


TRAIN_EPILOG = """Examples:

  mirctl train tag --data clips/ --out taggers/run1
  mirctl train tag --data hw1/ --labels train.csv --npy-sr 24000 -o taggers/hw1
  mirctl train tag --data clips/ --features musicnn -o taggers/head
  mirctl tag test/ --model taggers/run1 --csv preds.csv

The labels table: one row per clip, a path column (relative to --data), one 0/1 column
per tag (or one `tags` column: piano;bass), optional `split` (train/valid/test) and
`group` (clips of one song: never on both sides of the split) columns. Clips are audio
files or .npy sample arrays (--npy-sr). Each clip is cut into 3 s windows at 16 kHz mono,
as `mirctl tag` cuts files. The checkpoint folder (--out) holds model.safetensors and
card.json: tags, per-tag thresholds tuned on validation for the best F1, features and
validation figures, and `mirctl tag --model DIR` uses those thresholds for its "tags" unless
--threshold is given. --features musicnn trains a head on the frozen pretrained
tagger's embeddings: seconds on a CPU, and the strong baseline on small data.
"""


def train_tag(clip: ClipOptions = ClipOptions(), train: TrainCommon = TrainCommon()) -> None:
    """Train a multi-label tagger on your clips (per-tag thresholds tuned on validation)."""
    from mirctl.tasks import tag_training as task

    execute_training(task.TRAINABLE, task.Params(**clip.params()), train)


train_tag = clip_options()(trainer_command()(train_tag))
train_tag.epilog = TRAIN_EPILOG  # type: ignore[attr-defined]
