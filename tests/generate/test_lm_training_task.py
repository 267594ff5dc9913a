"""`train generate-midi`'s Trainable methods one by one on a tiny corpus: the option
checks and their edges, what prepare() reads, skips and records, the training windows
collate() cuts (and transposes), loss/evaluate against the network's own numbers, the
schedule, the card, bf16 autocast; fast enough for mutation testing."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("miditok")

from test_train_generate import write_corpus  # noqa: E402

from mirctl.backends import remi  # noqa: E402
from mirctl.backends.midi_lm import MidiLM, sequence_loss  # noqa: E402
from mirctl.errors import UsageError  # noqa: E402
from mirctl.tasks import midi_lm_training as lt  # noqa: E402

SMALL = lt.Params(layers=1, dim=16, heads=2, context=32, valid_fraction=0.25, warmup=3, cooldown=0.5)


@pytest.mark.parametrize("bad, message", [
    (dict(dim=30, heads=4), "--dim 30 must split into --heads 4 of an even size"),  # 30 / 4: no whole number
    (dict(dim=36, heads=4), "--dim 36 must split into --heads 4 of an even size"),  # heads of 9: odd
    (dict(context=15), "--context must be at least 16 tokens"),
    (dict(valid_fraction=0.0), "--valid-fraction must lie between 0 and 1"),
    (dict(valid_fraction=1.0), "--valid-fraction must lie between 0 and 1"),
    (dict(cooldown=1.0), "--cooldown is a share of --max-steps, from 0 up to (not including) 1"),
    (dict(cooldown=-0.01), "--cooldown is a share of --max-steps, from 0 up to (not including) 1"),
    (dict(bos_windows=-0.1), "--bos-windows is a probability, from 0 to 1"),
    (dict(bos_windows=1.01), "--bos-windows is a probability, from 0 to 1")])
def test_option_checks(bad, message):
    with pytest.raises(UsageError) as err:
        lt.TRAINABLE.validate(lt.Params(**bad))
    assert err.value.message == message


def test_option_edges_are_allowed():
    for good in (dict(dim=8, heads=4), dict(context=16), dict(valid_fraction=0.01), dict(valid_fraction=0.99),
                 dict(cooldown=0.0), dict(cooldown=0.99), dict(bos_windows=0.0), dict(bos_windows=1.0)):
        lt.TRAINABLE.validate(lt.Params(**good))


@pytest.fixture()
def corpus(tmp_path):
    data = write_corpus(tmp_path / "data", songs=6, bars=4)
    (data / "0_broken.mid").write_bytes(b"not a midi file")
    import mido

    mido.MidiFile().save(str(data / "0_empty.mid"))  # encodes to a bar, a position and a tempo: no notes
    return data


def test_prepare_reads_splits_and_records_the_corpus(corpus):
    trainable = lt.MidiLMTraining()
    prepared = trainable.prepare(SMALL, corpus, seed=0)
    tok = remi.make_tokenizer()
    files = sorted(corpus.glob("*.mid"))  # 0_broken, 0_empty, song00 … song05
    # the last ceil(8 × 0.25) = 2 files for validation; the broken and the empty one are skipped
    songs = [remi.encode(tok, remi.prepared_from_file(p)) for p in files[2:]]
    bos, eos = tok["BOS_None"], tok["EOS_None"]
    expected = lt.build_stream(songs[:4], bos, eos, 32)
    assert prepared.train.tokens.tolist() == expected.tokens.tolist() and prepared.train.starts == expected.starts
    valid = lt.build_stream(songs[4:], bos, eos, 32)
    assert prepared.valid.tokens.tolist() == valid.tokens.tolist()
    assert (prepared.train.songs, prepared.valid.songs) == (4, 2)
    info = prepared.info
    skipped = info["songs"]["skipped"]
    assert len(skipped) == 2 and skipped[0].startswith(f"{corpus / '0_broken.mid'}: cannot read")
    assert skipped[1] == f"{corpus / '0_empty.mid'}: no notes"
    assert info["songs"]["train"] == 4 and info["songs"]["valid"] == 2
    assert info["valid_files"] == ["song04.mid", "song05.mid"]
    assert info["train_tokens"] == len(expected.tokens) and info["valid_tokens"] == len(valid.tokens)
    assert (info["vocab"], info["pad"]) == (tok.vocab_size, tok.pad_token_id)
    assert (info["first_pitch"], info["n_pitch"]) == (tok["Pitch_21"], 89)  # 21 … 109
    assert tok["Pitch_109"] == tok["Pitch_21"] + 88
    assert info["tokenizer"] == remi.tokenizer_card()


def test_prepare_refuses_corpora_too_small(tmp_path, corpus):
    for f in ("0_broken.mid", "0_empty.mid"):  # now last: the validation songs, both skipped
        (corpus / f).rename(corpus / f"z{f}")
    with pytest.raises(UsageError, match="validation songs in .* give no tokens") as err:
        lt.MidiLMTraining().prepare(lt.Params(context=32, valid_fraction=0.25), corpus, seed=0)
    assert err.value.hint == "raise --valid-fraction"
    small = write_corpus(tmp_path / "small", songs=2, bars=1)
    with pytest.raises(UsageError, match="fewer than 1025 tokens") as err:
        lt.MidiLMTraining().prepare(lt.Params(), small, seed=0)
    assert err.value.hint == "add MIDI files or lower --context"


def test_prepare_lists_three_validation_files_then_an_ellipsis(tmp_path):
    data = write_corpus(tmp_path / "d", songs=10, bars=2)
    info = lt.MidiLMTraining().prepare(lt.Params(context=16, valid_fraction=0.4), data, seed=0).info
    assert info["valid_files"] == ["song06.mid", "song07.mid", "song08.mid", "…"]
    assert info["songs"] == {"train": 6, "valid": 4, "skipped": []}
    tok = remi.make_tokenizer()
    valid = [remi.encode(tok, remi.prepared_from_file(data / f"song{i:02d}.mid")) for i in range(6, 10)]
    assert info["valid_tokens"] == sum(len(v) + 2 for v in valid)
    (data / "song09.mid").unlink()  # three validation files: no ellipsis
    info = lt.MidiLMTraining().prepare(lt.Params(context=16, valid_fraction=0.3), data, seed=0).info
    assert info["valid_files"] == ["song06.mid", "song07.mid", "song08.mid"]


def test_prepare_names_validation_files_below_a_relative_data_folder(tmp_path, monkeypatch):
    write_corpus(tmp_path / "runs" / "d", songs=4, bars=2)
    monkeypatch.chdir(tmp_path / "runs")
    info = lt.MidiLMTraining().prepare(lt.Params(context=16, valid_fraction=0.5), Path("d"), seed=0).info
    assert info["valid_files"] == ["song02.mid", "song03.mid"]


def test_collate_cuts_windows_at_a_random_offset_and_transposes_them(tmp_path):
    data = write_corpus(tmp_path / "d", songs=5, bars=4)
    trainable = lt.MidiLMTraining()
    params = lt.Params(context=16, valid_fraction=0.2)
    stream = trainable.prepare(params, data, seed=0).train
    last = len(stream.tokens) - 17

    def windows(examples, draws):
        """Each example's window, drawing its offset from ``draws`` as collate() does."""
        for start in examples:
            s = min(last, start + int(draws.integers(0, 16)))
            yield stream.tokens[s:s + 17]

    examples = [stream[0], stream[1], stream[len(stream) - 1]]
    batch = trainable.collate(examples, np.random.default_rng(5), params)
    assert batch.dtype == torch.int64 and tuple(batch.shape) == (3, 17)
    for row, window in zip(batch, windows(examples, np.random.default_rng(5))):
        assert row.tolist() == window.tolist()
    # the last windows are pushed back to fit: never shorter, never past the end
    ends = [stream[len(stream) - 1]] * 40
    batch_end = trainable.collate(ends, np.random.default_rng(1), params)
    for row, window in zip(batch_end, windows(ends, np.random.default_rng(1))):
        assert row.tolist() == window.tolist()
    assert batch_end[:, -1].tolist().count(int(stream.tokens[-1])) >= 1
    shifted = trainable.collate(examples, np.random.default_rng(5), lt.Params(context=16, transpose=5))
    pitches = remi.pitch_ids(remi.make_tokenizer())
    first, n = pitches.start, len(pitches)
    draws = np.random.default_rng(5)  # per window: its offset, then its shift
    moved = set()
    for row, window in zip(shifted, windows(examples, draws)):
        assert row.tolist() == lt.transpose_window(window, first, n, draws, 5).tolist()
        is_pitch = (window >= first) & (window < first + n)
        assert row.numpy()[~is_pitch].tolist() == window[~is_pitch].tolist()
        moved |= set((row.numpy()[is_pitch] - window[is_pitch]).tolist())
    assert moved - {0} and all(abs(m) <= 5 for m in moved)


