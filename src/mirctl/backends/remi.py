"""REMI tokens for pop piano MIDI through miditok (symusic underneath).

What mirctl adds to miditok is the preparation of a score before tokenizing it
(:func:`prepare_score`) — POP909's files do not tokenize well as they are: most declare a
1/4 or 2/4 time signature, and their notes sit on a 16th grid shifted by a per-song offset
(the first downbeat of ``beat_midi.txt`` is rarely at tick 0), so a bar counted from tick
0 cuts every beat in two. The preparation

- merges every non-drum track (POP909: MELODY, BRIDGE, PIANO) into one piano stream;
- shifts the song so the first downbeat (from ``beat_midi.txt`` beside the MIDI, when
  there is one) lands on a bar line (later, by whole bars, when notes come before it);
- moves the first tempo to tick 0 and declares 4/4 throughout.

Tokenizer: REMI, 16 positions per 4/4 bar, 16 velocities, tempo tokens, durations up to
three bars; its settings are :data:`CONFIG` and are saved beside every trained model
(``tokenizer.json``) so a checkpoint is decoded with the tokenizer it was trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirctl.backends._lazy import require
from mirctl.errors import InputError

#: miditok.TokenizerConfig arguments of mirctl's REMI tokenizer
CONFIG: dict[str, Any] = {
    "pitch_range": (21, 109),
    "beat_res": {(0, 4): 4, (4, 12): 2},
    "num_velocities": 16,
    "special_tokens": ["PAD", "BOS", "EOS"],
    "use_tempos": True,
    "num_tempos": 32,
    "tempo_range": (50, 200),
    "use_time_signatures": False,
    "use_programs": False,
}
BEATS_PER_BAR = 4
POSITIONS_PER_BAR = 16
BEAT_FILE = "beat_midi.txt"


def miditok() -> Any:
    return require("miditok", extra="generate")


def symusic() -> Any:
    return require("symusic", extra="generate")


def tokenizer_card() -> dict[str, Any]:
    """The tokenizer's settings as JSON (for a model card): ``beat_res`` keys become
    ``"0_4"`` strings, tuples lists."""
    config = dict(CONFIG)
    config["beat_res"] = {f"{a}_{b}": r for (a, b), r in config["beat_res"].items()}
    return {"name": "REMI", "miditok_config": {k: list(v) if isinstance(v, tuple) else v
                                               for k, v in config.items()}}


def make_tokenizer(card: dict[str, Any] | None = None) -> Any:
    """mirctl's REMI tokenizer, or the one a model card describes (:func:`tokenizer_card`)."""
    mt = miditok()
    config = dict(CONFIG)
    if card is not None:
        if card.get("name") != "REMI":
            raise ValueError(f"unknown tokenizer {card.get('name')!r}")
        config = dict(card["miditok_config"])
        config["beat_res"] = {tuple(int(x) for x in k.split("_")): r for k, r in config["beat_res"].items()}
    return mt.REMI(mt.TokenizerConfig(**config))


def pitch_ids(tokenizer: Any) -> range:
    """The ids of the ``Pitch_*`` tokens, ``Pitch_21`` … ``Pitch_109`` (miditok's pitch range
    includes both ends), which miditok's REMI vocabulary keeps contiguous."""
    low, high = tokenizer.config.pitch_range
    ids = [tokenizer.vocab[f"Pitch_{p}"] for p in range(low, high + 1)]
    if ids != list(range(ids[0], ids[0] + len(ids))):
        raise RuntimeError("the tokenizer's pitch tokens are not contiguous")
    return range(ids[0], ids[0] + len(ids))


def holds_notes(ids: list[int], pitches: range) -> bool:
    """Whether token ids hold a note: a ``Pitch`` token (:func:`pitch_ids`). A MIDI file
    without notes still encodes to a Bar, a Position and a Tempo."""
    return any(t in pitches for t in ids)


def seconds_to_ticks(tempos: list[tuple[int, float]], tpq: int, seconds: float) -> int:
    """The tick at ``seconds`` under a tempo map ``[(tick, quarter notes per minute), …]``
    sorted by tick (the first tempo also holds before its tick), for ``seconds`` ≥ 0."""
    tick, time_s, qpm = 0, 0.0, tempos[0][1] if tempos else 120.0
    for t, q in tempos:  # a tempo at the current tick spans no time and takes over
        span = (t - tick) * 60.0 / (qpm * tpq)
        if time_s + span > seconds:
            break
        tick, time_s, qpm = t, time_s + span, q
    return tick + round((seconds - time_s) * qpm * tpq / 60.0)


def first_downbeat_s(beat_file: Path) -> float | None:
    """The time of the first downbeat in a POP909 ``beat_midi.txt``
    (``time_s beat_flag downbeat_flag`` per line); None when it names none."""
    for line in Path(beat_file).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 3 and float(fields[2]) == 1.0:
            return float(fields[0])
    return None


