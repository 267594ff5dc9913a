"""Clip models trained by ``mirctl train tag`` and ``mirctl train classify``: their
networks and their inference backends (:class:`TrainedTagger`, :class:`TrainedClassifier`).

The network a checkpoint holds is named by its ``features`` and ``arch``:

- ``mel`` + ``short-chunk`` (default): a short-chunk CNN (Won et al., 2020: stacked 3×3
  convolutions, batch norm, ReLU and 2×2 max pooling over a 3 s log-mel patch, global max
  pooling, a dense layer) on musicnn's input representation (16 kHz, 96 mel bands,
  187-frame patches, so the same code cuts a file into patches for every model);
- ``mel`` + ``crnn``: four of those conv blocks, then a bidirectional GRU over time
  (Choi et al., 2017), its mean and max over time as the embedding;
- ``musicnn-mtt`` / ``musicnn-msd``: a linear or one-hidden-layer head on the pretrained
  musicnn tagger's penultimate layer (200 values per patch), which itself stays frozen.

Each gives per-patch outputs: tag probabilities (sigmoid) for a tagger, class
probabilities (softmax) for a classifier; a file's scores aggregate its patches.
"""

from __future__ import annotations

from typing import Any

from mirctl.backends._lazy import require
from mirctl.backends.musicnn_backend import N_FRAMES, N_MELS

MUSICNN_FEATURES = ("musicnn-mtt", "musicnn-msd")
FEATURES = ("mel",) + MUSICNN_FEATURES
ARCHS = ("short-chunk", "crnn")
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


def build_crnn(n_out: int, width: int = 32, dropout: float = 0.3, hidden: int = 64) -> Any:
    """Four conv blocks (width, width, 2w, 2w channels; 2×2 pooling, the last pools
    frequency only, 4×), the max over what is left of frequency, a bidirectional GRU
    over the 23 remaining frames, and its mean and max over time (the embedding)."""
    torch = require("torch", extra="train")
    nn = torch.nn
    channels = [width, width, 2 * width, 2 * width]
    pools = [(2, 2), (2, 2), (2, 2), (1, 4)]

    class CRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn_in = nn.BatchNorm2d(1)
            blocks, c_in = [], 1
            for c, pool in zip(channels, pools):
                blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(pool)]
                c_in = c
            self.blocks = nn.Sequential(*blocks)
            self.gru = nn.GRU(c_in, hidden, batch_first=True, bidirectional=True)
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(4 * hidden, n_out)

        def embed(self, patches: Any) -> tuple[Any, Any]:
            x = self.blocks(self.bn_in(patches[:, None])).amax(dim=3)  # (B, C, T')
            seq, _ = self.gru(x.transpose(1, 2))  # (B, T', 2·hidden)
            hidden_state = torch.cat([seq.mean(dim=1), seq.amax(dim=1)], dim=1)
            return self.out(self.drop(hidden_state)), hidden_state

        def forward(self, patches: Any) -> Any:
            return self.embed(patches)[0]

    return CRNN()


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


def build(features: str, n_out: int, width: int = 32, head: str = "mlp", dropout: float = 0.3,
          arch: str = "short-chunk") -> Any:
    """The network a checkpoint's ``features`` and params name."""
    if features == "mel":
        return (build_crnn if arch == "crnn" else build_short_chunk)(n_out, width, dropout)
    return build_head(n_out, head, dropout=dropout)


def run_patches(net: Any, inputs: Any, device: Any = "cpu", size: int = 16,
                activation: str = "sigmoid") -> tuple[Any, Any]:
    """Per-patch (probabilities, embeddings) of ``inputs`` — (n, 187, 96) log-mel patches
    or (n, 200) musicnn embeddings — ``size`` at a time; the net is in eval mode.
    ``activation``: ``sigmoid`` (independent tags) or ``softmax`` (one class)."""
    import numpy as np

    torch = require("torch", extra="train")
    probs, embeds = [], []
    with torch.no_grad():
        for start in range(0, inputs.shape[0], size):
            logits, hidden = net.embed(torch.from_numpy(np.ascontiguousarray(inputs[start:start + size])).to(device))
            probs.append((torch.softmax(logits, dim=1) if activation == "softmax" else torch.sigmoid(logits))
                         .cpu().numpy())
            embeds.append(hidden.cpu().numpy())
    return np.concatenate(probs), np.concatenate(embeds)


class TrainedClipModel:
    """What a checkpoint of ``mirctl train tag``/``classify`` loads into:
    ``__call__(mono, sr)`` -> (per-patch probabilities, per-patch embeddings); ``labels``."""

    activation = "sigmoid"

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        from mirctl.backends._lazy import resolve_device, set_torch_threads
        from mirctl.errors import ModelError
        from mirctl.models.cache import sha256_file
        from mirctl.models.trained import WEIGHTS, load_weights

        self.torch = require("torch", extra="train")
        set_torch_threads(ctx.threads, extra="train")
        self.device = resolve_device(ctx.device, extra="train")
        self.card = options = card.options
        params = options.get("params", {})
        self.features = options.get("features", {}).get("input", "mel")
        arch = params.get("arch", "short-chunk")
        if self.features not in FEATURES or arch not in ARCHS:
            raise ModelError(f"{card.folder}: unknown features {self.features!r} or arch {arch!r} "
                             f"(this mirctl knows {', '.join(FEATURES)}; {', '.join(ARCHS)})",
                             hint="the checkpoint may come from a newer mirctl")
        self.labels = tuple(card.labels)
        self.net = build(self.features, len(self.labels), params.get("width", 32), params.get("head", "mlp"),
                         params.get("dropout", 0.3), arch)
        try:
            self.net.load_state_dict(load_weights(paths[WEIGHTS]), strict=True)
        except RuntimeError as err:
            raise ModelError(f"{paths[WEIGHTS]} does not fit the network its card describes ({str(err).splitlines()[0]})") from None
        self.net.eval().to(self.device)
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
        return run_patches(self.net, self.inputs(mono, sr), self.device, activation=self.activation)


class TrainedTagger(TrainedClipModel):
    """Tagging-model protocol (as :class:`~mirctl.backends.musicnn_backend.MusicnnTagger`),
    plus ``thresholds``: the per-tag decision thresholds tuned on validation."""

    activation = "sigmoid"

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        super().__init__(card, paths, ctx)
        thresholds = self.card.get("thresholds") or {}
        self.thresholds = {t: float(thresholds[t]) for t in self.labels if t in thresholds} or None


class TrainedClassifier(TrainedClipModel):
    """Classification-model protocol: per-patch class probabilities (softmax), and the
    aggregation (``mean`` or ``vote``) it was validated with."""

    activation = "softmax"

    def __init__(self, card: Any, paths: dict, ctx: Any) -> None:
        super().__init__(card, paths, ctx)
        self.aggregate = self.card.get("params", {}).get("aggregate", "mean")


__all__ = ["ARCHS", "FEATURES", "N_FRAMES", "N_MELS", "TrainedClassifier", "TrainedTagger", "build", "run_patches"]
