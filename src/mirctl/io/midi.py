"""Read Standard MIDI Files through pretty_midi (mido underneath); write them with a
small encoder of our own (:class:`MidiScore`) that produces the bytes pretty_midi would.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mirctl.errors import InputError

if TYPE_CHECKING:
    import pretty_midi

MIDI_EXTENSIONS = (".mid", ".midi")


def import_pretty_midi() -> object:
    """pretty_midi, imported without a word on stdout (which carries ``--json`` records):
    it imports pyfluidsynth when that is installed, and pyfluidsynth prints where it found
    the FluidSynth library whenever $CI is set."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # a no-op once it is imported
        import pretty_midi
    return pretty_midi


def read_midi(path: Path) -> pretty_midi.PrettyMIDI:
    """Parse a MIDI file; raises InputError for a missing or malformed file."""
    pretty_midi = import_pretty_midi()

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


@dataclass
class MidiTrack:
    """One instrument: notes ``(start_s, end_s, pitch, velocity)`` and pitch bends
    ``(time_s, value)`` with value in -8192..8191."""

    program: int = 0
    notes: list[tuple[float, float, int, int]] = field(default_factory=list)
    bends: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class MidiScore:
    """A type-1 MIDI file at one tempo, encoded without pretty_midi or mido.

    The bytes are what ``pretty_midi.PrettyMIDI.write`` produces for the same content
    (tests compare them): 220 ticks per beat; a timing track with the tempo and a 4/4
    time signature; one track per instrument on channels 0-15 skipping the drum channel
    9; events sorted by tick, then tempo < time signature < program < pitch bend < note
    (note-offs, written as velocity-0 note-ons, before note-ons of the same pitch);
    running status; every track ends one tick after its last event. Importing
    pretty_midi and mido costs more than a transcription's MIDI takes to encode.
    """

    tempo_bpm: float = 120.0
    tracks: list[MidiTrack] = field(default_factory=list)
    resolution: int = 220

    def _tick(self, time_s: float) -> int:
        # pretty_midi's time_to_tick for a single tempo, rounding the same way
        return round(time_s / self._tick_s) if time_s > 0 else 0

    @property
    def _tick_s(self) -> float:
        return 60.0 / (self.tempo_bpm * self.resolution)

    def to_bytes(self) -> bytes:
        tempo_us = int(6e7 / (60.0 / (self._tick_s * self.resolution)))
        timing = [(0, (0xFF, 0x51, 3, tempo_us >> 16, tempo_us >> 8 & 0xFF, tempo_us & 0xFF)),
                  (0, (0xFF, 0x58, 4, 4, 2, 24, 8))]
        chunks = [_track_chunk(timing)]
        channels = [c for c in range(16) if c != 9]
        for n, track in enumerate(self.tracks):
            ch = channels[n % len(channels)]
            keyed = [((0, 6 << 16), (0xC0 | ch, track.program))]
            for start, end, pitch, velocity in track.notes:
                on, off = self._tick(start), self._tick(end)
                keyed.append(((on, (10 << 16) + pitch * 256 + velocity), (0x90 | ch, pitch, velocity)))
                keyed.append(((off, (10 << 16) + pitch * 256), (0x90 | ch, pitch, 0)))
            for time_s, value in track.bends:
                v = value + 8192
                keyed.append(((self._tick(time_s), (7 << 16) + value), (0xE0 | ch, v & 0x7F, v >> 7)))
            keyed.sort()  # equal keys come with equal messages: the order is pretty_midi's stable sort's
            chunks.append(_track_chunk([(key[0], msg) for key, msg in keyed]))
        header = b"MThd" + struct.pack(">Lhhh", 6, 1, len(chunks), self.resolution)
        return header + b"".join(chunks)


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track_chunk(events: list[tuple[int, tuple[int, ...]]]) -> bytes:
    """``MTrk`` from (absolute tick, message bytes) in order; channel messages use running status."""
    data = bytearray()
    last_tick, running = 0, None
    for tick, msg in events:
        data += _varlen(tick - last_tick)
        last_tick = tick
        if msg[0] == 0xFF:
            data += bytes(msg)
            running = None
        else:
            data += bytes(msg[1:] if msg[0] == running else msg)
            running = msg[0]
    data += b"\x01\xff\x2f\x00"  # end of track, one tick after the last event
    return b"MTrk" + struct.pack(">L", len(data)) + bytes(data)


def write_midi(path: Path, score: object) -> None:
    """Write a MIDI file. ``score`` is a :class:`MidiScore` (basic-pitch's fast writer,
    used by ``transcribe`` only) or what the library made for MIDI builds: a
    ``pretty_midi.PrettyMIDI`` or a ``mido.MidiFile``, written by that library (tempo
    maps, drums on channel 10, control changes and time signatures are its job)."""
    if isinstance(score, MidiScore):
        Path(path).write_bytes(score.to_bytes())
        return
    module = type(score).__module__.split(".")[0]
    if module == "pretty_midi" or module == "mido":
        with open(path, "wb") as fh:  # both take a file object; neither appends an extension
            if module == "pretty_midi":
                score.write(fh)
            else:
                score.save(file=fh)
        return
    raise TypeError(f"cannot write a {type(score).__name__} as MIDI (use pretty_midi or mido)")
