"""Plain data types shared by tasks, io and the pipeline (no third-party imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Note:
    """One note event. Times in seconds, ``pitch`` as a MIDI number, ``velocity`` 0-127.

    ``bends`` holds pitch-bend values in units of 1/3 semitone, evenly spaced between
    ``start_s`` and ``end_s`` (basic-pitch's convention), or ``None``.
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int
    amplitude: float = 0.0
    bends: tuple[int, ...] | None = field(default=None, compare=False)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# --- what a task hands back for the pipeline to write -------------------------------
# Tasks never touch files: they return these, keyed by output slot, and the pipeline
# writes each one atomically through mirctl.io.


@dataclass
class AudioOut:
    """Audio to write: float32 ``wav`` shaped (channels, samples) at ``sr`` Hz."""

    wav: object
    sr: int


@dataclass
class MidiOut:
    """A :class:`mirctl.io.midi.MidiScore` to write as a Standard MIDI File."""

    midi: object


@dataclass
class TextOut:
    """UTF-8 text (CSV, JSON, …)."""

    text: str


@dataclass
class ArraysOut:
    """Named numpy arrays to write as an ``.npz`` archive."""

    arrays: dict


@dataclass
class ImageOut:
    """A picture: ``render(path)`` draws it into a PNG file at ``path``."""

    render: object


@dataclass
class TaskResult:
    """What a task returns: artifacts keyed by output slot, plus JSON-able ``data``."""

    outputs: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    #: what ``--eval`` scores (stems and their rate, notes…); the runner hands it to the
    #: task's ``mirctl.evaluation`` module with the references it found
    estimate: object = None


# --- what the pipeline hands a task for one input ------------------------------------


@dataclass
class AudioSource:
    """A decoded audio input: float32 ``wav`` shaped (channels, samples) at ``sr`` Hz.

    ``file_format``/``subtype`` describe the container and encoding (e.g. WAV, PCM_16).
    """

    path: object
    wav: object
    sr: int
    file_format: str = ""
    subtype: str = ""
    refs: dict = field(default_factory=dict)  # reference material for --eval, by key


@dataclass
class MidiSource:
    """A parsed MIDI input (``pretty_midi.PrettyMIDI``) plus its header (:class:`mirctl.io.midi.MidiHeader`)."""

    path: object
    midi: object
    header: object = None
    refs: dict = field(default_factory=dict)


@dataclass
class StemSetSource:
    """A stem set: ``stems`` maps each stem's name (its file name without extension) to
    ``(wav, sr)``, ``wav`` float32 (channels, samples); ``paths`` to its file."""

    path: object
    stems: dict
    paths: dict = field(default_factory=dict)
    refs: dict = field(default_factory=dict)


@dataclass
class GeneratedSource:
    """A generated item: no input file, only its ``name`` (``{track}``) and its position
    ``index`` in the run (before sharding), from which a task derives e.g. a seed."""

    path: object
    name: str
    index: int
    refs: dict = field(default_factory=dict)


@dataclass
class NotesSource:
    """Notes read from a MIDI or note-CSV file (a list of :class:`Note`)."""

    path: object
    notes: list
    refs: dict = field(default_factory=dict)