def test_bos_windows_move_back_to_the_start_of_their_song(tmp_path):
    """--bos-windows P: after its random offset, a window moves back with probability P to
    the BOS of the song it starts in (so openings are learnt with nothing before them)."""
    data = write_corpus(tmp_path / "d", songs=6, bars=4)
    trainable = lt.MidiLMTraining()
    stream = trainable.prepare(lt.Params(context=16, valid_fraction=0.2), data, seed=0).train
    bos = int(stream.tokens[0])
    assert stream.bos_at.tolist() == np.flatnonzero(stream.tokens == bos).tolist() and stream.bos_at[0] == 0
    last = len(stream.tokens) - 17
    examples = [stream[i] for i in range(len(stream))] * 3
    every = trainable.collate(examples, np.random.default_rng(3), lt.Params(context=16, bos_windows=1.0))
    draws = np.random.default_rng(3)
    for row, start in zip(every, examples):
        s = min(last, start + int(draws.integers(0, 16)))
        assert draws.random() < 1.0
        song_start = max(b for b in stream.bos_at.tolist() if b <= s)  # the BOS at or before the cut
        assert row.tolist() == stream.tokens[song_start:song_start + 17].tolist()
    reachable = [b for b in stream.bos_at.tolist() if b <= last]  # songs whose start leaves a whole window
    assert len(reachable) == stream.songs == 4
    assert set(every[:, 0].tolist()) == {bos} and len({tuple(r) for r in every.tolist()}) == 4  # every song

    class NoOffset:  # offset 0, and always heads
        def integers(self, low, high):
            return low

        def random(self):
            return 0.0

    at_bos = trainable.collate([int(stream.bos_at[1])], NoOffset(), lt.Params(context=16, bos_windows=0.1))
    assert at_bos[0].tolist() == stream.tokens[stream.bos_at[1]:][:17].tolist()  # a cut at a BOS stays there
    half = trainable.collate(examples, np.random.default_rng(4), lt.Params(context=16, bos_windows=0.5))
    draws, moved = np.random.default_rng(4), 0
    for row, start in zip(half, examples):
        s = min(last, start + int(draws.integers(0, 16)))
        if draws.random() < 0.5:
            s, moved = max(b for b in stream.bos_at.tolist() if b <= s), moved + 1
        assert row.tolist() == stream.tokens[s:s + 17].tolist()
    assert 0 < moved < len(examples)
    plain = trainable.collate(examples, np.random.default_rng(4), lt.Params(context=16))
    draws = np.random.default_rng(4)  # without the option no coin is drawn: the offsets alone
    assert plain.tolist() == [stream.tokens[min(last, s + int(draws.integers(0, 16))):][:17].tolist()
                              for s in examples]


