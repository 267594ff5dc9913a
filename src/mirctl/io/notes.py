"""Note lists <-> MIDI files and note CSV files.

CSV columns: ``start_s,end_s,pitch,velocity`` then optional pitch-bend values (1/3
semitone units, basic-pitch's convention). Headers written by basic-pitch
(``start_time_s,end_time_s,pitch_midi,velocity``) are read too.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Sequence

from mirctl.errors import InputError
from mirctl.types import Note

NOTE_EXTENSIONS = (".mid", ".midi", ".csv")
CSV_HEADER = ["start_s", "end_s", "pitch", "velocity", "pitch_bends"]


def notes_to_csv(notes: Sequence[Note]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n in notes:
        writer.writerow([f"{n.start_s:.6f}", f"{n.end_s:.6f}", n.pitch, n.velocity, *(n.bends or ())])
    return buf.getvalue()


def notes_from_midi(pm: object) -> list[Note]:
    """Non-drum notes of a ``pretty_midi.PrettyMIDI``, sorted by onset then pitch."""
    notes = [Note(n.start, n.end, n.pitch, n.velocity) for inst in pm.instruments if not inst.is_drum
             for n in inst.notes]
    return sorted(notes, key=lambda n: (n.start_s, n.pitch))


def read_notes(path: Path) -> list[Note]:
    """Notes from a MIDI file (all non-drum instruments) or a note CSV, sorted by onset."""
    path = Path(path)
    if path.suffix.lower() in (".mid", ".midi"):
        from mirctl.io.midi import read_midi

        return notes_from_midi(read_midi(path))
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.suffix.lower() != ".csv":
        raise InputError(f"{path} is neither a MIDI file nor a note CSV", hint="notes are read from .mid, .midi or .csv")
    notes = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                if not row:
                    continue
                try:
                    start = float(row[0])
                except ValueError:
                    continue  # a header line, or a first cell left blank
                velocity = int(round(float(row[3]))) if len(row) > 3 and row[3] else 100
                bends = tuple(int(float(b)) for b in row[4:] if b.strip()) or None
                notes.append(Note(start, float(row[1]), int(round(float(row[2]))), velocity, bends=bends))
    except (ValueError, IndexError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not a note CSV (start_s,end_s,pitch[,velocity]): {err}") from None
    return sorted(notes, key=lambda n: (n.start_s, n.pitch))
