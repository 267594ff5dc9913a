"""Preparing MIDI for REMI (mirctl.backends.remi): the downbeat shift, merged tracks, one
4/4 bar grid, the tempo map; and the real POP909 files it was written for."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import mido
import pytest

pytest.importorskip("miditok")

from conftest import shared_path  # noqa: E402
from mirctl.backends import remi  # noqa: E402


def write_song(path: Path, tempo_bpm: float = 90.0, offset: int = 40, tpq: int = 480,
               time_signature: tuple[int, int] = (1, 4)) -> None:
    """A POP909-like file: a tempo track with a 1/4 time signature, then MELODY and PIANO
    tracks whose notes sit on a 16th grid shifted by ``offset`` ticks, and a drum note."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm)),
                           mido.MetaMessage("time_signature", numerator=time_signature[0],
                                            denominator=time_signature[1])])
    mid.tracks.append(meta)
    sixteenth = tpq // 4
    for name, notes in (("MELODY", [(4, 72), (6, 74), (16, 76)]), ("PIANO", [(0, 48), (8, 55), (16, 48)])):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        events = []
        for step, pitch in notes:
            on = offset + step * sixteenth
            events += [(on, "note_on", pitch, 80), (on + sixteenth, "note_off", pitch, 0)]
        last = 0
        for tick, kind, pitch, vel in sorted(events):
            track.append(mido.Message(kind, note=pitch, velocity=vel, time=tick - last))
            last = tick
        mid.tracks.append(track)
    drums = mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100, time=offset),
                            mido.Message("note_off", channel=9, note=36, velocity=0, time=60)])
    mid.tracks.append(drums)
    mid.save(str(path))


def test_seconds_to_ticks_follows_the_tempo_map():
    tempos = [(0, 120.0), (960, 60.0)]  # 0.5 s per beat for two beats, then 1 s per beat
    assert remi.seconds_to_ticks(tempos, 480, 0.25) == 240
    assert remi.seconds_to_ticks(tempos, 480, 1.0) == 960
    assert remi.seconds_to_ticks(tempos, 480, 2.0) == 960 + 480
    assert remi.seconds_to_ticks([(0, 90.0)], 480, 2 / 3) == 480
    assert remi.seconds_to_ticks([], 480, 1.0) == 960  # MIDI's default 120 BPM without tempos
    assert remi.seconds_to_ticks([(960, 60.0)], 480, 0.5) == 240  # the first tempo holds before its tick
    assert remi.seconds_to_ticks([(0, 120.0), (0, 60.0)], 480, 1.0) == 480  # the last tempo at a tick holds
    # three tempos: 0.5 s, then 1.0 s, then 240 BPM (0.25 s a beat) from 1.5 s on
    three = [(0, 120.0), (480, 60.0), (960, 240.0)]
    assert [remi.seconds_to_ticks(three, 480, s) for s in (0.0, 0.5, 1.0, 1.5, 2.0)] == [0, 480, 720, 960, 1920]


def test_pitch_tokens_are_one_contiguous_range_including_both_ends():
    tok = remi.make_tokenizer()
    assert remi.pitch_ids(tok) == range(tok["Pitch_21"], tok["Pitch_109"] + 1) and len(remi.pitch_ids(tok)) == 89
    vocab = {"Pitch_21": 5, "Pitch_22": 6, "Pitch_23": 8}
    odd = SimpleNamespace(config=SimpleNamespace(pitch_range=(21, 23)), vocab=vocab)
    with pytest.raises(RuntimeError, match="^the tokenizer's pitch tokens are not contiguous$"):
        remi.pitch_ids(odd)
    vocab["Pitch_23"] = 7
    assert remi.pitch_ids(odd) == range(5, 8)


