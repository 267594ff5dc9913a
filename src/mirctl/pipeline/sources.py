"""Read one planned input into the source object its task expects."""

from __future__ import annotations

from pathlib import Path

from mirctl.errors import InputError
from mirctl.io.audio import probe_audio, read_audio
from mirctl.io.files import check_input_file
from mirctl.io.midi import MIDI_EXTENSIONS, read_midi_file
from mirctl.pipeline.spec import InputItem
from mirctl.types import AudioSource, GeneratedSource, MidiSource, NotesSource, StemSetSource


def read_source(kind: str, item: InputItem | Path) -> AudioSource | MidiSource | NotesSource | StemSetSource | GeneratedSource:
    """``kind`` is the task's input kind (audio, midi, media, notes); stem sets and
    generated items are read by their item's own kind."""
    if isinstance(item, Path):
        item = InputItem(item)
    path = item.path
    if item.kind == "generated":
        return GeneratedSource(path, item.track, item.index or 0)
    if item.kind == "stems":
        return read_stem_set(item)
    check_input_file(path)
    if kind == "notes":
        from mirctl.io.notes import read_notes

        return NotesSource(path, read_notes(path))
    if kind == "midi" or (kind == "media" and path.suffix.lower() in MIDI_EXTENSIONS):
        midi, header = read_midi_file(path)
        return MidiSource(path, midi, header)
    info = probe_audio(path)
    wav, sr = read_audio(path)
    return AudioSource(path, wav, sr, info.format, info.subtype)


def read_stem_set(item: InputItem) -> StemSetSource:
    """Every member file of a stem set; one unreadable stem fails the whole set, naming it."""
    if not item.members:
        raise InputError(f"{item.path} holds no audio stems")
    paths = {}
    for member in item.members:
        name = member.stem
        check_input_file(member)
        if name in paths:
            raise InputError(f"{item.path}: two stems are called {name!r} ({paths[name].name}, {member.name})",
                             hint="give every stem its own name")
        paths[name] = member

    def read(member: Path) -> tuple:
        try:
            return read_audio(member)
        except InputError as err:
            raise InputError(f"stem {member}: {err.message}", err.hint) from None

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:  # two files decode at once (libsndfile runs without the GIL)
        decoded = list(pool.map(read, paths.values()))  # the first failure in member order is raised
    return StemSetSource(item.path, dict(zip(paths, decoded)), paths)


def read_reference(path: Path) -> object:
    """Reference material for ``--eval``: audio -> (wav, sr); MIDI or note CSV -> notes."""
    from mirctl.io.notes import NOTE_EXTENSIONS, read_notes

    if path.suffix.lower() in NOTE_EXTENSIONS:
        return read_notes(path)
    return read_audio(path)
