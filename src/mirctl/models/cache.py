"""Find, download and verify model weight files.

Search order for each file of a card: ``--model-path`` (a folder, or the file itself),
mirctl's cache (``$MIRCTL_CACHE`` or the platform cache dir, ``models/<card>/``), and
for files that ship inside a Python wheel, that installed package. A file found
nowhere is downloaded into the cache (atomically, sha256 checked) unless
``MIRCTL_OFFLINE=1``; when that is impossible the error names the file, the cache
path to put it in and the offline alternatives.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from functools import lru_cache
from pathlib import Path

from mirctl.errors import ModelError
from mirctl.io.atomic import atomic_path
from mirctl.models.cards import ModelCard, ModelFile

DOWNLOAD_TIMEOUT_S = 30


def cache_dir() -> Path:
    env = os.environ.get("MIRCTL_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("mirctl"))


def model_dir(card: ModelCard) -> Path:
    return cache_dir() / "models" / card.name


def offline() -> bool:
    return os.environ.get("MIRCTL_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file; remembered per (path, size, mtime) so a run hashes each file once."""
    st = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: ModelFile) -> str:
    """Check ``path`` against the card's checksum; returns the full sha256."""
    actual = sha256_file(path)
    expected = spec.checksum
    if expected and not actual.startswith(expected.lower()):
        raise ModelError(
            f"checksum mismatch for {path}: sha256 {actual[:16]}… does not match {expected[:16]}…",
            hint="the file is corrupt or a different model; delete it and download it again",
        )
    return actual


def _package_file(rel: str) -> Path | None:
    """Locate ``pkg/sub/file`` inside an installed package without importing it."""
    top, _, rest = rel.partition("/")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / rest
        if candidate.is_file():
            return candidate
    return None


def locate(card: ModelCard, spec: ModelFile, model_path: Path | None = None) -> Path | None:
    candidates: list[Path] = []
    if card.folder:  # a trained checkpoint folder (mirctl train): its files sit beside its card
        candidates.append(Path(card.folder) / spec.name)
    if model_path is not None:
        model_path = Path(model_path)
        candidates.append(model_path if model_path.is_file() else model_path / spec.name)
    candidates.append(model_dir(card) / spec.name)
    for c in candidates:
        if c.is_file():
            return c
    found = _package_file(spec.package) if spec.package else None
    if found is not None:
        return found
    for system in spec.paths:
        path = Path(system).expanduser()
        if path.is_file() and path.resolve().name == spec.name:
            return path
    return None


def download(spec: ModelFile, dest: Path) -> Path:
    """Fetch ``spec.url`` into ``dest`` atomically; checksum verified before the rename."""
    import urllib.request  # only here: it pulls in http.client, email and ssl

    assert spec.url
    with atomic_path(dest) as tmp:
        with urllib.request.urlopen(spec.url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
        verify(tmp, spec)
    return dest


def missing_weights_error(card: ModelCard, missing: list[ModelFile], reason: str) -> ModelError:
    folder = model_dir(card)
    names = ", ".join(f.name for f in missing)
    sources = "; ".join(f"{f.name} from {f.url}" for f in missing if f.url)
    alternatives = {
        "separate": "the weight-free `--model hpss` or `--model repet` work offline",
        "transcribe": "`pip install --no-deps basic-pitch==0.4.0` installs the model file",
    }.get(card.task, "")
    hint = f"put {names} into {folder} (download {sources})" if sources else f"put {names} into {folder}"
    hint += ", or pass --model-path DIR holding them"
    if alternatives:
        hint += f"; {alternatives}"
    return ModelError(f"weights for model {card.name!r} are missing ({names}): {reason}", hint=hint)


def ensure_files(card: ModelCard, model_path: Path | None = None) -> dict[str, Path]:
    """Paths of every weight file of ``card``, verified; downloads what is missing."""
    found: dict[str, Path] = {}
    missing: list[ModelFile] = []
    for spec in card.files:
        path = locate(card, spec, model_path)
        if path is None:
            missing.append(spec)
        else:
            verify(path, spec)
            found[spec.name] = path
    if not missing:
        return found
    if offline():
        raise missing_weights_error(card, missing, "MIRCTL_OFFLINE is set, so nothing is downloaded")
    for spec in missing:
        if not spec.url:
            raise missing_weights_error(card, missing, "no download address is known")
        try:
            found[spec.name] = download(spec, model_dir(card) / spec.name)
        except ModelError:
            raise
        except OSError as err:  # URLError, timeouts, disk errors
            reason = getattr(err, "reason", None) or err
            raise missing_weights_error(card, missing, f"download failed ({reason})") from None
    return found
