"""Isolated notes of General MIDI instrument families, rendered by `mirctl render`:
real synthesized instruments (the SoundFont's samples) for the classifier's tests.

Six families, three GM programs each; training notes at six pitches and two velocities,
held-out notes at three pitches none of the training notes has (one velocity between).
"""

from __future__ import annotations

from pathlib import Path

FAMILIES = {
    "keyboard": (0, 2, 4),  # acoustic grand, electric grand, electric piano 1
    "guitar": (24, 25, 27),  # nylon, steel, clean electric
    "bass": (32, 33, 34),  # acoustic, finger, pick
    "strings": (40, 41, 48),  # violin, viola, string ensemble 1
    "brass": (56, 57, 61),  # trumpet, trombone, brass section
    "reed": (64, 65, 71),  # soprano sax, alto sax, clarinet
}
TRAIN_PITCHES = (50, 53, 57, 60, 64, 67)
HELD_OUT_PITCHES = (55, 62, 65)
OCTAVE_DOWN = {"bass"}  # basses play an octave lower


def write_notes(folder: Path) -> Path:
    """``folder/midi/*.mid`` (one 1.6 s note each) and ``folder/labels.csv`` rows
    (path to the rendered wav, family, split: the held-out pitches are ``valid``)."""
    import pretty_midi

    (folder / "midi").mkdir(parents=True, exist_ok=True)
    rows = ["path,label,split"]
    for family, programs in FAMILIES.items():
        shift = -12 if family in OCTAVE_DOWN else 0
        for program in programs:
            notes = [(p, v, "train") for p in TRAIN_PITCHES for v in (70, 110)]
            notes += [(p, 90, "valid") for p in HELD_OUT_PITCHES]
            for pitch, velocity, split in notes:
                name = f"{family}_p{program}_n{pitch + shift}_v{velocity}"
                pm = pretty_midi.PrettyMIDI(initial_tempo=120)
                inst = pretty_midi.Instrument(program=program)
                inst.notes.append(pretty_midi.Note(velocity, pitch + shift, 0.0, 1.6))
                pm.instruments.append(inst)
                pm.write(str(folder / "midi" / f"{name}.mid"))
                rows.append(f"audio/{name}.wav,{family},{split}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder
