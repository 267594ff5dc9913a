"""``mirctl eval``: score prediction files against references (one command per task)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, runner_command

app = typer.Typer(
    help="Score predictions against references with the metrics --eval uses; one row per input on screen, "
         "in --json and in --csv FILE.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)

SEPARATE_EPILOG = """Examples:

  mirctl eval separate mirctl_out/separate/htdemucs/song/ --ref musdb/song/      one song's stems

  mirctl eval separate mirctl_out/separate/htdemucs/ -r --ref musdb/ --csv sdr.csv   every song below

Each input is a folder of estimated stems; its stems are matched by name with
REF/<track>/<stem>.wav, REF/<parent>/<stem>.wav or REF/<stem>.wav.
"""

TRANSCRIBE_EPILOG = """Examples:

  mirctl eval transcribe take.mid --ref take_ref.mid

  mirctl eval transcribe preds/ --ref refs/ --csv notes.csv     preds/x.mid against refs/x.mid|.csv

Inputs and references are MIDI files or note CSVs (start_s,end_s,pitch[,velocity]).
"""

_Ref = Annotated[Optional[Path], typer.Option("--ref", help="Reference file or folder (see below).", metavar="REF",
                                              show_default=False)]
_Csv = Annotated[Optional[Path], typer.Option("--csv", help="Write one CSV row of scores per input to this file.",
                                              metavar="FILE")]


@app.command("separate", epilog=SEPARATE_EPILOG)
@runner_command(outputs=False, model=False)
def separate(
    inputs: Annotated[list[str], typer.Argument(help="Folders of estimated stems; -r finds every stem folder below.")],
    ref: _Ref = None,
    csv: _Csv = None,
    run: Common = Common(),
) -> None:
    """Score separated stems: BSS Eval SDR and the MDX-challenge SDR per stem."""
    from mirctl.tasks import scoring

    execute(scoring.SEPARATION, scoring.Params(ref=ref), inputs, run, score_table="separation", table=csv)


@app.command("transcribe", epilog=TRANSCRIBE_EPILOG)
@runner_command(outputs=False, model=False)
def transcribe(
    inputs: Annotated[list[str], typer.Argument(help="Estimated notes: .mid/.midi/.csv files, folders or globs.")],
    ref: _Ref = None,
    csv: _Csv = None,
    run: Common = Common(),
) -> None:
    """Score note transcriptions: precision, recall and F1, onset-only and with offsets (mir_eval)."""
    from mirctl.tasks import scoring

    execute(scoring.TRANSCRIPTION, scoring.Params(ref=ref), inputs, run, score_table="transcription", table=csv)
