"""demucs as a stem model: the only module that knows demucs exists.

Checkpoints are demucs export packages (``klass``/``args``/``kwargs``/``state``) opened
through :func:`mirctl.models.checkpoint.load_torch_package` (sha256 checked first,
``weights_only=True`` with the card's class allow-list), then built by
``demucs.states.load_model``. Named models become a ``BagOfModels`` exactly as demucs'
own repository code builds them, so outputs match the demucs CLI.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mirctl.backends._lazy import require, resolve_device, set_torch_threads
from mirctl.backends.malloc import lean, release_free_memory, tune_for_inference
from mirctl.errors import ModelError
from mirctl.io.spool import RegionSpool
from mirctl.models import checkpoint

if TYPE_CHECKING:
    import numpy as np

    from mirctl.models import RunContext
    from mirctl.models.cards import ModelCard

DEMUCS_CLASSES = ("demucs.htdemucs.HTDemucs", "demucs.hdemucs.HDemucs", "demucs.demucs.Demucs", "fractions.Fraction")


def read_sources(path: Path) -> tuple[str, ...]:
    """Stem names stored in a demucs package (used to plan outputs of card-less models)."""
    package = checkpoint.load_torch_package(path, DEMUCS_CLASSES, mmap=True)
    try:
        return tuple(package["kwargs"]["sources"])
    except (KeyError, TypeError):
        raise ModelError(f"{path} is not a demucs model package (no 'sources' in its kwargs)") from None


class DemucsSeparator:
    """Stem-model protocol: ``sample_rate``, ``channels``, ``sources`` and ``__call__``."""

    def __init__(self, card: ModelCard, paths: dict[str, Path], ctx: RunContext) -> None:
        tune_for_inference()  # before torch's first large tensor; see mirctl.backends.malloc
        self._torch = require("torch", extra="separate")
        states = require("demucs.states", extra="separate")
        self._apply = require("demucs.apply", extra="separate")
        set_torch_threads(ctx.threads)
        self.device = resolve_device(ctx.device)
        allow = card.allow_classes or DEMUCS_CLASSES
        by_sig = {name.split("-")[0]: path for name, path in paths.items()}
        sigs = card.options.get("models") or list(by_sig)
        models = []
        for sig in sigs:
            if sig not in by_sig:
                raise ModelError(f"model {card.name!r} needs the file for signature {sig}, which was not found")
            package = checkpoint.load_torch_package(by_sig[sig], allow)
            if not isinstance(package, dict) or "klass" not in package:
                raise ModelError(f"{by_sig[sig]} is not a demucs model package")
            models.append(states.load_model(package))
        if card.options.get("bag", True) and card.options.get("models"):
            model = self._apply.BagOfModels(models, card.options.get("weights"), card.options.get("segment"))
        else:
            model = models[0]
        model.eval()
        self.model = model.to(self.device)
        self.sample_rate = int(model.samplerate)
        self.channels = int(model.audio_channels)
        self.sources = tuple(model.sources)
        from mirctl.models.cache import sha256_file

        self.info = {"name": card.name, "sha256": {Path(p).name: sha256_file(p) for p in paths.values()}}

    def max_segment(self) -> float:
        htdemucs = require("demucs.htdemucs", extra="separate")
        models = getattr(self.model, "models", [self.model])
        limits = [float(m.segment) for m in models if isinstance(m, htdemucs.HTDemucs)]
        return min(limits, default=float("inf"))

    @contextmanager
    def long_input(self) -> Iterator[_Spooled]:
        """Scope of a song long enough to be separated in chunks: memory goes back to the
        OS as it is freed (:func:`mirctl.backends.malloc.lean`) and finished regions wait
        on disk (:class:`mirctl.io.spool.RegionSpool`) instead of beside the model's own
        working memory, so the peak stays bounded on a 10-minute song."""
        with lean(), RegionSpool() as spool:
            yield _Spooled(spool)

    def __call__(self, wav: np.ndarray, *, sr: int | None = None, shifts: int = 1, overlap: float = 0.25,
                 segment: float | None = None,
                 seed: int | None = None, progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Separate float32 (channels, samples) at ``sample_rate``; returns (sources, channels, samples).

        Normalises by the mixture's mean and standard deviation around the model call,
        as demucs' ``Separator`` does.
        """
        torch = self._torch
        if segment is not None and segment > self.max_segment():
            raise ModelError(f"--segment {segment} is longer than this transformer model allows "
                             f"({self.max_segment():g} s)")
        if seed is not None:
            random.seed(seed)  # demucs draws its shift offsets from the `random` module
            torch.manual_seed(seed)
        mix = torch.from_numpy(wav)
        ref = mix.mean(0)
        mean, std = ref.mean(), ref.std() + 1e-8
        length = mix.shape[-1]

        def callback(d: dict[str, Any]) -> None:
            if progress is None or d.get("state") != "end":
                return
            models = max(int(d.get("models", 1)), 1)
            done_in_shift = (d.get("segment_offset", 0) + 1) / max(length, 1)
            frac = (d.get("model_idx_in_bag", 0) + (d.get("shift_idx", 0) + done_in_shift) / max(shifts, 1)) / models
            progress(min(frac, 1.0))

        with torch.no_grad():
            normalized = (mix - mean) / std
            out = self._apply.apply_model(self.model, normalized[None], shifts=shifts, split=True,
                                          overlap=overlap, progress=False, device=self.device, segment=segment,
                                          callback=callback, callback_arg={"audio_length": length})
            del normalized
            out = out.cpu()
            out.mul_(std).add_(mean)  # in place: long files hold (sources, channels, samples) once
        return out[0].numpy()


class _Spooled:
    """Finished regions go to the spool; reading them back first returns the model's
    freed working memory to the OS."""

    def __init__(self, spool: RegionSpool) -> None:
        self.spool = spool

    def append(self, region: np.ndarray) -> None:
        self.spool.append(region)

    def read_all(self) -> np.ndarray:
        release_free_memory()
        return self.spool.read_all()
