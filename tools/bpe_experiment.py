"""Does miditok's BPE help mirctl's POP909 REMI model? Perplexity per *base* token at
matched training compute.

The issue behind ``generate-midi`` (#16) asks to try miditok's byte-pair encoding (a
vocabulary of 1–2k merged tokens that shortens sequences about 2×) and to keep it only if
the model's perplexity per base REMI token improves. This script trains the same network
on both tokenizations and scores both on the same held-out songs:

- data: the songs ``mirctl train generate-midi`` uses, prepared by
  :func:`mirctl.backends.remi.prepared_from_file`, split by song with its
  ``split_songs`` (POP909: 001–859 train, 860–909 test);
- arm ``base``: mirctl's REMI ids; arm ``bpe-N``: miditok's BPE with a vocabulary of N,
  learnt on the training songs only (split per bar, miditok's default);
- the same network (4 layers, d=256, 4 heads, context 1024), the same steps of 4 × 1024
  tokens, the same AdamW learning rate, warm-up and cool-down (the trainer's
  ``lr_scale``) and the same seed; windows drawn at random offsets of the training stream;
- score: the summed negative log-likelihood of the test stream (``BOS song EOS …``,
  the trainer's ``window_nll``) divided by the number of base tokens that stream
  predicts, so a BPE token that stands for three base tokens is charged for three.

    python tools/bpe_experiment.py --data ../shared/data/pop909/POP909 --steps 600 \\
        --vocab 1000 --json runs/bpe.json

One JSON object per arm on stdout (and all of them in ``--json``): tokens, shortening,
perplexity per token and per base token, seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from _common import cpu_model  # noqa: E402


def tokenize(files: list[Path], tokenizer) -> dict[Path, list[int]]:
    """Token ids of the readable files (the trainer skips unreadable ones too; ``main``
    then keeps the ones holding notes, as the trainer does)."""
    from mirctl.backends import remi
    from mirctl.errors import InputError

    out = {}
    for path in files:
        try:
            out[path] = remi.encode(tokenizer, remi.prepared_from_file(path))
        except InputError:  # the trainer skips unreadable files too
            continue
    return out


def bpe_tokenizer(vocab: int, train_files: list[Path]):
    """mirctl's REMI tokenizer with miditok BPE learnt on the prepared training songs."""
    from mirctl.backends import remi

    tokenizer = remi.make_tokenizer()

    def texts():  # what miditok's own training iterator yields, from prepared scores
        for path in train_files:
            seq = tokenizer.encode(remi.prepared_from_file(path), encode_ids=False)
            seq = seq[0] if isinstance(seq, list) else seq
            for bar in seq.split_per_bars():
                if len(bar):
                    yield tokenizer._ids_to_bytes(bar.ids, as_one_str=True)

    tokenizer.train(vocab_size=vocab, model="BPE", iterator=list(texts()))
    return tokenizer


def train_and_score(train: list[list[int]], test: list[list[int]], base_predicted: int, vocab: int,
                    specials: tuple[int, int, int], args) -> dict:
    import numpy as np
    import torch

    from mirctl.backends.midi_lm import LMConfig, MidiLM, sequence_loss
    from mirctl.tasks.midi_lm_training import _autocast, build_stream, lr_scale, window_nll

    bos, eos, pad = specials
    train_stream = build_stream(train, bos, eos, args.context)
    test_stream = build_stream(test, bos, eos, args.context)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = MidiLM(LMConfig(vocab=vocab, layers=args.layers, dim=args.dim, heads=args.heads,
                            context=args.context, dropout=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    last = len(train_stream.tokens) - (args.context + 1)
    t0 = time.perf_counter()
    model.train()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = args.lr * lr_scale(step, args.steps, args.warmup, args.cooldown)
        starts = rng.integers(0, last + 1, size=args.batch_size)
        batch = torch.from_numpy(np.stack([train_stream.tokens[s:s + args.context + 1] for s in starts]))
        with _autocast("cpu", args.bf16):
            loss = sequence_loss(model, batch, pad)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 100 == 0:
            print(f"  step {step + 1}: loss {float(loss.detach()):.3f}", flush=True)
    train_s = time.perf_counter() - t0
    model.eval()
    nll, count = window_nll(model, test_stream.tokens, args.context, pad, args.bf16)
    return {"train_tokens": int(len(train_stream.tokens)), "test_tokens": int(len(test_stream.tokens)),
            "test_predicted": count, "ppl_per_token": round(math.exp(nll / count), 3),
            "ppl_per_base_token": round(math.exp(nll / base_predicted), 3), "train_seconds": round(train_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--vocab", type=int, nargs="+", default=[1000], help="BPE vocabulary sizes to try")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--cooldown", type=float, default=0.2)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=1024)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write every arm's results here too")
    args = ap.parse_args()

    import torch

    from mirctl.backends import remi
    from mirctl.tasks.midi_lm_training import find_midi, split_songs

    torch.set_num_threads(args.threads)
    files = find_midi(args.data)
    train_files, test_files = split_songs(files, 0.055)
    base_tok = remi.make_tokenizer()
    pitches = remi.pitch_ids(base_tok)
    base = {p: ids for p, ids in tokenize(files, base_tok).items() if remi.holds_notes(ids, pitches)}
    train_base = [base[p] for p in train_files if p in base]
    test_base = [base[p] for p in test_files if p in base]
    base_predicted = sum(len(s) + 2 for s in test_base) - 1  # BOS song EOS …, the first BOS is not predicted
    conditions = {"cpu": cpu_model(), "loadavg": os.getloadavg(),
                  "torch": torch.__version__, "threads": args.threads, "bf16": args.bf16,
                  "steps": args.steps, "batch": [args.batch_size, args.context],
                  "train_songs": len(train_base), "test_songs": len(test_base)}
    results = [{"conditions": conditions}]
    print(json.dumps(conditions), flush=True)
    specials = (base_tok["BOS_None"], base_tok["EOS_None"], base_tok.pad_token_id)
    arms = [("base", None)] + [(f"bpe-{v}", v) for v in args.vocab]
    for name, vocab in arms:
        print(f"{name}:", flush=True)
        t0 = time.perf_counter()
        if vocab is None:
            tok, train, test = base_tok, train_base, test_base
        else:
            tok = bpe_tokenizer(vocab, [p for p in train_files if p in base])
            ids = tokenize(list(base), tok)  # the same songs as the base arm
            assert set(ids) == set(base)
            first = test_files[0] if test_files[0] in base else next(p for p in test_files if p in base)
            check = tok.encode(remi.prepared_from_file(first))[0]
            tok.decode_token_ids(check)  # BPE is lossless: the merged ids give the base ids back
            assert list(check.ids) == base[first], "BPE did not decode to the base tokens"
            train = [ids[p] for p in train_files if p in base]
            test = [ids[p] for p in test_files if p in base]
            assert (tok["BOS_None"], tok["EOS_None"], tok.pad_token_id) == specials
        prep_s = time.perf_counter() - t0
        row = {"arm": name, "vocab": tok.vocab_size if vocab is None else len(tok),
               "shortening": round(sum(map(len, train_base)) / sum(map(len, train)), 3),
               "prepare_seconds": round(prep_s, 1)}
        row.update(train_and_score(train, test, base_predicted, row["vocab"], specials, args))
        row["loadavg"] = os.getloadavg()
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
