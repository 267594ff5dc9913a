"""Write the artifacts a task returns (see :mod:`mirctl.types`) to paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mirctl.io.audio import write_audio
from mirctl.io.midi import write_midi
from mirctl.types import ArraysOut, AudioOut, ImageOut, MidiOut, TextOut


@dataclass(frozen=True)
class AudioWriteOptions:
    """How audio artifacts are encoded (``--format``, ``--bits``, ``--mp3-bitrate``)."""

    bits: str = "16"
    mp3_bitrate: int = 320


def write_artifact(artifact: object, path: Path, fmt: str, audio: AudioWriteOptions) -> None:
    """Write one artifact to ``path``; ``fmt`` is the output's extension (wav, mid, csv…)."""
    if isinstance(artifact, AudioOut):
        write_audio(path, artifact.wav, artifact.sr, fmt=fmt, bits=audio.bits, mp3_bitrate=audio.mp3_bitrate)
    elif isinstance(artifact, MidiOut):
        write_midi(path, artifact.midi)
    elif isinstance(artifact, TextOut):
        Path(path).write_text(artifact.text, encoding="utf-8")
    elif isinstance(artifact, ArraysOut):
        import numpy as np

        with open(path, "wb") as fh:  # a file object stops numpy from appending ".npz"
            np.savez_compressed(fh, **artifact.arrays)
    elif isinstance(artifact, ImageOut):
        artifact.render(str(path))
    else:  # pragma: no cover - a programming error in a task
        raise TypeError(f"cannot write artifact of type {type(artifact).__name__}")