def test_build_loss_and_evaluate_are_the_networks_own_numbers(tmp_path):
    trainable = lt.MidiLMTraining()
    params = lt.Params(layers=1, dim=16, heads=2, context=32, valid_fraction=0.125)
    data = write_corpus(tmp_path / "plain", songs=4, bars=4)
    prepared = trainable.prepare(params, data, seed=0)
    torch.manual_seed(0)
    model = trainable.build(params, prepared.info).eval()
    assert isinstance(model, MidiLM)
    cfg = model.cfg
    assert (cfg.vocab, cfg.layers, cfg.dim, cfg.heads, cfg.context, cfg.dropout) == \
        (prepared.info["vocab"], 1, 16, 2, 32, 0.0)
    assert trainable.build(lt.Params(layers=1, dim=16, heads=2, context=32, dropout=0.25), prepared.info).cfg.dropout == 0.25
    batch = trainable.collate([0, 32], np.random.default_rng(0), params)
    loss, extra = trainable.loss(model, batch, params)
    assert extra == {} and loss.item() == pytest.approx(sequence_loss(model, batch, prepared.info["pad"]).item())
    scores = trainable.evaluate(model, prepared, params)
    nll, count = lt.window_nll(model, prepared.valid.tokens, 32, prepared.info["pad"])
    assert scores == {"loss": pytest.approx(nll / count), "ppl": pytest.approx(math.exp(nll / count)),
                      "tokens": count}
    assert count == len(prepared.valid.tokens) - 1
    assert 3.0 < scores["loss"] < 8.0  # an untrained network: about ln(vocab)
    half = lt.Params(**{**params.__dict__, "bf16": True})  # bf16 autocast reaches both: other, close numbers
    bf16_loss = trainable.loss(model, batch, half)[0].item()
    assert bf16_loss != loss.item() and bf16_loss == pytest.approx(loss.item(), rel=0.05)
    bf16_scores = trainable.evaluate(model, prepared, half)
    assert bf16_scores["loss"] != scores["loss"] and bf16_scores["loss"] == pytest.approx(scores["loss"], rel=0.05)


