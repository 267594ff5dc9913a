from __future__ import annotations

import hashlib
import http.server
import sys
import threading
from functools import partial
from pathlib import Path

import pytest

from conftest import shared_path
from mirctl.errors import ModelError
from mirctl.models import list_cards
from mirctl.models.cache import cache_dir, ensure_files, locate, model_dir
from mirctl.models.cards import ModelCard, ModelFile, get_card
from mirctl.models.checkpoint import load_torch_package
from mirctl.resources import configs_dir, setting


def test_every_card_parses_and_names_its_backend():
    cards = list_cards()
    assert len(cards) >= 12
    for card in cards:
        module, _, cls = card.backend.partition(":")
        if card.task == "soundfont":  # fonts are found where packages install them, never downloaded
            assert card.backend == "mirctl.models.soundfonts:SoundFont" and card.license
            assert [f.paths or f.package for f in card.files] and all(f.paths or f.package for f in card.files)
            assert all(f.url is None for f in card.files) and isinstance(card.options["rank"], int)
            continue
        assert module.startswith("mirctl.backends.") and cls
        for f in card.files:
            assert f.checksum, f"{card.name}: {f.name} has no checksum"
            if f.package and f.package.startswith("mirctl/"):  # shipped inside mirctl: there, and as the card says
                from mirctl.models.cache import sha256_file

                path = Path(__file__).resolve().parents[2] / "src" / f.package
                assert sha256_file(path) == f.sha256, f.name
            else:
                assert f.url and f.url.startswith("https://")


def test_demucs_cards_cover_every_demucs_model():
    names = {c.name for c in list_cards("separate")}
    assert {"htdemucs", "htdemucs_ft", "htdemucs_6s", "hdemucs_mmi", "mdx", "mdx_extra", "mdx_q", "mdx_extra_q"} <= names
    assert get_card("htdemucs_6s").stems == ("drums", "bass", "other", "vocals", "guitar", "piano")
    assert len(get_card("htdemucs_ft").files) == 4


def test_unknown_card_suggests_close_names():
    with pytest.raises(ModelError) as err:
        get_card("htdemucs-ft")
    assert "htdemucs_ft" in err.value.hint


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MIRCTL_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    assert model_dir(get_card("htdemucs")) == tmp_path / "c" / "models" / "htdemucs"


def test_missing_weights_offline_error_names_file_path_and_alternative():
    with pytest.raises(ModelError) as err:
        ensure_files(get_card("htdemucs"))
    e = err.value
    assert "955717e8-8726e21a.th" in e.message
    assert str(model_dir(get_card("htdemucs"))) in e.hint
    assert "--model hpss" in e.hint and "--model-path" in e.hint
    assert "dl.fbaipublicfiles.com" in e.hint


def test_weights_found_in_cache_are_checked(tmp_path):
    card = ModelCard(name="toy", task="separate", backend="x:Y",
                     files=(ModelFile(name="w.bin", sha256=hashlib.sha256(b"good").hexdigest()),))
    target = model_dir(card) / "w.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"good")
    assert ensure_files(card) == {"w.bin": target}
    target.write_bytes(b"evil")
    with pytest.raises(ModelError, match="checksum mismatch"):
        ensure_files(card)


