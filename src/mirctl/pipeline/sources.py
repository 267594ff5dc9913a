"""Read one input file into the source object its task expects."""

from __future__ import annotations

from pathlib import Path

from mirctl.io.audio import probe_audio, read_audio
from mirctl.io.midi import MIDI_EXTENSIONS, read_midi_file
from mirctl.types import AudioSource, MidiSource


def read_source(kind: str, path: Path) -> AudioSource | MidiSource:
    if kind == "midi" or (kind == "media" and path.suffix.lower() in MIDI_EXTENSIONS):
        midi, header = read_midi_file(path)
        return MidiSource(path, midi, header)
    info = probe_audio(path)
    wav, sr = read_audio(path)
    return AudioSource(path, wav, sr, info.format, info.subtype)


def read_reference(path: Path) -> object:
    """Reference material for ``--eval``: audio -> (wav, sr); MIDI or note CSV -> notes."""
    from mirctl.io.notes import NOTE_EXTENSIONS, read_notes

    if path.suffix.lower() in NOTE_EXTENSIONS:
        return read_notes(path)
    return read_audio(path)
