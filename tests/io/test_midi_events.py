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


def test_several_tempo_changes_and_events_exactly_on_them(tmp_path):
    # 120 BPM, 60 BPM at beat 1, 240 BPM at beat 3, 30 BPM at beat 4 (480 ticks a beat); a note
    # starts on each change and one between: times 0.5, 1.5 (mid), 2.5, 2.75 s and on
    conductor = [mido.MetaMessage("set_tempo", tempo=1_000_000, time=480),
                 mido.MetaMessage("set_tempo", tempo=250_000, time=960),
                 mido.MetaMessage("set_tempo", tempo=2_000_000, time=480)]
    notes = [mido.Message("note_on", note=60, velocity=1, time=480),  # velocity 1 is still a note-on
             mido.Message("note_on", note=62, velocity=90, time=480),
             mido.Message("note_on", note=64, velocity=90, time=480),
             mido.Message("note_on", note=65, velocity=90, time=480),
             mido.Message("note_on", note=67, velocity=90, time=240)]
    path = _file(tmp_path, [conductor, notes])
    got = read_midi_events(path)
    assert [(e.time_s, e.kind, e.a, e.b) for e in got.events] == [
        (0.5, NOTE_ON, 60, 1), (1.5, NOTE_ON, 62, 90), (2.5, NOTE_ON, 64, 90), (2.75, NOTE_ON, 65, 90),
        (3.75, NOTE_ON, 67, 90)]
    assert got.tempo_changes == 3 and got.notes == 5
    assert [e.time_s for e in got.events] == pytest.approx(_mido_times(path), abs=1e-9)


def test_bytes_in_memory_give_the_events_of_the_file(tmp_path):
    from mirctl.io.midi_events import events_from_bytes

    path = _file(tmp_path, [[mido.MetaMessage("set_tempo", tempo=400_000, time=0),
                             mido.Message("program_change", program=33, time=0),
                             mido.Message("note_on", note=40, velocity=70, time=96),
                             mido.Message("note_off", note=40, velocity=0, time=480)]])
    assert events_from_bytes(path.read_bytes()) == read_midi_events(path)
    assert [e.time_s for e in events_from_bytes(path.read_bytes()).events] == [0.0, 0.08, 0.48]


def test_out_of_range_data_bytes_are_clipped_not_refused(tmp_path):
    # a note-on with velocity byte 0xC8 (200): not valid MIDI, but written by some tools;
    # players clip it, and so does mirctl
    head = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") + (480).to_bytes(2, "big")
    body = bytes([0x00, 0x90, 60, 0xC8, 0x83, 0x60, 0x80, 60, 0x00, 0x00, 0xFF, 0x2F, 0x00])
    path = tmp_path / "hot.mid"
    path.write_bytes(head + b"MTrk" + len(body).to_bytes(4, "big") + body)
    got = read_midi_events(path)
    assert [(e.kind, e.a, e.b) for e in got.events] == [(NOTE_ON, 60, 127), (NOTE_OFF, 60, 0)]


def test_the_reason_a_file_is_refused_is_the_first_line_of_the_parsers_error(tmp_path, monkeypatch):
    path = tmp_path / "x.mid"
    path.write_bytes(b"MThd")
    hint = "check that the file is a Standard MIDI File (.mid) and not truncated"

    def refused(error):
        def parse(*a, **k):
            raise error
        monkeypatch.setattr(mido, "MidiFile", parse)
        with pytest.raises(InputError) as err:
            read_midi_events(path)
        return err.value.message, err.value.hint

    assert refused(EOFError()) == (f"{path} is not a readable MIDI file (EOFError)", hint)
    assert refused(ValueError("bad header\nat byte 4")) == (f"{path} is not a readable MIDI file (bad header)", hint)
