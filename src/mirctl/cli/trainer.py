"""The options and the run every ``mirctl train TASK`` command shares (the group and its
sub-commands live in :mod:`mirctl.cli.train`; a task's train command imports this)."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, fields
from enum import Enum
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


# --- the options of the clip models (`train tag`, `train classify`) -------------------------------------------

class Features(str, Enum):
    mel = "mel"
    musicnn = "musicnn"
    musicnn_mtt = "musicnn-mtt"
    musicnn_msd = "musicnn-msd"


class Arch(str, Enum):
    short_chunk = "short-chunk"
    crnn = "crnn"


class Head(str, Enum):
    linear = "linear"
    mlp = "mlp"


@dataclass(frozen=True)
class ClipOptions:
    """The clip-model options, as a decorated command receives them (``clip=``)."""

    labels: Optional[Path] = None
    features: Features = Features.mel
    arch: Arch = Arch.short_chunk
    head: Head = Head.mlp
    width: int = 32
    dropout: float = 0.3
    gain_db: float = 6.0
    pitch_shift: float = 0.0
    noise_snr: Optional[float] = None
    valid_fraction: float = 0.2
    npy_sr: int = 16000

    def params(self) -> dict[str, Any]:
        """The fields of :class:`mirctl.training.clips.ClipParams`."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
        if self.features is Features.musicnn:
            values["features"] = "musicnn-mtt"
        return values


_MODEL = "Model"
_AUG = "Augmentation"
_CLIP_OPTS = [
    ("labels", Annotated[Optional[Path], typer.Option("--labels", help="The labels table (CSV); default: labels.csv "
                                                      "in --data.", metavar="CSV", rich_help_panel=_DATA)], None),
    ("valid_fraction", Annotated[float, typer.Option(min=0.01, max=0.99, help="Share of clips (or groups) held out "
                                                     "for validation when the table has no split column.",
                                                     rich_help_panel=_DATA)], 0.2),
    ("npy_sr", Annotated[int, typer.Option(min=1, help="Sample rate of .npy clips.", rich_help_panel=_DATA)], 16000),
    ("features", Annotated[Features, typer.Option(help="What the model sees: mel (log-mel patches, a network trained "
                                                  "from scratch) or musicnn[-mtt|-msd] (a head on the frozen "
                                                  "pretrained musicnn embeddings: seconds on a CPU, strong on small "
                                                  "data).", rich_help_panel=_MODEL)], Features.mel),
    ("arch", Annotated[Arch, typer.Option(help="The network on mel features: short-chunk (CNN) or crnn (CNN + GRU).",
                                          rich_help_panel=_MODEL)], Arch.short_chunk),
    ("head", Annotated[Head, typer.Option(help="The head on musicnn features: linear or mlp (one hidden layer).",
                                          rich_help_panel=_MODEL)], Head.mlp),
    ("width", Annotated[int, typer.Option(min=1, help="Channels of the first conv block (mel features).",
                                          rich_help_panel=_MODEL)], 32),
    ("dropout", Annotated[float, typer.Option(min=0.0, max=0.95, help="Dropout before the output layer.",
                                              rich_help_panel=_MODEL)], 0.3),
    ("gain_db", Annotated[float, typer.Option(min=0.0, help="A random gain within ± this many dB.",
                                              rich_help_panel=_AUG)], 6.0),
    ("pitch_shift", Annotated[float, typer.Option(min=0.0, help="A random pitch shift within ± this many semitones.",
                                                  rich_help_panel=_AUG)], 0.0),
    ("noise_snr", Annotated[Optional[float], typer.Option(help="Mix white or pink noise into half the examples at an "
                                                          "SNR from this to +20 dB above it.", metavar="DB",
                                                          rich_help_panel=_AUG)], None),
]


def clip_options() -> Callable[[Callable], Callable]:
    """Add the clip-model options; the command receives them as ``clip: ClipOptions``."""
    return bundled_options(_CLIP_OPTS, "clip", ClipOptions)
