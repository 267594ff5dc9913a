"""``mirctl info``: what is in an audio or MIDI file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mirctl.cli.common import Common, execute, runner_command

EPILOG = """Examples:

  mirctl info song.wav                    duration, rate, channels, LUFS, peak

  mirctl info take.mid --json | jq .result.notes

  mirctl info stems/ --plot -o pics/      a waveform/piano-roll PNG per file
"""


def _describe(record: dict[str, Any]) -> Any:
    from rich.table import Table

    r = record["result"]
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 8))
    if r.get("type") == "audio":
        lufs = r["loudness_lufs"]
        rows = [("duration", f"{r['duration_s']:.3f} s"), ("sample rate", f"{r['sample_rate']} Hz"),
                ("channels", str(r["channels"])), ("format", f"{r['format']} {r['subtype']}"),
                ("loudness", ("n/a (under 0.4 s)" if r["duration_s"] < 0.4 else "n/a") if lufs is None else f"{lufs:.2f} LUFS"),
                ("peak", "-inf dBFS (silent)" if r["peak_dbfs"] is None else f"{r['peak_dbfs']:.2f} dBFS")]
        if r.get("out_of_range"):
            rows.append(("range", "[yellow]samples beyond ±1 (a float file that is corrupt or not normalised)[/]"))
        elif r.get("clipped"):
            rows.append(("clipping", "[yellow]runs of full-scale samples[/]"))
    else:
        insts = ", ".join(f"{i['name'] or ('drums' if i['is_drum'] else 'program ' + str(i['program']))}"
                          f" ({i['notes']})" for i in r["instruments"]) or "none"
        rows = [("duration", f"{r['duration_s']:.3f} s"), ("tracks", str(r["tracks"])),
                ("notes", str(r["notes"])), ("tempo", f"{r['tempo_bpm']:g} BPM"
                                                     + (f" ({r['tempo_changes']} changes)" if r["tempo_changes"] > 1 else "")),
                ("instruments", insts)]
    for k, v in rows:
        table.add_row(k, v)
    return table


@runner_command(model=False)
def info(
    inputs: Annotated[list[str], typer.Argument(help="Audio or MIDI files, folders or globs; '-' reads paths from stdin.")],
    plot: Annotated[bool, typer.Option("--plot", help="Also draw a waveform+spectrogram (audio) or piano roll (MIDI) PNG.")] = False,
    run: Common = Common(),
) -> None:
    """Describe audio (duration, sample rate, channels, loudness, peak) and MIDI files."""
    from mirctl.tasks import info as task

    execute(task.TASK, task.Params(plot=plot), inputs, run, describe=_describe)
