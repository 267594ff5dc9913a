"""generate-midi's Task methods with a spy network whose pitches depend on the seed:
batches of generated items (each piece the same whoever shares its batch), the pieces
kept for later items, per-item seeds, prompts, the record, the output slots and the
--max-tokens warning; fast enough for mutation testing."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("miditok")

from test_generation_logic import GrammarNet  # noqa: E402

from mirctl.backends import remi  # noqa: E402
from mirctl.errors import MirctlWarning  # noqa: E402
from mirctl.pipeline.spec import InputItem  # noqa: E402
from mirctl.tasks import midi_generation as gen  # noqa: E402
from mirctl.types import AudioOut, GeneratedSource, ImageOut, MidiOut, MidiSource  # noqa: E402


class CoinNet(GrammarNet):
    """GrammarNet for a batch of rows, whose first note of a bar is Pitch_60 or Pitch_67
    at nearly even odds (52:48): the pieces differ with each row's generator."""

    def __init__(self, tok) -> None:
        super().__init__(tok)
        self.other = tok.vocab["Pitch_67"]

    def next_logits(self, history):
        logits = super().next_logits(history)
        bars = [i for i, t in enumerate(history) if t == self.bar]
        if bars and len(history) - bars[-1] == 2:  # the first pitch of a bar comes next: a near-even coin
            logits[self.other] = 9.9
        return logits


@pytest.fixture()
def lm():
    tok = remi.make_tokenizer()
    return SimpleNamespace(net=CoinNet(tok), tokenizer=tok, vocab=gen.Vocab(tok))


def generated(name: str, index: int = 0) -> GeneratedSource:
    return GeneratedSource(Path(name), name, index)


def pitches(ids, lm) -> list[int]:
    return [int(lm.tokenizer[i].split("_")[1]) for i in ids if lm.tokenizer[i].startswith("Pitch_")]


def alone(lm, name: str, params: gen.Params) -> list[int]:
    """The piece ``name`` sampled by itself (the other rows padding)."""
    return gen.Pieces(lm, [name], params).take(name, lambda f: None)[0]


def test_planned_pieces_are_sampled_together_each_as_it_comes_alone(lm, monkeypatch):
    params = gen.Params(bars=10, seed=3)  # 2^10 coin sequences: six seeds rarely share one
    names = [f"{i:03d}" for i in range(6)]
    task = gen.Generation(name="generate-midi", ref="x", shape="generated", input_kind="midi")
    task.plan_ahead(params, [InputItem(Path(n), kind="generated", index=i) for i, n in enumerate(names)])
    assert task._upcoming == names
    made = []
    real = gen.Pieces

    def counting(lm_, group, params_):
        made.append(list(group))
        return real(lm_, group, params_)

    monkeypatch.setattr(gen, "Pieces", counting)
    monkeypatch.setattr(gen, "BATCH", 4)  # six pieces in four rows: two rows take a second piece
    progress: list[float] = []
    first = task._generated(lm, "000", params, progress.append)  # samples until 000 is done
    assert made == [names] and lm.pieces.waiting == set(names[1:]) and not lm.pieces.ready
    later: list[float] = []
    kept = {n: task._generated(lm, n, params, later.append)[0] for n in names[1:]}
    assert made == [names] and not lm.pieces.waiting and not lm.pieces.ready
    # 001…003 were done with 000; 004 is sampled now (its bars reported, then done), 005 beside it
    assert later == [1.0] * 3 + [k / 10 for k in range(1, 11)] + [1.0, 1.0]
    unplanned, _ = task._generated(lm, "zzz", params, lambda f: None)  # not planned: sampled alone
    assert made[-1] == ["zzz"] and len(made) == 2
    again, _ = task._generated(lm, "003", params, lambda f: None)  # asked again: sampled again (with the rest)
    assert made[-1] == ["003", "004", "005"] and again == kept["003"]
    monkeypatch.undo()  # alone() below samples in the real number of rows
    assert progress == [k / 10 for k in range(1, 11)] + [1.0]
    assert first[0] == alone(lm, "000", params) and kept["003"] == alone(lm, "003", params)
    assert kept["005"] == alone(lm, "005", params)
    assert unplanned == alone(lm, "zzz", params)
    assert first[1] == {"tokens": len(first[0]) - 3 + 1, "bars": 10, "complete": True}  # + the Bar that ended it
    pieces = {tuple(pitches(alone(lm, n, params), lm)) for n in names}
    assert len(pieces) == len(names)  # six seeds, six different pieces
    assert pitches(alone(lm, "000", gen.Params(bars=10, seed=4)), lm) != pitches(first[0], lm)


