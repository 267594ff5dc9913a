"""A decoder-only Transformer over REMI tokens (torch), with a key/value cache for sampling.

Pre-norm blocks (LayerNorm → causal self-attention with rotary position embeddings →
LayerNorm → GELU MLP), tied input/output embeddings. The cache keeps each layer's keys
and values of the tokens seen so far, so sampling a token costs one position's work, not
the whole prefix's; :meth:`MidiLM.forward` with a cache gives the logits a full forward
pass gives (a test holds them to 1e-5).

The model handles sequences up to ``context`` tokens; :func:`stream` slides a row's
window when its piece outgrows it (re-encoding the last ``context // 2`` tokens at
positions 0 …, so positions never pass those it was trained on).

Sampling many pieces (:func:`stream`) keeps a fixed number of rows busy: each row holds
one piece at its own position with its own keys and values (:class:`RowCache`); a
finished piece's row takes the next waiting one at once, so no row waits for the
longest piece of its batch. The layers' matrix products run over all rows together;
attention runs row by row over that row's keys only. A row's numbers therefore depend
on its own tokens and on the row count, never on what the other rows hold (tested),
which is what lets ``generate-midi`` sample many pieces at once and still give each the
bytes it gets alone.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Sequence

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

    def step(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, layer: _StepLayer,
             live: list[int], rows: torch.Tensor, at: list[int], where: torch.Tensor) -> torch.Tensor:
        """One new token for each row of ``x`` (rows, dim), in eval mode: the live rows
        (``live``; as a tensor: ``rows``) store their key and value at position ``at``
        (``where``) of their row of the layer's buffers and attend to their first
        ``at + 1``, each row by itself; the other rows (padding) attend to nothing."""
        b, d = x.shape
        h = F.layer_norm(x, (d,), self.norm1.weight, self.norm1.bias, self.norm1.eps)
        qkv = torch.addmm(layer.qkv_b, h, layer.qkv_w).view(b, 3, self.heads, 1, d // self.heads)
        qk = _rotate(qkv[:, :2], cos, sin).to(layer.keys.dtype)  # queries and keys rotated at once
        layer.keys[rows, :, where] = qk[rows, 1, :, 0]
        layer.values[rows, :, where] = qkv[rows, 2, :, 0].to(layer.values.dtype)
        queries = qk[:, 0].split(1)
        parts = [layer.nothing] * b
        for r, n in zip(live, at):
            parts[r] = F.scaled_dot_product_attention(queries[r], layer.row_keys[r].narrow(2, 0, n + 1),
                                                      layer.row_values[r].narrow(2, 0, n + 1))
        x = x + torch.addmm(layer.proj_b, torch.cat(parts).view(b, d).to(x.dtype), layer.proj_w)
        h = F.layer_norm(x, (d,), self.norm2.weight, self.norm2.bias, self.norm2.eps)
        h = F.gelu(torch.addmm(layer.up_b, h, layer.up_w))
        return x + torch.addmm(layer.down_b, h, layer.down_w)


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


@dataclass
class _StepLayer:
    """One block's part of a :class:`RowCache`: its keys and values, and its weights
    transposed (in × out, the layout a product of few rows runs fastest with: 1.8×
    faster than ``nn.Linear``'s out × in here)."""

    keys: torch.Tensor
    values: torch.Tensor
    qkv_w: torch.Tensor
    qkv_b: torch.Tensor
    proj_w: torch.Tensor
    proj_b: torch.Tensor
    up_w: torch.Tensor
    up_b: torch.Tensor
    down_w: torch.Tensor
    down_b: torch.Tensor
    row_keys: tuple[torch.Tensor, ...] = ()  # the rows' (1, heads, context, head_dim) views
    row_values: tuple[torch.Tensor, ...] = ()
    nothing: torch.Tensor | None = None  # a padding row's attention: zeros (1, heads, 1, head_dim)

    def __post_init__(self) -> None:
        self.row_keys, self.row_values = self.keys.split(1), self.values.split(1)
        self.nothing = self.keys.new_zeros(1, self.keys.shape[1], 1, self.keys.shape[3])


#: keys and values of the rows are held in bfloat16, as training's autocast had them:
#: half the memory a step reads
ROW_DTYPE = torch.bfloat16


class RowCache:
    """What :func:`stream` keeps for ``rows`` sequences decoded side by side: per block a
    :class:`_StepLayer` whose keys and values are (rows, heads, context, head_dim);
    ``lengths[r]``: the tokens row r holds; ``head``: the output weights, transposed;
    ``rotary``: the cosines and sines of every position (:func:`_rotary`). The weights
    are copies, taken when the cache is made."""

    def __init__(self, model: MidiLM, rows: int) -> None:
        cfg = model.cfg
        shape = (rows, cfg.heads, cfg.context, cfg.dim // cfg.heads)
        weight = model.embed.weight.detach()
        self.layers = []
        for block in model.blocks:
            up, down = block.mlp[0], block.mlp[2]
            self.layers.append(_StepLayer(
                weight.new_zeros(shape, dtype=ROW_DTYPE), weight.new_zeros(shape, dtype=ROW_DTYPE),
                *(t.detach().t().contiguous() if t.dim() == 2 else t.detach()
                  for lin in (block.qkv, block.proj, up, down) for t in (lin.weight, lin.bias))))
        self.head = weight.t().contiguous()
        self.rotary = _rotary(torch.arange(cfg.context, device=weight.device), cfg.dim // cfg.heads)
        self.lengths = [0] * rows


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

    def new_rows(self, rows: int) -> RowCache:
        return RowCache(self, rows)

    def start_row(self, cache: RowCache, row: int, window: list[int]) -> torch.Tensor:
        """Encode ``window`` (at most ``context`` tokens, positions 0 …) alone into row
        ``row`` of ``cache``, replacing what it held; returns the next token's logits (vocab,)."""
        fresh = self.new_cache()
        logits = self(torch.tensor([window], device=self.embed.weight.device), fresh, 0)[0, -1]
        n = len(window)
        for layer, done in zip(cache.layers, fresh):
            layer.keys[row, :, :n] = done.k[0, :, :n]
            layer.values[row, :, :n] = done.v[0, :, :n]
        cache.lengths[row] = n
        return logits

    def step(self, cache: RowCache, tokens: list[int], live: list[int]) -> torch.Tensor:
        """Feed one token to every row (``tokens[r]``; rows not in ``live`` are padding,
        computed and forgotten): the next-token logits of every row, (rows, vocab)."""
        device = self.embed.weight.device
        at = [cache.lengths[r] for r in live]
        positions = [0] * len(tokens)
        for r, n in zip(live, at):
            positions[r] = n
        index = torch.tensor(positions, device=device)
        cos, sin = (t[index][:, None, None, None, :] for t in cache.rotary)
        rows, where = torch.tensor(live, device=device), torch.tensor(at, device=device)
        x = F.embedding(torch.tensor(tokens, device=device), self.embed.weight)
        for block, layer in zip(self.blocks, cache.layers):
            x = block.step(x, cos, sin, layer, live, rows, at, where)
        for r in live:
            cache.lengths[r] += 1
        return F.layer_norm(x, (self.cfg.dim,), self.norm.weight, self.norm.bias, self.norm.eps) @ cache.head

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


@dataclass
class Request:
    """One sequence to continue (:func:`stream`): ``prompt`` and its own ``generator``;
    ``wants_more(seq)`` is asked of the prompt and after each new token, ``banned(seq)``
    names the tokens that may not come next; at most ``max_tokens`` new tokens."""

    key: Any
    prompt: list[int]
    generator: torch.Generator
    wants_more: Callable[[list[int]], bool]
    banned: Callable[[list[int]], Sequence[int]] = field(default=lambda _seq: ())
    max_tokens: int = 4096


@dataclass
class _Row:
    request: Request
    seq: list[int]
    drawn: int = 0


@torch.no_grad()
def stream(model: MidiLM, requests: Iterable[Request], rows: int, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None) -> Iterator[tuple[Request, list[int]]]:
    """Continue each request, ``rows`` at a time; yields ``(request, sequence)`` as each
    finishes (not in order). A finished row takes the next request at once.

    Each row draws from its request's generator as ``torch.multinomial`` would (the same
    token for the same probabilities and generator state), after masking, temperature,
    top-k and top-p (:func:`filter_logits`). The network always computes ``rows`` rows,
    padding included, so a request's tokens depend on ``rows`` but not on its neighbours.
    """
    queue = iter(requests)
    context = model.cfg.context
    cache = model.new_rows(rows)
    logits = torch.zeros(rows, model.cfg.vocab)
    slots: list[_Row | None] = [None] * rows
    fed = [0] * rows

    def fill(row: int) -> list[tuple[Request, list[int]]]:
        """Give ``row`` the next request that wants tokens; returns those that want none."""
        done = []
        for request in queue:
            seq = list(request.prompt)
            if request.max_tokens < 1 or not request.wants_more(seq):
                done.append((request, seq))
                continue
            logits[row] = model.start_row(cache, row, seq[-context:]).float().cpu()
            slots[row] = _Row(request, seq)
            return done
        slots[row] = None
        return done

    finished = [d for row in range(rows) for d in fill(row)]
    yield from finished
    while any(slots):
        live = [r for r, slot in enumerate(slots) if slot is not None]
        banned = [(r, t) for r in live for t in slots[r].request.banned(slots[r].seq)]
        if banned:
            which, tokens = zip(*banned)
            logits[list(which), list(tokens)] = -math.inf
        probs = filter_logits(logits, temperature, top_k, top_p).softmax(-1)
        noise = torch.ones_like(probs)
        for r in live:  # multinomial's own draw: argmax(p / q), q ~ Exp(1) from the row's generator
            noise[r].exponential_(generator=slots[r].request.generator)
        drawn = (probs / noise).argmax(-1).tolist()
        finished, stepping = [], []
        for r in live:
            slot = slots[r]
            slot.seq.append(drawn[r])
            slot.drawn += 1
            if slot.drawn >= slot.request.max_tokens or not slot.request.wants_more(slot.seq):
                finished.append((slot.request, slot.seq))
                finished += fill(r)
            elif cache.lengths[r] >= context:  # the window is full: slide it, re-encoding the last half
                logits[r] = model.start_row(cache, r, slot.seq[-(context // 2):]).float().cpu()
            else:
                stepping.append(r)
                fed[r] = drawn[r]
        if stepping:
            out = model.step(cache, fed, stepping).float().cpu()
            logits[stepping] = out[stepping]
        yield from finished


def sample(model: MidiLM, prompts: list[list[int]], steps_left: Callable[[int, list[int]], bool],
           mask: Callable[[int, list[int]], list[int]], generator: torch.Generator | list[torch.Generator],
           temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           max_tokens: int = 4096, on_token: Callable[[int, list[int]], None] | None = None,
           rows: int | None = None) -> list[list[int]]:
    """:func:`stream` for a list of prompts, in ``rows`` rows (default: one each); returns
    the sequences in the prompts' order. ``steps_left(i, seq)``, ``mask(i, seq)`` and
    ``on_token(i, seq)`` are told the prompt's index; ``generator``: one per prompt, or
    one shared by all."""
    generators = generator if isinstance(generator, list) else [generator] * len(prompts)

    def wants_more(i: int, seq: list[int]) -> bool:
        if on_token is not None and len(seq) > len(prompts[i]):
            on_token(i, seq)
        return steps_left(i, seq)

    requests = [Request(i, list(p), generators[i], partial(wants_more, i), partial(mask, i), max_tokens)
                for i, p in enumerate(prompts)]
    out: list[list[int]] = [[] for _ in prompts]
    for request, seq in stream(model, requests, rows or len(prompts), temperature, top_k, top_p):
        out[request.key] = seq
    return out
