"""``mirctl eval``: score prediction files against references (one command per task)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mirctl.cli.common import Common, execute, reflow, runner_command

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


@app.command("separate", epilog=reflow(SEPARATE_EPILOG))
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


@app.command("transcribe", epilog=reflow(TRANSCRIBE_EPILOG))
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


MIDI_EPILOG = """Examples:

  mirctl eval midi samples/*.mid --csv metrics.csv        the homework table: piece_name,H1,H4,GS + mean

  mirctl eval midi ../POP909/ -r --json                   every file below, one JSON line each

H1/H4: pitch-class histogram entropy (bits) over every 1-/4-bar window; GS: grooving pattern
similarity, 1 - the XOR distance of two bars' onset positions, averaged over all pairs of
bars (MusDr, Wu and Yang 2020). Files are read as generate-midi's tokenizer reads them: one
piano stream, 4/4, 16 positions per bar (a POP909 beat_midi.txt beside a file aligns its
bars).
"""


@app.command("midi", epilog=reflow(MIDI_EPILOG))
@runner_command(outputs=False, model=False)
def midi(
    inputs: Annotated[list[str], typer.Argument(help="MIDI files, folders or globs.")],
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write the homework table (piece_name,H1,H4,GS and a "
                                                "mean row) to this file.", metavar="FILE")] = None,
    run: Common = Common(),
) -> None:
    """Score generated MIDI with the course's metrics: H1, H4 (pitch-class entropy) and GS (grooving similarity)."""
    from mirctl.tasks import scoring

    execute(scoring.SYMBOLIC, scoring.Params(), inputs, run, score_table="symbolic", batch_file=csv)


TAG_EPILOG = """Examples:

  mirctl tag clips/ --csv preds.csv && mirctl eval tag --pred preds.csv --labels labels.csv

  mirctl eval tag --pred preds.csv --labels labels.csv --threshold 0.3,piano=0.2 --csv scores.csv

--labels is a multi-hot CSV: a file column (input, path or file) and one 0/1 column per
tag, named as the model's tags. Rows are matched by file name without folder and
extension; tags the predictions lack are left out (and said).
"""


@app.command("tag", epilog=reflow(TAG_EPILOG))
def tag(
    pred: Annotated[Path, typer.Option("--pred", help="Predicted scores: the CSV of `mirctl tag --csv`, or any CSV "
                                                      "with a file column and a column per tag.", metavar="CSV")],
    labels: Annotated[Path, typer.Option("--labels", help="True tags: a multi-hot CSV (file column, a 0/1 column "
                                                          "per tag).", metavar="CSV")],
    threshold: Annotated[Optional[str], typer.Option("--threshold", help="Decision threshold for precision/recall/F1: "
                                                     "0.5 (the default) or per tag, 0.3,piano=0.2.",
                                                     metavar="SCORE|TAG=SCORE,…")] = None,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write one CSV row of scores per tag (and the macro "
                                                              "means) to this file.", metavar="FILE")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the scores as one JSON object.")] = False,
) -> None:
    """Score multi-label tag predictions: precision, recall, F1, ROC-AUC and PR-AUC per tag and macro."""
    import json as json_lib

    from mirctl.cli.common import guarded

    def compute() -> tuple[dict, list[str]]:
        from mirctl.evaluation import tagging
        from mirctl.tasks.tagging import parse_threshold

        default, per_tag = parse_threshold(threshold)
        tags, reference, estimate, _, notes = tagging.read_tables(pred, labels)
        unknown = sorted(set(per_tag) - set(tags))
        if unknown:
            from mirctl.errors import UsageError

            raise UsageError(f"--threshold names tag(s) {', '.join(unknown)} the tables do not share")
        limits = {t: per_tag.get(t, 0.5 if default is None else default) for t in tags}
        return tagging.evaluate(reference, estimate, tags, limits), notes

    report, notes = guarded(compute)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    if csv is not None:
        _write_tag_table(csv, report)
    if json_out:
        typer.echo(json_lib.dumps(report))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['files']} files")
    for column in ("tag", "positives", "precision", "recall", "F1", "ROC-AUC", "PR-AUC"):
        table.add_column(column, justify="left" if column == "tag" else "right")

    def cell(value: object) -> str:
        return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    for name, row in report["tags"].items():
        table.add_row(name, str(row["positives"]), *(cell(row[k]) for k in ("precision", "recall", "f1", "roc_auc",
                                                                              "pr_auc")))
    macro = report["macro"]
    table.add_row("macro", "", *(cell(macro[k]) for k in ("precision", "recall", "f1", "roc_auc", "pr_auc")),
                  style="bold")
    Console().print(table)


def _write_tag_table(path: Path, report: dict) -> None:
    import csv as csv_lib
    import io

    from mirctl.pipeline.runner import write_text

    buf = io.StringIO()
    columns = ["tag", "threshold", "positives", "tp", "fp", "fn", "precision", "recall", "f1", "roc_auc", "pr_auc"]
    writer = csv_lib.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for name, row in report["tags"].items():
        writer.writerow({"tag": name, **{k: "" if row[k] is None else row[k] for k in columns[1:]}})
    writer.writerow({"tag": "macro", **{k: "" if report["macro"].get(k) is None else report["macro"][k]
                                        for k in ("precision", "recall", "f1", "roc_auc", "pr_auc")}})
    write_text(path, buf.getvalue())


CLASSIFY_EPILOG = """Examples:

  mirctl classify test/ --model singers/ --submission answer.csv
  mirctl eval classify --pred answer.csv --labels test_labels.csv --confusion cm.png

  mirctl eval classify --pred preds.csv --labels labels.csv --csv classes.csv --json

--pred: a submission (ID,No.1,No.2,No.3 CSV, or {"ID": ["1st", "2nd", "3rd"]} JSON) or the CSV of
`mirctl classify --csv`. --labels: a CSV with a file column (path, file or ID) and a
label column. Rows are matched by file name without folder and extension. Top-3 counts a
file right when its true label is among its first three; macro F1 is the mean F1 over
the classes in the labels or the top-1 predictions (scikit-learn).
"""


@app.command("classify", epilog=reflow(CLASSIFY_EPILOG))
def classify(
    pred: Annotated[Path, typer.Option("--pred", help="Predictions: a submission .csv/.json or `mirctl classify "
                                                      "--csv` output.", metavar="FILE")],
    labels: Annotated[Path, typer.Option("--labels", help="True labels: a CSV with a file column and a label "
                                                          "column.", metavar="CSV")],
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Write per-class precision, recall, F1 and support "
                                                              "to this CSV.", metavar="FILE")] = None,
    confusion: Annotated[Optional[list[Path]], typer.Option("--confusion", help="Write the confusion matrix: a .csv "
                                                            "table and/or a .png picture (repeat for both).",
                                                            metavar="FILE")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the scores as one JSON object.")] = False,
) -> None:
    """Score single-label predictions: top-1, top-3, per-class recall, macro F1, confusion matrix."""
    import json as json_lib

    from mirctl.cli.common import fail_usage, guarded

    for path in confusion or ():
        if path.suffix.lower() not in (".csv", ".png"):
            fail_usage(f"--confusion {path}: the name must end in .csv or .png",
                       "cm.csv writes the table, cm.png the picture; give --confusion twice for both")

    def compute() -> tuple[dict, list[str]]:
        from mirctl.evaluation import classification

        names, reference, ranked, notes = classification.read_tables(pred, labels)
        return classification.evaluate(reference, ranked), notes

    report, notes = guarded(compute)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    _write_classify_files(report, csv, confusion or [], pred)
    if json_out:
        typer.echo(json_lib.dumps(report))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['files']} files: top-1 {report['top1']:.3f}, top-3 {report['top3']:.3f}, "
                        f"macro F1 {report['macro_f1']:.3f}")
    for column in ("class", "files", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, row in report["classes"].items():
        table.add_row(name, str(row["support"]), *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1")))
    Console().print(table)


def _write_classify_files(report: dict, csv: Optional[Path], confusion: list[Path], pred: Path) -> None:
    from mirctl.evaluation.classification import confusion_csv
    from mirctl.io.tables import csv_text
    from mirctl.pipeline.runner import write_text

    if csv is not None:
        rows = [[c, r["support"], r["precision"], r["recall"], r["f1"]] for c, r in report["classes"].items()]
        write_text(csv, csv_text([["class", "support", "precision", "recall", "f1"], *rows,
                                  ["macro", report["files"], "", "", report["macro_f1"]]]))
    for path in confusion:
        if path.suffix.lower() == ".csv":
            write_text(path, confusion_csv(report))
        else:
            from mirctl import viz
            from mirctl.io.atomic import atomic_path

            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                viz.render_confusion(str(tmp), report["confusion"]["labels"], report["confusion"]["matrix"],
                                     title=f"{pred.name}: top-1 {report['top1']:.3f}")