def test_holds_notes_means_a_pitch_token_of_the_range():
    tok = remi.make_tokenizer()
    pitches = remi.pitch_ids(tok)
    frame = [tok["Bar_None"], tok["Position_0"], next(i for t, i in tok.vocab.items() if t.startswith("Tempo_"))]
    assert not remi.holds_notes(frame, pitches) and not remi.holds_notes([], pitches)
    assert remi.holds_notes(frame + [tok["Pitch_21"]], pitches) and remi.holds_notes([tok["Pitch_109"]], pitches)
    assert not remi.holds_notes([pitches.start - 1, pitches.stop], range(pitches.start, pitches.stop))
    ids = remi.encode(tok, remi.prepare_score(remi.symusic().Score(480)))  # a MIDI file without notes
    assert ids and not remi.holds_notes(ids, pitches)


def test_first_downbeat_is_read_from_the_third_column(tmp_path):
    beats = tmp_path / "beat_midi.txt"
    beats.write_text("0.10 1.0 0.0\n0.77 0.0 0.0\n1.43 1.0 1.0\n2.10 0.0 0.0\n", encoding="utf-8")
    assert remi.first_downbeat_s(beats) == pytest.approx(1.43)
    beats.write_text("0.10 1.0 0.0\n", encoding="utf-8")
    assert remi.first_downbeat_s(beats) is None


def test_prepare_shifts_the_first_downbeat_onto_a_bar_line_and_merges_the_piano(tmp_path):
    song = tmp_path / "001" / "001.mid"
    song.parent.mkdir()
    write_song(song, offset=40)
    raw = remi.load_score(song)
    assert sum(o == 0 for o in remi.grid_offsets(raw)) == 0  # every onset 40 ticks off the grid
    # the first downbeat is the first note's onset (40 ticks at 90 BPM)
    (song.parent / "beat_midi.txt").write_text(f"{40 / 480 * 60 / 90:.6f} 1.0 1.0\n", encoding="utf-8")
    prepared = remi.prepared_from_file(song)
    rows = remi.note_rows(prepared)
    assert [r[0] for r in rows] == [0, 480, 720, 960, 1920, 1920]  # the grid from tick 0, bar 1 at 1920
    assert sorted(r[2] for r in rows) == [48, 48, 55, 72, 74, 76]  # both tracks, no drum
    assert [(t.name, t.program, t.is_drum) for t in prepared.tracks] == [("piano", 0, False)]
    assert [(t.time, t.numerator, t.denominator) for t in prepared.time_signatures] == [(0, 4, 4)]
    assert remi.tempo_rows(prepared) == [(0, pytest.approx(90.0, abs=1e-3))]


def test_notes_before_the_first_downbeat_move_a_whole_bar_later(tmp_path):
    song = tmp_path / "s.mid"
    write_song(song, offset=40)
    downbeat = (40 + 4 * 120) / 480 * 60 / 90  # the downbeat falls a beat after the first note (a pickup)
    prepared = remi.prepare_score(remi.load_score(song), downbeat)
    starts = [r[0] for r in remi.note_rows(prepared)]
    assert starts[0] == 1920 - 480  # the pickup: the last beat of bar 0
    assert 1920 in starts  # the downbeat note opens bar 1
    assert all(s % 120 == 0 for s in starts)


def test_without_a_beat_file_nothing_moves_but_tempos_start_at_zero(tmp_path):
    song = tmp_path / "s.mid"
    write_song(song, offset=0)
    prepared = remi.prepared_from_file(song)
    assert remi.note_rows(prepared)[0][0] == 0
    ids = remi.encode(remi.make_tokenizer(), prepared)
    tok = remi.make_tokenizer()
    names = [tok[i] for i in ids]
    assert names[:3] == ["Bar_None", "Position_0", "Tempo_88.71"]  # the nearest of 32 tempo tokens to 90
    assert names.count("Bar_None") == 2


def test_tokens_round_trip_to_the_same_notes(tmp_path):
    song = tmp_path / "s.mid"
    write_song(song, offset=0)
    tok = remi.make_tokenizer()
    prepared = remi.prepared_from_file(song)
    decoded = remi.decode(tok, [tok["BOS_None"], *remi.encode(tok, prepared), tok["EOS_None"]])
    scale = decoded.tpq / prepared.tpq
    assert [(round(s * scale), round(e * scale), p) for s, e, p, _ in remi.note_rows(prepared)] == \
        [(s, e, p) for s, e, p, _ in remi.note_rows(decoded)]
    # written through mido and read back: same notes, same tempo
    out = tmp_path / "back.mid"
    remi.score_to_mido(decoded).save(str(out))
    back = remi.load_score(out)
    assert remi.note_rows(back) == remi.note_rows(decoded)
    assert remi.tempo_rows(back)[0][1] == pytest.approx(remi.tempo_rows(decoded)[0][1], rel=1e-4)


