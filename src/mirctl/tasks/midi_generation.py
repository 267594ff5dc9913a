"""``mirctl generate-midi``: pop piano from a REMI Transformer, from nothing or continuing
prompt MIDI files.

Each generated item (``-n 20`` → ``000 … 019``) samples ``--bars`` bars from
``BOS Bar Position_0 Tempo_x`` (``--tempo`` picks the nearest tempo token; without it
the model samples one). A prompt file is prepared and tokenized as the training data was
(:mod:`mirctl.backends.remi`), cut after ``--prompt-bars`` bars, and continued by
``--bars`` bars; the output holds the prompt (at the tokenizer's grid) and its
continuation. While bars are owed, EOS/BOS/PAD are masked; sampling stops when the token
that would open one bar too many comes, and a trailing bar with no note onset (only the
tails of earlier notes) is dropped.

Determinism: each item draws from its own generator, seeded by ``--seed`` and the item's
name (a prompt: its file name), so an item's MIDI does not depend on ``--jobs``,
sharding, resuming or whether it was asked for by ``-n`` or ``--names``.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

from mirctl.backends import remi
from mirctl.errors import InputError, UsageError
from mirctl.io.midi import MIDI_EXTENSIONS
from mirctl.options import option
from mirctl.pipeline.task import OutputSlot, Task
from mirctl.types import AudioOut, GeneratedSource, ImageOut, MidiOut, TaskResult

DEFAULT_MODEL = "pop909-remi"


@dataclass(frozen=True)
class Params:
    model: str = option(DEFAULT_MODEL, "The model: pop909-remi (shipped) or a `mirctl train generate-midi` folder.")
    bars: int = option(32, "Bars to generate (after the prompt, when continuing).")
    prompt_bars: int | None = option(None, "Continue from the first K bars of each prompt (default: all of it).")
    temperature: float = option(1.0, "Sampling temperature (below 1: safer, above: wilder).")
    top_k: int | None = option(None, "Sample among the K most likely tokens only.")
    top_p: float | None = option(0.95, "Nucleus sampling: the most likely tokens holding this much probability.")
    seed: int = option(0, "Seed; each item's own seed derives from it (same seed and options: same MIDI).")
    tempo: float | None = option(None, "Tempo in BPM (nearest tempo token); default: the model picks one.")
    max_tokens: int | None = option(None, "Stop an item after this many tokens (default: 200 per bar).")
    render: bool = option(False, "Also write audio beside each MIDI (mirctl render's synth and default font).")
    plot: bool = option(False, "Also write a piano-roll PNG beside each MIDI.")
    sample_rate: int = option(44100, "Sample rate of --render's audio.")


def validate(params: Params) -> None:
    if params.bars < 1:
        raise UsageError("--bars must be at least 1")
    if params.prompt_bars is not None and params.prompt_bars < 1:
        raise UsageError("--prompt-bars must be at least 1")
    if params.temperature <= 0:
        raise UsageError("--temperature must be above 0", hint="lower values (0.8) play safer, higher (1.2) wilder")
    if params.top_k is not None and params.top_k < 1:
        raise UsageError("--top-k must be at least 1")
    if params.top_p is not None and not 0 < params.top_p <= 1:
        raise UsageError("--top-p must lie in (0, 1]")
    if params.tempo is not None and not 20 <= params.tempo <= 400:
        raise UsageError("--tempo is in beats per minute, 20-400")
    if params.max_tokens is not None and params.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")


class Vocab:
    """The token ids sampling needs, looked up once per tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        vocab = tokenizer.vocab
        self.bos, self.eos, self.pad = vocab["BOS_None"], vocab["EOS_None"], vocab["PAD_None"]
        self.bar = vocab["Bar_None"]
        self.position0 = vocab["Position_0"]
        self.pitch = remi.pitch_ids(tokenizer)
        self.tempos = sorted((float(t.split("_")[1]), i) for t, i in vocab.items() if t.startswith("Tempo_"))

    def tempo_token(self, bpm: float) -> int:
        return min(self.tempos, key=lambda ti: abs(math.log(ti[0] / bpm)))[1]


def start_tokens(vocab: Vocab, tempo: float | None) -> list[int]:
    start = [vocab.bos, vocab.bar, vocab.position0]
    return start + [vocab.tempo_token(tempo)] if tempo is not None else start


def cut_bars(ids: list[int], bar: int, keep: int) -> list[int]:
    """``ids`` up to (not including) the Bar token that opens bar ``keep + 1``."""
    seen = 0
    for i, token in enumerate(ids):
        if token == bar:
            seen += 1
            if seen > keep:
                return ids[:i]
    return list(ids)


