"""Model cards: one TOML file per model in ``configs/models/``.

A card names the task, the backend class (``module:Class``), the weight files with
their sha256 (or, where upstream only publishes one, the sha256 prefix carried in the
file name), where they come from, the license, sample rate and stem/label names.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mirctl.errors import ModelError
from mirctl.resources import configs_dir


@dataclass(frozen=True)
class ModelFile:
    name: str
    url: str | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    package: str | None = None  # "pkg/sub/path" inside an installed Python package
    size: int | None = None
    #: where system packages install the file (SoundFonts: Debian, Arch, Homebrew);
    #: a path counts only when it resolves to a file of this name (not a renamed alternative)
    paths: tuple[str, ...] = ()

    @property
    def checksum(self) -> str | None:
        return self.sha256 or self.sha256_prefix


@dataclass(frozen=True)
class ModelCard:
    name: str
    task: str
    backend: str
    description: str = ""
    files: tuple[ModelFile, ...] = ()
    sample_rate: int | None = None
    channels: int | None = None
    stems: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    license: str = ""
    source: str = ""
    citation: str = ""
    allow_classes: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    notes: str = ""
    #: a checkpoint folder written by ``mirctl train`` (its weights sit beside card.json)
    folder: str | None = None

    @property
    def weight_free(self) -> bool:
        return not self.files

    def summary(self) -> dict[str, Any]:
        """JSON-able description (``mirctl models info --json``)."""
        return {
            "name": self.name,
            "task": self.task,
            "backend": self.backend,
            "description": self.description,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "stems": list(self.stems),
            "labels": list(self.labels),
            "license": self.license,
            "source": self.source,
            "citation": self.citation,
            "weight_free": self.weight_free,
            "files": [{k: v for k, v in vars(f).items() if v is not None} for f in self.files],
            "notes": self.notes,
        }


def _card_from_toml(data: dict[str, Any], origin: str) -> ModelCard:
    try:
        files = tuple(ModelFile(**{**f, "paths": tuple(f.get("paths", ()))}) for f in data.pop("files", []))
        for key in ("stems", "labels", "allow_classes"):
            if key in data:
                data[key] = tuple(data[key])
        return ModelCard(files=files, **data)
    except TypeError as err:
        raise ModelError(f"model card {origin} is malformed: {err}") from None


@lru_cache(maxsize=1)
def _all_cards() -> dict[str, ModelCard]:
    cards: dict[str, ModelCard] = {}
    folder = configs_dir().joinpath("models")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            card = _card_from_toml(tomllib.loads(entry.read_text(encoding="utf-8")), entry.name)
            cards[card.name] = card
    return cards


def list_cards(task: str | None = None) -> list[ModelCard]:
    return [c for c in _all_cards().values() if task is None or c.task == task]


@lru_cache(maxsize=None)
def _card_file(name: str) -> ModelCard | None:
    """The card in ``models/<name>.toml`` when that file is the card called ``name``
    (every packaged card is; a run then parses one card instead of all of them)."""
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        return None
    entry = configs_dir().joinpath("models").joinpath(f"{name}.toml")
    if not entry.is_file():
        return None
    card = _card_from_toml(tomllib.loads(entry.read_text(encoding="utf-8")), entry.name)
    return card if card.name == name else None


def get_card(name: str, task: str | None = None) -> ModelCard:
    """The card called ``name``, or the card of the checkpoint folder at path ``name``
    (what ``mirctl train`` writes); ModelError naming close matches when there is none."""
    from mirctl.models.trained import is_checkpoint, trained_card

    if is_checkpoint(name):
        return trained_card(name, task)
    if any(sep in name for sep in ("/", "\\")):
        raise ModelError(f"{name} is not a mirctl checkpoint folder (it holds no card.json)",
                         hint="pass the folder `mirctl train … --out DIR` wrote, or a model name from `mirctl models list`")
    card = _card_file(name)
    if card is not None and (task is None or card.task == task):
        return card
    cards = {c.name: c for c in list_cards(task)}
    if name in cards:
        return cards[name]
    close = difflib.get_close_matches(name, list(cards), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    hint += "`mirctl models list" + (f" --task {task}" if task else "") + "` shows every model"
    what = f"{task} model" if task else "model"
    raise ModelError(f"unknown {what} {name!r}", hint=hint)