def test_prepare_moves_every_tempo_with_the_notes():
    sm = remi.symusic()
    score = sm.Score(480)
    track = sm.Track(name="x", program=5)
    track.notes.append(sm.Note(2400, 480, 60, 80))
    score.tracks.append(track)
    for tick, bpm in ((0, 120.0), (960, 90.0), (1201, 60.0), (2400, 150.0)):
        score.tempos.append(sm.Tempo(tick, bpm))
    # the downbeat at tick 1200 (1 s at 120 BPM, then 240 ticks at 90): tempos before it collapse onto 0
    prepared = remi.prepare_score(score, 1.0 + 240 / 480 * 60 / 90)
    assert remi.note_rows(prepared) == [(1200, 1680, 60, 80)]
    assert [(t, round(q, 3)) for t, q in remi.tempo_rows(prepared)] == [(0, 90.0), (1, 60.0), (1200, 150.0)]
    unshifted = remi.prepare_score(score)
    assert [(t, round(q, 3)) for t, q in remi.tempo_rows(unshifted)] == [(0, 120.0), (960, 90.0), (1201, 60.0),
                                                                         (2400, 150.0)]
    bare = sm.Score(480)  # no tempo at all: MIDI's default 120 BPM at tick 0
    assert [(t, round(q, 3)) for t, q in remi.tempo_rows(remi.prepare_score(bare))] == [(0, 120.0)]


def test_score_to_mido_writes_a_timing_track_and_one_piano_track():
    sm = remi.symusic()
    score = sm.Score(220)
    track = sm.Track()
    for time, duration, pitch, velocity in ((220, 110, 64, 70), (0, 220, 60, 90)):
        track.notes.append(sm.Note(time, duration, pitch, velocity))  # out of order
    score.tracks.append(track)
    score.tempos.append(sm.Tempo(0, 120.0))
    score.tempos.append(sm.Tempo(440, 90.0))
    midi = remi.score_to_mido(score)
    assert (midi.type, midi.ticks_per_beat, len(midi.tracks)) == (1, 220, 2)
    assert list(midi.tracks[0]) == [mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
                                    mido.MetaMessage("set_tempo", tempo=500000, time=0),
                                    mido.MetaMessage("set_tempo", tempo=666667, time=440)]
    on, off = partial(mido.Message, "note_on", channel=0), partial(mido.Message, "note_off", channel=0, velocity=0)
    assert list(midi.tracks[1]) == [
        mido.MetaMessage("track_name", name="piano", time=0),
        mido.Message("program_change", channel=0, program=0, time=0),
        on(note=60, velocity=90, time=0),
        off(note=60, time=220),  # a note ending where the next begins ends first
        on(note=64, velocity=70, time=0),
        off(note=64, time=110),
    ]


def test_tokenizer_card_round_trips():
    card = remi.tokenizer_card()
    assert json.loads(json.dumps(card)) == card  # what a checkpoint saves is what it reads back
    assert card["miditok_config"]["pitch_range"] == [21, 109]
    assert card["miditok_config"]["beat_res"] == {"0_4": 4, "4_12": 2}
    tok = remi.make_tokenizer(card)
    assert tok.vocab == remi.make_tokenizer().vocab
    with pytest.raises(ValueError):
        remi.make_tokenizer({"name": "CPWord"})