@pytest.fixture
def http_folder(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_verifies_sha256_and_is_atomic(http_folder, monkeypatch):
    folder, url = http_folder
    monkeypatch.delenv("MIRCTL_OFFLINE")
    (folder / "w.bin").write_bytes(b"weights" * 1000)
    good = hashlib.sha256(b"weights" * 1000).hexdigest()
    card = ModelCard(name="dl", task="separate", backend="x:Y",
                     files=(ModelFile(name="w.bin", url=f"{url}/w.bin", sha256=good),))
    paths = ensure_files(card)
    assert paths["w.bin"].read_bytes() == b"weights" * 1000
    bad = ModelCard(name="dl_bad", task="separate", backend="x:Y",
                    files=(ModelFile(name="w.bin", url=f"{url}/w.bin", sha256="0" * 64),))
    with pytest.raises(ModelError, match="checksum mismatch"):
        ensure_files(bad)
    assert list(model_dir(bad).glob("*")) == []  # nothing half-written left behind
    gone = ModelCard(name="dl_404", task="separate", backend="x:Y",
                     files=(ModelFile(name="none.bin", url=f"{url}/none.bin", sha256="0" * 64),))
    with pytest.raises(ModelError, match="download failed"):
        ensure_files(gone)


def test_basic_pitch_model_found_in_installed_wheel():
    card = get_card("basic-pitch")
    path = locate(card, card.files[0])
    if path is None:
        pytest.skip("basic-pitch wheel not installed (make setup installs it)")
    assert path.name == "nmp.onnx"
    ensure_files(card)  # sha256 matches the card


def test_configs_ship_with_the_package_and_defaults_resolve(monkeypatch, tmp_path):
    assert configs_dir().joinpath("defaults.toml").is_file()
    assert setting("separate", "model") == "htdemucs"
    monkeypatch.setenv("MIRCTL_SEPARATE_MODEL", "hpss")
    assert setting("separate", "model") == "hpss"
    assert setting("separate", "model", "repet") == "repet"
    monkeypatch.delenv("MIRCTL_SEPARATE_MODEL")
    cfg = tmp_path / "user.toml"
    cfg.write_text('[separate]\nshifts = 3\n')
    monkeypatch.setenv("MIRCTL_CONFIG", str(cfg))
    assert setting("separate", "shifts") == 3


def test_default_user_config_follows_xdg(monkeypatch, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CONFIG_HOME is the Linux convention")
    from mirctl.resources import setting, user_config_path

    monkeypatch.delenv("MIRCTL_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a"))
    assert user_config_path() == tmp_path / "a" / "mirctl" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "b"))
    assert user_config_path() == tmp_path / "b" / "mirctl" / "config.toml"
    user_config_path().parent.mkdir(parents=True)
    user_config_path().write_text("[separate]\nshifts = 4\n")
    assert setting("separate", "shifts") == 4


def test_wheel_contains_configs(tmp_path):
    """A wheel install must find configs/: build one and look inside."""
    hatch = pytest.importorskip("hatchling.builders.wheel")
    import zipfile

    repo = Path(__file__).resolve().parents[2]
    builder = hatch.WheelBuilder(str(repo))
    wheel = next(iter(builder.build(directory=str(tmp_path), versions=["standard"])))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mirctl/configs/defaults.toml" in names
    assert "mirctl/configs/models/htdemucs.toml" in names
    assert "mirctl/cli/app.py" in names


class Evil:
    def __reduce__(self):
        return (Path.touch, (Path("/tmp/mirctl-evil-was-here"),))


def test_safe_loader_refuses_arbitrary_objects(tmp_path):
    torch = pytest.importorskip("torch")
    marker = Path("/tmp/mirctl-evil-was-here")
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.th"
    torch.save({"state": {}, "payload": Evil()}, str(path))
    with pytest.raises(ModelError, match="outside the allowed list"):
        load_torch_package(path, ("demucs.demucs.Demucs",))
    assert not marker.exists()


@pytest.mark.shared
def test_safe_loader_opens_shared_demucs_checkpoints():
    folder = shared_path("models", "demucs")
    for th in sorted(folder.glob("*.th")):
        package = load_torch_package(th, get_card("htdemucs").allow_classes)
        assert package["klass"].__name__ == "Demucs"
        assert package["kwargs"]["sources"] == ["drums", "bass", "other", "vocals", "guitars"]


def test_each_card_file_is_named_after_its_card_so_lookups_parse_one_file():
    from mirctl.models.cards import _card_file
    from mirctl.resources import configs_dir

    stems = sorted(e.name[:-5] for e in configs_dir().joinpath("models").iterdir() if e.name.endswith(".toml"))
    assert stems == sorted(c.name for c in list_cards())
    for card in list_cards():
        assert _card_file(card.name) == card == get_card(card.name, task=card.task)
    with pytest.raises(ModelError, match="transcribe model"):  # right file, wrong task
        get_card("htdemucs", task="transcribe")
    assert _card_file("../defaults") is None and _card_file("") is None


@pytest.mark.parametrize("module, call, extra", [
    ("mirctl.backends.crepe_backend", "build_network('tiny')", "crepe"),
    ("mirctl.backends._lazy", "resolve_device('cpu', extra='train')", "train"),
    ("mirctl.models.trained", "load_weights('x.safetensors')", "train"),
])
def test_install_hints_name_the_extra_of_the_task(monkeypatch, module, call, extra):
    """A missing torch tells a CREPE user to install the crepe extra, not separate's."""
    import importlib

    from mirctl.backends import _lazy
    from mirctl.errors import BackendUnavailable

    real = importlib.import_module

    def without_torch(name, *args):
        if name.split(".")[0] in ("torch", "safetensors"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args)

    mod = real(module)
    monkeypatch.setattr(_lazy.importlib, "import_module", without_torch)
    with pytest.raises(BackendUnavailable) as err:
        eval(call, vars(mod))
    assert err.value.hint == f"pip install 'mirctl[{extra}]'"
