"""Model cards for local weights that have no card of their own (``--model-path``).

A demucs ``--repo``-style folder names each file ``<signature>-<sha256[:8]>.th``;
``--model SIG --model-path DIR`` loads that file, and ``--model-path FILE.th`` loads a
single checkpoint. Stem names are read from the checkpoint itself.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from mirctl.errors import ModelError
from mirctl.models.cards import ModelCard, ModelFile

DEMUCS_BACKEND = "mirctl.backends.demucs_backend:DemucsSeparator"


def find_demucs_file(name: str, model_path: Path) -> Path | None:
    if model_path.is_file():
        return model_path
    matches = sorted(model_path.glob(f"{name}-*.th")) + sorted(model_path.glob(f"{name}.th"))
    return matches[0] if matches else None


@lru_cache(maxsize=8)
def local_demucs_card(name: str, model_path: Path) -> ModelCard:
    path = find_demucs_file(name, model_path)
    if path is None:
        available = sorted(p.name.split("-")[0] for p in model_path.glob("*.th")) if model_path.is_dir() else []
        raise ModelError(f"no model {name!r} in {model_path}",
                         hint=("models there: " + ", ".join(available)) if available
                         else "the folder holds no .th checkpoints")
    stem, _, tail = path.stem.partition("-")
    prefix = tail if len(tail) == 8 and all(c in "0123456789abcdef" for c in tail) else None
    module = importlib.import_module(DEMUCS_BACKEND.partition(":")[0])
    sources = module.read_sources(path)
    return ModelCard(name=stem, task="separate", backend=DEMUCS_BACKEND,
                     description=f"local demucs checkpoint {path.name}",
                     files=(ModelFile(name=path.name, sha256_prefix=prefix),), stems=sources,
                     allow_classes=(), options={"bag": False})
