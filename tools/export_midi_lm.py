"""Ship a ``mirctl train generate-midi`` checkpoint as a packaged model: its weights as
float16 safetensors under ``src/mirctl/weights/<name>/`` and a model card
``configs/models/<name>.toml`` carrying the network and tokenizer settings, the data,
split, training command, steps and tokens seen, the validation (test-split) perplexity of
the float16 weights as shipped, and n-gram baselines on the same split:

    python tools/export_midi_lm.py --checkpoint runs/pop909-remi --name pop909-remi \\
        --data ../shared/data/pop909/POP909

N-gram baselines: unigram, bigram and trigram models of the training songs' tokens
(``BOS song EOS`` each), each order interpolated with the one below by Dirichlet
smoothing (P(w|h) = (c(h w) + a P_lower(w)) / (c(h) + a)); ``a`` is chosen per order
from a grid on the last 5 % of the training tokens, then the model is refit on all of
them and scored on the held-out songs, the tokens the Transformer's perplexity counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections import Counter
from pathlib import Path



def ngram_perplexities(train: list[int], test_songs: list[list[int]], vocab: int) -> dict[str, float]:
    """Perplexity per predicted token of order-1/2/3 interpolated models."""
    def counts(tokens: list[int], n: int) -> tuple[Counter, Counter]:
        grams = Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        hist = Counter(tuple(tokens[i:i + n - 1]) for i in range(len(tokens) - n + 1))
        return grams, hist

    def model(tables: list[tuple[Counter, Counter]], alphas: list[float]):
        total = sum(tables[0][0].values())

        def prob(history: tuple[int, ...], w: int) -> float:
            p = (tables[0][0][(w,)] + alphas[0] / vocab) / (total + alphas[0])  # unigram, smoothed to uniform
            for n in (2, 3)[:len(history)]:
                h = history[-(n - 1):]
                grams, hist = tables[n - 1]
                p = (grams[h + (w,)] + alphas[n - 1] * p) / (hist[h] + alphas[n - 1])
            return p
        return prob

    def score(prob, order: int, songs: list[list[int]]) -> float:
        nll, count = 0.0, 0
        for song in songs:
            for i in range(1, len(song)):
                h = tuple(song[max(0, i - order + 1):i])
                nll -= math.log(prob(h, song[i]))
                count += 1
        return math.exp(nll / count)

    cut = int(len(train) * 0.95)
    fit = [counts(train[:cut], n) for n in (1, 2, 3)]
    full = [counts(train, n) for n in (1, 2, 3)]
    dev = [train[cut:]]
    grid = [0.01, 0.1, 1.0, 10.0, 100.0]
    alphas = [1.0, 1.0, 1.0]
    out = {}
    for order in (1, 2, 3):
        best = min(grid, key=lambda a: score(model(fit, alphas[:order - 1] + [a] + alphas[order:]), order, dev))
        alphas[order - 1] = best
        out[["unigram", "bigram", "trigram"][order - 1]] = score(model(full, alphas), order, test_songs)
    return out


def opening_ppl(net, songs: list[list[int]], bos: int, n: int = 10) -> float:
    """Perplexity over each song's first ``n`` tokens, predicted from ``BOS`` alone (as
    generation starts): how well the model opens a piece."""
    import torch
    import torch.nn.functional as F

    nll, count = 0.0, 0
    with torch.no_grad():
        for song in songs:
            ids = torch.as_tensor([bos, *song[:n]])[None]
            nll += float(F.cross_entropy(net(ids[:, :-1])[0].float(), ids[0, 1:], reduction="sum"))
            count += ids.shape[1] - 1
    return math.exp(nll / count)


def nll_by_token_type(net, tokens, context: int, tokenizer) -> dict[str, dict[str, float]]:
    """Where the test loss comes from: per token type (Bar, Position, Pitch, Velocity,
    Duration, Tempo, BOS/EOS), its share of the test tokens, its share of the summed
    negative log-likelihood and its own perplexity; windows as in ``window_nll``."""
    import torch
    import torch.nn.functional as F

    names = {i: t.split("_")[0] for t, i in tokenizer.vocab.items()}
    sums: dict[str, list[float]] = {}
    with torch.no_grad():
        for s in range(0, len(tokens) - 1, context):
            ids = torch.as_tensor(tokens[s:s + context + 1])[None]
            nll = F.cross_entropy(net(ids[:, :-1])[0].float(), ids[0, 1:], reduction="none")
            for target, value in zip(ids[0, 1:].tolist(), nll.tolist()):
                entry = sums.setdefault(names[target], [0.0, 0])
                entry[0] += value
                entry[1] += 1
    total_nll = sum(v[0] for v in sums.values())
    total = sum(v[1] for v in sums.values())
    return {kind: {"token_share": round(n / total, 4), "nll_share": round(nll / total_nll, 4),
                   "ppl": round(math.exp(nll / n), 3)} for kind, (nll, n) in sorted(sums.items())}


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--name", default="pop909-remi")
    ap.add_argument("--data", type=Path, required=True, help="the training data (for the n-gram baselines)")
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()

    import torch
    from safetensors.torch import load_file, save_file

    from mirctl.backends import remi
    from mirctl.backends.midi_lm import LMConfig, MidiLM
    from mirctl.tasks.midi_lm_training import Params, build_stream, find_midi, split_songs, window_nll

    card = json.loads((args.checkpoint / "card.json").read_text(encoding="utf-8"))
    params = Params(**card["params"])
    weights = args.root / "src/mirctl/weights" / args.name / "model.safetensors"
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = load_file(str(args.checkpoint / "model.safetensors"))
    save_file({k: v.to(torch.float16).contiguous() for k, v in state.items()}, str(weights))
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()

    tokenizer = remi.make_tokenizer(card["tokenizer"])
    files = find_midi(args.data)
    train_files, test_files = split_songs(files, params.valid_fraction)
    songs = {p: remi.encode(tokenizer, remi.prepared_from_file(p)) for p in files}
    bos, eos = tokenizer["BOS_None"], tokenizer["EOS_None"]
    test = build_stream([songs[p] for p in test_files], bos, eos, params.context)
    train_tokens = build_stream([songs[p] for p in train_files], bos, eos, params.context).tokens.tolist()

    net = MidiLM(LMConfig(vocab=card["vocab"], layers=params.layers, dim=params.dim, heads=params.heads,
                          context=params.context)).eval()
    net.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
    with torch.no_grad():
        nll, count = window_nll(net, test.tokens, params.context, tokenizer.pad_token_id)
    shipped_ppl = math.exp(nll / count)
    first5 = build_stream([songs[p] for p in test_files[:5]], bos, eos, params.context)
    with torch.no_grad():
        nll5, count5 = window_nll(net, first5.tokens, params.context, tokenizer.pad_token_id)
    by_type = nll_by_token_type(net, test.tokens, params.context, tokenizer)
    opening = opening_ppl(net, [songs[p] for p in test_files], bos)
    test_songs = [[bos, *songs[p], eos] for p in test_files]
    baselines = ngram_perplexities(train_tokens, test_songs, card["vocab"])

    training = card["training"]
    steps = training["steps"]
    tokens_seen = steps * training["batch_size"] * params.context
    first, last = test_files[0].parent.name, test_files[-1].parent.name
    options = {
        "params": card["params"], "tokenizer": card["tokenizer"], "vocab": card["vocab"],
        "training": {"command": training["command"], "seed": training["seed"], "steps": steps,
                     "batch_size": training["batch_size"], "lr": training["lr"], "tokens_seen": tokens_seen,
                     "train_songs": len(train_files), "test_songs": len(test_files),
                     "train_tokens": len(train_tokens), "test_tokens": count, "device": training["device"]},
        "metrics": {"test_loss": round(nll / count, 4), "test_ppl": round(shipped_ppl, 3),
                    "first5_test_songs_ppl": round(math.exp(nll5 / count5), 4), "first5_test_tokens": count5,
                    "test_ppl_checkpoint": round(card["metrics"]["ppl"], 3),
                    "opening_ppl": round(opening, 3),  # each test song's first 10 tokens from BOS alone
                    **{f"{k}_ppl": round(v, 2) for k, v in baselines.items()}},
        "test_nll_by_token_type": by_type,
    }
    n_params = sum(v.numel() for v in state.values())
    tok_config = card["tokenizer"]["miditok_config"]
    description = (f"Pop piano REMI Transformer ({params.layers} layers, d={params.dim}, {params.heads} heads, rotary, "
                   f"context {params.context}, {n_params / 1e6:.1f} M parameters) trained by mirctl on POP909 songs "
                   f"{train_files[0].parent.name}-{train_files[-1].parent.name}; test perplexity {shipped_ppl:.3f} "
                   f"per token on songs {first}-{last} (trigram baseline {baselines['trigram']:.1f})")
    lines = [
        f'name = "{args.name}"',
        'task = "generate-midi"',
        'backend = "mirctl.backends.midi_lm_backend:TrainedMidiLM"',
        "description = " + json.dumps(description),
        'license = "MIT (weights trained by the mirctl developers on POP909, MIT, Music X Lab)"',
        'source = "trained with mirctl train generate-midi (see options.training.command); data: https://github.com/music-x-lab/POP909-Dataset"',
        'citation = "Wang et al., POP909: A Pop-song Dataset for Music Arrangement Generation, ISMIR 2020; Huang and Yang, Pop Music Transformer (REMI), ACM MM 2020"',
        "notes = " + json.dumps(f"Data preparation: MELODY, BRIDGE and PIANO merged into one piano stream; each song shifted so the first downbeat of its beat_midi.txt falls on a bar line; first tempo at tick 0; 4/4 throughout. REMI via miditok (16 positions per bar, {tok_config['num_velocities']} velocities, {tok_config['num_tempos']} tempos). Shipped as float16: the card’s test_ppl is of these weights, run in float32; test_ppl_checkpoint is the trainer’s last validation of the checkpoint it came from (under bfloat16 autocast when params.bf16 is true)."),
        "",
        "[options]",
    ]
    lines += [f"{k} = {toml_value(v)}" for k, v in options.items()]
    lines += ["", "[[files]]", 'name = "model.safetensors"', f'package = "mirctl/weights/{args.name}/model.safetensors"',
              f'sha256 = "{sha}"', ""]
    (args.root / "configs/models" / f"{args.name}.toml").write_text("\n".join(lines), encoding="utf-8")
    print(json.dumps(options["metrics"]), json.dumps(by_type), weights.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
