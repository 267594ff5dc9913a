"""mirctl.api: the README's example runs, and the objects are the runner's own."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, tone
from mirctl import api
from mirctl.errors import UsageError
from mirctl.pipeline.task import Session


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "the README lost its API example"
    return match.group(1)


def test_the_readme_example_runs_and_does_what_it_says(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)
    stems, notes, mix = scope["stems"], scope["notes"], scope["mix"]
    assert sorted(stems) == ["harmonic", "percussive"]
    assert all(s.dtype == np.float32 and s.shape == (1, mix.size) for s in stems.values())
    assert np.allclose(stems["harmonic"] + stems["percussive"], mix, atol=1e-3)  # hpss adds back up
    assert notes[0].pitch == 69 and notes[0].start_s < 0.1
    out = capsys.readouterr().out
    assert out.startswith("69 ") and out.splitlines()[1] == "drums"
    remix = scope["remix"]  # flat: the stems summed again, the percussive part 6 dB down, a mono input centred
    want = stems["harmonic"][0] + stems["percussive"][0] * 10 ** (-6 / 20)
    assert remix.shape == (2, mix.size) and np.allclose(remix, want[None], atol=1e-5)
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(tmp_path / "tone.mid"))
    assert [n.pitch for n in pm.instruments[0].notes] == [n.pitch for n in notes]


def test_api_objects_are_sessions_and_give_what_the_cli_writes(tmp_path):
    from typer.testing import CliRunner

    import soundfile as sf
    from mirctl.cli.app import app

    wav = tone(330, 1.5, 22050, 2)
    sep = api.Separator(model="hpss", clip="none")
    assert isinstance(sep, Session) and sep.stems == ("harmonic", "percussive")
    stems = sep.separate(wav, 22050)
    path = tmp_path / "in.wav"
    sf.write(path, wav.T, 22050, subtype="FLOAT")
    res = CliRunner().invoke(app, ["separate", str(path), "--model", "hpss", "--clip", "none", "--bits", "32f",
                                   "-o", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 0, res.output
    written, sr = sf.read(tmp_path / "out" / "hpss" / "in" / "harmonic.wav", always_2d=True, dtype="float32")
    assert sr == 22050 and np.array_equal(written.T, stems["harmonic"])
    from_file = sep.separate(path)
    assert np.array_equal(from_file["harmonic"], stems["harmonic"])


def test_api_refuses_unknown_options_and_arrays_without_a_rate():
    with pytest.raises(UsageError, match="unknown option"):
        api.Separator(model="hpss", shiftz=2)
    with pytest.raises(UsageError, match="sample rate"):
        api.Separator(model="hpss").separate(np.zeros(100))
    with pytest.raises(UsageError, match="onset-threshold"):
        api.Transcriber(onset_threshold=2.0)


def test_importing_the_api_is_cheap():
    code = "import sys; from mirctl import api; print(sorted(m for m in ('numpy', 'torch', 'onnxruntime', 'demucs', 'librosa') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
