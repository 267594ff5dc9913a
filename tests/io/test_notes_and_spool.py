"""mirctl.io.notes (note lists to and from MIDI and CSV, values checked exactly) and
mirctl.io.spool (regions parked on disk read back as one array)."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from mirctl.errors import InputError
from mirctl.io.notes import CSV_HEADER, notes_from_midi, notes_to_csv, read_notes
from mirctl.io.spool import RegionSpool
from mirctl.types import Note


def fields(notes):
    return [(n.start_s, n.end_s, n.pitch, n.velocity, n.bends) for n in notes]


def test_csv_text_is_exact():
    notes = [Note(0.5, 1.25, 60, 90), Note(1 / 3, 2.0000004, 72, 64, bends=(0, -1, 2))]
    assert notes_to_csv(notes) == ("start_s,end_s,pitch,velocity,pitch_bends\n"
                                   "0.500000,1.250000,60,90\n"
                                   "0.333333,2.000000,72,64,0,-1,2\n")
    assert notes_to_csv([]) == ",".join(CSV_HEADER) + "\n"


def test_notes_from_midi_leave_drums_out_and_sort_by_onset_then_pitch():
    pm = pretty_midi.PrettyMIDI()
    piano, drums = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    bass = pretty_midi.Instrument(33)
    piano.notes += [pretty_midi.Note(80, 64, 1.0, 2.0), pretty_midi.Note(81, 60, 0.5, 0.75)]
    bass.notes += [pretty_midi.Note(70, 40, 1.0, 1.5)]
    drums.notes += [pretty_midi.Note(100, 36, 0.0, 0.1)]
    pm.instruments += [piano, drums, bass]
    assert fields(notes_from_midi(pm)) == [(0.5, 0.75, 60, 81, None), (1.0, 1.5, 40, 70, None),
                                           (1.0, 2.0, 64, 80, None)]


def test_read_notes_from_a_midi_file_any_case(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes += [pretty_midi.Note(90, 67, 0.5, 1.0), pretty_midi.Note(70, 62, 0.0, 0.25)]
    pm.instruments.append(inst)
    for name in ("song.MIDI", "song.mid"):
        path = tmp_path / name
        pm.write(str(path))
        assert fields(read_notes(path)) == [(0.0, 0.25, 62, 70, None), (0.5, 1.0, 67, 90, None)]
    with pytest.raises(InputError, match="does not exist"):
        read_notes(tmp_path / "missing.mid")


def test_read_notes_from_csv(tmp_path):
    path = tmp_path / "notes.CSV"
    path.write_text("start_time_s,end_time_s,pitch_midi,velocity,pitch_bend\n"  # basic-pitch's header
                    "\n"
                    "   \n"
                    "  ,x\n"
                    "1.5,2.0,64.4,63.6,1.9,,-2\n"
                    "0.25,0.5,60\n"
                    "0.25,0.75,59,\n"
                    "0.125,0.2,72,10,\n", encoding="utf-8")
    notes = read_notes(path)
    assert fields(notes) == [(0.125, 0.2, 72, 10, None), (0.25, 0.75, 59, 100, None), (0.25, 0.5, 60, 100, None),
                             (1.5, 2.0, 64, 64, (1, -2))]
    assert all(type(n.pitch) is int and type(n.velocity) is int for n in notes)
    written = tmp_path / "again.csv"
    written.write_text(notes_to_csv(notes))
    assert fields(read_notes(written)) == fields(notes)


@pytest.mark.parametrize("text, reason", [("0.1,0.2\n", "index out of range"), ("0.1,zz,60\n", "could not convert"),
                                          ("0.1,0.2,60,loud\n", "could not convert"),
                                          ("0.1,0.2,60,80,up\n", "could not convert")])
def test_a_bad_csv_row_is_an_input_error_naming_the_columns(tmp_path, text, reason):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=rf"bad\.csv is not a note CSV \(start_s,end_s,pitch\[,velocity\]\): .*{reason}"):
        read_notes(path)


def test_other_files_are_refused_with_a_hint(tmp_path):
    (tmp_path / "latin1.csv").write_bytes(b"0.1,0.2,60\n\xe9\n")
    with pytest.raises(InputError, match="is not a note CSV"):
        read_notes(tmp_path / "latin1.csv")
    with pytest.raises(InputError, match="missing.csv does not exist"):
        read_notes(tmp_path / "missing.csv")
    (tmp_path / "notes.txt").write_text("0.1,0.2,60\n")
    with pytest.raises(InputError, match="notes.txt is neither a MIDI file nor a note CSV") as err:
        read_notes(tmp_path / "notes.txt")
    assert err.value.hint == "notes are read from .mid, .midi or .csv"


def test_spool_gives_back_the_regions_joined_along_time():
    rng = np.random.default_rng(0)
    regions = [rng.standard_normal((4, 2, n)) for n in (5, 1, 7)]  # float64, read back as float32
    with RegionSpool() as spool:
        for r in regions:
            spool.append(r[:, :, ::-1])  # not contiguous
        out = spool.read_all()
        assert out.dtype == np.float32 and out.shape == (4, 2, 13)
        assert np.array_equal(out, np.concatenate([r[:, :, ::-1] for r in regions], axis=2).astype(np.float32))
        assert np.array_equal(spool.read_all(), out)  # read again: the same
    assert spool._file.closed
    empty = RegionSpool()
    nothing = empty.read_all()
    assert nothing.shape == (0, 0, 0) and nothing.dtype == np.float32
    empty.close()
    assert empty._file.closed
    with RegionSpool() as one:
        one.append(regions[0])
        assert np.array_equal(one.read_all(), regions[0].astype(np.float32))
