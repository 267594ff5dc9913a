"""``mirctl train generate-midi``: a REMI Transformer trained on a folder of MIDI files.

Data: every ``.mid``/``.midi`` below ``--data`` (POP909, Pop1K7, your own), each prepared
and tokenized by :mod:`mirctl.backends.remi` (a ``beat_midi.txt`` beside a file gives its
first downbeat, as in POP909). The split is by song: the files sorted by path, the last
``--valid-fraction`` of them held out (POP909 with the default 0.055: 001–859 train,
860–909 validation).

Training examples are windows of ``context + 1`` tokens over the training songs laid end
to end (``BOS song EOS BOS song EOS …``): example ``i`` starts at ``i × context`` plus a
random offset drawn per batch, so each epoch sees other cuts. With ``--bos-windows P`` a
window moves back, with probability P, to the ``BOS`` of the song it starts in: generation
always starts from ``BOS`` with nothing before it, and random cuts almost never show the
model a song's opening at a window's first position. ``--transpose N`` shifts
each window by a random whole number of semitones within ± N (only shifts that keep every
pitch of the window in the tokenizer's range). Validation: the held-out songs in
consecutive windows, reported as the mean cross-entropy per token (``loss``, nats) and
its exponential (``ppl``); the lowest loss is kept.

Learning rate: linear warm-up over the first ``--warmup`` steps, then constant, then a
linear cool-down to zero over the last ``--cooldown`` share of ``--max-steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirctl.errors import InputError, UsageError
from mirctl.training import Prepared, Trainable


@dataclass(frozen=True)
class Params:
    layers: int = 4
    dim: int = 256
    heads: int = 4
    context: int = 1024
    dropout: float = 0.0
    transpose: int = 0
    valid_fraction: float = 0.055
    warmup: int = 100
    cooldown: float = 0.2
    bf16: bool = False
    bos_windows: float = 0.0


def find_midi(data: Path) -> list[Path]:
    """Every MIDI file below ``data`` (hidden folders and files skipped), sorted by path."""
    from mirctl.io.midi import MIDI_EXTENSIONS

    data = Path(data)
    if data.is_file():
        return [data]
    found = [p for p in data.rglob("*") if p.suffix.lower() in MIDI_EXTENSIONS and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(data).parts)]
    return sorted(found)


def split_songs(files: list[Path], valid_fraction: float) -> tuple[list[Path], list[Path]]:
    """The last ``ceil(n × valid_fraction)`` files (at least one, never all) for validation."""
    if len(files) < 2:
        raise UsageError(f"generate-midi training needs at least 2 MIDI files, found {len(files)}",
                         hint="point --data at a folder of MIDI files (searched recursively)")
    n_valid = min(len(files) - 1, max(1, math.ceil(len(files) * valid_fraction)))
    return files[:-n_valid], files[-n_valid:]


@dataclass
class Stream:
    """Songs laid end to end as one token array, cut into windows starting every ``stride``."""

    tokens: Any  # numpy int64
    starts: list[int]
    songs: int
    bos_at: Any  # numpy int64: where each song's BOS sits in ``tokens``

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> int:
        return self.starts[i]


def build_stream(songs: list[list[int]], bos: int, eos: int, context: int) -> Stream:
    import numpy as np

    parts = []
    for ids in songs:
        parts.extend([bos, *ids, eos])
    tokens = np.asarray(parts, dtype=np.int64)
    # every window whole: the last start leaves context + 1 tokens (none when the stream is shorter)
    starts = list(range(0, len(tokens) - context, context))
    bos_at = np.cumsum([0] + [len(ids) + 2 for ids in songs[:-1]], dtype=np.int64)
    return Stream(tokens, starts, len(songs), bos_at)


def transpose_window(window: Any, first_pitch: int, n_pitch: int, rng: Any, max_shift: int) -> Any:
    """Shift every pitch token of ``window`` by one random number of semitones within
    ± ``max_shift`` that keeps all of them in range (0 when none)."""
    is_pitch = (window >= first_pitch) & (window < first_pitch + n_pitch)
    if max_shift <= 0 or not is_pitch.any():
        return window
    pitches = window[is_pitch] - first_pitch
    low = max(-max_shift, -int(pitches.min()))
    high = min(max_shift, n_pitch - 1 - int(pitches.max()))
    shift = int(rng.integers(low, high + 1))  # low <= 0 <= high: the pitches lie in range
    out = window.copy()
    out[is_pitch] += shift
    return out


class MidiLMTraining(Trainable):
    name = "generate-midi"
    ref = f"{__name__}:TRAINABLE"
    backend = "mirctl.backends.midi_lm_backend:TrainedMidiLM"
    monitor = "loss"
    mode = "min"

    def validate(self, params: Params) -> None:
        if params.dim % params.heads or (params.dim // params.heads) % 2:
            raise UsageError(f"--dim {params.dim} must split into --heads {params.heads} of an even size")
        if params.context < 16:
            raise UsageError("--context must be at least 16 tokens")
        if not 0 < params.valid_fraction < 1:
            raise UsageError("--valid-fraction must lie between 0 and 1")
        if not 0 <= params.cooldown < 1:
            raise UsageError("--cooldown is a share of --max-steps, from 0 up to (not including) 1")
        if not 0 <= params.bos_windows <= 1:
            raise UsageError("--bos-windows is a probability, from 0 to 1")

    def prepare(self, params: Params, data: Path, seed: int) -> Prepared:
        from mirctl.backends import remi

        files = find_midi(data)
        train_files, valid_files = split_songs(files, params.valid_fraction)
        tokenizer = remi.make_tokenizer()
        pitches = remi.pitch_ids(tokenizer)
        first_pitch, n_pitch = pitches.start, len(pitches)
        songs, skipped = {}, []
        for path in files:
            try:
                ids = remi.encode(tokenizer, remi.prepared_from_file(path))
            except InputError as err:
                skipped.append(f"{path}: {err.message}")
                continue
            if remi.holds_notes(ids, pitches):
                songs[path] = ids
            else:  # a file without notes still gives a bar, a position and a tempo
                skipped.append(f"{path}: no notes")
        bos, eos = tokenizer["BOS_None"], tokenizer["EOS_None"]
        train = build_stream([songs[p] for p in train_files if p in songs], bos, eos, params.context)
        valid = build_stream([songs[p] for p in valid_files if p in songs], bos, eos, params.context)
        if len(train) == 0:
            raise UsageError(f"the training songs in {data} give fewer than {params.context + 1} tokens",
                             hint="add MIDI files or lower --context")
        if not valid.songs:  # every validation file was skipped
            raise UsageError(f"the validation songs in {data} give no tokens", hint="raise --valid-fraction")
        # the runner hands collate() example indices only: what they index is kept here
        self._stream, self._pad, self._pitch = train, tokenizer.pad_token_id, (first_pitch, n_pitch)
        info = {"vocab": tokenizer.vocab_size, "pad": tokenizer.pad_token_id, "first_pitch": first_pitch,
                "n_pitch": n_pitch, "valid_tokens": int(len(valid.tokens)), "train_tokens": int(len(train.tokens)),
                "songs": {"train": train.songs, "valid": valid.songs, "skipped": skipped},
                "valid_files": [str(p.relative_to(data)) for p in valid_files[:3]]  # find_midi's paths are below data
                + (["…"] if len(valid_files) > 3 else []),
                "tokenizer": remi.tokenizer_card()}
        return Prepared(train, valid, info)

    def build(self, params: Params, info: dict[str, Any]) -> Any:
        from mirctl.backends.midi_lm import LMConfig, MidiLM

        return MidiLM(LMConfig(vocab=info["vocab"], layers=params.layers, dim=params.dim, heads=params.heads,
                               context=params.context, dropout=params.dropout))

    def collate(self, examples: list[int], rng: Any, params: Params) -> Any:
        import numpy as np
        import torch

        stream: Stream = self._stream
        last = len(stream.tokens) - (params.context + 1)
        rows = []
        for start in examples:
            start = min(last, start + int(rng.integers(0, params.context)))
            if params.bos_windows and rng.random() < params.bos_windows:
                # back to the BOS of the song this window starts in (BOS at 0 comes first)
                start = int(stream.bos_at[np.searchsorted(stream.bos_at, start, side="right") - 1])
            window = stream.tokens[start:start + params.context + 1]
            if params.transpose:
                window = transpose_window(window, self._pitch[0], self._pitch[1], rng, params.transpose)
            rows.append(window)
        return torch.from_numpy(np.stack(rows))

    def loss(self, model: Any, batch: Any, params: Params) -> tuple[Any, dict[str, float]]:
        from mirctl.backends.midi_lm import sequence_loss

        with _autocast(batch.device.type, params.bf16):
            loss = sequence_loss(model, batch, self._pad)
        return loss, {}

    def evaluate(self, model: Any, prepared: Prepared, params: Params) -> dict[str, float]:
        nll, count = window_nll(model, prepared.valid.tokens, params.context, self._pad, params.bf16)
        loss = nll / count
        return {"loss": loss, "ppl": math.exp(loss), "tokens": count}

    def lr_scale(self, step: int, max_steps: int, params: Params) -> float:
        return lr_scale(step, max_steps, params.warmup, params.cooldown)

    def card(self, params: Params, info: dict[str, Any]) -> dict[str, Any]:
        return {"tokenizer": info["tokenizer"], "vocab": info["vocab"],
                "data_facts": {"songs": info["songs"], "train_tokens": info["train_tokens"],
                               "valid_tokens": info["valid_tokens"], "valid_files": info["valid_files"]},
                "license": "the license of your training data"}


def lr_scale(step: int, max_steps: int, warmup: int, cooldown: float) -> float:
    """Warm-up from 1/warmup to 1 over ``warmup`` steps, 1, then linearly to 0 over the
    last ``cooldown`` share of ``max_steps`` (``step`` counts from 0)."""
    if step < warmup:
        return (step + 1) / warmup
    cool_steps = int(round(max_steps * cooldown))
    if cool_steps > 0 and step >= max_steps - cool_steps:
        return max(0.0, (max_steps - step) / cool_steps)
    return 1.0


def _autocast(device: str, bf16: bool) -> Any:
    import contextlib

    import torch

    if not bf16 or device not in ("cpu", "cuda"):
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=torch.bfloat16)


def window_nll(model: Any, tokens: Any, context: int, pad: int, bf16: bool = False,
               batch: int = 8) -> tuple[float, int]:
    """Summed next-token negative log-likelihood (nats) and the number of tokens scored,
    over ``tokens`` cut into consecutive windows of ``context + 1`` (each predicted token
    counted once; windows overlap by one token)."""
    import torch

    device = next(model.parameters()).device
    with torch.no_grad():
        return _window_nll(model, tokens, context, pad, bf16, batch, device)


def _window_nll(model: Any, tokens: Any, context: int, pad: int, bf16: bool, batch: int, device: Any) -> tuple[float, int]:
    import torch
    import torch.nn.functional as F

    starts = list(range(0, len(tokens) - 1, context))  # a window holds at least 2 tokens
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        chunk = [torch.as_tensor(tokens[s:s + context + 1]) for s in starts[i:i + batch]]
        width = max(len(c) for c in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        for row, c in enumerate(chunk):
            ids[row, :len(c)] = c
        ids = ids.to(device)
        with _autocast(device.type, bf16):
            logits = model(ids[:, :-1])
        target = ids[:, 1:]
        nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1),
                              ignore_index=pad, reduction="sum")
        total += float(nll)
        count += int((target != pad).sum())
    return total, count


TRAINABLE = MidiLMTraining()
