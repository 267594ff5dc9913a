"""MIDI files as timed event lists: times from the tempo map agree with mido's own
player clock, kinds and values survive, same-tick order puts note-offs first."""

from __future__ import annotations

import mido
import pytest

from conftest import shared_path
from mirctl.errors import InputError
from mirctl.io.midi_events import (BEND, CHANNEL_PRESSURE, CONTROL, KEY_PRESSURE, NOTE_OFF, NOTE_ON, PROGRAM,
                                   events_from_mido, read_midi_events)


def _file(tmp_path, tracks, tpb=480, type_=1):
    mid = mido.MidiFile(type=type_, ticks_per_beat=tpb)
    for msgs in tracks:
        track = mido.MidiTrack()
        track.extend(msgs)
        mid.tracks.append(track)
    path = tmp_path / "t.mid"
    mid.save(str(path))
    return path


def _mido_times(path):
    """(seconds, type, channel) of every channel message, from mido's merged player clock."""
    out, t = [], 0.0
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if not msg.is_meta and hasattr(msg, "channel"):
            out.append(t)
    return out


def test_tempo_changes_in_the_conductor_track_time_every_track(tmp_path):
    # 120 BPM for one beat, then 60 BPM: beat 1 is at 0.5 s, beat 2 at 1.5 s, beat 3 at 2.5 s
    conductor = [mido.MetaMessage("set_tempo", tempo=500_000, time=0),
                 mido.MetaMessage("set_tempo", tempo=1_000_000, time=480)]
    notes = [mido.Message("note_on", note=60, velocity=80, time=480),
             mido.Message("note_off", note=60, velocity=0, time=480),
             mido.Message("note_on", note=62, velocity=70, time=0),
             mido.Message("note_on", note=62, velocity=0, time=480)]
    ev = read_midi_events(_file(tmp_path, [conductor, notes]))
    assert [(round(e.time_s, 9), e.kind, e.a, e.b) for e in ev.events] == [
        (0.5, NOTE_ON, 60, 80), (1.5, NOTE_OFF, 60, 0), (1.5, NOTE_ON, 62, 70), (2.5, NOTE_OFF, 62, 0)]
    assert ev.tempo_changes == 2 and ev.notes == 2
    assert ev.last_note_off_s == pytest.approx(2.5) and ev.end_s == pytest.approx(2.5)
    assert [e.track for e in ev.events] == [1, 1, 1, 1]


def test_default_tempo_is_120_bpm_and_ticks_per_beat_are_honoured(tmp_path):
    path = _file(tmp_path, [[mido.Message("note_on", note=60, velocity=1, time=96 * 3),
                             mido.Message("note_off", note=60, time=96)]], tpb=96)
    ev = read_midi_events(path)
    assert [e.time_s for e in ev.events] == pytest.approx([1.5, 2.0])
    assert ev.tempo_changes == 0


def test_every_channel_message_kind_and_value(tmp_path):
    msgs = [mido.Message("program_change", channel=3, program=33, time=0),
            mido.Message("control_change", channel=3, control=64, value=127, time=0),
            mido.Message("pitchwheel", channel=3, pitch=-8192, time=0),
            mido.Message("aftertouch", channel=3, value=55, time=0),
            mido.Message("polytouch", channel=3, note=40, value=66, time=0),
            mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=0)]  # not a channel event: dropped
    ev = read_midi_events(_file(tmp_path, [msgs]))
    assert [(e.kind, e.channel, e.a, e.b) for e in ev.events] == [
        (PROGRAM, 3, 33, 0), (CONTROL, 3, 64, 127), (BEND, 3, -8192, 0), (CHANNEL_PRESSURE, 3, 55, 0),
        (KEY_PRESSURE, 3, 40, 66)]


def test_same_tick_state_first_then_note_offs_then_note_ons_across_tracks(tmp_path):
    # track 1 starts a C at tick 480 where track 2 ends its C and changes the program
    a = [mido.Message("note_on", note=60, velocity=90, time=480), mido.Message("note_off", note=60, time=480)]
    b = [mido.Message("note_on", note=60, velocity=50, time=0), mido.Message("note_off", note=60, time=480),
         mido.Message("program_change", program=5, time=0)]
    ev = read_midi_events(_file(tmp_path, [a, b]))
    at_480 = [(e.kind, e.track) for e in ev.events if e.time_s == pytest.approx(0.5)]
    assert at_480 == [(PROGRAM, 1), (NOTE_OFF, 1), (NOTE_ON, 0)]


def test_track_names_are_kept_per_track(tmp_path):
    path = _file(tmp_path, [[mido.MetaMessage("track_name", name=" Lead Vox ", time=0)],
                            [mido.MetaMessage("track_name", name="Bass", time=0),
                             mido.Message("note_on", note=40, velocity=9, time=0)]])
    assert read_midi_events(path).track_names == ["Lead Vox", "Bass"]


@pytest.mark.shared
@pytest.mark.parametrize("rel", [("data", "pop909", "POP909", "001", "001.mid"),
                                 ("data", "slakh_stems_midi", "Track00001", "all_src.mid")])
def test_times_equal_mido_player_clock_on_real_files(rel):
    path = shared_path(*rel)
    ev = events_from_mido(mido.MidiFile(str(path)))
    expected = sorted(_mido_times(path))
    assert len(ev.events) == len(expected)
    assert [e.time_s for e in ev.events] == pytest.approx(expected, abs=1e-9)


def test_not_midi_is_an_input_error_that_says_so(tmp_path):
    bad = tmp_path / "x.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    with pytest.raises(InputError) as err:
        read_midi_events(bad)
    assert err.value.message.startswith(f"{bad} is not a readable MIDI file (")
    assert "Standard MIDI File" in err.value.hint
