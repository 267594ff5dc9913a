"""io/artifacts.py: each artifact kind is written in the asked format, whatever the
(temporary) path's suffix, with the asked audio options."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from mirctl.io.artifacts import AudioWriteOptions, write_artifact
from mirctl.types import ArraysOut, AudioOut, ImageOut, TextOut


def test_audio_takes_the_format_asked_not_the_paths_suffix(tmp_path):
    # the runner writes to a hidden temporary name first; its suffix must not decide the format
    path = tmp_path / ".x.mirctl-tmp-1.part"
    write_artifact(AudioOut(tone(sec=2.0, channels=2), 44100), path, "flac", AudioWriteOptions(bits="24"))
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24", 44100, 2)


def test_mp3_bitrate_option_reaches_the_encoder(tmp_path):
    sizes = {}
    for rate in (64, 320):
        path = tmp_path / f"{rate}.tmp"
        write_artifact(AudioOut(tone(sec=4.0, channels=2), 44100), path, "mp3", AudioWriteOptions(mp3_bitrate=rate))
        assert sf.info(str(path)).format == "MP3"
        sizes[rate] = path.stat().st_size
    # constant bit rate: the size follows the rate (4 s at 64 kb/s ≈ 32 kB, at 320 kb/s ≈ 160 kB)
    assert 25_000 < sizes[64] < 40_000 and 140_000 < sizes[320] < 180_000


def test_text_is_utf8_and_arrays_are_npz_without_a_renamed_file(tmp_path):
    write_artifact(TextOut("naïve,♪\n"), tmp_path / "t.tmp", "csv", AudioWriteOptions())
    assert (tmp_path / "t.tmp").read_bytes() == "naïve,♪\n".encode("utf-8")
    write_artifact(ArraysOut({"a": np.arange(3)}), tmp_path / "a.tmp", "npz", AudioWriteOptions())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tmp", "t.tmp"]  # numpy appended no ".npz"
    assert np.load(tmp_path / "a.tmp")["a"].tolist() == [0, 1, 2]


def test_text_is_utf8_in_an_ascii_locale_too(tmp_path):
    # a bare C locale without Python's UTF-8 coercion (some containers and CI images): the
    # locale's encoding is ASCII, and a track name with "ï" must still be written
    import os
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from mirctl.io.artifacts import AudioWriteOptions, write_artifact; "
            "from mirctl.types import TextOut; import locale; assert locale.getpreferredencoding(False) != 'UTF-8'; "
            "write_artifact(TextOut('na\\u00efve,\\u266a\\n'), Path(sys.argv[1]), 'csv', AudioWriteOptions())")
    env = dict(os.environ, LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0", PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.csv")], env=env, check=True)
    assert (tmp_path / "t.csv").read_bytes() == "naïve,♪\n".encode("utf-8")


def test_images_draw_themselves_and_unknown_artifacts_are_a_type_error(tmp_path):
    seen = []
    write_artifact(ImageOut(seen.append), tmp_path / "p.tmp", "png", AudioWriteOptions())
    assert seen == [str(tmp_path / "p.tmp")]
    with pytest.raises(TypeError, match="^cannot write artifact of type dict$"):
        write_artifact({}, tmp_path / "x", "txt", AudioWriteOptions())
