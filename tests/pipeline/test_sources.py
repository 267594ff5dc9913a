"""pipeline/sources.py: each input kind is read into the source its task expects, with
the values the file holds; a stem set's refusals word for word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from conftest import write_wav
from mirctl.errors import InputError
from mirctl.pipeline.sources import read_reference, read_source, read_stem_set
from mirctl.pipeline.spec import InputItem
from mirctl.types import AudioSource, GeneratedSource, MidiSource, NotesSource, StemSetSource


def one_note_midi(path, pitch=64):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes.append(pretty_midi.Note(velocity=90, pitch=pitch, start=0.5, end=1.0))
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_generated_items_carry_their_name_and_index():
    src = read_source("generated", InputItem(Path("007"), kind="generated", index=7))
    assert (type(src), src.path, src.name, src.index) == (GeneratedSource, Path("007"), "007", 7)
    assert read_source("generated", InputItem(Path("000"), kind="generated")).index == 0


def test_audio_is_read_with_its_rate_format_and_encoding(tmp_path):
    path = write_wav(tmp_path / "a.flac", [[0.5, -0.5, 0.25]], 16000, "PCM_24")
    for kind in ("audio", "media"):
        src = read_source(kind, path)  # a bare Path is an input too
        assert type(src) is AudioSource and src.path == path and src.sr == 16000
        assert (src.file_format, src.subtype) == ("FLAC", "PCM_24") and src.wav.tolist() == [[0.5, -0.5, 0.25]]


def test_midi_and_notes_inputs(tmp_path):
    path = one_note_midi(tmp_path / "Song.MID")
    for kind in ("midi", "media"):  # media: a MIDI suffix in any case makes it MIDI
        src = read_source(kind, InputItem(path))
        assert type(src) is MidiSource and src.path == path
        assert [(n.pitch, n.start, n.end) for n in src.midi.instruments[0].notes] == [(64, 0.5, 1.0)]
        assert tuple(src.header) == (
            1, 2, 220)  # pretty_midi writes a tempo track and one instrument track at 220 ticks a beat
    notes = read_source("notes", InputItem(path))
    assert type(notes) is NotesSource and notes.path == path
    assert [(n.pitch, n.start_s, n.end_s) for n in notes.notes] == [(64, 0.5, 1.0)]
    with pytest.raises(InputError, match="empty"):
        (tmp_path / "e.mid").write_bytes(b"")
        read_source("midi", InputItem(tmp_path / "e.mid"))  # the file checks come first


def test_a_stem_set_reads_every_member_by_name(tmp_path):
    a = write_wav(tmp_path / "vocals.wav", [[0.1, 0.2]], 16000, "PCM_24")
    b = write_wav(tmp_path / "bass.flac", [[0.3, -0.3], [0.0, 0.5]], 22050, "PCM_24")
    item = InputItem(tmp_path, kind="stems", members=(a, b))
    src = read_source("audio", item)
    assert type(src) is StemSetSource and src.path == tmp_path and src.paths == {"vocals": a, "bass": b}
    assert list(src.stems) == ["vocals", "bass"]
    wav, sr = src.stems["bass"]
    assert sr == 22050 and wav.shape == (2, 2) and np.allclose(wav, [[0.3, -0.3], [0.0, 0.5]], atol=1e-6)


def test_stem_set_refusals_word_for_word(tmp_path):
    def refusal(item):
        with pytest.raises(InputError) as err:
            read_stem_set(item)
        return err.value.message, err.value.hint

    assert refusal(InputItem(tmp_path, kind="stems")) == (f"{tmp_path} holds no audio stems", None)
    a = write_wav(tmp_path / "drums.wav", [[0.1, 0.2]], 16000, "PCM_24")
    b = write_wav(tmp_path / "drums.flac", [[0.1, 0.2]], 16000, "PCM_24")
    assert refusal(InputItem(tmp_path, kind="stems", members=(a, b))) == (
        f"{tmp_path}: two stems are called 'drums' (drums.wav, drums.flac)", "give every stem its own name")
    bad = tmp_path / "bass.wav"
    bad.write_text("not audio")
    message, hint = refusal(InputItem(tmp_path, kind="stems", members=(a, bad)))
    assert message == f"stem {bad}: {bad} is not readable audio (Format not recognised)"
    assert hint.startswith("mirctl reads wav, flac")


def test_references_are_notes_or_audio_by_suffix(tmp_path):
    path = one_note_midi(tmp_path / "ref.MIDI", pitch=70)
    assert [n.pitch for n in read_reference(path)] == [70]
    csv = tmp_path / "ref.CSV"
    csv.write_text("start_s,end_s,pitch,velocity,pitch_bends\n0.25,0.5,61,80,\n")
    assert [(n.start_s, n.pitch) for n in read_reference(csv)] == [(0.25, 61)]
    wav, sr = read_reference(write_wav(tmp_path / "ref.wav", [[0.5, 0.25]], 8000, "PCM_24"))
    assert sr == 8000 and wav.tolist() == [[0.5, 0.25]]
