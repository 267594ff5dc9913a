"""The REMI Transformer (mirctl.backends.midi_lm): the key/value cache gives the logits of a
full pass, sampling honours masks, top-k/top-p and the window, training examples and the
learning-rate schedule are what the docs say."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mirctl.backends import midi_lm  # noqa: E402
from mirctl.backends.midi_lm import LMConfig, MidiLM, Request, filter_logits, sample, stream  # noqa: E402
from mirctl.errors import UsageError  # noqa: E402
from mirctl.tasks import midi_lm_training as lm_training  # noqa: E402


def small_model(context: int = 64, seed: int = 0) -> MidiLM:
    torch.manual_seed(seed)
    return MidiLM(LMConfig(vocab=40, layers=2, dim=32, heads=4, context=context)).eval()


def test_cached_decoding_gives_the_logits_of_a_full_pass():
    model = small_model()
    ids = torch.randint(0, 40, (3, 30), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(ids)
        cache = model.new_cache()
        parts = [model(ids[:, :10], cache, 0)]
        parts += [model(ids[:, i:i + 1], cache, i) for i in range(10, 20)]
        parts.append(model(ids[:, 20:], cache, 20))  # several new tokens after a cached prefix
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)
    # and positions matter: the same tokens at other positions give other logits
    with torch.no_grad():
        shifted = model(ids[:, 10:11], model.new_cache(), 0)
    assert not torch.allclose(shifted[:, 0], full[:, 10], atol=1e-3)


def test_the_cache_grows_past_its_first_buffer():
    model = small_model(context=600)
    ids = torch.randint(0, 40, (2, 280), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = model(ids)
        cache = model.new_cache()
        parts = [model(ids[:, :250], cache, 0)] + [model(ids[:, i:i + 1], cache, i) for i in range(250, 280)]
    assert cache[0].length == 280 and cache[0].k.shape[2] >= 280
    assert torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


def test_filter_logits_top_k_top_p_and_temperature():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(filter_logits(logits, 1.0, 2, None))
    assert kept.tolist() == [[True, True, False, False]]
    kept = torch.isfinite(filter_logits(logits, 1.0, None, 0.8))  # 0.5 + 0.3 reach 0.8: the third is not needed
    assert kept.tolist() == [[True, True, False, False]]
    kept = torch.isfinite(filter_logits(logits, 1.0, None, 0.81))
    assert kept.tolist() == [[True, True, True, False]]
    kept = torch.isfinite(filter_logits(logits, 1.0, None, 0.3))  # the most likely token always stays
    assert kept.tolist() == [[True, False, False, False]]
    assert torch.allclose(filter_logits(logits, 2.0, None, None), logits / 2)


def test_sampling_masks_stops_and_slides_its_window():
    model = small_model(context=16)
    seen: list[int] = []

    def steps_left(_row, seq):
        return len(seq) < 50

    out = sample(model, [[1, 2, 3]], steps_left, lambda _r, _s: [0, 5, 7], torch.Generator().manual_seed(0),
                 on_token=lambda _r, s: seen.append(s[-1]))
    assert len(out[0]) == 50 and out[0][:3] == [1, 2, 3]  # ran past the 16-token window
    assert not {0, 5, 7} & set(out[0][3:])
    assert seen == out[0][3:]
    again = sample(model, [[1, 2, 3]], steps_left, lambda _r, _s: [0, 5, 7], torch.Generator().manual_seed(0))
    assert again == out
    other = sample(model, [[1, 2, 3]], steps_left, lambda _r, _s: [0, 5, 7], torch.Generator().manual_seed(1))
    assert other != out


def test_a_batch_samples_each_row_until_it_is_done():
    model = small_model()
    out = sample(model, [[1, 2], [3, 4]], lambda row, seq: len(seq) < (10 if row == 0 else 20),
                 lambda _r, _s: [], torch.Generator().manual_seed(0))
    assert [len(s) for s in out] == [10, 20]
    out = sample(model, [[1], [3, 4, 5]], lambda row, seq: len(seq) < 8, lambda _r, _s: [],
                 torch.Generator().manual_seed(0))  # unequal prompts: one after the other
    assert [s[:len(p)] for s, p in zip(out, [[1], [3, 4, 5]])] == [[1], [3, 4, 5]]
    assert [len(s) for s in out] == [8, 8]


def test_a_row_with_its_own_generator_does_not_depend_on_its_neighbours():
    """generate-midi's batches: a piece's tokens are the same whichever pieces share its
    (fixed-size) batch — the network computes each row alike, each row draws alone."""
    model = small_model(context=16)  # past the window too

    def gens(*seeds):
        return [torch.Generator().manual_seed(s) for s in seeds]

    def steps(row, seq):
        return len(seq) < 40

    mixed = sample(model, [[1, 2], [3, 4], [5, 6], [7, 8]], steps, lambda _r, _s: [9], gens(11, 12, 13, 14))
    alone = sample(model, [[5, 6]] * 4, steps, lambda _r, _s: [9], gens(13, 1, 2, 3))
    assert alone[0] == mixed[2]
    other = sample(model, [[5, 6]] * 4, steps, lambda _r, _s: [9], gens(14, 1, 2, 3))
    assert other[0] != mixed[2]


def test_a_rows_step_gives_the_logits_of_a_full_pass(monkeypatch):
    """start_row + step (rows at their own positions, padding beside them) against one
    full pass: to float32 precision with float32 keys, to bfloat16's with the shipped
    bfloat16 keys and values."""
    model = small_model(context=64)
    ids = torch.randint(0, 40, (2, 30), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids)
    for dtype, tolerance in ((torch.float32, 1e-5), (torch.bfloat16, 2e-2)):
        monkeypatch.setattr(midi_lm, "ROW_DTYPE", dtype)
        with torch.no_grad():
            cache = model.new_rows(5)
            assert cache.layers[0].keys.dtype == dtype
            first = [model.start_row(cache, 1, ids[0, :10].tolist()), model.start_row(cache, 3, ids[1, :4].tolist())]
            assert cache.lengths == [0, 10, 0, 4, 0]
            for i, out in enumerate(first):
                assert torch.allclose(out, full[i, (9, 3)[i]], atol=tolerance)
            for t in range(10, 30):  # row 1 steps from position 10, row 3 from 4: one step each at a time
                tokens = [7, int(ids[0, t]), 7, int(ids[1, t - 6]), 7]
                out = model.step(cache, tokens, [1, 3])
                assert torch.allclose(out[1], full[0, t], atol=tolerance)
                assert torch.allclose(out[3], full[1, t - 6], atol=tolerance)
            assert cache.lengths == [0, 30, 0, 24, 0]


class FixedLogits(torch.nn.Module):
    """The sampler's row protocol with fixed random logits for every history, and a log
    of which rows were (re)started at which step."""

    def __init__(self, context: int = 1024) -> None:
        super().__init__()
        self.cfg = LMConfig(vocab=30, context=context)
        self.logits = torch.randn(30, generator=torch.Generator().manual_seed(9)) * 2
        self.starts: list[tuple[int, int, list[int]]] = []
        self.steps = 0

    def new_rows(self, rows):
        return SimpleNamespace(lengths=[0] * rows)

    def start_row(self, cache, row, window):
        self.starts.append((self.steps, row, list(window)))
        cache.lengths[row] = len(window)
        return self.logits.clone()

    def step(self, cache, tokens, live):
        self.steps += 1
        for r in live:
            cache.lengths[r] += 1
        return self.logits.expand(len(tokens), -1).clone()


def test_each_row_draws_as_multinomial_would_from_its_own_generator():
    net = FixedLogits()
    requests = [Request(i, [1], torch.Generator().manual_seed(40 + i), lambda s: len(s) < 25, lambda s: [3, 4],
                        max_tokens=100) for i in range(3)]
    got = {r.key: seq for r, seq in stream(net, requests, 4, temperature=0.8, top_p=0.9)}
    for i in range(3):
        g = torch.Generator().manual_seed(40 + i)
        logits = net.logits.clone()[None]
        logits[0, [3, 4]] = -float("inf")
        probs = filter_logits(logits, 0.8, None, 0.9).softmax(-1)[0]
        assert got[i] == [1] + [int(torch.multinomial(probs, 1, generator=g)) for _ in range(24)]
    assert len({tuple(s) for s in got.values()}) == 3


def test_a_finished_row_takes_the_next_request_at_once_and_windows_slide():
    net = FixedLogits(context=16)
    lengths = {"a": 5, "b": 12, "c": 3, "d": 30, "e": 0}
    requests = [Request(k, [9, 9], torch.Generator().manual_seed(1), lambda s, n=n: len(s) < 2 + n)
                for k, n in lengths.items()]
    done = [(r.key, seq) for r, seq in stream(net, requests, 2)]
    # "e" wants nothing: handed back unsampled when its turn to take a row comes (b's row)
    assert [(k, len(seq)) for k, seq in done] == [("a", 7), ("c", 5), ("b", 14), ("e", 2), ("d", 32)]
    # a and b start; c takes a's row as a finishes (after its 5th token, before the 5th
    # step), d takes it after c; d's window fills 16 positions twice and slides back to
    # its last 8 tokens
    d = done[-1][1]
    assert net.starts == [(0, 0, [9, 9]), (0, 1, [9, 9]), (4, 0, [9, 9]), (7, 0, [9, 9]),
                          (22, 0, d[9:17]), (30, 0, d[18:26])]
    requests = [Request("x", [1], torch.Generator(), lambda s: True, max_tokens=4)]
    assert [len(seq) for _, seq in stream(FixedLogits(), requests, 3)] == [5]  # max_tokens stops it


def test_a_request_is_the_same_whatever_shares_its_rows():
    """generate-midi's promise, on the real network: a request's tokens depend on the
    row count only — not on which requests run beside it, in which row, nor on what a
    row held before it (refills), windows sliding included."""
    model = small_model(context=24)

    def requests(keys):
        return [Request(k, [1 + k % 5, 2], torch.Generator().manual_seed(100 + k),
                        lambda s, n=10 + 7 * k: len(s) < n, lambda s: [0]) for k in keys]

    def run(keys, rows=4):
        return {r.key: seq for r, seq in stream(model, requests(keys), rows, top_p=0.9)}

    together = run(range(9))  # nine requests of 10 … 66 tokens in four rows: rows are refilled
    assert [len(together[k]) for k in range(9)] == [10 + 7 * k for k in range(9)]
    for k in (0, 4, 8):
        assert run([k])[k] == together[k]  # alone (three padding rows)
    assert run([8, 7, 6, 5, 4, 3, 2, 1, 0]) == together  # other rows, other neighbours
    assert len({tuple(together[k][2:12]) for k in range(1, 9)}) == 8


def test_windows_and_transposition():
    stream = lm_training.build_stream([[10, 11, 12], [13, 14]], bos=1, eos=2, context=4)
    assert stream.tokens.tolist() == [1, 10, 11, 12, 2, 1, 13, 14, 2]
    assert stream.starts == [0, 4]  # windows of 5 tokens fit at 0 and 4
    for n in range(18):  # streams of 2 … 19 tokens
        for context in (2, 4, 5):
            built = lm_training.build_stream([[7] * n], 1, 2, context)
            fits = [s for s in range(0, len(built.tokens), context) if s + context + 1 <= len(built.tokens)]
            assert built.starts == fits, (n, context)  # every whole window, no cut-off one
    assert lm_training.build_stream([[7, 7, 7]], 1, 2, 4).starts == [0]  # exactly context + 1 tokens
    assert lm_training.build_stream([[7, 7]], 1, 2, 4).starts == []
    window = np.array([3, 20, 25, 4, 30])  # pitch ids 20..31 (12 pitches) hold 20, 25 and 30
    rng = np.random.default_rng(0)
    shifts = set()
    for _ in range(200):
        out = lm_training.transpose_window(window, 20, 12, rng, 6)
        shift = int(out[1] - 20)
        assert out.tolist() == [3, 20 + shift, 25 + shift, 4, 30 + shift]
        shifts.add(shift)
    assert shifts == {0, 1}  # only shifts keeping 20..30 inside 20..31
    assert lm_training.transpose_window(window, 20, 12, rng, 0) is window

    def shifts_of(window, max_shift):
        return {int(lm_training.transpose_window(np.array(window), 20, 12, rng, max_shift)[0]) - window[0]
                for _ in range(300)}

    assert shifts_of([25, 28], 6) == set(range(-5, 4))  # down to 20, up to 31
    assert shifts_of([20, 30], 1) == {0, 1}  # ± 1
    assert shifts_of([20, 31], 6) == {0}  # the whole range: nothing to shift
    beyond = lm_training.transpose_window(np.array([25, 32, 19]), 20, 12, np.random.default_rng(3), 6)
    assert beyond[1:].tolist() == [32, 19] and beyond[0] != 25  # ids just outside 20..31 are not pitches


def test_split_and_schedule():
    files = [f"{n:03d}.mid" for n in range(1, 910)]
    train, valid = lm_training.split_songs(files, 0.055)
    assert (train[-1], valid[0], valid[-1], len(valid)) == ("859.mid", "860.mid", "909.mid", 50)
    assert lm_training.split_songs(["a", "b"], 0.01) == (["a"], ["b"])
    assert lm_training.split_songs(["a", "b"], 0.99) == (["a"], ["b"])  # never all of them
    assert lm_training.split_songs(["a", "b", "c"], 0.01) == (["a", "b"], ["c"])  # at least one
    with pytest.raises(UsageError) as err:
        lm_training.split_songs(["a.mid"], 0.5)
    assert (err.value.message, err.value.hint) == ("generate-midi training needs at least 2 MIDI files, found 1",
                                                   "point --data at a folder of MIDI files (searched recursively)")
    assert [lm_training.lr_scale(s, 100, 10, 0.2) for s in (0, 4, 9, 10, 79, 80, 90, 99)] == \
        [0.1, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.05]
    assert lm_training.lr_scale(50, 100, 0, 0.0) == 1.0
    assert [lm_training.lr_scale(0, 10, w, 0.0) for w in (0, 1, 2)] == [1.0, 1.0, 0.5]
    # past the last step: 0 after a cool-down (even of one step), 1 without one
    assert lm_training.lr_scale(10, 10, 0, 0.1) == 0.0 and lm_training.lr_scale(9, 10, 0, 0.1) == 1.0
    assert lm_training.lr_scale(10, 10, 0, 0.0) == 1.0


def test_window_nll_scores_each_token_once():
    model = small_model(context=8)
    tokens = np.arange(1, 21) % 40
    nll, count = lm_training.window_nll(model, tokens, 8, pad=0, batch=2)
    assert count == 19
    expected = 0.0
    with torch.no_grad():
        for start in (0, 8, 16):  # windows of 9 tokens overlapping by one: each target counted once
            window = torch.as_tensor(tokens[start:start + 9])
            logp = torch.log_softmax(model(window[None]), -1)[0]
            expected -= sum(float(logp[i, window[i + 1]]) for i in range(len(window) - 1))
    assert nll == pytest.approx(expected, rel=1e-5)


def test_find_midi_searches_below_and_skips_hidden_files(tmp_path):
    for rel in ("b/1.mid", ".hidden/2.mid", "a/.x.mid", "c/3.MIDI", "d/notes.txt", "a/0.midi"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [str(p.relative_to(tmp_path)) for p in lm_training.find_midi(tmp_path)]
    assert found == ["a/0.midi", "b/1.mid", "c/3.MIDI"]
    assert lm_training.find_midi(tmp_path / "b/1.mid") == [tmp_path / "b/1.mid"]
