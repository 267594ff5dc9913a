"""tools/export_midi_lm.py's figures for the model card: the opening perplexity (each
song's first tokens from BOS alone) and the n-gram baselines."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

TOOL = Path(__file__).resolve().parents[2] / "tools" / "export_midi_lm.py"
spec = importlib.util.spec_from_file_location("export_midi_lm", TOOL)
export = importlib.util.module_from_spec(spec)
spec.loader.exec_module(export)


class Spy(torch.nn.Module):
    """Logits that put probability ½ on ``last token + 1`` and share the rest evenly;
    records the sequences it sees."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab, self.seen = vocab, []

    def forward(self, ids):
        self.seen.append(ids[0].tolist())
        logits = torch.zeros(1, ids.shape[1], self.vocab)
        for i, t in enumerate(ids[0].tolist()):
            logits[0, i, (t + 1) % self.vocab] = math.log(self.vocab - 1)  # e^x / (e^x + V - 1) = 1/2
        return logits


def test_opening_ppl_scores_each_songs_first_tokens_from_bos_alone():
    net = Spy(10)
    songs = [[2, 3, 4, 9, 9, 9], [5, 7]]  # BOS = 1
    got = export.opening_ppl(net, songs, bos=1, n=4)
    assert net.seen == [[1, 2, 3, 4], [1, 5]]  # BOS and the song's first n tokens, the last one only a target
    # song 1: 1→2, 2→3, 3→4 right (½ each), 4→9 wrong (½ / 9); song 2: 1→5 and 5→7 wrong
    nll = 3 * math.log(2) + 3 * math.log(18)
    assert got == pytest.approx(math.exp(nll / 6), rel=1e-5)


def test_ngram_baselines_order_a_patterned_stream():
    train = [1, 2, 3, 4] * 200 + [1, 3, 2, 4] * 200
    test = [[1, 2, 3, 4, 1, 3, 2, 4]]
    ppl = export.ngram_perplexities(train, test, vocab=5)
    assert ppl["unigram"] == pytest.approx(4.0, rel=0.02)  # four tokens, equally often
    assert ppl["bigram"] < ppl["unigram"] and ppl["trigram"] < ppl["bigram"]
    assert ppl["trigram"] < 1.8  # after two tokens the pattern decides the next one, mostly
