"""Exact messages and numbers of mirctl.io.audio (what a user reads, what a writer gets)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

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
    (RuntimeError("Error opening 'a.wav': Unsupported format WAVEX."), "Unsupported format WAVEX"),  # one '.' only
])
def test_the_reason_libsndfile_gives_is_said_plainly(tmp_path, error, reason):
    from mirctl.io.audio import _unreadable

    path = tmp_path / "a: b.wav"
    path.write_bytes(b"RIFF")
    err = _unreadable(path, error)
    assert (err.message, err.hint) == (f"{path} is not readable audio ({reason})", HINT)


def test_read_and_probe_give_exact_samples_and_header_facts(tmp_path):
    from mirctl.io.audio import AudioFileInfo

    wav = np.array([[0.5, -0.25, 0.0, 0.125], [-1.0, 0.75, 0.25, 0.0]], dtype=np.float32)
    path = tmp_path / "x.flac"
    sf.write(str(path), wav.T, 22050, subtype="PCM_24")
    got, sr = read_audio(path)
    assert (sr, got.dtype, got.shape, got.flags["C_CONTIGUOUS"]) == (22050, np.float32, (2, 4), True)
    assert type(sr) is int and np.array_equal(got, wav)
    info = probe_audio(path)
    assert info == AudioFileInfo(22050, 2, 4, "FLAC", "PCM_24")
    assert type(info.sr) is int and type(info.frames) is int and info.duration_s == 4 / 22050
    assert AudioFileInfo(0, 1, 0, "WAV", "PCM_16").duration_s == 0.0


def test_empty_and_non_finite_files_are_refused_word_for_word(tmp_path):
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros((0, 1), np.float32), 44100)
    with pytest.raises(InputError) as err:
        read_audio(empty)
    assert (err.value.message, err.value.hint) == (f"{empty} holds no audio samples (empty file)", None)
    for bad in (np.nan, np.inf, -np.inf):
        path = tmp_path / "bad.wav"
        sf.write(str(path), np.array([[0.1], [bad], [0.2]], np.float32), 44100, subtype="FLOAT")
        with pytest.raises(InputError) as err:
            read_audio(path)
        assert (err.value.message, err.value.hint) == (f"{path} contains NaN or infinite samples",
                                                       "re-export the file from its source")


def _flags(samples, block=1 << 18):
    from mirctl.io.audio import level_flags

    return level_flags(np.asarray(samples, dtype=np.float32), block=block)


def test_level_flags_values():
    assert _flags(np.zeros((2, 0))) == {"clipped": False, "out_of_range": False, "peak_dbfs": None}
    assert _flags([[0.0, 0.0, 0.0]]) == {"clipped": False, "out_of_range": False, "peak_dbfs": None}
    assert _flags([[0.5, -0.25, 0.1]]) == {"clipped": False, "out_of_range": False, "peak_dbfs": -6.02}
    assert _flags([[0.1, -1.0, 0.2]]) == {"clipped": False, "out_of_range": False, "peak_dbfs": 0.0}  # 1.0 is in range
    assert _flags([[0.1, -1.5, 0.2]]) == {"clipped": False, "out_of_range": True, "peak_dbfs": 3.52}
    # three full-scale samples in a row (either sign) clip; two, or three just under 0.999, do not
    assert _flags([[0.0, 0.999, -0.999, 0.999, 0.0]])["clipped"] is True
    assert _flags([[0.0, 0.999, 0.999, 0.0, 0.999]])["clipped"] is False
    assert _flags([[0.998, 0.998, 0.998]])["clipped"] is False
    assert _flags([[1.0, 1.0, 1.0]]) == {"clipped": True, "out_of_range": False, "peak_dbfs": 0.0}
    # a run must be in one channel: two samples in one and the third in the other do not clip
    assert _flags([[0.999, 0.999, 0.0], [0.0, 0.0, 0.999]])["clipped"] is False
    assert _flags([[0.0, 0.0, 0.0], [0.999, 0.999, 0.999]])["clipped"] is True
    assert _flags([0.2, 0.999, 0.999, 0.999])["clipped"] is True  # a 1-D signal too


def test_level_flags_across_blocks():
    samples = [0.0] * 12
    samples[9] = 0.75  # the peak lies in the third block of 4
    assert _flags([samples], block=4) == {"clipped": False, "out_of_range": False, "peak_dbfs": -2.5}
    for start in range(0, 10):  # a run of three starting anywhere, across any block edge
        run = [0.0] * 12
        run[start:start + 3] = [0.999] * 3
        assert _flags([run], block=4)["clipped"] is True, start
    assert _flags([[0.999, 0.999, 0.0, 0.0, 0.0, 0.999]], block=2)["clipped"] is False
    assert _flags([[0.999, 0.999]], block=1)["clipped"] is False  # too short for a run
    assert _flags([[0.1, 0.2, 0.999, 0.999, 0.999]], block=3)["clipped"] is True  # the last block is short


def test_a_mono_file_reads_as_one_channel_and_a_single_sample_has_a_peak(tmp_path):
    from mirctl.io.audio import level_flags

    path = tmp_path / "mono.wav"
    sf.write(str(path), np.array([0.5, -0.5, 0.25], np.float32), 8000, subtype="FLOAT")
    got, sr = read_audio(path)
    assert got.shape == (1, 3) and got.tolist() == [[0.5, -0.5, 0.25]] and sr == 8000
    assert level_flags(np.array([[0.5]], np.float32)) == {"clipped": False, "out_of_range": False, "peak_dbfs": -6.02}


def test_write_audio_round_trips_every_sample_and_takes_its_format_from_the_suffix(tmp_path):
    from mirctl.io.audio import WRITE_BLOCK, write_audio

    n = WRITE_BLOCK + 5  # more than one block
    wav = (np.arange(2 * n, dtype=np.float32).reshape(2, n) % 200 - 100) / 128
    path = tmp_path / "x.flac"
    write_audio(path, wav, 32000, bits="24")  # no fmt: the suffix says FLAC
    assert (probe_audio(path).format, probe_audio(path).subtype) == ("FLAC", "PCM_24")
    back, sr = read_audio(path)
    assert sr == 32000 and back.shape == (2, n) and np.allclose(back, wav, atol=2 ** -23)
    default = tmp_path / "d.WAV"
    write_audio(default, wav[:, :10], 8000)  # bits default to 16; an upper-case suffix is a format too
    info = probe_audio(default)
    assert (info.format, info.subtype, info.frames) == ("WAV", "PCM_16", 10)


def test_integrated_loudness_is_the_bs1770_meter_of_mirctl_loudness():
    from mirctl import loudness
    from mirctl.io.audio import integrated_loudness

    sr = 48000
    t = np.arange(5 * sr) / sr
    wav = np.stack([0.1 * np.sin(2 * np.pi * 997 * t)] * 2).astype(np.float32)
    value = integrated_loudness(wav, sr)
    assert value == loudness.integrated_loudness(wav, sr)
    # two channels of mean square 0.005: 10·log10(0.01) = -20 dB; at 997 Hz the K-weighting's gain
    # cancels BS.1770's -0.691 offset
    assert value == pytest.approx(-20.0, abs=0.02)