def drop_empty_tail(ids: list[int], vocab: Vocab) -> list[int]:
    """Remove trailing bars that hold no note onset (nothing but earlier notes' tails)."""
    while True:
        last = max((i for i, t in enumerate(ids) if t == vocab.bar), default=None)
        if last is None or remi.holds_notes(ids[last:], vocab.pitch) or last == ids.index(vocab.bar):
            return ids
        ids = ids[:last]


def bars_in(ids: list[int], vocab: Vocab) -> int:
    return sum(1 for t in ids if t == vocab.bar)


#: generated pieces sampled together; a batch always has this many rows (padded with
#: copies), so a piece's tokens never depend on which pieces shared its batch
BATCH = 4


def continue_ids(lm: Any, prompt: list[int], params: Params, seed: int,
                 progress: Callable[[float], None]) -> tuple[list[int], dict[str, Any]]:
    """Sample ``params.bars`` bars after ``prompt``; returns all ids and sampling facts."""
    return continue_many(lm, [prompt], params, [seed], progress)[0]


def continue_many(lm: Any, prompts: list[list[int]], params: Params, seeds: list[int],
                  progress: Callable[[float], None], rows: int | None = None) -> list[tuple[list[int], dict]]:
    """:func:`continue_ids` for several prompts of one length at once, each row drawing
    from its own generator, the batch padded to ``rows`` rows; ``progress`` follows the
    first prompt."""
    import torch

    from mirctl.backends.midi_lm import sample

    vocab = lm.vocab
    n = len(prompts)
    rows = max(rows or n, n)
    done = [prompt_bars_done(p, vocab) for p in prompts]
    owed = [d + params.bars for d in done]  # bars each finished piece holds
    banned = [vocab.bos, vocab.eos, vocab.pad]
    limit = params.max_tokens if params.max_tokens is not None else 200 * params.bars
    generators = [torch.Generator().manual_seed(s) for s in seeds + seeds[:1] * (rows - n)]
    opened = [bars_in(p, vocab) for p in prompts]

    def wants_more(row: int, seq: list[int]) -> bool:
        """Told each new token of a row: counts the bars it opened (row 0 reports progress)."""
        if row >= n:
            return False  # a padding row: computed, never kept
        if len(seq) > len(prompts[row]) and seq[-1] == vocab.bar:
            opened[row] += 1
            if row == 0:
                progress((opened[0] - 1 - done[0]) / params.bars)  # the closing Bar: 1.0
        return opened[row] <= owed[row]

    padded = prompts + prompts[:1] * (rows - n)
    outs = sample(lm.net, padded, wants_more, lambda _r, _s: banned, generators, params.temperature,
                  params.top_k, params.top_p, max_tokens=limit)[:n]
    results = []
    for prompt, out, d, o in zip(prompts, outs, done, owed):
        ids = drop_empty_tail(out, vocab)  # a row stops at the Bar that opens bar o + 1: dropped here
        results.append((ids, {"tokens": len(out) - len(prompt), "bars": bars_in(ids, vocab) - d,
                              "complete": bars_in(out, vocab) > o}))
    progress(1.0)
    return results


def prompt_bars_done(prompt: list[int], vocab: Vocab) -> int:
    """Bars a prompt completes: its last Bar token opens the first bar to generate
    (``BOS Bar Position_0 Tempo`` completes none; a prompt file's K bars end with the Bar
    of bar K + 1)."""
    return max(0, bars_in(prompt, vocab) - 1)


#: an odd multiplier (2^32 / the golden ratio): for one name, ``--seed`` 0 … 2^32 - 1 give
#: 2^32 different generator seeds
_SEED_STEP = 0x9E3779B1


def item_seed(seed: int, name: str) -> int:
    """The generator seed of the item called ``name`` (``007``, or a prompt's file name):
    from ``--seed`` and the name's CRC-32, so an item is the same piece however it was
    asked for (``-n 20``, ``--names 007``, a shard, a resumed run). It stays below 2^32:
    torch's CPU generator keeps only a seed's low 32 bits."""
    return (zlib.crc32(name.encode("utf-8")) + seed * _SEED_STEP) % 2**32


def prompt_ids(lm: Any, path: Path, prompt_bars: int | None) -> list[int]:
    ids = remi.encode(lm.tokenizer, remi.prepared_from_file(path))
    if not remi.holds_notes(ids, lm.vocab.pitch):
        raise InputError(f"{path} holds no notes to continue", hint="give a MIDI file with notes as the prompt")
    if prompt_bars is not None:
        ids = cut_bars(ids, lm.vocab.bar, prompt_bars)
    # the Bar that opens the first new bar: the model adds nothing to the prompt's last bar
    return [lm.vocab.bos] + ids + [lm.vocab.bar]


def to_midi(lm: Any, ids: list[int]) -> Any:
    """A mido MidiFile of token ids (tempo map, 4/4, one piano track)."""
    return decoded(lm, ids)[0]


