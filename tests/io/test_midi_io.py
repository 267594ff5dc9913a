from __future__ import annotations

import pytest

from mirctl.errors import InputError
from mirctl.io.midi import read_midi, read_midi_file
from mirctl.io.notes import notes_to_csv, read_notes
from mirctl.types import Note


def test_read_midi_and_notes(midi_file):
    pm = read_midi(midi_file)
    assert [n.pitch for n in pm.instruments[0].notes] == [60, 64, 67, 72]
    notes = read_notes(midi_file)
    assert [n.pitch for n in notes] == [60, 64, 67, 72]
    assert abs(notes[1].start_s - 0.5) < 0.003


@pytest.mark.parametrize("midi_type, tracks, resolution", [(0, 1, 96), (1, 3, 480)])
def test_header_is_what_mido_reads(tmp_path, midi_type, tracks, resolution):
    import mido

    path = tmp_path / "h.mid"
    out = mido.MidiFile(type=midi_type, ticks_per_beat=resolution)
    for i in range(tracks):
        track = mido.MidiTrack([mido.Message("note_on", note=60 + i, velocity=80, time=0),
                                mido.Message("note_off", note=60 + i, velocity=0, time=resolution)])
        out.tracks.append(track)
    out.save(str(path))
    _, header = read_midi_file(path)
    raw = mido.MidiFile(str(path))
    assert header == (raw.type, len(raw.tracks), raw.ticks_per_beat) == (midi_type, tracks, resolution)


def test_bad_midi_is_input_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    with pytest.raises(InputError, match="not a readable MIDI"):
        read_midi(bad)
    with pytest.raises(InputError, match="does not exist"):
        read_midi(tmp_path / "none.mid")


def test_note_csv_roundtrip_with_bends(tmp_path):
    notes = [Note(0.1, 0.5, 60, 80, bends=(0, 1, -2)), Note(0.7, 1.25, 67, 100)]
    path = tmp_path / "n.csv"
    path.write_text(notes_to_csv(notes))
    back = read_notes(path)
    assert back == notes and back[0].bends == (0, 1, -2) and back[1].bends is None


def test_reads_basic_pitch_style_csv(tmp_path):
    path = tmp_path / "bp.csv"
    path.write_text("start_time_s,end_time_s,pitch_midi,velocity\n1.5,2.0,62,90\n0.25,0.75,60,70\n")
    assert [(n.start_s, n.pitch, n.velocity) for n in read_notes(path)] == [(0.25, 60, 70), (1.5, 62, 90)]
