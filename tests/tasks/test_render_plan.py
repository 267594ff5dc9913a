"""render's pure parts: stem naming, which events each stem plays, levels, option checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mirctl.errors import UsageError
from mirctl.io.midi_events import BEND, CONTROL, NOTE_OFF, NOTE_ON, PROGRAM, MidiEvent, MidiEvents
from mirctl.tasks import render as rd


def ev(t, kind, ch, a=0, b=0, track=0):
    return MidiEvent(t, kind, ch, a, b, track)


def note(t, ch, pitch, track=0, dur=0.5):
    return [ev(t, NOTE_ON, ch, pitch, 90, track), ev(t + dur, NOTE_OFF, ch, pitch, 0, track)]


def midi(events, names=()):
    return MidiEvents(sorted(events, key=lambda e: e.time_s), list(names))


def test_named_tracks_with_one_instrument_are_named_after_the_track():
    m = midi(note(0, 0, 60, 1) + note(0, 1, 64, 2) + note(0, 2, 40, 3), ["", "MELODY", "Bridge part", "PIANO"])
    assert [(s.name, s.track, s.channel, s.notes) for s in rd.find_stems(m)] == [
        ("melody", 1, 0, 1), ("bridge_part", 2, 1, 1), ("piano", 3, 2, 1)]


def test_unnamed_or_multi_channel_tracks_get_the_general_midi_family_and_drums_on_channel_10():
    events = ([ev(0, PROGRAM, 0, 1), ev(0, PROGRAM, 1, 33), ev(0, PROGRAM, 2, 52)]
              + note(0.1, 0, 60) + note(0.2, 1, 40) + note(0.3, 9, 36) + note(0.4, 2, 70))
    m = midi(events, ["Song title"])  # a type-0 file: the title names no instrument
    assert [(s.name, s.program, s.drums) for s in rd.find_stems(m)] == [
        ("piano", 1, False), ("bass", 33, False), ("drums", 0, True), ("ensemble", 52, False)]


def test_clashing_names_become_track_or_channel_numbered_program_names():
    # two guitars in a type-0 file (one track, two channels) and two named-alike tracks
    type0 = midi([ev(0, PROGRAM, 2, 26), ev(0, PROGRAM, 5, 30)] + note(0.1, 2, 60) + note(0.2, 5, 62))
    assert [s.name for s in rd.find_stems(type0)] == ["ch03_electric_guitar_jazz", "ch06_distortion_guitar"]
    type1 = midi([ev(0, PROGRAM, 0, 0, track=1), ev(0, PROGRAM, 1, 4, track=2)]
                 + note(0.1, 0, 60, 1) + note(0.2, 1, 62, 2), ["", "keys", "Keys"])
    assert [s.name for s in rd.find_stems(type1)] == ["track01_acoustic_grand_piano", "track02_electric_piano_1"]
    # the same program on two channels of one track, both unnamed: numbered
    same = midi(note(0.1, 0, 60) + note(0.2, 1, 62))
    assert [s.name for s in rd.find_stems(same)] == ["ch01_acoustic_grand_piano", "ch02_acoustic_grand_piano"]


def test_two_tracks_on_one_channel_are_two_stems():
    m = midi(note(0, 0, 60, 1) + note(0.1, 0, 64, 2), ["", "left hand", "right hand"])
    assert [(s.name, s.track, s.channel) for s in rd.find_stems(m)] == [("left_hand", 1, 0), ("right_hand", 2, 0)]


def test_program_at_the_first_note_and_forced_program_except_drums():
    events = [ev(0, PROGRAM, 0, 40), ev(1.0, PROGRAM, 0, 0)] + note(0.5, 0, 60) + note(0.6, 9, 38)
    stems = rd.find_stems(midi(events))
    assert [(s.name, s.program) for s in stems] == [("strings", 40), ("drums", 0)]
    forced = rd.find_stems(midi(events), program=33)
    assert [(s.name, s.program) for s in forced] == [("bass", 33), ("drums", 0)]


def test_a_stem_plays_its_own_notes_and_everyone_s_controllers():
    events = ([ev(0, PROGRAM, 0, 0), ev(0, PROGRAM, 1, 33), ev(0.2, CONTROL, 1, 7, 50), ev(0.3, BEND, 0, 100)]
              + note(0.1, 0, 60) + note(0.4, 1, 40))
    m = midi(events)
    piano, bass = rd.find_stems(m)
    mine = rd.stem_events(m, piano)
    assert [(e.kind, e.channel) for e in mine if e.kind in (NOTE_ON, NOTE_OFF)] == [(NOTE_ON, 0), (NOTE_OFF, 0)]
    assert [e for e in mine if e.kind not in (NOTE_ON, NOTE_OFF)] == [e for e in m.events
                                                                     if e.kind not in (NOTE_ON, NOTE_OFF)]
    assert rd.stem_events(m, None) is m.events


def test_levels_and_normalization_gain():
    sr = 44100
    t = np.arange(sr * 2) / sr
    mix = np.stack([0.25 * np.sin(2 * np.pi * 997 * t)] * 2).astype(np.float32)
    assert rd.peak_dbfs(mix) == pytest.approx(20 * math.log10(0.25), abs=0.01)
    assert rd.peak_dbfs(np.zeros((2, 10))) is None
    p = rd.Params(normalize="peak", target=-3.0)
    gain, problem = rd.level_gain(mix, sr, p)
    assert problem is None and 20 * math.log10(gain) == pytest.approx(-3.0 - 20 * math.log10(0.25), abs=0.01)
    p = rd.Params(normalize="lufs")  # default target -14 LUFS
    gain, _ = rd.level_gain(mix, sr, p)
    assert rd.loudness(mix * gain, sr) == pytest.approx(-14.0, abs=0.01)
    assert rd.level_gain(mix, sr, rd.Params(gain_db=-6.0)) == (pytest.approx(10 ** (-6 / 20)), None)
    gain, problem = rd.level_gain(mix[:, :1000], sr, rd.Params(normalize="lufs"))
    assert gain == 1.0 and problem.startswith("--normalize lufs: not applied, it is silent or shorter than 0.4 s")


def test_lufs_normalization_stops_short_of_clipping():
    sr = 44100
    t = np.arange(sr * 4) / sr
    # quiet overall but with sharp clicks: -14 LUFS would need a peak above full scale
    x = 0.01 * np.sin(2 * np.pi * 440 * t)
    x[:: sr // 4] = 0.5
    mix = np.stack([x, x]).astype(np.float32)
    gain, problem = rd.level_gain(mix, sr, rd.Params(normalize="lufs"))
    assert rd.peak_dbfs(mix * gain) == pytest.approx(-1.0, abs=0.01)
    reached = rd.loudness(mix * gain, sr)
    assert reached < -14.0
    assert problem == (f"--normalize lufs: reached {reached:.1f} LUFS, not -14: louder would push the peak above "
                       "-1 dBFS (a limiter, as in `mirctl mix`, can go further)")


def test_muted_notes_counts_notes_under_volume_or_expression_zero():
    events = ([ev(0, CONTROL, 0, 7, 0), ev(0, CONTROL, 1, 11, 0), ev(1.0, CONTROL, 0, 7, 90)]
              + note(0.1, 0, 60) + note(0.2, 1, 62) + note(1.5, 0, 64) + note(0.3, 2, 65))
    assert rd.muted_notes(midi(events)) == 2


@pytest.mark.parametrize("changes, message", [
    ({"synth": "timidity"}, "--synth 'timidity' is not one of fluidsynth, tinysoundfont"),
    ({"sample_rate": 4000}, "--sample-rate 4000 is out of range"),
    ({"tail_s": -1.0}, "--tail must be a non-negative number of seconds, got -1.0"),
    ({"tail_s": float("nan")}, "--tail must be a non-negative number of seconds, got nan"),
    ({"program": 128}, "--program 128 is not a General MIDI program"),
    ({"normalize": "rms"}, "--normalize 'rms' is not one of peak, lufs"),
    ({"target": -3.0}, "--target needs --normalize peak or --normalize lufs"),
    ({"normalize": "peak", "gain_db": 3.0}, "--gain and --normalize both set the level"),
    ({"normalize": "peak", "target": 1.0}, "--target 1.0 dBFS is above full scale"),
    ({"synth": "tinysoundfont", "reverb": True}, "--synth tinysoundfont has no reverb or chorus"),
    ({"format": "flac", "bits": "32f"}, "FLAC cannot store 32-bit float samples"),
])
def test_validate_refuses_with_the_reason(changes, message):
    with pytest.raises(UsageError) as err:
        rd.validate(rd.Params(**changes))
    assert err.value.message == message


def test_validate_accepts_the_defaults_and_sensible_combinations():
    for p in (rd.Params(), rd.Params(synth="tinysoundfont", reverb=False), rd.Params(normalize="lufs", target=-23),
              rd.Params(program=0, tail_s=0.0, format="flac", bits="24")):
        rd.validate(p)
    assert rd.Params().effects == (True, True)
    assert rd.Params(synth="tinysoundfont").effects == (False, False)
    assert rd.Params(reverb=False).effects == (False, True)