def decoded(lm: Any, ids: list[int]) -> tuple[Any, int]:
    """The mido MidiFile of token ids and how many notes it holds."""
    score = remi.decode(lm.tokenizer, ids)
    return remi.score_to_mido(score), sum(len(track.notes) for track in score.tracks)


def _pianoroll(path: str, midi: Any, title: str) -> None:
    import io

    from mirctl import viz
    from mirctl.io.midi import import_pretty_midi
    from mirctl.io.notes import notes_from_midi

    buf = io.BytesIO()
    midi.save(file=buf)
    buf.seek(0)
    viz.render_pianoroll(path, notes_from_midi(import_pretty_midi().PrettyMIDI(buf)), title=title)


class Generation(Task[Params]):
    def validate(self, params: Params) -> None:
        validate(params)

    def plan_ahead(self, params: Params, items: list[Any]) -> None:
        """The generated items this process will run, in order: each batch of
        :data:`BATCH` is sampled when its first item comes up."""
        self._upcoming = [item.path.name for item in items if item.kind == "generated"]

    def _generated(self, model: Any, name: str, params: Params,
                   progress: Callable[[float], None]) -> tuple[list[int], dict]:
        pending = model.__dict__.setdefault("pending", {})  # pieces sampled with an earlier item
        if name in pending:
            progress(1.0)
            return pending.pop(name)
        upcoming = getattr(self, "_upcoming", [])
        after = upcoming[upcoming.index(name) + 1:] if name in upcoming else []
        group = [name] + [n for n in after if n not in pending][:BATCH - 1]
        start = start_tokens(model.vocab, params.tempo)
        results = continue_many(model, [start] * len(group), params, [item_seed(params.seed, n) for n in group],
                                progress, rows=BATCH)
        pending.update(zip(group[1:], results[1:]))
        return results[0]

    def slots(self, params: Params) -> list[OutputSlot]:
        slots = [OutputSlot("midi", {"output": "midi", "ext": "mid"})]
        if params.render:
            slots.append(OutputSlot("audio", {"output": "audio", "ext": "wav"}))  # 16-bit WAV, as any audio slot
        if params.plot:
            slots.append(OutputSlot("plot", {"output": "plot", "ext": "png"}))
        return slots

    def model_name(self, params: Params) -> str:
        return Path(params.model).name if Path(params.model).is_dir() else params.model

    def load(self, params: Params, ctx: Any) -> Any:
        from mirctl import models

        lm = models.load(models.get_card(params.model, task="generate-midi"), ctx)
        lm.vocab = Vocab(lm.tokenizer)
        return lm

    def read(self, item: Any) -> Any:
        if item.kind == "generated":
            return super().read(item)
        from mirctl.types import MidiSource

        return MidiSource(item.path, None)  # a prompt: tokenized in process(), by the model's tokenizer

    def process(self, model: Any, source: Any, params: Params, progress: Callable[[float], None]) -> TaskResult:
        generated = isinstance(source, GeneratedSource)
        name = Path(source.path).name  # a generated item's path is its name
        seed = item_seed(params.seed, name)
        if generated:
            origin: dict[str, Any] = {}
            ids, facts = self._generated(model, name, params, progress)
        else:
            prompt = prompt_ids(model, Path(source.path), params.prompt_bars)
            origin = {"prompt": str(source.path), "prompt_bars": prompt_bars_done(prompt, model.vocab)}
            ids, facts = continue_ids(model, prompt, params, seed, progress)
        if not facts["complete"]:
            import warnings

            from mirctl.errors import MirctlWarning

            warnings.warn(f"{name}: stopped at --max-tokens after {facts['bars']} of {params.bars} bars "
                          f"({facts['tokens']} tokens); raise --max-tokens for whole pieces", MirctlWarning,
                          stacklevel=2)
        midi, notes = decoded(model, ids)
        outputs: dict[str, Any] = {"midi": MidiOut(midi)}
        data = {**origin, **facts, "seed": seed, "notes": notes}
        if params.render:
            from mirctl.tasks.render import render_midi

            wav = render_midi(midi, params.sample_rate)
            outputs["audio"] = AudioOut(wav, params.sample_rate)
            data["duration_s"] = round(wav.shape[1] / params.sample_rate, 3)
        if params.plot:
            outputs["plot"] = ImageOut(partial(_pianoroll, midi=midi, title=f"{name}: {data['bars']} bars, "
                                               f"{data['notes']} notes" + (f" after a {origin['prompt_bars']}-bar "
                                                                           "prompt" if origin else "")))
        return TaskResult(outputs=outputs, data=data)


TASK = Generation(name="generate-midi", ref=f"{__name__}:TASK", shape="generated", input_kind="midi",
                  extensions=MIDI_EXTENSIONS, default_template="{track}.{ext}")