def load_score(path: Path) -> Any:
    """A MIDI file as a symusic Score (ticks); InputError when it cannot be read."""
    try:
        return symusic().Score(str(path))
    except Exception as exc:  # symusic raises RuntimeError/ValueError with the parser's words
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot read {path} as MIDI: {reason}",
                         hint="check that it is a Standard MIDI File (.mid)") from None


def prepare_score(score: Any, downbeat_s: float | None = None) -> Any:
    """The piano stream mirctl tokenizes (see the module docstring); a new Score."""
    sm = symusic()
    tpq = score.tpq
    tempos = sorted((t.time, t.qpm) for t in score.tempos) or [(0, 120.0)]
    bar = BEATS_PER_BAR * tpq
    notes = [n for track in score.tracks if not track.is_drum for n in track.notes]
    shift = 0
    if downbeat_s is not None:
        shift = -seconds_to_ticks(tempos, tpq, downbeat_s)
    if notes:
        first = min(n.time for n in notes)
        while first + shift < 0:
            shift += bar
    out = sm.Score(tpq)
    piano = sm.Track(name="piano", program=0)
    for n in notes:
        piano.notes.append(sm.Note(n.time + shift, n.duration, n.pitch, n.velocity))
    piano.notes.sort()
    out.tracks.append(piano)
    moved = [(max(0, t + shift), q) for t, q in tempos]
    kept: dict[int, float] = {}
    for t, q in moved:  # tempos shifted before 0 collapse onto 0; the last one there holds
        kept[t] = q
    ticks = sorted(kept)
    ticks[0] = 0  # the first tempo holds from the start
    values = [kept[t] for t in sorted(kept)]
    for t, q in zip(ticks, values):
        out.tempos.append(sm.Tempo(t, q))
    out.time_signatures.append(sm.TimeSignature(0, 4, 4))
    return out


def prepared_from_file(path: Path) -> Any:
    """:func:`prepare_score` of a MIDI file, with the downbeat of a ``beat_midi.txt``
    beside it (POP909's layout) when there is one."""
    path = Path(path)
    beat_file = path.parent / BEAT_FILE
    downbeat = first_downbeat_s(beat_file) if beat_file.is_file() else None
    return prepare_score(load_score(path), downbeat)


def encode(tokenizer: Any, score: Any) -> list[int]:
    """Token ids of a prepared score (one stream, no BOS/EOS)."""
    # one sequence per track (REMI without programs), and prepare_score leaves one track
    return list(tokenizer.encode(score)[0].ids)


def decode(tokenizer: Any, ids: list[int]) -> Any:
    """A symusic Score of token ids (special tokens dropped first)."""
    specials = set(tokenizer.special_tokens_ids)
    return tokenizer.decode([[i for i in ids if i not in specials]])


def score_to_mido(score: Any) -> Any:
    """A type-1 ``mido.MidiFile`` of a tick-based symusic Score: a timing track (its tempos,
    4/4) and one piano track of its notes (what mirctl writes; mido does the encoding)."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=score.tpq)
    timing = [(0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    for t in score.tempos:
        timing.append((t.time, 1, mido.MetaMessage("set_tempo", tempo=int(round(t.mspq)))))
    events = [(0, 0, mido.Message("program_change", channel=0, program=0))]
    for track in score.tracks:
        for n in track.notes:
            events.append((n.time, 2, mido.Message("note_on", channel=0, note=n.pitch, velocity=n.velocity)))
            events.append((n.time + n.duration, 1, mido.Message("note_off", channel=0, note=n.pitch, velocity=0)))
    for events_ in (timing, events):  # note-offs before note-ons at the same tick
        events_.sort(key=lambda e: (e[0], e[1]))
        track_ = mido.MidiTrack()
        last = 0
        for tick, _, msg in events_:
            track_.append(msg.copy(time=tick - last))
            last = tick
        midi.tracks.append(track_)
    midi.tracks[1].insert(0, mido.MetaMessage("track_name", name="piano", time=0))
    return midi


def grid_offsets(score: Any) -> list[int]:
    """Each note's onset modulo a 16th note, in ticks (0 for notes on the grid)."""
    step = score.tpq * BEATS_PER_BAR // POSITIONS_PER_BAR
    return [n.time % step for track in score.tracks for n in track.notes]


def note_rows(score: Any) -> list[tuple[int, int, int, int]]:
    """``(start_tick, end_tick, pitch, velocity)`` of every note, sorted."""
    return sorted((n.time, n.time + n.duration, n.pitch, n.velocity) for t in score.tracks for n in t.notes)


def tempo_rows(score: Any) -> list[tuple[int, float]]:
    return sorted((t.time, t.qpm) for t in score.tempos)


__all__ = ["CONFIG", "make_tokenizer", "prepare_score", "prepared_from_file", "encode", "decode",
           "seconds_to_ticks", "first_downbeat_s", "pitch_ids", "holds_notes"]
