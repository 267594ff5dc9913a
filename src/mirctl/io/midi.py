"""Read and write Standard MIDI Files through pretty_midi (mido underneath)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mirctl.errors import InputError

if TYPE_CHECKING:
    import pretty_midi

MIDI_EXTENSIONS = (".mid", ".midi")


def read_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file; raises InputError for a missing or malformed file."""
    import pretty_midi

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist", hint="check the path (quote names with spaces)")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as err:  # mido raises OSError, EOFError, KeyError, ValueError…
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path} is not a readable MIDI file ({reason})") from None


def read_midi_file(path: Path) -> tuple[pretty_midi.PrettyMIDI, object]:
    """The parsed notes (pretty_midi) and the raw file (mido: type, tracks, ticks per beat)."""
    import mido

    pm = read_midi(path)
    return pm, mido.MidiFile(str(path))


def write_midi(path: Path, midi: pretty_midi.PrettyMIDI) -> None:
    midi.write(str(path))
