"""Model registry (TOML cards), weight cache and safe checkpoint loading.

``load(card, ctx)`` is the one way a model object comes to life: card -> files located
(``--model-path``, cache, an installed package) or downloaded and checked by sha256 ->
backend class named by the card, imported only now.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirctl.models.cards import ModelCard, get_card, list_cards

__all__ = ["ModelCard", "RunContext", "get_card", "list_cards", "load"]


@dataclass(frozen=True)
class RunContext:
    """Process-wide settings a backend needs when it loads."""

    device: str = "auto"
    threads: int | None = None
    model_path: Path | None = None


def load(card: ModelCard, ctx: RunContext) -> Any:
    """Build the backend object for ``card`` (once per process)."""
    from mirctl.models.cache import ensure_files

    paths = ensure_files(card, ctx.model_path)
    module_name, _, class_name = card.backend.partition(":")
    backend_cls = getattr(importlib.import_module(module_name), class_name)
    return backend_cls(card, paths, ctx)
