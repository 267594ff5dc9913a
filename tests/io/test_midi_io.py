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


def test_bad_midi_messages_word_for_word(tmp_path):
    """The reason is the parser's first line, or the exception's name when it has no words
    (mido raises a bare EOFError for a truncated file); a missing file gets a hint."""
    garbage, empty = tmp_path / "garbage.mid", tmp_path / "empty.mid"
    garbage.write_bytes(b"not a midi file at all")
    empty.write_bytes(b"")
    with pytest.raises(InputError) as err:
        read_midi(garbage)
    assert str(err.value) == f"{garbage} is not a readable MIDI file (MThd not found. Probably not a MIDI file)"
    assert err.value.hint is None
    with pytest.raises(InputError) as err:
        read_midi(empty)
    assert str(err.value) == f"{empty} is not a readable MIDI file (EOFError)"
    with pytest.raises(InputError) as err:
        read_midi(tmp_path / "none.mid")
    assert str(err.value) == f"{tmp_path / 'none.mid'} does not exist"
    assert err.value.hint == "check the path (quote names with spaces)"


def test_header_longer_than_six_bytes_is_read_like_mido(tmp_path):
    """The MThd chunk may be longer than its six defined bytes; readers skip the rest."""
    import struct

    import mido

    track = b"\x00\x90\x3c\x40\x60\x80\x3c\x00\x00\xff\x2f\x00"
    path = tmp_path / "long.mid"
    path.write_bytes(b"MThd" + struct.pack(">LhhhH", 8, 0, 1, 96, 0) + b"MTrk" + struct.pack(">L", len(track)) + track)
    pm, header = read_midi_file(path)
    raw = mido.MidiFile(str(path))
    assert header == (raw.type, len(raw.tracks), raw.ticks_per_beat) == (0, 1, 96)
    assert [(n.pitch, n.velocity) for n in pm.instruments[0].notes] == [(60, 64)]


