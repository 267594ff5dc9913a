"""A corpus of bad inputs, made by the tests (nothing to download or keep in git).

``make_files(folder)`` writes files every file-taking command must survive, and
``make_stem_sets(folder)`` folders for the stem-set commands. Each returns
{name: expectation}: "ok" (must succeed), "fail" (must fail with a one-line reason
naming it) or "any" (either is fine, but no traceback and nothing partial).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 22050


def _tone(seconds: float, sr: int = SR, channels: int = 1, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return np.repeat((0.3 * np.sin(2 * np.pi * hz * t))[:, None], channels, axis=1).astype(np.float32)


def _midi(path: Path, notes: int, seed: int = 0) -> None:
    from mirctl.io.midi import import_pretty_midi

    pretty_midi = import_pretty_midi()  # quiet: pyfluidsynth prints when $CI is set

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    starts = np.sort(rng.random(notes) * max(1.0, notes / 50))
    for s, p in zip(starts, rng.integers(40, 90, notes)):
        inst.notes.append(pretty_midi.Note(velocity=80, pitch=int(p), start=float(s), end=float(s) + 0.2))
    pm.instruments.append(inst)
    pm.write(str(path))


def make_files(folder: Path, audio: bool = True, midi: bool = True) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}
    if audio:
        sf.write(folder / "good.wav", _tone(1.0), SR)
        expect["good.wav"] = "ok"
        (folder / "text.wav").write_text("this is not audio\n")
        expect["text.wav"] = "fail"
        sf.write(folder / "full.wav", _tone(1.0), SR, subtype="PCM_16")
        (folder / "truncated.wav").write_bytes((folder / "full.wav").read_bytes()[:30])
        (folder / "full.wav").unlink()
        expect["truncated.wav"] = "fail"
        (folder / "empty.wav").write_bytes(b"")
        expect["empty.wav"] = "fail"
        sf.write(folder / "one_sample.wav", np.zeros((1, 1), np.float32), SR)
        expect["one_sample.wav"] = "any"
        nan = _tone(0.5)
        nan[100] = np.nan
        sf.write(folder / "nan.wav", nan, SR, subtype="FLOAT")
        expect["nan.wav"] = "fail"
        inf = _tone(0.5)
        inf[100] = np.inf
        sf.write(folder / "inf.wav", inf, SR, subtype="FLOAT")
        expect["inf.wav"] = "fail"
        loud = _tone(0.5)
        loud[100] = 2.0 ** 120  # a flipped exponent: +722 dBFS
        sf.write(folder / "out_of_range.wav", loud, SR, subtype="FLOAT")
        expect["out_of_range.wav"] = "any"
        sf.write(folder / "eight_channels.wav", _tone(0.5, channels=8), SR)
        expect["eight_channels.wav"] = "ok"
        sf.write(folder / "rate8k.wav", _tone(0.5, 8000), 8000)
        expect["rate8k.wav"] = "ok"
        sf.write(folder / "rate192k.wav", _tone(0.5, 192000), 192000)
        expect["rate192k.wav"] = "ok"
        (folder / "dir.wav").mkdir()
        expect["dir.wav"] = "fail"
        os.mkfifo(folder / "fifo.wav")
        expect["fifo.wav"] = "fail"
        os.symlink("loop.wav", folder / "loop.wav")
        expect["loop.wav"] = "fail"
        for name in ("name with spaces.wav", "ünïcödé.wav", "-leading-dash.wav", "...wav"):
            sf.write(folder / name, _tone(0.5, hz=330), SR, format="WAV")
            expect[name] = "ok"
    if midi:
        _midi(folder / "good_midi.mid", 20)
        expect["good_midi.mid"] = "ok"
        (folder / "corrupt_midi.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff\xff")
        expect["corrupt_midi.mid"] = "fail"
        (folder / "empty_midi.mid").write_bytes(b"")
        expect["empty_midi.mid"] = "fail"
        _midi(folder / "big_midi.mid", 50_000)
        expect["big_midi.mid"] = "ok"
        header = b"MThd" + struct.pack(">LHHH", 6, 0, 1, 480)
        (folder / "no_notes.mid").write_bytes(header + b"MTrk" + struct.pack(">L", 4) + b"\x00\xff\x2f\x00")
        expect["no_notes.mid"] = "any"
    return expect


def make_stem_sets(folder: Path) -> dict[str, str]:
    expect: dict[str, str] = {}
    good = folder / "good_set"
    good.mkdir(parents=True)
    sf.write(good / "vocals.wav", _tone(1.0), SR)
    sf.write(good / "drums.wav", _tone(1.0, hz=110), SR)
    expect["good_set"] = "ok"
    bad = folder / "bad_set"
    bad.mkdir()
    sf.write(bad / "vocals.wav", _tone(1.0), SR)
    (bad / "drums.wav").write_text("not audio")
    expect["bad_set"] = "fail"
    empty = folder / "empty_set"
    empty.mkdir()
    (empty / "notes.txt").write_text("no audio here")
    expect["empty_set"] = "fail"
    mixed = folder / "mixed_rates"
    mixed.mkdir()
    sf.write(mixed / "vocals.wav", _tone(1.0, 16000), 16000)
    sf.write(mixed / "bass.wav", _tone(0.7, 44100, 2), 44100)
    expect["mixed_rates"] = "any"
    zero = folder / "zero_length"
    zero.mkdir()
    sf.write(zero / "vocals.wav", np.zeros((0, 1), np.float32), SR)
    sf.write(zero / "drums.wav", _tone(0.5), SR)
    expect["zero_length"] = "any"
    eight = folder / "eight_channels"
    eight.mkdir()
    sf.write(eight / "vocals.wav", np.repeat(_tone(0.5)[:, :1], 8, axis=1), SR)
    expect["eight_channels"] = "any"
    silent = folder / "silent_set"
    silent.mkdir()
    sf.write(silent / "vocals.wav", np.zeros((SR, 2), np.float32), SR)
    sf.write(silent / "drums.wav", np.zeros((SR, 2), np.float32), SR)
    expect["silent_set"] = "any"
    return expect
