"""Read and write Standard MIDI Files through pretty_midi (mido underneath)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

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


class MidiHeader(NamedTuple):
    """The ``MThd`` chunk: file type (0, 1, 2), number of tracks, ticks per beat."""

    type: int
    tracks: int
    ticks_per_beat: int


def read_midi_file(path: Path) -> tuple[pretty_midi.PrettyMIDI, MidiHeader]:
    """The parsed notes (pretty_midi) and the file header, read from its first 14 bytes
    as mido reads them (the file is parsed once, by pretty_midi, which validates it)."""
    pm = read_midi(path)
    with open(path, "rb") as fh:
        _, size = struct.unpack(">4sL", fh.read(8))
        header = MidiHeader(*struct.unpack(">hhh", fh.read(size)[:6]))
    return pm, header


def write_midi(path: Path, midi: pretty_midi.PrettyMIDI) -> None:
    midi.write(str(path))