def test_process_records_the_piece_and_writes_its_midi(lm):
    params = gen.Params(bars=2, seed=5, tempo=121)
    result = gen.TASK.process(lm, generated("007", 7), params, lambda f: None)
    assert set(result.outputs) == {"midi"} and isinstance(result.outputs["midi"], MidiOut)
    ids = alone(lm, "007", params)
    midi, notes = gen.decoded(lm, ids)
    assert result.data == {"tokens": len(ids) - 4 + 1, "bars": 2, "complete": True,
                           "seed": gen.item_seed(5, "007"), "notes": notes}
    # the tempo token takes the place of the first bar's first pitch: 1 + 2 notes
    assert notes == 3 and lm.tokenizer[ids[3]] == "Tempo_122.58"
    written = result.outputs["midi"].midi
    assert [m.dict() for t in written.tracks for m in t] == [m.dict() for t in midi.tracks for m in t]


def test_a_prompt_is_continued_and_named_in_the_record(lm, tmp_path):
    from test_remi import write_song

    song = tmp_path / "prompt.mid"
    write_song(song, offset=0)  # two bars
    read = gen.TASK.read(InputItem(song))
    assert isinstance(read, MidiSource) and read.path == song and read.midi is None
    params = gen.Params(bars=3, prompt_bars=1, seed=2)
    result = gen.TASK.process(lm, MidiSource(song, None), params, lambda f: None)
    assert result.data["prompt"] == str(song) and result.data["prompt_bars"] == 1
    assert result.data["seed"] == gen.item_seed(2, "prompt.mid") and result.data["bars"] == 3
    prompt = gen.prompt_ids(lm, song, 1)
    ids, facts = gen.continue_ids(lm, prompt, params, gen.item_seed(2, "prompt.mid"), lambda f: None)
    assert result.data["tokens"] == facts["tokens"] and result.data["notes"] == gen.decoded(lm, ids)[1]


