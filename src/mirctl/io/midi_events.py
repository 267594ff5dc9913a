"""A MIDI file as a timed list of channel events, for a synthesizer to play.

mido parses the file; this module merges its tracks, applies the tempo map (every
``set_tempo`` of any track, as players do) and keeps for each event the track it came
from, so a renderer can play one track/channel at a time (stems) while every stem sees
the same controller, program and pitch-bend state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mirctl.errors import InputError

# event kinds
NOTE_ON, NOTE_OFF, CONTROL, PROGRAM, BEND, CHANNEL_PRESSURE, KEY_PRESSURE = range(7)
DRUM_CHANNEL = 9  # "channel 10" in the 1-based numbering of General MIDI
DEFAULT_TEMPO = 500_000  # microseconds per beat (120 BPM) until the first set_tempo

# at one tick: program and controller state first, then note-offs, then note-ons (a
# note that ends where the next one of the same pitch starts must not cut it off)
_ORDER = {PROGRAM: 0, CONTROL: 1, BEND: 1, CHANNEL_PRESSURE: 1, KEY_PRESSURE: 1, NOTE_OFF: 2, NOTE_ON: 3}


class MidiEvent(NamedTuple):
    """One channel event. ``a``/``b``: note and velocity; controller and value;
    program; bend -8192..8191; pressure (key pressure: note and pressure)."""

    time_s: float
    kind: int
    channel: int
    a: int
    b: int
    track: int


@dataclass
class MidiEvents:
    """Every channel event of one file in playing order, with the names of its tracks."""

    events: list[MidiEvent] = field(default_factory=list)
    track_names: list[str] = field(default_factory=list)
    tempo_changes: int = 0

    @property
    def notes(self) -> int:
        return sum(1 for e in self.events if e.kind == NOTE_ON)

    @property
    def end_s(self) -> float:
        """Time of the last event (the last note-off, or a later controller)."""
        return self.events[-1].time_s if self.events else 0.0

    @property
    def last_note_off_s(self) -> float:
        return max((e.time_s for e in self.events if e.kind in (NOTE_OFF, NOTE_ON)), default=0.0)


def _convert(msg: object) -> tuple[int, int, int, int] | None:
    """(kind, channel, a, b) of a mido channel message, or None for anything else."""
    t = msg.type  # type: ignore[attr-defined]
    if t == "note_on":
        return (NOTE_ON if msg.velocity > 0 else NOTE_OFF, msg.channel, msg.note, msg.velocity)  # type: ignore[attr-defined]
    if t == "note_off":
        return (NOTE_OFF, msg.channel, msg.note, 0)  # type: ignore[attr-defined]
    if t == "control_change":
        return (CONTROL, msg.channel, msg.control, msg.value)  # type: ignore[attr-defined]
    if t == "program_change":
        return (PROGRAM, msg.channel, msg.program, 0)  # type: ignore[attr-defined]
    if t == "pitchwheel":
        return (BEND, msg.channel, msg.pitch, 0)  # type: ignore[attr-defined]
    if t == "aftertouch":
        return (CHANNEL_PRESSURE, msg.channel, msg.value, 0)  # type: ignore[attr-defined]
    if t == "polytouch":
        return (KEY_PRESSURE, msg.channel, msg.note, msg.value)  # type: ignore[attr-defined]
    return None


def events_from_mido(mid: object) -> MidiEvents:
    """The events of a ``mido.MidiFile``, its ticks turned into seconds."""
    tpb = mid.ticks_per_beat  # type: ignore[attr-defined]
    raw: list[tuple[int, int, int, int, tuple[int, int, int, int]]] = []
    tempos: list[tuple[int, int, int, int]] = []  # (tick, track, position, tempo)
    names: list[str] = []
    for index, track in enumerate(mid.tracks):  # type: ignore[attr-defined]
        tick, name = 0, ""
        for pos, msg in enumerate(track):
            tick += msg.time
            if msg.is_meta:
                if msg.type == "set_tempo":
                    tempos.append((tick, index, pos, msg.tempo))
                elif msg.type == "track_name" and not name:
                    name = msg.name
                continue
            ev = _convert(msg)
            if ev is not None:
                raw.append((tick, _ORDER[ev[0]], index, pos, ev))
        names.append(name.strip())
    raw.sort()  # (tick, order, track, position) is unique: the event tuples are never compared
    tempos.sort()
    # seconds at each tempo change, then every event's time from the change before it
    marks: list[tuple[int, float, int]] = [(0, 0.0, DEFAULT_TEMPO)]
    for tick, _, _, tempo in tempos:
        last_tick, last_s, last_tempo = marks[-1]
        seconds = last_s + (tick - last_tick) * last_tempo / (1e6 * tpb)
        if tick == last_tick:
            marks[-1] = (tick, last_s, tempo)
        else:
            marks.append((tick, seconds, tempo))
    events: list[MidiEvent] = []
    m = 0
    for tick, _, track, _, (kind, channel, a, b) in raw:
        while m + 1 < len(marks) and marks[m + 1][0] <= tick:
            m += 1
        mark_tick, mark_s, tempo = marks[m]
        events.append(MidiEvent(mark_s + (tick - mark_tick) * tempo / (1e6 * tpb), kind, channel, a, b, track))
    return MidiEvents(events, names, len(tempos))


def read_midi_events(path: Path) -> MidiEvents:
    """Parse ``path`` (mido) into timed channel events; InputError when it is not MIDI."""
    import mido

    path = Path(path)
    try:
        mid = mido.MidiFile(str(path), clip=True)
    except Exception as err:  # mido raises OSError, EOFError, KeyError, ValueError…
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path} is not a readable MIDI file ({reason})",
                         hint="check that the file is a Standard MIDI File (.mid) and not truncated") from None
    return events_from_mido(mid)


def events_from_bytes(data: bytes) -> MidiEvents:
    """Events of an in-memory Standard MIDI File (what :class:`MidiScore` writes)."""
    import io

    import mido

    return events_from_mido(mido.MidiFile(file=io.BytesIO(data)))
