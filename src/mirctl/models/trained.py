"""Checkpoint folders written by ``mirctl train``: ``model.safetensors`` + ``card.json``.

A checkpoint is readable without running any code from it: the weights are a
safetensors file (tensors only) and the card is JSON. ``card.json`` holds::

    {"format": "mirctl-checkpoint/1", "name": …, "task": "classify",
     "backend": "module:Class",            # what loads it for inference
     "labels": [...], "sample_rate": …, "features": {...},
     "params": {...},                      # the task's training parameters
     "training": {"data": …, "command": …, "seed": …, "steps": …, "stopped": …},
     "metrics": {...}, "mirctl_version": "…"}

Any command's ``--model PATH`` accepts such a folder (:func:`trained_card`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mirctl.errors import ModelError
from mirctl.models.cards import ModelCard, ModelFile

FORMAT = "mirctl-checkpoint/1"
WEIGHTS = "model.safetensors"
CARD = "card.json"


def is_checkpoint(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / CARD).is_file()


def read_card(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelError(f"{path} is not a readable checkpoint card ({err})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelError(f"{path} is not a mirctl checkpoint card (format {card.get('format') if isinstance(card, dict) else None!r})",
                         hint=f"expected \"format\": \"{FORMAT}\"")
    return card


def trained_card(folder: str | Path, task: str | None = None) -> ModelCard:
    """The :class:`ModelCard` of a checkpoint folder; ModelError when it was trained for
    another task or its weights are missing."""
    folder = Path(folder).resolve()
    card = read_card(folder)
    if task is not None and card.get("task") != task:
        raise ModelError(f"{folder} was trained for {card.get('task')!r}, not {task!r}",
                         hint=f"pass a {task} model name (`mirctl models list`) or a checkpoint trained for {task}")
    if not (folder / WEIGHTS).is_file():
        raise ModelError(f"{folder} has a card but no {WEIGHTS}",
                         hint="the training run may have been stopped before its first save; run it again to resume")
    if not card.get("backend"):
        raise ModelError(f"{folder / CARD} names no backend to load it with")
    return ModelCard(name=card.get("name") or folder.name, task=card["task"], backend=card["backend"],
                     description=f"trained checkpoint {folder}", files=(ModelFile(name=WEIGHTS),),
                     sample_rate=card.get("sample_rate"), labels=tuple(card.get("labels") or ()),
                     license=card.get("license", ""), options=card, folder=str(folder))


def load_weights(path: str | Path) -> dict[str, Any]:
    """A safetensors file as {name: torch tensor} (tensors only: nothing is executed)."""
    from mirctl.backends._lazy import require

    st = require("safetensors.torch", extra="train")
    try:
        return st.load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for corrupt files
        raise ModelError(f"{path} is not a readable safetensors file ({str(err).splitlines()[0]})") from None


def save_weights(state: dict[str, Any], path: str | Path) -> None:
    from mirctl.backends._lazy import require

    st = require("safetensors.torch", extra="train")
    st.save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(path))
