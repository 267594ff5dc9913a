"""Make the demo material: a short synthesized song and its ground truth (CC0, made here).

    python examples/make_example.py examples/demo

writes ``melody.mid`` (the notes), ``song.mid`` (piano, bass and drums as General MIDI
tracks), ``piano.wav`` (those notes on a piano-like synth),
``drums.wav`` and ``bass.wav``, and ``mix.wav`` (all three, 44.1 kHz stereo), and ``tagset/`` (48 labelled 3 s clips
for ``mirctl train tag``, from :func:`mirctl.testing.write_multilabel_set`) and
``classset/`` (4 classes × 12 clips for ``mirctl train classify``, one folder per class;
their labels also as ``classset_labels.csv`` for ``mirctl eval classify``). Everything
is deterministic, so the files are the same on every machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

SR = 44100
BPM = 100
BEAT = 60 / BPM
# (beat, length in beats, MIDI pitch): a I-vi-IV-V phrase with an arpeggiated melody
MELODY = [(0, 1, 64), (1, 1, 67), (2, 1, 72), (3, 1, 67), (4, 1, 64), (5, 1, 69), (6, 1, 72), (7, 1, 69),
          (8, 1, 65), (9, 1, 69), (10, 1, 72), (11, 1, 69), (12, 1, 67), (13, 1, 71), (14, 2, 74)]
BASS = [(0, 4, 36), (4, 4, 45), (8, 4, 41), (12, 4, 43)]


def pluck(pitch: int, seconds: float, bright: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    hz = 440 * 2 ** ((pitch - 69) / 12)
    tone = sum((bright ** h) * np.sin(2 * np.pi * hz * (h + 1) * t) for h in range(6) if hz * (h + 1) < SR / 2)
    env = np.exp(-3 * t) * np.minimum(1, t / 0.004) * np.clip((seconds - t) / 0.04, 0, 1)
    return tone * env


def render(notes, gain: float, bright: float) -> np.ndarray:
    total = int((max(b + l for b, l, _ in notes) * BEAT + 1.0) * SR)
    out = np.zeros(total)
    for beat, length, pitch in notes:
        seg = pluck(pitch, length * BEAT * 0.95, bright)
        i = int(beat * BEAT * SR)
        out[i:i + seg.size] += gain * seg
    return out


def drums(total: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    out = np.zeros(total)
    for k in range(int(total / SR / BEAT)):
        i = int(k * BEAT * SR)
        t = np.arange(int(0.25 * SR)) / SR
        if k % 2 == 0:  # kick
            hit = np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * t)) * t) * np.exp(-12 * t)
        else:  # snare
            hit = 0.6 * rng.standard_normal(t.size) * np.exp(-25 * t) + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-20 * t)
        end = min(total, i + hit.size)
        out[i:end] += 0.5 * hit[: end - i]
        j = int((k + 0.5) * BEAT * SR)  # hi-hat on the off-beat
        hat = 0.15 * rng.standard_normal(int(0.05 * SR)) * np.exp(-80 * t[: int(0.05 * SR)])
        end = min(total, j + hat.size)
        out[j:end] += hat[: end - j]
    return out


def song(path: Path) -> None:
    """The same phrase as a General MIDI arrangement for `mirctl render --stems`: piano
    melody, a fingered bass with a volume swell (CC 7) and sustain on the piano (CC 64),
    and a kit on channel 10."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
    piano = pretty_midi.Instrument(program=0, name="piano")
    piano.notes = [pretty_midi.Note(90, p, b * BEAT, (b + l * 0.95) * BEAT) for b, l, p in MELODY]
    piano.control_changes = [pretty_midi.ControlChange(64, 127, 0.0), pretty_midi.ControlChange(64, 0, 15.5 * BEAT)]
    bass = pretty_midi.Instrument(program=33, name="bass")
    bass.notes = [pretty_midi.Note(100, p, b * BEAT, (b + l * 0.9) * BEAT) for b, l, p in BASS]
    bass.control_changes = [pretty_midi.ControlChange(7, 60 + 4 * k, k * BEAT) for k in range(16)]
    kit = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    for k in range(16):
        kit.notes.append(pretty_midi.Note(100, 36 if k % 2 == 0 else 38, k * BEAT, k * BEAT + 0.1))
        kit.notes.append(pretty_midi.Note(70, 42, (k + 0.5) * BEAT, (k + 0.5) * BEAT + 0.05))
    pm.instruments += [piano, bass, kit]
    pm.write(str(path))


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    piano = render(MELODY, 0.25, 0.5)
    bass = render(BASS, 0.35, 0.3)
    n = max(piano.size, bass.size)
    piano, bass = np.pad(piano, (0, n - piano.size)), np.pad(bass, (0, n - bass.size))
    kit = drums(n)
    stereo = lambda x, pan: np.stack([x * (1 - pan), x * (1 + pan)])  # noqa: E731
    mix = stereo(piano, 0.2) + stereo(bass, 0.0) + stereo(kit, -0.1)
    mix *= 0.9 / np.max(np.abs(mix))
    sf.write(folder / "mix.wav", mix.T.astype(np.float32), SR, subtype="PCM_16")
    sf.write(folder / "piano.wav", piano.astype(np.float32), SR, subtype="PCM_16")
    sf.write(folder / "bass.wav", bass.astype(np.float32), SR, subtype="PCM_16")
    sf.write(folder / "drums.wav", kit.astype(np.float32), SR, subtype="PCM_16")
    pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
    inst = pretty_midi.Instrument(program=0, name="melody")
    inst.notes = [pretty_midi.Note(90, p, b * BEAT, (b + l * 0.95) * BEAT) for b, l, p in MELODY]
    pm.instruments.append(inst)
    pm.write(str(folder / "melody.mid"))
    song(folder / "song.mid")
    # a small multi-label set for `mirctl train tag` (tones, low sines, noise bursts, clicks)
    from mirctl.testing import write_multilabel_set

    write_multilabel_set(folder / "tagset", n=48, seed=0)
    # and a 4-class set for `mirctl train classify` (one folder per class)
    from mirctl.testing import write_class_folders

    classes = write_class_folders(folder / "classset", n_per_class=12, seed=0, sec=2.0)
    labelled = sorted(classes.glob("*/*.wav"))
    (folder / "classset_labels.csv").write_text(
        "path,label\n" + "".join(f"{p.relative_to(folder)},{p.parent.name}\n" for p in labelled), encoding="utf-8")
    print(f"demo material written to {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/demo"))
