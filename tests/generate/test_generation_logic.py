"""generate-midi's sampling rules with a spy network: bars counted and cut, EOS/BOS/PAD
masked while bars are owed, an empty trailing bar dropped, prompts cut at --prompt-bars,
the tempo token, per-item seeds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("miditok")

from mirctl.backends import remi  # noqa: E402
from mirctl.backends.midi_lm import LMConfig  # noqa: E402
from mirctl.tasks import midi_generation as gen  # noqa: E402


class GrammarNet(torch.nn.Module):
    """Always wants EOS most; next after it, the next token of a fixed bar
    (Bar Position_0 Pitch_60 Velocity Duration Position_8 Pitch_64 Velocity Duration),
    counted from the last Bar it was fed (none yet, or past the end: a Bar)."""

    def __init__(self, tok) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.cfg = LMConfig(vocab=tok.vocab_size, context=1024)
        v = tok.vocab
        self.eos, self.bar = v["EOS_None"], v["Bar_None"]
        vel, dur = v["Velocity_79"], v["Duration_1.0.4"]
        self.chain = [self.bar, v["Position_0"], v["Pitch_60"], vel, dur, v["Position_8"], v["Pitch_64"], vel, dur]

    def next_logits(self, history: list[int]) -> torch.Tensor:
        bars = [i for i, t in enumerate(history) if t == self.bar]
        offset = len(history) - bars[-1] if bars else len(self.chain)
        nxt = self.chain[offset] if offset < len(self.chain) else self.bar
        logits = torch.full((self.cfg.vocab,), -10.0)
        logits[nxt] = 10.0
        logits[self.eos] = 20.0
        return logits

    # the sampler's row protocol (mirctl.backends.midi_lm.MidiLM): each row's history
    def new_rows(self, rows):
        return SimpleNamespace(history=[[] for _ in range(rows)], lengths=[0] * rows)

    def start_row(self, cache, row, window):
        cache.history[row], cache.lengths[row] = list(window), len(window)
        return self.next_logits(cache.history[row])

    def step(self, cache, tokens, live):
        out = torch.zeros(len(tokens), self.cfg.vocab)
        for r in live:
            cache.history[r].append(tokens[r])
            cache.lengths[r] += 1
            out[r] = self.next_logits(cache.history[r])
        return out


@pytest.fixture(scope="module")
def lm():
    tok = remi.make_tokenizer()
    return SimpleNamespace(net=GrammarNet(tok), tokenizer=tok, vocab=gen.Vocab(tok))


def test_bars_are_counted_cut_and_eos_is_masked(lm):
    seen = []
    ids, facts = gen.continue_ids(lm, [lm.vocab.bos], gen.Params(bars=3), seed=0, progress=seen.append)
    names = [lm.tokenizer[i] for i in ids]
    assert names.count("Bar_None") == 3 and "EOS_None" not in names
    assert names[-1].startswith("Duration")  # cut before the Bar that would open a fourth bar
    assert facts == {"tokens": 28, "bars": 3, "complete": True}  # 3 bars of 9 tokens + the Bar that ended it
    assert seen[-1] == 1.0 and seen == sorted(seen)
    score = gen.to_midi(lm, ids)
    notes = sorted((m.note, m.time) for m in score.tracks[1] if m.type == "note_on")
    assert [n for n, _ in notes].count(60) == 3 and [n for n, _ in notes].count(64) == 3
    # from the start tokens (their Bar opens bar 1): still exactly 3 bars
    ids, facts = gen.continue_ids(lm, gen.start_tokens(lm.vocab, None), gen.Params(bars=3), 0, lambda f: None)
    assert gen.bars_in(ids, lm.vocab) == 3 and facts["bars"] == 3 and facts["complete"]


def test_max_tokens_stops_an_item_short_and_says_so(lm):
    ids, facts = gen.continue_ids(lm, [lm.vocab.bos], gen.Params(bars=5, max_tokens=12), 0, lambda f: None)
    assert facts["complete"] is False and facts["tokens"] == 12
    assert facts["bars"] == 2


def test_continuation_keeps_the_prompt_and_adds_the_bars_asked_for(lm, tmp_path):
    from test_remi import write_song

    song = tmp_path / "prompt.mid"
    write_song(song, offset=0)  # two bars of notes
    prompt = gen.prompt_ids(lm, song, None)
    # BOS, the two bars, and the Bar opening the first new bar (nothing is added to bar 2)
    assert prompt[0] == lm.vocab.bos and prompt[-1] == lm.vocab.bar and gen.bars_in(prompt, lm.vocab) == 3
    assert gen.prompt_bars_done(prompt, lm.vocab) == 2
    one_bar = gen.prompt_ids(lm, song, 1)
    assert gen.bars_in(one_bar, lm.vocab) == 2 and one_bar == prompt[:len(one_bar)]
    ids, facts = gen.continue_ids(lm, prompt, gen.Params(bars=2), 0, lambda f: None)
    assert ids[:len(prompt)] == prompt and gen.bars_in(ids, lm.vocab) == 4 and facts["bars"] == 2
    empty = tmp_path / "empty.mid"
    import mido

    mido.MidiFile().save(str(empty))
    from mirctl.errors import InputError

    with pytest.raises(InputError, match="empty.mid holds no notes to continue") as err:
        gen.prompt_ids(lm, empty, None)
    assert err.value.hint == "give a MIDI file with notes as the prompt"


def test_helpers(lm):
    v = lm.vocab
    pitch = next(iter(v.pitch))
    assert gen.cut_bars([v.bar, 5, v.bar, 6, v.bar, 7], v.bar, 2) == [v.bar, 5, v.bar, 6]
    assert gen.cut_bars([v.bar, 5], v.bar, 3) == [v.bar, 5]
    # trailing bars without an onset go; a bar with one stays; the first bar always stays
    assert gen.drop_empty_tail([v.bos, v.bar, pitch, v.bar, v.position0, v.bar], v) == [v.bos, v.bar, pitch]
    assert gen.drop_empty_tail([v.bos, v.bar, v.position0], v) == [v.bos, v.bar, v.position0]
    assert gen.drop_empty_tail([v.bos, pitch], v) == [v.bos, pitch]  # no bar at all: nothing to drop
    assert gen.start_tokens(v, None) == [v.bos, v.bar, v.position0]
    assert gen.prompt_bars_done(gen.start_tokens(v, None), v) == 0 == gen.prompt_bars_done([v.bos], v)
    assert lm.tokenizer[gen.start_tokens(v, 121)[-1]] == "Tempo_122.58"
    assert lm.tokenizer[v.tempo_token(300)] == "Tempo_200.0"
    seeds = {gen.item_seed(0, f"{i:03d}") for i in range(100)} | {gen.item_seed(1, f"{i:03d}") for i in range(100)}
    assert len(seeds) == 200 and max(seeds) < 2**32  # torch's CPU generator keeps 32 bits of a seed
    assert gen.item_seed(0, "007") == __import__("zlib").crc32(b"007")
    assert len({gen.item_seed(s, "007") for s in (0, 1, 2**31, 2**32 - 1, 12345)}) == 5
    # the seed a record reports: pinned, so a piece can be made again by a later version
    assert gen.item_seed(1, "007") == (__import__("zlib").crc32(b"007") + 0x9E3779B1) % 2**32 == 1527327023
    assert gen.item_seed(0, "007") == gen.item_seed(0, "007") != gen.item_seed(0, "007.mid")


@pytest.mark.parametrize("bad, message", [
    (dict(bars=0), "--bars must be at least 1"), (dict(temperature=0), "--temperature must be above 0"),
    (dict(top_p=1.5), "--top-p must lie in (0, 1]"), (dict(top_p=0.0), "--top-p must lie in (0, 1]"),
    (dict(top_k=0), "--top-k must be at least 1"), (dict(tempo=19.9), "--tempo is in beats per minute, 20-400"),
    (dict(tempo=400.1), "--tempo is in beats per minute, 20-400"),
    (dict(prompt_bars=0), "--prompt-bars must be at least 1"), (dict(max_tokens=0), "--max-tokens must be at least 1")])
def test_bad_options_are_usage_errors(bad, message):
    from mirctl.errors import UsageError

    with pytest.raises(UsageError) as err:
        gen.validate(gen.Params(**bad))
    assert err.value.message == message
    hint = "lower values (0.8) play safer, higher (1.2) wilder" if "temperature" in bad else None
    assert err.value.hint == hint


def test_the_edges_of_each_option_are_allowed():
    for good in (dict(bars=1), dict(prompt_bars=1), dict(temperature=0.01), dict(top_k=1), dict(top_p=1.0),
                 dict(tempo=20), dict(tempo=400), dict(max_tokens=1), dict(top_k=None, top_p=None)):
        gen.validate(gen.Params(**good))
