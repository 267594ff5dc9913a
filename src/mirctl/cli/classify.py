"""``mirctl classify`` and ``mirctl train classify``: single-label classification."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, fail_usage, guarded, param_option, runner_command
from mirctl.cli.trainer import ClipOptions, TrainCommon, clip_options, execute_training, trainer_command
from mirctl.resources import setting
from mirctl.tasks.classify import Params as P

EPILOG = """Examples:

  mirctl classify song.mp3                             genre (the pretrained default)

  mirctl classify test/ --model singers/ --submission answer.csv

  mirctl classify test/ --model singers/ --separate vocals --separate-model repet

  mirctl classify notes/ --model families/ --csv preds.csv --aggregate vote

Models: genre (14 genres read off the musicnn MSD tagger's genre tags; offline, shipped
with mirctl), or the checkpoint folder of `mirctl train classify`. A file is classified
from its 3 s patches at 16 kHz mono: the mean probability (or the vote) over them.
--submission writes the homework formats for the whole batch: out.csv (ID,No.1,No.2,No.3)
or out.json ({"ID": ["1st", "2nd", "3rd"]}), IDs being the file names without extension, sorted.
"""


class Aggregate(str, Enum):
    mean = "mean"
    vote = "vote"


def _describe(record: dict) -> str | None:
    from rich.markup import escape

    from mirctl.cli.reporting import top_line

    r = record.get("result") or {}
    if not r.get("top"):
        return None
    what = "votes" if r.get("aggregate") == "vote" else "p"
    text = top_line(r["top"]) + f"  [dim]({what})[/]"
    if r.get("separated"):
        text += f"\n        [dim]{escape(r['separated'])}[/]"
    return text


@runner_command()
def classify(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders or globs; '-' reads paths from stdin.")],
    model: Annotated[Optional[str], param_option(P, "model", "--model", "-m")] = None,
    top_k: Annotated[Optional[int], param_option(P, "top_k", "--top-k", "-k")] = None,
    aggregate: Annotated[Optional[Aggregate], param_option(P, "aggregate")] = None,
    separate: Annotated[Optional[str], param_option(P, "separate", "--separate", metavar="STEM")] = None,
    separate_model: Annotated[Optional[str], param_option(P, "separate_model", "--separate-model")] = None,
    submission: Annotated[Optional[Path], typer.Option("--submission", help="Write the batch's predictions in the "
                                                       "homework format: a .csv (ID,No.1,No.2,No.3) or .json path.",
                                                       metavar="FILE")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write every file's result (label, ranks, "
                                                              "probabilities) as one CSV row.", metavar="FILE")] = None,
    run: Common = Common(),
) -> None:
    """Classify music: genre out of the box, or your own trained classes (singer, instrument…)."""
    from mirctl.tasks import classify as task

    cmd = "classify"
    if submission is not None and submission.suffix.lower() not in (".csv", ".json"):
        fail_usage(f"--submission {submission}: the name must end in .csv or .json",
                   "answer.csv gives ID,No.1,No.2,No.3 rows; answer.json gives {\"ID\": [three labels]}")

    def build() -> P:
        params = task.Params(model=setting(cmd, "model", model), top_k=setting(cmd, "top_k", top_k),
                             aggregate=aggregate.value if aggregate else None, separate=separate,
                             separate_model=setting(cmd, "separate_model", separate_model))
        task.TASK.validate(params)
        return params

    params = guarded(build)
    execute(task.TASK, params, inputs, run, template=setting(cmd, "filename"), table=csv, batch_file=submission,
            describe=_describe)


TRAIN_EPILOG = """Examples:

  mirctl train classify --data families/ --out classifiers/fam      one sub-folder per class
  mirctl train classify --data artist20/ --labels train.csv -o singers --aggregate vote
  mirctl train classify --data clips/ --features musicnn -o classifiers/head
  mirctl classify test/ --model classifiers/fam --submission answer.csv

Data: one sub-folder of --data per class (its name is the label), or a table (--labels,
or labels.csv in --data) with the columns path,label and optionally split
(train/valid/test) and group (clips of one song or album: never on both sides of the
split, so validation measures what a new song will get). Clips are audio files or .npy
sample arrays (--npy-sr). Training sees random 3 s windows of the clips (16 kHz mono
log-mel); validation ranks each whole clip as `mirctl classify` will (--aggregate mean
or vote over its patches) and reports top-1, top-3 and macro F1. The loss is weighted by
inverse class frequency (--no-class-weights to turn it off). The checkpoint folder holds
model.safetensors and card.json (classes, per-class figures, confusion matrix).
"""


def train_classify(
    aggregate: Annotated[Aggregate, typer.Option(help="Song-level prediction from the clip's 3 s patches, for "
                                                 "validation and as the checkpoint's default: mean or vote.",
                                                 rich_help_panel="Model")] = Aggregate.mean,
    class_weights: Annotated[bool, typer.Option("--class-weights/--no-class-weights", help="Weight the loss by "
                                                "inverse class frequency.", rich_help_panel="Model")] = True,
    clip: ClipOptions = ClipOptions(),
    train: TrainCommon = TrainCommon(),
) -> None:
    """Train a classifier on your clips (singer, instrument, genre…)."""
    from mirctl.tasks import classify_training as task

    execute_training(task.TRAINABLE, task.Params(**clip.params(), aggregate=aggregate.value,
                                                 class_weights=class_weights), train)


train_classify = clip_options()(trainer_command()(train_classify))
train_classify.epilog = TRAIN_EPILOG  # type: ignore[attr-defined]
