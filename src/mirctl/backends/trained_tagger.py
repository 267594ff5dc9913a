"""Taggers trained by ``mirctl train tag``: their networks and their inference backend.

Two kinds, named by the checkpoint's ``features``:

- ``mel``: a short-chunk CNN (Won et al., 2020: stacked 3×3 convolutions, batch norm,
  ReLU and 2×2 max pooling over a 3 s log-mel patch, global max pooling, a dense layer)
  on musicnn's input representation (16 kHz, 96 mel bands, 187-frame patches, so the
  same code cuts a file into patches for both);
- ``musicnn-mtt`` / ``musicnn-msd``: a linear or one-hidden-layer head on the pretrained
  musicnn tagger's penultimate layer (200 values per patch), which itself stays frozen.

Each gives per-patch tag probabilities; a file's scores are their mean, as for the
pretrained taggers. The per-tag thresholds tuned on validation come with the card.
"""

from __future__ import annotations

from typing import Any

from mirctl.backends._lazy import require
from mirctl.backends.musicnn_backend import N_FRAMES, N_MELS

MUSICNN_FEATURES = ("musicnn-mtt", "musicnn-msd")
FEATURES = ("mel",) + MUSICNN_FEATURES
EMBEDDING_DIM = 200  # musicnn's penultimate layer


def build_short_chunk(n_tags: int, width: int = 32, dropout: float = 0.3) -> Any:
    """Five conv blocks (channels width, width, 2w, 2w, 4w), each 3×3 conv → batch norm
    → ReLU → 2×2 max pool; then the max over what is left of time and frequency, a dense
    layer (the embedding) and the tag logits. Input (batch, 187, 96) log-mel patches."""
    torch = require("torch", extra="train")
    nn = torch.nn
    channels = [width, width, 2 * width, 2 * width, 4 * width]

    class ShortChunkCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn_in = nn.BatchNorm2d(1)
            blocks, c_in = [], 1
            for c in channels:
                blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
                c_in = c
            self.blocks = nn.Sequential(*blocks)
            self.dense = nn.Sequential(nn.Linear(c_in, c_in), nn.BatchNorm1d(c_in), nn.ReLU())
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(c_in, n_tags)

        def embed(self, patches: Any) -> tuple[Any, Any]:
            """(batch, 187, 96) -> (logits, embedding)."""
            x = self.blocks(self.bn_in(patches[:, None]))
            hidden = self.dense(x.amax(dim=(2, 3)))
            return self.out(self.drop(hidden)), hidden

        def forward(self, patches: Any) -> Any:
            return self.embed(patches)[0]

    return ShortChunkCNN()


def build_head(n_tags: int, kind: str = "mlp", dim: int = EMBEDDING_DIM, hidden: int = 256,
               dropout: float = 0.3) -> Any:
    """A head on musicnn embeddings: ``linear`` (logistic regression per tag) or ``mlp``
    (dense → ReLU → dropout → logits). Input (batch, 200)."""
    torch = require("torch", extra="train")
    nn = torch.nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU()) if kind == "mlp" else nn.Identity()
            self.drop = nn.Dropout(dropout) if kind == "mlp" else nn.Identity()
            self.out = nn.Linear(hidden if kind == "mlp" else dim, n_tags)

        def embed(self, x: Any) -> tuple[Any, Any]:
            h = self.hidden(x)
            return self.out(self.drop(h)), h

        def forward(self, x: Any) -> Any:
            return self.embed(x)[0]

    return Head()


def build(features: str, n_tags: int, width: int = 32, head: str = "mlp", dropout: float = 0.3) -> Any:
    """The network a checkpoint's ``features`` and params name."""
    if features == "mel":
        return build_short_chunk(n_tags, width, dropout)
    return build_head(n_tags, head, dropout=dropout)


def run_patches(net: Any, inputs: Any, device: Any = "cpu", size: int = 16) -> tuple[Any, Any]:
    """Per-patch (probabilities, embeddings) of ``inputs`` — (n, 187, 96) log-mel patches
    or (n, 200) musicnn embeddings — ``size`` at a time; the net is in eval mode."""
    import numpy as np

    torch = require("torch", extra="train")
    probs, embeds = [], []
    with torch.no_grad():
        for start in range(0, inputs.shape[0], size):
            logits, hidden = net.embed(torch.from_numpy(np.ascontiguousarray(inputs[start:start + size])).to(device))
            probs.append(torch.sigmoid(logits).cpu().numpy())
            embeds.append(hidden.cpu().numpy())
    return np.concatenate(probs), np.concatenate(embeds)


class TrainedTagger:
    """Tagging-model protocol (as :class:`~mirctl.backends.musicnn_backend.MusicnnTagger`):
    ``__call__(mono, sr)`` -> (taggram, embeddings); ``labels``; and ``thresholds``, the
    per-tag decision thresholds tuned on validation."""

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        from mirctl.backends._lazy import resolve_device, set_torch_threads
        from mirctl.errors import ModelError
        from mirctl.models.cache import sha256_file
        from mirctl.models.trained import WEIGHTS, load_weights

        self.torch = require("torch", extra="train")
        set_torch_threads(ctx.threads, extra="train")
        self.device = resolve_device(ctx.device, extra="train")
        options = card.options
        params = options.get("params", {})
        self.features = options.get("features", {}).get("input", "mel")
        if self.features not in FEATURES:
            raise ModelError(f"{card.folder}: unknown features {self.features!r} (this mirctl knows {', '.join(FEATURES)})",
                             hint="the checkpoint may come from a newer mirctl")
        self.labels = tuple(card.labels)
        self.net = build(self.features, len(self.labels), params.get("width", 32), params.get("head", "mlp"),
                         params.get("dropout", 0.3))
        try:
            self.net.load_state_dict(load_weights(paths[WEIGHTS]), strict=True)
        except RuntimeError as err:
            raise ModelError(f"{paths[WEIGHTS]} does not fit the network its card describes ({str(err).splitlines()[0]})") from None
        self.net.eval().to(self.device)
        thresholds = options.get("thresholds") or {}
        self.thresholds = {t: float(thresholds[t]) for t in self.labels if t in thresholds} or None
        self.embedder = None
        if self.features in MUSICNN_FEATURES:
            from mirctl import models

            self.embedder = models.load(models.get_card(self.features, task="tag"), ctx)
        self.info = {"name": card.name, "sha256": sha256_file(paths[WEIGHTS])}

    def inputs(self, mono: Any, sr: int) -> Any:
        """What the network takes for a file: its log-mel patches, or the musicnn
        embeddings of those patches."""
        from mirctl.backends.musicnn_backend import log_mel, patches

        if self.embedder is not None:
            return self.embedder(mono, sr)[1]
        return patches(log_mel(mono, sr))

    def __call__(self, mono: Any, sr: int) -> tuple[Any, Any]:
        return run_patches(self.net, self.inputs(mono, sr), self.device)


__all__ = ["FEATURES", "N_FRAMES", "N_MELS", "TrainedTagger", "build", "run_patches"]
