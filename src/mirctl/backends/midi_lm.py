"""A decoder-only Transformer over REMI tokens (torch), with a key/value cache for sampling.

Pre-norm blocks (LayerNorm → causal self-attention with rotary position embeddings →
LayerNorm → GELU MLP), tied input/output embeddings. The cache keeps each layer's keys
and values of the tokens seen so far, so sampling a token costs one position's work, not
the whole prefix's; :meth:`MidiLM.forward` with a cache gives the logits a full forward
pass gives (a test holds them to 1e-5).

The model handles sequences up to ``context`` tokens; :func:`sample` slides the window
when a piece outgrows it (re-encoding the last ``context // 2`` tokens at positions
0 …, so positions never pass those it was trained on).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class LMConfig:
    vocab: int
    layers: int = 4
    dim: int = 256
    heads: int = 4
    context: int = 1024
    dropout: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rotary(positions: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim))
    angles = positions.float()[:, None] * inv[None, :]
    return angles.cos(), angles.sin()


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the last dimension of ``x`` (B, H, T, D)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.heads = cfg.heads
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, 4 * cfg.dim), nn.GELU(), nn.Linear(4 * cfg.dim, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        causal = True
        if cache is not None:
            seen = cache.length
            k, v = cache.append(k, v)
            causal = t > 1
            if causal and seen:  # several new tokens after a cached prefix
                mask = torch.ones(t, k.shape[2], dtype=torch.bool, device=x.device).tril(seen)
                att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
                causal = None
        if causal is not None:
            att = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.norm2(x)))


class KVCache:
    """One layer's keys and values of the tokens seen so far, in buffers that grow by
    doubling (appending costs the new tokens' copy, not the whole prefix's)."""

    def __init__(self) -> None:
        self.k: torch.Tensor | None = None
        self.v: torch.Tensor | None = None
        self.length = 0

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add keys/values (B, H, T, D); returns views of all of them so far."""
        end = self.length + k.shape[2]
        if self.k is None or end > self.k.shape[2]:
            size = max(256, 2 * end)
            grown_k = k.new_empty(k.shape[0], k.shape[1], size, k.shape[3])
            grown_v = v.new_empty(grown_k.shape)
            if self.k is not None:
                grown_k[:, :, :self.length] = self.k[:, :, :self.length]
                grown_v[:, :, :self.length] = self.v[:, :, :self.length]
            self.k, self.v = grown_k, grown_v
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


class MidiLM(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.dim)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, cache: list[KVCache] | None = None, start: int = 0) -> torch.Tensor:
        """Logits (B, T, vocab) for token ids (B, T) at positions ``start …``; with a
        ``cache`` (:meth:`new_cache`: one per layer, filled in place) earlier tokens need
        not be passed."""
        t = ids.shape[1]
        cos, sin = _rotary(torch.arange(start, start + t, device=ids.device), self.cfg.dim // self.cfg.heads)
        x = self.embed(ids)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if cache is None else cache[i])
        return self.norm(x) @ self.embed.weight.T

    def new_cache(self) -> list[KVCache]:
        return [KVCache() for _ in self.blocks]

    def parameters_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def sequence_loss(model: MidiLM, ids: torch.Tensor, pad: int) -> torch.Tensor:
    """Mean next-token cross-entropy over a batch of windows (B, T+1), padding ignored."""
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1), ignore_index=pad)


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """Temperature, then top-k, then nucleus (top-p) filtering of (B, V) logits; what is
    filtered out becomes -inf. The most likely token always survives."""
    logits = logits / max(temperature, 1e-6)
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, -math.inf)
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = sorted_logits.softmax(-1)
        before = probs.cumsum(-1) - probs  # mass of the tokens ranked above each
        drop_sorted = before >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, -math.inf)
    return logits


@torch.no_grad()
def sample(model: MidiLM, prompts: list[list[int]], steps_left: Callable[[int, list[int]], bool],
           mask: Callable[[int, list[int]], list[int]], generator: torch.Generator | list[torch.Generator],
           temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, max_tokens: int = 4096,
           on_token: Callable[[int, list[int]], None] | None = None) -> list[list[int]]:
    """Sample continuations of ``prompts`` as one batch.

    ``steps_left(row, seq)``: whether row ``row`` still wants tokens; ``mask(row, seq)``:
    token ids that may not come next; ``on_token`` is told each new token. Rows stop
    independently (a finished row's samples are thrown away). Prompts of unequal length
    are sampled one after the other, each with its own cache.

    ``generator``: one for the whole batch, or one per row — then each row draws from its
    own, and a row's tokens do not depend on the other rows of a batch of the same size
    (the network computes each row alike; tested), which is what lets ``generate-midi``
    sample several pieces at once and still give each the bytes it gets alone.
    """
    if len({len(p) for p in prompts}) > 1:
        out = []
        for p in prompts:
            gen = generator[len(out)] if isinstance(generator, list) else generator
            out.extend(sample(model, [p], lambda _r, s, row=len(out): steps_left(row, s),
                              lambda _r, s, row=len(out): mask(row, s), gen, temperature, top_k, top_p,
                              max_tokens, None if on_token is None else
                              (lambda _r, s, row=len(out): on_token(row, s))))
        return out
    device = next(model.parameters()).device
    seqs = [list(p) for p in prompts]
    fed = [list(p) for p in prompts]  # what each row's cache holds: a finished row goes on being fed
    live = [steps_left(i, s) for i, s in enumerate(seqs)]
    context = model.cfg.context

    def encode_window(size: int) -> tuple[list[KVCache], torch.Tensor]:
        fresh = model.new_cache()
        window = torch.tensor([s[-size:] for s in fed], device=device)
        return fresh, model(window, fresh, 0)[:, -1]

    filled = min(len(seqs[0]), context)
    cache, logits = encode_window(filled)
    generated = 0
    while any(live) and generated < max_tokens:
        logits = logits.float()
        for i, s in enumerate(seqs):
            banned = mask(i, s) if live[i] else []
            if banned:
                logits[i, banned] = -math.inf
        probs = filter_logits(logits, temperature, top_k, top_p).softmax(-1)
        if isinstance(generator, list):
            nxt = [int(torch.multinomial(probs[i], 1, generator=g)) for i, g in enumerate(generator)]
        else:
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1).tolist()
        for i, token in enumerate(nxt):
            fed[i].append(token)
            if live[i]:
                seqs[i].append(token)
                if on_token is not None:
                    on_token(i, seqs[i])
                live[i] = steps_left(i, seqs[i])
        generated += 1
        if not any(live):
            break
        if filled >= context:  # the window is full: slide it, re-encoding the last half
            filled = context // 2
            cache, logits = encode_window(filled)
        else:
            logits = model(torch.tensor(nxt, device=device)[:, None], cache, filled)[:, -1]
            filled += 1
    return seqs
