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

Generated items are sampled together, :data:`BATCH` rows at a time, each finished
piece's row taking the next piece (:class:`Pieces`); a prompt file is continued alone.

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


#: rows sampled together (:func:`mirctl.backends.midi_lm.stream`): a finished piece's
#: row takes the next waiting piece. Always this many rows (padding when fewer pieces
#: are left), so a piece's tokens never depend on which pieces shared the rows. Twenty:
#: the homework's ``-n 20`` all start at once (with 16, four start late and the run
#: ends later).
BATCH = 20


def _request(lm: Any, key: str, prompt: list[int], params: Params, seed: int,
             progress: Callable[[str, float], None]) -> Any:
    """The sampler's request for one piece: ``params.bars`` bars after ``prompt``, EOS,
    BOS and PAD masked; ``progress(key, fraction)`` at each new Bar (the closing one: 1.0)."""
    import torch

    from mirctl.backends.midi_lm import Request

    vocab = lm.vocab
    done = prompt_bars_done(prompt, vocab)
    owed = done + params.bars  # bars the finished piece holds
    opened = [bars_in(prompt, vocab)]
    banned = (vocab.bos, vocab.eos, vocab.pad)

    def wants_more(seq: list[int]) -> bool:
        if len(seq) > len(prompt) and seq[-1] == vocab.bar:
            opened[0] += 1
            progress(key, (opened[0] - 1 - done) / params.bars)
        return opened[0] <= owed

    limit = params.max_tokens if params.max_tokens is not None else 200 * params.bars
    return Request(key, list(prompt), torch.Generator().manual_seed(seed), wants_more, lambda _seq: banned, limit)


def _result(prompt: list[int], out: list[int], params: Params, vocab: Vocab) -> tuple[list[int], dict[str, Any]]:
    done = prompt_bars_done(prompt, vocab)
    ids = drop_empty_tail(out, vocab)  # a piece stops at the Bar that opens one bar too many: dropped here
    return ids, {"tokens": len(out) - len(prompt), "bars": bars_in(ids, vocab) - done,
                 "complete": bars_in(out, vocab) > done + params.bars}


def continue_ids(lm: Any, prompt: list[int], params: Params, seed: int,
                 progress: Callable[[float], None]) -> tuple[list[int], dict[str, Any]]:
    """Sample ``params.bars`` bars after ``prompt`` (alone, in one row); returns all ids
    and sampling facts."""
    from mirctl.backends.midi_lm import stream

    request = _request(lm, "", prompt, params, seed, lambda _key, fraction: progress(fraction))
    for _request_done, out in stream(lm.net, [request], 1, params.temperature, params.top_k, params.top_p):
        progress(1.0)
        return _result(prompt, out, params, lm.vocab)
    raise AssertionError("the sampler returned nothing")


class Pieces:
    """Generated pieces (``-n``), sampled :data:`BATCH` rows at a time from the start
    tokens, handed out by name as they finish; ``progress`` follows :meth:`take`'s piece."""

    def __init__(self, lm: Any, names: list[str], params: Params) -> None:
        from mirctl.backends.midi_lm import stream

        self.params, self.vocab = params, lm.vocab
        self.start = start_tokens(lm.vocab, params.tempo)
        self.waiting = set(names)
        self.ready: dict[str, tuple[list[int], dict[str, Any]]] = {}
        self._listener: tuple[str, Callable[[float], None]] | None = None
        requests = (_request(lm, n, self.start, params, item_seed(params.seed, n), self._progress) for n in names)
        self._stream = stream(lm.net, requests, BATCH, params.temperature, params.top_k, params.top_p)

    def _progress(self, key: str, fraction: float) -> None:
        if self._listener is not None and self._listener[0] == key:
            self._listener[1](fraction)

    def take(self, name: str, progress: Callable[[float], None]) -> tuple[list[int], dict[str, Any]]:
        """The piece ``name`` (one of the names given), sampling until it is done."""
        self._listener = (name, progress)
        while name not in self.ready:
            request, out = next(self._stream)
            self.ready[request.key] = _result(self.start, out, self.params, self.vocab)
        self.waiting.discard(name)
        progress(1.0)
        return self.ready.pop(name)


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
        """The generated items this process will run, in order: when the first comes
        up, all of them are sampled, :data:`BATCH` rows at a time (:class:`Pieces`)."""
        self._upcoming = [item.path.name for item in items if item.kind == "generated"]

    def _generated(self, model: Any, name: str, params: Params,
                   progress: Callable[[float], None]) -> tuple[list[int], dict]:
        pieces = model.__dict__.get("pieces")  # sampling that holds this piece, begun for an earlier item
        if pieces is None or pieces.params != params or name not in pieces.waiting:
            upcoming = getattr(self, "_upcoming", [])
            after = upcoming[upcoming.index(name) + 1:] if name in upcoming else []
            pieces = model.pieces = Pieces(model, [name] + after, params)
        return pieces.take(name, progress)

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