def test_an_item_cut_short_warns_with_its_numbers(lm):
    with pytest.warns(MirctlWarning, match=r"^008: stopped at --max-tokens after 2 of 4 bars \(12 tokens\); raise"):
        result = gen.TASK.process(lm, generated("008"), gen.Params(bars=4, max_tokens=12), lambda f: None)
    # 7 tokens end bar 1, the 8th opens bar 2, the 10th is its first note
    assert result.data["complete"] is False and result.data["bars"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.TASK.process(lm, generated("009"), gen.Params(bars=1), lambda f: None)  # whole: no warning


def test_render_and_plot_outputs(lm, tmp_path):
    pytest.importorskip("matplotlib")
    params = gen.Params(bars=2, render=True, plot=True, sample_rate=22050)
    slots = gen.TASK.slots(params)
    assert [(s.key, s.fields) for s in slots] == [("midi", {"output": "midi", "ext": "mid"}),
                                                   ("audio", {"output": "audio", "ext": "wav"}),
                                                   ("plot", {"output": "plot", "ext": "png"})]
    assert [s.key for s in gen.TASK.slots(gen.Params())] == ["midi"]
    assert [s.key for s in gen.TASK.slots(gen.Params(plot=True))] == ["midi", "plot"]
    result = gen.TASK.process(lm, generated("000"), params, lambda f: None)
    audio = result.outputs["audio"]
    assert isinstance(audio, AudioOut) and audio.sr == 22050 and audio.wav.shape[0] == 2
    assert result.data["duration_s"] == round(audio.wav.shape[1] / 22050, 3)
    assert float(abs(audio.wav).max()) > 0.01  # the notes sound
    picture = result.outputs["plot"]
    assert isinstance(picture, ImageOut)
    png = tmp_path / "roll.png"
    picture.render(str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_model_name_and_generated_items_read(tmp_path):
    assert gen.TASK.model_name(gen.Params()) == "pop909-remi"
    folder = tmp_path / "runs" / "my-lm"
    folder.mkdir(parents=True)
    assert gen.TASK.model_name(gen.Params(model=str(folder))) == "my-lm"
    assert gen.TASK.model_name(gen.Params(model=str(tmp_path / "missing"))) == str(tmp_path / "missing")
    source = gen.TASK.read(InputItem(Path("012"), kind="generated", index=12))
    assert isinstance(source, GeneratedSource) and source.name == "012" and source.index == 12
    from mirctl.errors import UsageError

    with pytest.raises(UsageError, match="^--bars must be at least 1$"):  # the task checks with validate()
        gen.TASK.validate(gen.Params(bars=0))


class NoBarNet(CoinNet):
    """Never opens a bar: only Position_0 after Position_0 (EOS, masked, most wanted)."""

    def next_logits(self, history):
        logits = torch.full((self.cfg.vocab,), -10.0)
        logits[self.chain[1]] = 10.0
        logits[self.eos] = 20.0
        return logits


def test_a_piece_is_complete_once_the_model_closes_its_last_bar(lm):
    # from BOS: 9 tokens make bar 1, the 10th is the Bar that would open bar 2
    _, facts = gen.continue_ids(lm, [lm.vocab.bos], gen.Params(bars=1, max_tokens=9), 0, lambda f: None)
    assert facts == {"tokens": 9, "bars": 1, "complete": False}
    _, facts = gen.continue_ids(lm, [lm.vocab.bos], gen.Params(bars=1, max_tokens=10), 0, lambda f: None)
    assert facts == {"tokens": 10, "bars": 1, "complete": True}


def test_without_max_tokens_an_item_stops_after_200_tokens_a_bar(lm):
    stuck = SimpleNamespace(net=NoBarNet(lm.tokenizer), tokenizer=lm.tokenizer, vocab=lm.vocab)
    for bars in (1, 2):
        _, facts = gen.continue_ids(stuck, gen.start_tokens(lm.vocab, None), gen.Params(bars=bars), 0, lambda f: None)
        assert facts["tokens"] == 200 * bars and facts["complete"] is False


def test_the_piano_roll_shows_the_pieces_notes_under_its_title(lm, monkeypatch):
    from mirctl import viz

    drawn = []
    monkeypatch.setattr(viz, "render_pianoroll", lambda path, notes, title: drawn.append((path, notes, title)))
    result = gen.TASK.process(lm, generated("004"), gen.Params(bars=2, plot=True), lambda f: None)
    result.outputs["plot"].render("roll.png")
    path, notes, title = drawn[0]
    assert path == "roll.png" and title == f"004: 2 bars, {result.data['notes']} notes"
    assert sorted(n.pitch for n in notes) == sorted(pitches(alone(lm, "004", gen.Params(bars=2)), lm))
    assert len(notes) == result.data["notes"] == 4


def test_a_continuations_piano_roll_names_its_prompt(lm, monkeypatch, tmp_path):
    from test_remi import write_song

    from mirctl import viz

    drawn = []
    monkeypatch.setattr(viz, "render_pianoroll", lambda path, notes, title: drawn.append(title))
    song = tmp_path / "prompt.mid"
    write_song(song, offset=0)
    result = gen.TASK.process(lm, MidiSource(song, None), gen.Params(bars=1, prompt_bars=1, plot=True), lambda f: None)
    result.outputs["plot"].render(str(tmp_path / "x.png"))
    assert drawn == [f"prompt.mid: 1 bars, {result.data['notes']} notes after a 1-bar prompt"]


def test_progress_counts_the_bars_of_the_piece_asked_for_only(lm):
    seen = []
    gen.continue_ids(lm, gen.start_tokens(lm.vocab, None), gen.Params(bars=4), 0, seen.append)
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0]  # each new Bar, the closing one, then done
    seen.clear()
    prompt = [lm.vocab.bos] + gen.continue_ids(lm, gen.start_tokens(lm.vocab, None), gen.Params(bars=2), 0,
                                                lambda f: None)[0][1:] + [lm.vocab.bar]
    assert gen.prompt_bars_done(prompt, lm.vocab) == 2
    gen.continue_ids(lm, prompt, gen.Params(bars=2), 0, seen.append)
    assert seen == [0.5, 1.0, 1.0]
    seen.clear()
    pieces = gen.Pieces(lm, ["a", "b"], gen.Params(bars=2))  # sampled side by side: only b's bars are told
    pieces.take("b", seen.append)
    assert seen == [0.5, 1.0, 1.0]


def test_top_k_and_top_p_reach_the_sampler(lm):
    """CoinNet's two pitches are nearly equally likely: top-1, or a nucleus of 0.4, keeps one."""
    for params in (gen.Params(bars=4, top_k=1, top_p=None), gen.Params(bars=4, top_p=0.4)):
        pieces = {tuple(pitches(alone(lm, f"{i:03d}", params), lm)) for i in range(4)}
        assert len(pieces) == 1, params
    loose = {tuple(pitches(alone(lm, f"{i:03d}", gen.Params(bars=4, top_k=2)), lm)) for i in range(4)}
    assert len(loose) > 1
    # and for a prompt's continuation (sampled alone, in one row)
    start = gen.start_tokens(lm.vocab, None)

    def continued(params):
        return {tuple(pitches(gen.continue_ids(lm, start, params, seed, lambda f: None)[0], lm)) for seed in range(6)}

    assert len(continued(gen.Params(bars=4, top_k=1, top_p=None))) == 1
    assert len(continued(gen.Params(bars=4, top_p=0.4))) == 1
    assert len(continued(gen.Params(bars=4, top_k=2, top_p=None))) > 1


def test_pieces_fill_all_rows_and_a_prompt_is_continued_in_one(lm, monkeypatch, tmp_path):
    from test_remi import write_song

    from mirctl.backends import midi_lm

    calls = []
    real = midi_lm.stream

    def spy(net, requests, rows, *args):
        requests = list(requests)
        calls.append((rows, [r.prompt for r in requests], [r.max_tokens for r in requests]))
        return real(net, requests, rows, *args)

    monkeypatch.setattr(midi_lm, "stream", spy)
    params = gen.Params(bars=1, tempo=120, max_tokens=50)
    gen.Pieces(lm, ["a", "b"], params).take("a", lambda f: None)
    start = gen.start_tokens(lm.vocab, 120)
    assert calls == [(gen.BATCH, [start, start], [50, 50])]  # the same number of rows for one piece or many
    gen.Pieces(lm, ["a"], gen.Params(bars=3)).take("a", lambda f: None)
    assert calls[-1][0] == gen.BATCH and calls[-1][2] == [600]  # 200 tokens a bar
    song = tmp_path / "prompt.mid"
    write_song(song, offset=0)
    gen.TASK.process(lm, MidiSource(song, None), params, lambda f: None)
    assert calls[-1] == (1, [gen.prompt_ids(lm, song, None)], [50])  # a prompt file: alone, in one row


def test_load_gives_the_shipped_model_its_vocabulary():
    from mirctl.errors import MirctlError
    from mirctl.models import RunContext

    model = gen.TASK.load(gen.Params(), RunContext(device="cpu", threads=1))
    assert isinstance(model.vocab, gen.Vocab)
    assert model.vocab.bar == model.tokenizer.vocab["Bar_None"] and len(model.vocab.pitch) == 89
    with pytest.raises(MirctlError, match="generate-midi"):
        gen.TASK.load(gen.Params(model="htdemucs"), RunContext(device="cpu", threads=1))
