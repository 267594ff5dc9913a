"""mirctl transcribe vs the basic-pitch CLI (tensorflow), measured in one run.

    python benchmarks/transcribe.py [--bp-venv .bench/bp-venv]

The anchor is basic-pitch 0.4.0 with its default tensorflow runtime, installed in a
separate virtual environment (``python -m venv .bench/bp-venv &&
.bench/bp-venv/bin/pip install basic-pitch==0.4.0 'setuptools<81'``), because mirctl's
own environment keeps tensorflow out. Prints JSON lines: one 30 s file end to end, a
5-file batch (one mirctl run vs one basic-pitch run over the same 5 files), the two
in-process paths (import + model load + predict), and whether the notes are identical: to
the CLI's (tensorflow) and, byte for byte, to basic-pitch's predict on its ONNX model.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from _common import REPO, WORK, compile_sources, emit, machine, mirctl_cmd, run_measured

SR = 44100


def piano_song(path: Path, seconds: float, seed: int) -> None:
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR))
    t_note = 0.0
    while t_note < seconds - 1:
        for pitch in rng.choice(np.arange(48, 84), size=rng.integers(1, 4), replace=False):
            dur = float(rng.uniform(0.2, 0.8))
            t = np.arange(int(dur * SR)) / SR
            hz = 440 * 2 ** ((pitch - 69) / 12)
            tone = sum((0.5 ** h) * np.sin(2 * np.pi * hz * (h + 1) * t) for h in range(5))
            i = int(t_note * SR)
            seg = 0.15 * tone * np.exp(-3 * t) * np.minimum(1, t / 0.003)
            out[i:i + seg.size] += seg[: out.size - i]
        t_note += float(rng.uniform(0.15, 0.5))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), out.astype(np.float32), SR, subtype="PCM_16")


IN_PROCESS_BP = """
import time, sys
t0 = time.perf_counter()
from basic_pitch.inference import predict, Model
from basic_pitch import ICASSP_2022_MODEL_PATH
m = Model(ICASSP_2022_MODEL_PATH)
t1 = time.perf_counter()
_, _, notes = predict(sys.argv[1], m)
t2 = time.perf_counter()
print({"import_and_load_s": t1 - t0, "predict_s": t2 - t1, "notes": len(notes)})
"""

IN_PROCESS_OURS = """
import time, sys
from pathlib import Path
t0 = time.perf_counter()
from mirctl.models import RunContext, get_card, load
from mirctl.pipeline.sources import read_source
from mirctl.tasks import transcription as tr
m = load(get_card("basic-pitch"), RunContext(device="cpu"))
t1 = time.perf_counter()
res = tr.transcribe(read_source("audio", Path(sys.argv[1])), m, tr.Params())
t2 = time.perf_counter()
print({"import_and_load_s": t1 - t0, "predict_s": t2 - t1, "notes": res.data["notes"]})
"""


ONNX_PREDICT = """
import sys
from pathlib import Path
from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
from basic_pitch.inference import Model, predict
model = Model(build_icassp_2022_model_path(FilenameSuffix.onnx))
for f in sys.argv[2:]:
    _, midi, _ = predict(f, model)
    midi.write(str(Path(sys.argv[1]) / (Path(f).stem + "_bp_onnx.mid")))
