"""The only module that opens weight files.

ONNX files go straight to onnxruntime; torch checkpoints load with
``torch.load(weights_only=True)``. Third-party formats that are pickles underneath
(demucs ``.th`` packages) are opened only after their checksum matched the card, and
only with the card's explicit class allow-list: never by unrestricted unpickling.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

from mirctl.backends._lazy import require
from mirctl.errors import ModelError


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def load_torch_package(path: Path, allow_classes: tuple[str, ...] = (), mmap: bool = False,
                       extra: str = "separate") -> Any:
    """``torch.load(path, weights_only=True)`` with ``allow_classes`` as safe globals.

    ``mmap=True`` maps tensor storage instead of reading it (for peeking at metadata).
    """
    torch = require("torch", extra=extra)
    classes = [_resolve(c) for c in allow_classes]
    try:
        with torch.serialization.safe_globals(classes):
            return torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "refused by the safe loader"
        raise ModelError(
            f"{path} needs objects outside the allowed list to load ({first})",
            hint="only load checkpoints you trust; a model card lists the classes it allows in allow_classes",
        ) from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ModelError(f"{path} is not a readable torch checkpoint ({str(err).splitlines()[0]})") from None
