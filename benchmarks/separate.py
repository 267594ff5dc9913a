"""mirctl separate vs the demucs CLI: same checkpoint, same inputs, measured in one run.

    python benchmarks/separate.py [--model tiny|full] [--long-minutes 10] [--skip-long]

The checkpoint is an untrained HTDemucs saved in demucs' own package format under
.bench/ (no weights can be downloaded here); ``tiny`` is the cut-down architecture
(channels=8, t_layers=1), ``full`` is htdemucs-sized (42M parameters). Prints JSON
lines: a 30 s stereo file, a 5-file batch (one mirctl run vs five demucs CLI runs),
and mirctl's peak RSS on a long file.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys

import numpy as np
import soundfile as sf

from _common import WORK, compile_sources, emit, machine, mirctl_cmd, run_measured

SR = 44100


def checkpoint(kind: str):
    import torch
    from demucs.htdemucs import HTDemucs
    from demucs.states import get_state

    repo = WORK / f"demucs-{kind}"
    found = sorted(repo.glob("bench*.th"))
    if found:
        return repo, found[0].stem.split("-")[0]
    repo.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    kwargs = dict(channels=8, t_layers=1, t_heads=2, dconv_comp=4) if kind == "tiny" else {}
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], **kwargs)
    args, kw = model._init_args_kwargs
    tmp = repo / "tmp.th"
    torch.save({"klass": HTDemucs, "args": args, "kwargs": kw, "state": get_state(model, None, half=False),
                "training_args": {}}, str(tmp))
    sig = f"bench{kind[0]}"
    tmp.rename(repo / f"{sig}-{hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]}.th")
    return repo, sig


def song(path, seconds: float, seed: int) -> None:
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 440 * t * (1 + 0.01 * np.sin(t)))
    x = np.stack([x, np.roll(x, 100)]) + 0.03 * rng.standard_normal((2, t.size))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.T.astype(np.float32), SR, subtype="PCM_16")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["tiny", "full"], default="tiny")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--long-minutes", type=float, default=10.0)
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--only", choices=["single", "batch", "long"], help="run one of the three measurements")
    args = ap.parse_args()
    compile_sources()
    repo, sig = checkpoint(args.model)
    files = [WORK / "audio" / f"song{i}.wav" for i in range(5)]
    for i, f in enumerate(files):
        song(f, 30.0, i)
    out = WORK / "out"
    demucs = [sys.executable, "-m", "demucs.separate", "--repo", str(repo), "-n", sig, "-o", str(out / "demucs")]
    ours = mirctl_cmd("separate", "--model-path", str(repo), "--model", sig, "-o", str(out / "mirctl"),
                      "--overwrite", "-q")
    info = {"model": args.model, "machine": machine()}

    if args.only in (None, "single"):
        demucs_runs, our_runs = [], []
        for _ in range(args.runs):  # interleaved, so drift in machine load hits both alike
            demucs_runs.append(run_measured(demucs + [str(files[0])]))
            our_runs.append(run_measured(ours + [str(files[0])]))
        t_demucs, rss_demucs = statistics.median(r[0] for r in demucs_runs), max(r[1] for r in demucs_runs)
        t_ours, rss_ours = statistics.median(r[0] for r in our_runs), max(r[1] for r in our_runs)
        emit({"benchmark": "separate_one_30s_file", "demucs_cli_s": round(t_demucs, 2), "mirctl_s": round(t_ours, 2),
              "ratio": round(t_ours / t_demucs, 3), "goal": "<= 1.0", "runs": args.runs, "stat": "median",
              "demucs_peak_rss_mb": rss_demucs, "mirctl_peak_rss_mb": rss_ours, **info})

    if args.only in (None, "batch"):
        t_five = sum(run_measured(demucs + [str(f)])[0] for f in files)
        t_batch, rss_batch = run_measured(ours + [str(f) for f in files])
        t_jobs, rss_jobs = run_measured(ours + ["--jobs", "2"] + [str(f) for f in files])
        emit({"benchmark": "separate_batch_5x30s", "five_demucs_cli_runs_s": round(t_five, 2),
              "mirctl_one_run_s": round(t_batch, 2), "ratio": round(t_batch / t_five, 3),
              "mirctl_jobs2_s": round(t_jobs, 2), "ratio_jobs2": round(t_jobs / t_five, 3), "goal": "<= 0.7",
              "mirctl_peak_rss_mb": rss_batch, "mirctl_jobs2_peak_rss_mb_per_process": rss_jobs, **info})

    if not args.skip_long and args.only in (None, "long"):
        long = WORK / "audio" / f"long{args.long_minutes:g}min.wav"
        song(long, args.long_minutes * 60, 99)
        t_long, rss_long = run_measured(ours + [str(long)])
        emit({"benchmark": f"separate_peak_rss_{args.long_minutes:g}min", "mirctl_s": round(t_long, 1),
              "mirctl_peak_rss_mb": rss_long, "goal_mb": 2048 if args.model == "full" else None, **info})


if __name__ == "__main__":
    main()