def test_import_pretty_midi_prints_nothing_even_under_ci(tmp_path):
    """pyfluidsynth announces its library on stdout when $CI is set; --json output must not
    carry that line, so the import is silenced (in a fresh process: the first import)."""
    import os
    import subprocess
    import sys

    code = ("from mirctl.io.midi import import_pretty_midi; m = import_pretty_midi(); "
            "print(m.__name__, callable(m.PrettyMIDI))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CI": "true"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "pretty_midi True\n"


def test_write_midi_refuses_other_objects_with_the_way_out(tmp_path):
    from mirctl.io.midi import write_midi

    with pytest.raises(TypeError) as err:
        write_midi(tmp_path / "x.mid", {"notes": []})
    assert str(err.value) == "cannot write a dict as MIDI (use pretty_midi or mido)"
    assert not (tmp_path / "x.mid").exists()


def test_midi_score_negative_times_are_clamped_like_pretty_midi(tmp_path):
    from mirctl.io.midi import MidiScore, MidiTrack

    score = MidiScore(120.0, [MidiTrack(0, [(-0.3, 0.5, 60, 90), (0.2, 0.4, 62, 80)], [(-0.1, 300)])])
    assert score.to_bytes() == _pretty_midi_bytes(score, tmp_path)
    assert score._tick(-0.3) == 0 and score._tick(0.5) == 220


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


def _pretty_midi_bytes(score, tmp_path):
    """What pretty_midi writes for the same content."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=score.tempo_bpm)
    for track in score.tracks:
        inst = pretty_midi.Instrument(program=track.program)
        inst.notes = [pretty_midi.Note(velocity=v, pitch=p, start=s, end=e) for s, e, p, v in track.notes]
        inst.pitch_bends = [pretty_midi.PitchBend(v, t) for t, v in track.bends]
        pm.instruments.append(inst)
    path = tmp_path / "pm.mid"
    pm.write(str(path))
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(6))
def test_midi_score_bytes_equal_pretty_midi(tmp_path, seed):
    import numpy as np

    from mirctl.io.midi import MidiScore, MidiTrack, write_midi

    rng = np.random.default_rng(seed)
    tempo = [120.0, 97.3, 4.0, 300.0, 60.0, 133.33][seed]
    tracks = []
    for _ in range(int(rng.integers(0, 18))):  # more than 15 tracks wraps the channels
        track = MidiTrack(program=int(rng.integers(0, 128)))
        for _ in range(int(rng.integers(0, 40))):
            start = float(rng.choice([0.0, rng.uniform(0, 20), round(rng.uniform(0, 20), 1)]))
            end = start + float(rng.choice([0.0, rng.uniform(0.01, 3), 0.5]))
            track.notes.append((start, end, int(rng.integers(0, 128)), int(rng.integers(1, 128))))
        if rng.random() < 0.5 and track.notes:  # repeated pitches at shared ticks: note-off ordering
            s, e, p, v = track.notes[0]
            track.notes += [(e, e + 0.25, p, v), (s, e, p, 127)]
        for _ in range(int(rng.integers(0, 30))):
            track.bends.append((float(rng.uniform(0, 20)), int(rng.integers(-8192, 8192))))
        tracks.append(track)
    score = MidiScore(tempo, tracks)
    ours = tmp_path / "ours.mid"
    write_midi(ours, score)
    assert ours.read_bytes() == _pretty_midi_bytes(score, tmp_path)


def test_midi_score_reads_back(tmp_path):
    from mirctl.io.midi import MidiScore, MidiTrack, write_midi

    path = tmp_path / "s.mid"
    write_midi(path, MidiScore(90.0, [MidiTrack(4, [(0.5, 1.0, 60, 100), (0.75, 2.0, 64, 70)], [(0.5, -4096)])]))
    pm, header = read_midi_file(path)
    assert header == (1, 2, 220)
    notes = pm.instruments[0].notes
    assert [(n.pitch, n.velocity) for n in notes] == [(60, 100), (64, 70)]
    assert abs(notes[1].end - 2.0) < 1e-2 and pm.instruments[0].program == 4
    assert pm.instruments[0].pitch_bends[0].pitch == -4096
    assert abs(pm.get_tempo_changes()[1][0] - 90.0) < 0.01


def test_midi_artifacts_from_pretty_midi_and_mido_are_written_by_those_libraries(tmp_path):
    """Every MIDI output but transcribe's goes through pretty_midi/mido: a drum track on
    channel 10, a tempo change, a time signature and a control change come back as written."""
    import mido
    import pretty_midi

    from mirctl.io.artifacts import AudioWriteOptions, write_artifact
    from mirctl.types import MidiOut

    pm = pretty_midi.PrettyMIDI(initial_tempo=90)
    piano = pretty_midi.Instrument(program=0, name="piano")
    piano.notes.append(pretty_midi.Note(velocity=80, pitch=60, start=0.0, end=1.0))
    piano.control_changes.append(pretty_midi.ControlChange(number=64, value=127, time=0.5))
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    drums.notes.append(pretty_midi.Note(velocity=100, pitch=36, start=0.0, end=0.1))
    pm.instruments += [piano, drums]
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    write_artifact(MidiOut(pm), tmp_path / "a.mid", "mid", AudioWriteOptions())
    back = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid"))
    assert [(i.name, i.is_drum) for i in back.instruments] == [("piano", False), ("drums", True)]
    assert back.instruments[0].control_changes[0].number == 64
    assert [(t.numerator, t.denominator) for t in back.time_signature_changes] == [(3, 4)]
    assert round(back.get_tempo_changes()[1][0]) == 90
    channels = {m.channel for m in mido.MidiFile(str(tmp_path / "a.mid")) if m.type == "note_on"}
    assert 9 in channels  # drums on MIDI channel 10

    mf = mido.MidiFile()
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=400000), mido.Message("note_on", note=64, time=0),
                            mido.Message("note_off", note=64, time=480)])
    mf.tracks.append(track)
    write_artifact(MidiOut(mf), tmp_path / "b.mid", "mid", AudioWriteOptions())
    assert [m.type for m in mido.MidiFile(str(tmp_path / "b.mid")).tracks[0]][:3] == ["set_tempo", "note_on", "note_off"]


@pytest.mark.parametrize("gap_s", [20.0, 40.0, 2000.0])  # 3-byte and 4-byte variable-length delta times
def test_midi_score_long_gaps_equal_pretty_midi_and_read_back(tmp_path, gap_s):
    import mido

    from mirctl.io.midi import MidiScore, MidiTrack, write_midi

    tempo = 300.0  # 1100 ticks per second at 220 ticks per beat
    track = MidiTrack(0, [(0.0, 0.5, 60, 90), (0.5 + gap_s, 1.0 + gap_s, 62, 80)], [(0.25 + gap_s, 4000)])
    score = MidiScore(tempo, [track])
    ours = tmp_path / "ours.mid"
    write_midi(ours, score)
    assert ours.read_bytes() == _pretty_midi_bytes(score, tmp_path)
    deltas = [m.time for m in mido.MidiFile(str(ours)).tracks[1]]
    assert max(deltas) == round((gap_s - 0.25) * 1100) > 16383  # note-off to the bend: 3+ bytes
    pm, _ = read_midi_file(ours)
    notes = pm.instruments[0].notes
    assert [round(n.start, 2) for n in notes] == [0.0, round(0.5 + gap_s, 2)]
    assert pm.instruments[0].pitch_bends[0].pitch == 4000


def test_midi_score_ties_and_channel_wrap_equal_pretty_midi(tmp_path):
    """Events at the same tick (program change, bends, note-ons and note-offs of several
    pitches) are ordered as pretty_midi orders them, and 17 tracks wrap past channel 16
    (skipping the drum channel) as pretty_midi wraps them."""
    import mido

    from mirctl.io.midi import MidiScore, MidiTrack, write_midi

    tracks = []
    for k in range(17):
        notes = [(0.0, 0.5, 60 + k % 5, 100), (0.0, 0.5, 64, 90 - k), (0.5, 1.0, 60 + k % 5, 80), (0.5, 0.75, 67, 70)]
        bends = [(0.0, -2000 + 100 * k), (0.5, 300), (0.5, -300), (0.75, 8191)]
        tracks.append(MidiTrack(program=(7 * k) % 128, notes=notes, bends=bends))
    score = MidiScore(120.0, tracks)
    ours = tmp_path / "ours.mid"
    write_midi(ours, score)
    assert ours.read_bytes() == _pretty_midi_bytes(score, tmp_path)
    channels = [next(m.channel for m in t if m.type == "program_change") for t in mido.MidiFile(str(ours)).tracks[1:]]
    assert channels == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 0, 1]