def test_schedule_card_and_autocast():
    params = lt.Params(warmup=4, cooldown=0.25)
    assert [lt.TRAINABLE.lr_scale(s, 20, params) for s in (0, 3, 4, 14, 15, 19)] == [0.25, 1.0, 1.0, 1.0, 1.0, 0.2]
    assert lt.lr_scale(15, 20, 0, 0.25) == 1.0 and lt.lr_scale(16, 20, 0, 0.25) == 0.8  # last round(5) steps
    assert lt.lr_scale(0, 10, 0, 0.25) == 1.0 and lt.lr_scale(8, 10, 0, 0.25) == 1.0  # round(2.5) = 2 steps
    assert lt.lr_scale(9, 10, 0, 0.25) == 0.5 and lt.lr_scale(12, 10, 0, 0.25) == 0.0
    info = {"tokenizer": {"t": 1}, "vocab": 9, "songs": {"train": 2}, "train_tokens": 5, "valid_tokens": 3,
            "valid_files": ["a.mid"], "pad": 0}
    assert lt.TRAINABLE.card(params, info) == {
        "tokenizer": {"t": 1}, "vocab": 9, "license": "the license of your training data",
        "data_facts": {"songs": {"train": 2}, "train_tokens": 5, "valid_tokens": 3, "valid_files": ["a.mid"]}}
    assert isinstance(lt._autocast("cpu", False), contextlib.nullcontext)
    assert isinstance(lt._autocast("mps", True), contextlib.nullcontext)
    with lt._autocast("cpu", True):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with pytest.warns(UserWarning, match="CUDA is not available"):  # built here all the same: its dtype
        cuda = lt._autocast("cuda", True)
    assert isinstance(cuda, torch.autocast) and cuda.fast_dtype == torch.bfloat16  # not CUDA's float16
    assert lt.TRAINABLE.monitor == "loss" and lt.TRAINABLE.mode == "min"


def test_window_nll_scores_a_last_window_of_two_tokens():
    from test_midi_lm import small_model

    model = small_model(context=8)
    tokens = np.arange(1, 19) % 40  # 18 tokens: windows at 0, 8 and 16, the last holding 2
    nll, count = lt.window_nll(model, tokens, 8, pad=0, batch=2)
    assert count == 17
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.as_tensor(tokens[16:17])[None]), -1)[0, -1]
    head, head_count = lt.window_nll(model, tokens[:17], 8, pad=0)
    assert head_count == 16 and nll == pytest.approx(head - float(logp[tokens[17]]), rel=1e-5)
    # in one batch the 2-token window is padded to 9: the padding is not scored
    assert lt.window_nll(model, tokens, 8, pad=0) == (pytest.approx(nll, rel=1e-5), 17)
    assert lt.window_nll(model, tokens[:2], 8, pad=0)[1] == 1
