"""``mirctl train TASK``: one training runner for every trainable task.

Each trainable task adds one sub-command here (its own options plus the shared ones
from :func:`mirctl.cli.trainer.trainer_command`) and runs it with
:func:`mirctl.cli.trainer.execute_training`.
"""

from __future__ import annotations

import importlib

import typer

from mirctl.cli.common import reflow
from mirctl.cli.trainer import TrainCommon, execute_training, trainer_command

__all__ = ["COMMANDS", "TrainCommon", "app", "execute_training", "trainer_command"]

#: sub-command -> (module, function) of each trainable task's train command
COMMANDS: dict[str, tuple[str, str]] = {
    "tag": ("mirctl.cli.tag", "train_tag"),
    "classify": ("mirctl.cli.classify", "train_classify"),
    "generate-midi": ("mirctl.cli.generate", "train_generate"),
}

EPILOG = ("Every trainable task shares these options: --data, --out (a checkpoint folder: model.safetensors + "
          "card.json), --seed, --max-steps, --minutes, --batch-size, --lr, --valid-every, --patience, --device, "
          "--json. Training is deterministic for a seed; Ctrl-C saves a resumable checkpoint, and the same command "
          "run again resumes it. Any command's --model accepts the folder.")

app = typer.Typer(
    help="Train a task's model on your data (seeded, resumable, validated, early-stopped).",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    invoke_without_command=True,
)


@app.callback()
def _group(ctx: typer.Context) -> None:
    """Train a task's model on your data (seeded, resumable, validated, early-stopped)."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        if not COMMANDS:
            typer.echo("\nNo task in this version of mirctl is trainable yet.", err=True)
        raise typer.Exit(0)


for _name, (_module, _function) in COMMANDS.items():
    _command = getattr(importlib.import_module(_module), _function)
    app.command(_name, epilog=reflow(getattr(_command, "epilog", None)))(_command)