"""


def midi_notes(path: Path) -> list[tuple]:
    from mirctl.io.midi import import_pretty_midi

    pretty_midi = import_pretty_midi()  # quiet: pyfluidsynth prints when $CI is set

    pm = pretty_midi.PrettyMIDI(str(path))
    return sorted((round(n.start, 4), round(n.end, 4), n.pitch, n.velocity) for i in pm.instruments for n in i.notes)


def agreement(ours: Path, theirs: Path) -> dict:
    """How the two MIDI files' notes compare: same timing and pitch, and velocity drift."""
    a, b = midi_notes(ours), midi_notes(theirs)
    timing_a, timing_b = {n[:3]: n[3] for n in a}, {n[:3]: n[3] for n in b}
    shared = set(timing_a) & set(timing_b)
    return {"notes_mirctl": len(a), "notes_basic_pitch": len(b), "same_time_and_pitch": len(shared),
            "velocity_differences": sum(timing_a[k] != timing_b[k] for k in shared),
            "max_velocity_difference": max((abs(timing_a[k] - timing_b[k]) for k in shared), default=0)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bp-venv", type=Path, default=WORK / "bp-venv")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    compile_sources()
    bp_cli = args.bp_venv / "bin" / "basic-pitch"
    bp_py = args.bp_venv / "bin" / "python"
    if not bp_cli.exists():
        raise SystemExit(f"{bp_cli} not found: create the anchor environment first (see this file's docstring)")
    files = [WORK / "audio" / f"piano{i}.wav" for i in range(5)]
    for i, f in enumerate(files):
        piano_song(f, 30.0, i)
    info = {"machine": machine()}

    with tempfile.TemporaryDirectory() as d:  # untimed warm-up of both: file cache, first-run caches
        run_measured([str(bp_cli), d, str(files[0])])
        run_measured(mirctl_cmd("transcribe", str(files[0]), "-o", d, "-q"))
    ours_t, theirs_t = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as d:
            theirs_t.append(run_measured([str(bp_cli), d, str(files[0])])[0])
            ours_t.append(run_measured(mirctl_cmd("transcribe", str(files[0]), "-o", d, "-q"))[0])
            same = agreement(Path(d) / "piano0.mid", Path(d) / "piano0_basic_pitch.mid")
    t_bp, t_ours = statistics.median(theirs_t), statistics.median(ours_t)
    emit({"benchmark": "transcribe_one_30s_file", "basic_pitch_cli_s": round(t_bp, 2), "mirctl_s": round(t_ours, 2),
          "speedup": round(t_bp / t_ours, 1), "goal": ">= 10", "notes": same, "stat": "median",
          "runs": args.runs, **info})

    with tempfile.TemporaryDirectory() as d:
        t_bp5 = run_measured([str(bp_cli), d, *map(str, files)])[0]
        t_ours5 = run_measured(mirctl_cmd("transcribe", *map(str, files), "-o", d, "-q"))[0]
        same5 = [agreement(Path(d) / f"{f.stem}.mid", Path(d) / f"{f.stem}_basic_pitch.mid") for f in files]
        same5 = {k: sum(x[k] for x in same5) if k != "max_velocity_difference" else max(x[k] for x in same5)
                 for k in same5[0]}
        # the CLI runs the model in tensorflow, mirctl in onnxruntime: their float differences can
        # move a note across a threshold. basic-pitch's own predict on its ONNX model is the like
        # for like comparison; its MIDI files should equal mirctl's byte for byte.
        subprocess.run([sys.executable, "-c", ONNX_PREDICT, d, *map(str, files)], check=True, capture_output=True)
        identical = sum((Path(d) / f"{f.stem}.mid").read_bytes() == (Path(d) / f"{f.stem}_bp_onnx.mid").read_bytes()
                        for f in files)
    emit({"benchmark": "transcribe_batch_5x30s", "basic_pitch_cli_s": round(t_bp5, 2), "mirctl_s": round(t_ours5, 2),
          "speedup": round(t_bp5 / t_ours5, 1), "notes_vs_cli": same5,
          "midi_files_identical_to_basic_pitch_predict_onnx": f"{identical}/{len(files)}", **info})

    def in_process(py: str, code: str) -> dict:
        out = subprocess.run([py, "-c", code, str(files[0])], capture_output=True, text=True, check=True,
                             cwd=REPO)
        return ast.literal_eval(out.stdout.strip().splitlines()[-1])  # the dict our snippet printed

    theirs = in_process(str(bp_py), IN_PROCESS_BP)
    ours = in_process(sys.executable, IN_PROCESS_OURS)
    emit({"benchmark": "transcribe_in_process_30s", "basic_pitch_tf": theirs, "mirctl_onnx": ours,
          "predict_speedup": round(theirs["predict_s"] / ours["predict_s"], 1), **info})


if __name__ == "__main__":
    main()
