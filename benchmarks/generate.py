"""mirctl generate-midi / train generate-midi: sampling speed with and without the
key/value cache, pieces per minute end to end, training throughput, tokenization speed.

    python benchmarks/generate.py [--runs 5] [--only train]

Prints JSON lines (medians of ``--runs``, with the CPU model and load average):

- ``sampling``: tokens per second of one piece sampled by the shipped model with the
  cache, in one row, against re-running the whole prefix for every token (the anchor:
  decoding without a cache), over the same first 400 tokens; and as many pieces as
  generate-midi's rows (``BATCH``, 20) side by side;
- ``generate-midi``: ``mirctl generate-midi -n 20 --bars 32 --seed R`` wall time
  (start-up, model load, sampling, writing; the issue's goal: under 60 s), run R using
  seed R, so the median is over five different sets of pieces; seconds per piece;
- ``train``: tokens per second of training steps (batch 4 × 1024, the shipped recipe),
  from the difference of a 12-step and a 4-step run so preparation cancels, in float32
  and with ``--bf16`` (fast only where the CPU has bf16 instructions: AVX512-BF16, AMX);
- ``tokenize``: POP909 songs prepared and tokenized per second (100 songs);
- ``shards``: 20 pieces × 8 bars by one process against two ``--shard`` processes of one
  thread each, side by side (and whether they write the same files).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, emit, mirctl_cmd, run_measured
from render import conditions

sys.path.insert(0, str(REPO / "src"))
POP909 = REPO.parent / "shared" / "data" / "pop909" / "POP909"


def sampling(runs: int) -> dict:
    import torch

    from mirctl import models
    from mirctl.backends.midi_lm import sample
    from mirctl.models import RunContext
    from mirctl.tasks import midi_generation as gen

    torch.set_num_threads(2)
    lm = models.load(models.get_card(gen.DEFAULT_MODEL), RunContext(device="cpu"))
    vocab = gen.Vocab(lm.tokenizer)
    start = gen.start_tokens(vocab, 100)
    n = 400
    cached, uncached, batched = [], [], []
    for r in range(runs):
        g = torch.Generator().manual_seed(r)
        t = time.perf_counter()
        sample(lm.net, [start], lambda _r, s: len(s) < len(start) + n, lambda _r, _s: [], g)
        cached.append(n / (time.perf_counter() - t))
        g = torch.Generator().manual_seed(r)
        t = time.perf_counter()
        sample(lm.net, [start] * gen.BATCH, lambda _r, s: len(s) < len(start) + n, lambda _r, _s: [], g)
        batched.append(gen.BATCH * n / (time.perf_counter() - t))
        seq = list(start)
        t = time.perf_counter()
        with torch.no_grad():
            for _ in range(n):
                logits = lm.net(torch.tensor([seq]))[:, -1]
                seq.append(int(torch.multinomial(logits.softmax(-1), 1, generator=g)))
        uncached.append(n / (time.perf_counter() - t))
    c, u, b = (statistics.median(x) for x in (cached, uncached, batched))
    return {"tokens": n, "cached_tokens_per_s": round(c, 1), "no_cache_tokens_per_s": round(u, 1),
            "speedup_vs_no_cache": round(c / u, 2), f"rows{gen.BATCH}_tokens_per_s": round(b, 1)}


def generate(runs: int) -> dict:
    walls, rss, out = [], 0, Path(tempfile.mkdtemp())
    for r in range(runs):
        wall, peak = run_measured(mirctl_cmd("generate-midi", "-n", "20", "--bars", "32", "--seed", str(r), "-o",
                                             str(out), "--overwrite", "-q"))
        walls.append(wall)
        rss = max(rss, peak)
    wall = statistics.median(walls)
    return {"pieces": 20, "bars": 32, "wall_s": round(wall, 2), "runs_s": [round(w, 1) for w in walls],
            "s_per_piece": round(wall / 20, 2), "goal_s": 60, "peak_rss_mb": rss}


def shards(runs: int) -> dict:
    """20 pieces × 8 bars by one process (its default threads) against two processes side
    by side, ``--shard 1/2`` and ``2/2`` with one thread each (wall time of the pair)."""
    import subprocess

    one, two, out = [], [], Path(tempfile.mkdtemp())
    base = ["generate-midi", "-n", "20", "--bars", "8", "--seed", "0", "--overwrite", "-q"]
    for _ in range(runs):
        one.append(run_measured(mirctl_cmd(*base, "-o", str(out / "one")))[0])
        t = time.perf_counter()
        procs = [subprocess.Popen(mirctl_cmd(*base, "-o", str(out / "two"), "--threads", "1", "--shard", f"{i}/2"),
                                  stdout=subprocess.DEVNULL) for i in (1, 2)]
        if any(p.wait() for p in procs):
            raise SystemExit("a shard failed")
        two.append(time.perf_counter() - t)
    same = all((out / "one" / f.name).read_bytes() == f.read_bytes() for f in (out / "two").glob("*.mid"))
    a, b = statistics.median(one), statistics.median(two)
    return {"pieces": 20, "bars": 8, "one_process_s": round(a, 1), "two_shards_s": round(b, 1),
            "speedup": round(a / b, 2), "same_files": same}


def train(runs: int) -> dict:
    rates: dict[str, list[float]] = {"float32": [], "bf16": []}
    rss = 0
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        for n in range(1, 41):  # 40 songs: enough windows for 12 steps of 4
            src = POP909 / f"{n:03d}"
            (data / src.name).mkdir()
            for name in (f"{n:03d}.mid", "beat_midi.txt"):
                (data / src.name / name).write_bytes((src / name).read_bytes())
        for _ in range(runs):
            for precision, flag in (("float32", "--no-bf16"), ("bf16", "--bf16")):
                walls = []
                for steps in (4, 12):
                    wall, peak = run_measured(mirctl_cmd("train", "generate-midi", "--data", str(data), "--out",
                                                         str(Path(tmp) / "ckpt"), "--overwrite", "--max-steps",
                                                         str(steps), "--valid-every", "1000", "--batch-size", "4",
                                                         "--valid-fraction", "0.05", flag, "-q"))
                    walls.append(wall)
                    rss = max(rss, peak)
                rates[precision].append(8 * 4 * 1024 / (walls[1] - walls[0]))
    # both runs prepare the data and validate the 2 held-out songs once, at their last step:
    # the difference holds 8 training steps only
    medians = {k: statistics.median(v) for k, v in rates.items()}
    return {"tokens_per_s": round(medians["float32"]), "bf16_tokens_per_s": round(medians["bf16"]),
            "bf16_speedup": round(medians["bf16"] / medians["float32"], 2), "peak_rss_mb": rss}


def tokenize(runs: int) -> dict:
    from mirctl.backends import remi

    tok = remi.make_tokenizer()
    files = [POP909 / f"{n:03d}" / f"{n:03d}.mid" for n in range(1, 101)]
    rates, tokens = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        tokens = sum(len(remi.encode(tok, remi.prepared_from_file(f))) for f in files)
        rates.append(len(files) / (time.perf_counter() - t))
    return {"songs": len(files), "songs_per_s": round(statistics.median(rates), 1), "tokens": tokens}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    benches = {"sampling": sampling, "generate-midi": generate, "tokenize": tokenize, "train": train,
               "shards": shards}
    ap.add_argument("--only", choices=list(benches), help="run one measurement")
    args = ap.parse_args()
    emit({"bench": "generate", **conditions()})
    for name, bench in benches.items():
        if args.only in (None, name):
            emit({"bench": name, **bench(args.runs)})
    emit({"bench": "done", **conditions()})


if __name__ == "__main__":
    main()