@pytest.mark.shared
def test_pop909_onsets_land_on_the_grid_once_prepared():
    """The issue's measurement: raw POP909 onsets rarely sit on a 16th grid counted from
    tick 0; after the downbeat shift most do, and the songs tokenize at ~70 tokens a bar."""
    root = shared_path("data", "pop909", "POP909")
    tok = remi.make_tokenizer()
    raw_on = prep_on = total = tokens = bars = 0
    for n in range(1, 21):
        path = root / f"{n:03d}" / f"{n:03d}.mid"
        raw_offsets = remi.grid_offsets(remi.load_score(path))
        prepared = remi.prepared_from_file(path)
        offsets = remi.grid_offsets(prepared)
        assert len(offsets) == len(raw_offsets) > 0  # no note lost
        raw_on += sum(o == 0 for o in raw_offsets)
        prep_on += sum(o == 0 for o in offsets)
        total += len(offsets)
        ids = remi.encode(tok, prepared)
        tokens += len(ids)
        bars += sum(tok[i] == "Bar_None" for i in ids)
    assert raw_on / total < 0.2
    assert prep_on / total > 0.8
    assert 55 < tokens / bars < 90


def test_a_missing_library_names_the_generate_extra(monkeypatch):
    from mirctl.errors import BackendUnavailable

    for name, load in (("miditok", remi.miditok), ("symusic", remi.symusic)):
        monkeypatch.setitem(sys.modules, name, None)  # what an uninstalled package looks like to import
        with pytest.raises(BackendUnavailable) as err:
            load()
        assert err.value.message.startswith(f"{name} is not installed (")
        assert err.value.hint == "pip install 'mirctl[generate]'"


def test_an_unreadable_midi_file_is_an_input_error_with_the_parsers_words(tmp_path, monkeypatch):
    from mirctl.errors import InputError

    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError) as err:
        remi.load_score(bad)
    assert err.value.message == f"cannot read {bad} as MIDI: MiniMidi: Invaild midi file! File size is less than 14!: iostream error"
    assert err.value.hint == "check that it is a Standard MIDI File (.mid)"

    class Wordless:  # an exception without words, or with several lines: its name, or its first line
        def __init__(self, exc):
            self.exc = exc

        def Score(self, path):
            raise self.exc

    monkeypatch.setattr(remi, "symusic", lambda: Wordless(ValueError("  ")))
    with pytest.raises(InputError, match=r"^cannot read .*bad\.mid as MIDI: ValueError$"):
        remi.load_score(bad)
    monkeypatch.setattr(remi, "symusic", lambda: Wordless(RuntimeError("first line\nsecond line")))
    with pytest.raises(InputError, match=r"^cannot read .*bad\.mid as MIDI: first line$"):
        remi.load_score(bad)


def test_an_unknown_tokenizer_is_named():
    tok = remi.make_tokenizer()
    assert [tok[i] for i in remi.encode(tok, remi.symusic().Score(480))][:2] == ["Bar_None", "Position_0"]
    with pytest.raises(ValueError, match="^unknown tokenizer 'CPWord'$"):
        remi.make_tokenizer({"name": "CPWord"})
    with pytest.raises(ValueError, match="^unknown tokenizer None$"):
        remi.make_tokenizer({})
    assert remi.make_tokenizer(remi.tokenizer_card()) == tok  # the card's lists rebuild the same tokenizer


def test_note_rows_grid_offsets_and_tempo_rows_are_exact():
    sm = remi.symusic()
    score = sm.Score(480)
    a, b = sm.Track(name="a", program=0), sm.Track(name="b", program=0)
    a.notes.append(sm.Note(130, 200, 60, 90))
    b.notes.append(sm.Note(0, 50, 64, 70))
    b.notes.append(sm.Note(240, 480, 67, 100))
    score.tracks.append(a)
    score.tracks.append(b)
    score.tempos.append(sm.Tempo(960, 60.0))
    score.tempos.append(sm.Tempo(0, 120.0))
    assert remi.note_rows(score) == [(0, 50, 64, 70), (130, 330, 60, 90), (240, 720, 67, 100)]
    offsets = remi.grid_offsets(score)  # a 16th is 120 ticks at 480 per quarter
    assert offsets == [10, 0, 0] and all(type(o) is int for o in offsets)
    assert remi.tempo_rows(score) == [(0, 120.0), (960, 60.0)]
