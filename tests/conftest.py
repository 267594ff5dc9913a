"""Shared fixtures: synthesized audio/MIDI, an isolated cache, and ../shared data."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Each pytest-xdist worker compiles librosa's numba kernels into a cache of its own: two
# processes filling one cold cache can pair files from different compilations and crash
# with a segfault (numba/numba#10128; seen in a fresh clone's `make test`). Set before
# anything imports numba, which reads it once.
if os.environ.get("PYTEST_XDIST_WORKER") and "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / f"mirctl-numba-{os.environ['PYTEST_XDIST_WORKER']}")

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MIRCTL_SHARED", REPO.parent / "shared"))
# the fake tasks (gain_task, shape_tasks) are imported by name from any test folder, as
# --jobs workers import them
sys.path.insert(0, str(REPO / "tests" / "pipeline"))


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test computes what it uses (filter coefficients, parsed cards): a cached
    value from an earlier test would hide a wrong computation (and hide from mutmut
    which tests exercise a function)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("mirctl") and module is not None:
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == name:
                    value.cache_clear()
    yield


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """No network and no user cache/config: every test sees an empty cache of its own."""
    monkeypatch.setenv("MIRCTL_OFFLINE", "1")
    monkeypatch.setenv("MIRCTL_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("MIRCTL_CONFIG", str(tmp_path_factory.mktemp("cfg") / "none.toml"))
    for key in list(os.environ):
        if key.startswith("MIRCTL_") and key not in {"MIRCTL_OFFLINE", "MIRCTL_CACHE", "MIRCTL_CONFIG", "MIRCTL_SHARED",
                                                    "MIRCTL_REQUIRE_SHARED", "MIRCTL_REQUIRE_SYNTHS"}:
            monkeypatch.delenv(key)


_CURRENT: dict = {}


@pytest.fixture(autouse=True)
def _current_test(request):
    _CURRENT["node"] = request.node
    yield
    _CURRENT.pop("node", None)


def shared_path(*parts: str) -> Path:
    """A path in ../shared. Only tests marked ``shared`` may ask; without the data they
    skip, except under ``MIRCTL_REQUIRE_SHARED=1`` (CI, which always has it), where a
    missing ../shared fails them."""
    node = _CURRENT.get("node")
    if node is not None and node.get_closest_marker("shared") is None:
        pytest.fail(f"{node.nodeid} reads ../shared: mark it @pytest.mark.shared")
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("MIRCTL_REQUIRE_SHARED") == "1":
            pytest.fail(f"{path} is missing, and MIRCTL_REQUIRE_SHARED=1 says ../shared must be there")
        pytest.skip(f"needs ../shared test data ({path} is absent in this checkout)")
    return path


def need_synth(name: str) -> None:
    """Skip unless the SoundFont synth ``name`` is installed; under
    ``MIRCTL_REQUIRE_SYNTHS=1`` (CI, whose set-up installs both) fail instead."""
    from mirctl.backends import fluidsynth_backend, tinysoundfont_backend

    module = {"fluidsynth": fluidsynth_backend, "tinysoundfont": tinysoundfont_backend}[name]
    if not module.available():
        if os.environ.get("MIRCTL_REQUIRE_SYNTHS") == "1":
            pytest.fail(f"{name} is not installed, and MIRCTL_REQUIRE_SYNTHS=1 says `make setup` installed it")
        pytest.skip(f"needs the {name} synth ({module.INSTALL_HINT})")


def write_wav(path: Path, wav: np.ndarray, sr: int = 44100, subtype: str = "PCM_16") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(wav, dtype=np.float32).T, sr, subtype=subtype)
    return path


def tone(freq: float = 440.0, sec: float = 1.0, sr: int = 44100, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sec * sr))) / sr
    return np.repeat((amp * np.sin(2 * np.pi * freq * t))[None], channels, axis=0).astype(np.float32)


def piano_notes(notes, sr: int = 22050, tail: float = 0.5) -> np.ndarray:
    """A piano-like rendering of (start_s, end_s, midi_pitch): decaying harmonics."""
    end = max(n[1] for n in notes) + tail
    out = np.zeros(int(end * sr))
    for start, stop, pitch in notes:
        hz = 440.0 * 2 ** ((pitch - 69) / 12)
        t = np.arange(int((stop - start) * sr)) / sr
        env = np.exp(-2.5 * t) * np.minimum(1, t / 0.003) * np.clip((stop - start - t) / 0.03, 0, 1)
        sig = sum((0.5 ** h) * np.sin(2 * np.pi * hz * (h + 1) * t) for h in range(5))
        i = int(start * sr)
        out[i:i + t.size] += 0.25 * env * sig
    return out[None].astype(np.float32)


@pytest.fixture
def sine_wav(tmp_path) -> Path:
    return write_wav(tmp_path / "in" / "sine.wav", tone(440, 1.0, channels=2))


@pytest.fixture
def audio_dir(tmp_path) -> Path:
    folder = tmp_path / "songs"
    for i, f in enumerate((220, 330, 440)):
        write_wav(folder / f"song{i}.wav", tone(f, 0.5))
    write_wav(folder / "sub" / "deep.wav", tone(550, 0.5))
    (folder / "notes.txt").write_text("not audio")
    return folder


@pytest.fixture
def midi_file(tmp_path) -> Path:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    inst = pretty_midi.Instrument(program=0, name="piano")
    for i, p in enumerate((60, 64, 67, 72)):
        inst.notes.append(pretty_midi.Note(velocity=90, pitch=p, start=0.5 * i, end=0.5 * i + 0.4))
    pm.instruments.append(inst)
    path = tmp_path / "in" / "tune.mid"
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path
