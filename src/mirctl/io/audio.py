"""Read and write audio with soundfile (libsndfile: wav, flac, ogg/vorbis, opus, mp3).

Arrays are float32 shaped (channels, samples). Reading keeps the file's own sample
rate and channel count; tasks convert as their model needs (see :mod:`mirctl.dsp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mirctl.errors import InputError, UsageError

if TYPE_CHECKING:
    import numpy as np

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
WRITE_FORMATS = ("wav", "flac", "mp3")
BIT_DEPTHS = ("16", "24", "32f")
WRITE_BLOCK = 1 << 18  # frames per write call

_SUBTYPES = {
    ("wav", "16"): "PCM_16",
    ("wav", "24"): "PCM_24",
    ("wav", "32f"): "FLOAT",
    ("flac", "16"): "PCM_16",
    ("flac", "24"): "PCM_24",
}


@dataclass(frozen=True)
class AudioFileInfo:
    """Header facts read without decoding the samples."""

    sr: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sr if self.sr else 0.0


def _unreadable(path: Path, err: Exception) -> InputError:
    if not path.exists():
        return InputError(f"{path} does not exist", hint="check the path (quote names with spaces)")
    if path.is_dir():
        return InputError(f"{path} is a folder, not an audio file")
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "not a regular file" in reason or "psf_fseek" in reason:  # libsndfile's words for a cut-short file
        reason = f"unrecognised or cut-short data, {path.stat().st_size} bytes"
    elif reason.startswith("Error opening") and ": " in reason:  # drop libsndfile's repeat of the path
        reason = reason.rsplit(": ", 1)[1].rstrip(".")
    return InputError(
        f"{path} is not readable audio ({reason})",
        hint="mirctl reads " + ", ".join(e.lstrip(".") for e in AUDIO_EXTENSIONS)
        + "; convert other formats first, e.g. `ffmpeg -i in.m4a out.wav`",
    )


def probe_audio(path: Path) -> AudioFileInfo:
    """Header information; raises InputError when the file is not readable audio."""
    import soundfile as sf

    path = Path(path)
    try:
        info = sf.info(str(path))
    except Exception as err:  # libsndfile raises several types for bad files
        raise _unreadable(path, err) from None
    return AudioFileInfo(int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole file to float32 (channels, samples) and its sample rate.

    Raises InputError for a missing, unreadable or empty file or for NaN/Inf samples.
    """
    import numpy as np
    import soundfile as sf

    path = Path(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise _unreadable(path, err) from None
    if data.shape[0] == 0:
        raise InputError(f"{path} holds no audio samples (empty file)")
    if not np.isfinite(data).all():
        raise InputError(f"{path} contains NaN or infinite samples", hint="re-export the file from its source")
    return np.ascontiguousarray(data.T), int(sr)


FULL_SCALE = 0.999  # |sample| at or above this counts as full scale for ``clipped``


def level_flags(wav: np.ndarray, block: int = 1 << 18) -> dict[str, object]:
    """``clipped``: some channel holds 3 or more consecutive full-scale samples;
    ``out_of_range``: samples beyond ±1 (only float files can hold them); ``peak_dbfs``.
    Works in blocks, so a long song needs no whole-length temporary arrays."""
    import numpy as np

    if wav.size == 0:
        return {"clipped": False, "out_of_range": False, "peak_dbfs": None}
    peak, clipped = 0.0, False
    n = wav.shape[-1]
    for start in range(0, n, block):
        a = np.abs(wav[..., max(0, start - 2):start + block])  # 2 samples of overlap: runs across blocks
        peak = max(peak, float(a.max()))
        if not clipped and a.shape[-1] >= 3:
            full = a >= FULL_SCALE
            clipped = bool(np.any(full[..., 2:] & full[..., 1:-1] & full[..., :-2]))
    return {"clipped": clipped, "out_of_range": peak > 1.0,
            "peak_dbfs": round(20 * float(np.log10(peak)), 2) if peak > 0 else None}


def check_write_options(fmt: str, bits: str) -> None:
    """Refuse format/bit-depth pairs no writer supports (a usage error)."""
    if fmt not in WRITE_FORMATS:
        raise UsageError(f"unknown audio format {fmt!r}", hint="use one of: " + ", ".join(WRITE_FORMATS))
    if bits not in BIT_DEPTHS:
        raise UsageError(f"unknown bit depth {bits!r}", hint="use one of: " + ", ".join(BIT_DEPTHS))
    if fmt == "flac" and bits == "32f":
        raise UsageError("FLAC cannot store 32-bit float samples", hint="use --bits 24 or --format wav")


def mp3_compression_level(kbps: int) -> float:
    """libsndfile maps a 0..1 compression level linearly onto 320..32 kbit/s (CBR)."""
    kbps = min(max(int(kbps), 32), 320)
    return (320 - kbps) / (320 - 32)


def write_audio(path: Path, wav: np.ndarray, sr: int, fmt: str | None = None, bits: str = "16",
                mp3_bitrate: int = 320) -> None:
    """Write (channels, samples) float audio. ``fmt`` defaults to the path's suffix.

    Integer formats are clipped to [-1, 1] by libsndfile; callers that care about
    clipping apply their own policy first (see ``--clip`` in ``mirctl separate``).
    """
    import numpy as np
    import soundfile as sf

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    check_write_options(fmt, bits)
    wav = np.asarray(wav)
    if fmt == "mp3":
        kwargs = dict(format="MP3", subtype="MPEG_LAYER_III", compression_level=mp3_compression_level(mp3_bitrate),
                      bitrate_mode="CONSTANT")
    else:
        kwargs = dict(format=fmt.upper(), subtype=_SUBTYPES[(fmt, bits)])
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=wav.shape[0], **kwargs) as out:
        for start in range(0, wav.shape[1], WRITE_BLOCK):  # blockwise: no full-length transposed copy
            out.write(np.ascontiguousarray(wav[:, start:start + WRITE_BLOCK].T, dtype=np.float32))


def integrated_loudness(wav: np.ndarray, sr: int) -> float | None:
    """ITU-R BS.1770-4 integrated loudness in LUFS (see :mod:`mirctl.loudness`)."""
    from mirctl.loudness import integrated_loudness as measure

    return measure(wav, sr)
