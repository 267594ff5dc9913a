"""Exact messages and numbers of mirctl.io.audio (what a user reads, what a writer gets)."""

from __future__ import annotations

import pytest

from mirctl.errors import InputError, UsageError
from mirctl.io.audio import check_write_options, mp3_compression_level, probe_audio, read_audio

HINT = ("mirctl reads wav, flac, ogg, oga, opus, mp3, aif, aiff; convert other formats first, "
        "e.g. `ffmpeg -i in.m4a out.wav`")


def test_unreadable_audio_says_why_without_repeating_the_path(tmp_path):
    text = tmp_path / "text.wav"
    text.write_text("this is not audio\n")
    with pytest.raises(InputError) as err:
        read_audio(text)
    assert (err.value.message, err.value.hint) == (f"{text} is not readable audio (Format not recognised)", HINT)
    tiny = tmp_path / "tiny.mp3"
    tiny.write_bytes(b"ID3" + bytes(5))
    with pytest.raises(InputError) as err:
        probe_audio(tiny)
    assert err.value.message == f"{tiny} is not readable audio (unrecognised or cut-short data, 8 bytes)"
    with pytest.raises(InputError) as err:
        read_audio(tmp_path / "gone.wav")
    assert (err.value.message, err.value.hint) == (f"{tmp_path / 'gone.wav'} does not exist",
                                                   "check the path (quote names with spaces)")
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(InputError) as err:
        read_audio(tmp_path / "dir.wav")
    assert err.value.message == f"{tmp_path / 'dir.wav'} is a folder, not an audio file"


@pytest.mark.parametrize("fmt, bits, message, hint", [
    ("ogg", "16", "unknown audio format 'ogg'", "use one of: wav, flac, mp3"),
    ("wav", "8", "unknown bit depth '8'", "use one of: 16, 24, 32f"),
    ("flac", "32f", "FLAC cannot store 32-bit float samples", "use --bits 24 or --format wav"),
])
def test_write_option_errors(fmt, bits, message, hint):
    with pytest.raises(UsageError) as err:
        check_write_options(fmt, bits)
    assert (err.value.message, err.value.hint) == (message, hint)


def test_valid_write_options_pass():
    for fmt, bits in (("wav", "16"), ("wav", "24"), ("wav", "32f"), ("flac", "16"), ("flac", "24"), ("mp3", "16")):
        check_write_options(fmt, bits)


@pytest.mark.parametrize("kbps, level", [(320, 0.0), (32, 1.0), (176, 0.5), (500, 0.0), (8, 1.0), (128, 2 / 3)])
def test_mp3_bitrate_maps_onto_libsndfile_s_compression_level(kbps, level):
    assert mp3_compression_level(kbps) == pytest.approx(level)


@pytest.mark.parametrize("error, reason", [
    (RuntimeError(), "RuntimeError"),  # no words at all: the error's type
    (RuntimeError("Unsupported: bit depth\nmore detail"), "Unsupported: bit depth"),  # first line, kept whole
    (RuntimeError("Internal psf_fseek() failed."), "unrecognised or cut-short data, 4 bytes"),
    (RuntimeError("Error opening 'a: b.wav': Format not recognised."), "Format not recognised"),
    (RuntimeError("Error opening something"), "Error opening something"),  # no ': ': nothing to drop
])
def test_the_reason_libsndfile_gives_is_said_plainly(tmp_path, error, reason):
    from mirctl.io.audio import _unreadable

    path = tmp_path / "a: b.wav"
    path.write_bytes(b"RIFF")
    err = _unreadable(path, error)
    assert (err.message, err.hint) == (f"{path} is not readable audio ({reason})", HINT)
