"""The options and the run every ``mirctl train TASK`` command shares (the group and its
sub-commands live in :mod:`mirctl.cli.train`; a task's train command imports this)."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from mirctl.cli.common import Device, bundled_options
from mirctl.errors import MirctlError


@dataclass(frozen=True)
class TrainCommon:
    """The shared training options, as a decorated command receives them (``train=``)."""

    data: Optional[Path] = None
    out: Optional[Path] = None
    seed: int = 0
    max_steps: int = 1000
    minutes: Optional[float] = None
    batch_size: int = 16
    lr: float = 1e-3
    valid_every: int = 100
    patience: Optional[int] = None
    log_every: int = 10
    device: Device = Device.auto
    threads: Optional[int] = None
    overwrite: bool = False
    json: bool = False
    quiet: bool = False
    debug: bool = False


_DATA = "Data and checkpoint"
_LOOP = "Training loop"
_RUN = "Device and report"

_TRAIN_OPTS = [
    ("data", Annotated[Optional[Path], typer.Option("--data", help="Training data folder (see the task's help).",
                                                    rich_help_panel=_DATA)], None),
    ("out", Annotated[Optional[Path], typer.Option("--out", "-o", help="Checkpoint folder to write (and resume).",
                                                   rich_help_panel=_DATA)], None),
    ("overwrite", Annotated[bool, typer.Option("--overwrite", help="Start over even if --out holds a run.",
                                               rich_help_panel=_DATA)], False),
    ("seed", Annotated[int, typer.Option(help="Seed for initialisation, batch order and augmentation.",
                                         rich_help_panel=_LOOP)], 0),
    ("max_steps", Annotated[int, typer.Option(min=1, help="Optimizer steps in all.", rich_help_panel=_LOOP)], 1000),
    ("minutes", Annotated[Optional[float], typer.Option(help="Stop after this much training time (a resumed run "
                                                        "counts the earlier time).", rich_help_panel=_LOOP)], None),
    ("batch_size", Annotated[int, typer.Option(min=1, help="Examples per step.", rich_help_panel=_LOOP)], 16),
    ("lr", Annotated[float, typer.Option(help="Learning rate (AdamW).", rich_help_panel=_LOOP)], 1e-3),
    ("valid_every", Annotated[int, typer.Option(min=1, help="Validate (and save) every N steps.",
                                                rich_help_panel=_LOOP)], 100),
    ("patience", Annotated[Optional[int], typer.Option(min=1, help="Stop after N validations without improvement.",
                                                       rich_help_panel=_LOOP)], None),
    ("log_every", Annotated[int, typer.Option(min=1, help="Report the loss every N steps.", rich_help_panel=_RUN)], 10),
    ("device", Annotated[Device, typer.Option(help="Where to train; auto picks cuda, then mps, then cpu.",
                                              rich_help_panel=_RUN)], Device.auto),
    ("threads", Annotated[Optional[int], typer.Option(min=1, help="CPU threads.", rich_help_panel=_RUN)], None),
    ("json", Annotated[bool, typer.Option("--json", help="Print one JSON line per report on stdout.",
                                          rich_help_panel=_RUN)], False),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line.",
                                           rich_help_panel=_RUN)], False),
    ("debug", Annotated[bool, typer.Option("--debug", help="Re-raise errors with a full traceback.",
                                           rich_help_panel=_RUN)], False),
]


def trainer_command() -> Callable[[Callable], Callable]:
    """Add the shared training options to a command; it receives them as ``train: TrainCommon``."""
    return bundled_options(_TRAIN_OPTS, "train", TrainCommon)


def execute_training(trainable: Any, params: Any, train: TrainCommon) -> None:
    """Run the training runner, render its progress, and exit (0 done or skipped, 2 usage
    error, 130 interrupted with a resumable checkpoint)."""
    from mirctl.cli.reporting import CliTrainReporter, print_error
    from mirctl.training.runner import TrainOptions
    from mirctl.training.runner import train as run_training

    if train.data is None or train.out is None:
        print_error("--data and --out are required", "e.g. mirctl train TASK --data DIR --out checkpoints/run1")
        raise typer.Exit(2)
    options = TrainOptions(
        data=train.data, out=train.out, seed=train.seed, max_steps=train.max_steps, minutes=train.minutes,
        batch_size=train.batch_size, lr=train.lr, valid_every=train.valid_every, patience=train.patience,
        log_every=train.log_every, device=train.device.value, threads=train.threads, overwrite=train.overwrite,
        command=shlex.join(["mirctl"] + sys.argv[1:]),
    )
    reporter = CliTrainReporter(json_out=train.json, quiet=train.quiet)
    try:
        summary = run_training(trainable, params, options, reporter)
    except MirctlError as err:
        reporter.stop()
        if train.debug:
            raise
        print_error(err.message, err.hint)
        raise typer.Exit(err.exit_code) from None
    raise typer.Exit(summary.exit_code)
