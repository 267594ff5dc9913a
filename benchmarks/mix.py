"""mirctl mix on four 3-minute stereo stems: realtime factor and peak memory.

    python benchmarks/mix.py [--runs 5] [--seconds 180]

The stems are the real MUSDB18 stems of ../shared (bass, drums, other, vocals of "The
Easton Ellises - Falcon 69") looped to ``--seconds``, written as 16-bit WAV like the
files `mirctl separate` writes; without ../shared, synthetic stems (tests/mix).
Prints JSON lines:

- ``mix``: the whole ``mirctl mix FOLDER`` command (default preset: four stem chains,
  reverb, glue, loudness search, true-peak limiter, the JSON report's measurements) and
  the in-process mix of the already-read stems, as realtime factors (seconds of mix per
  second of wall time), with peak RSS; also ``--preset flat`` (reading, summing and
  writing alone) for scale;
- ``floor``: what the default chain cannot do without, each step timed alone on one core
  (median of ``--runs``): reading the stems, each stem measured before and after its
  chain (libebur128's integrated loudness and range, the true peak) and the chain itself,
  the reverb, the glue compressor, one pass of the true-peak limiter and one measurement of
  the master, writing it. Their sum over the cores is the fastest any implementation of
  this chain with these libraries could run here (interpreter start-up left out), and
  ``ceiling_realtime_x`` the highest realtime factor it could reach;
- ``matchering``: the same mixture through matchering against the same reference, when
  matchering is installed (it is not a dependency: `pip install matchering`).

Every figure is the median of ``--runs`` runs, with the CPU model and the load average.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import REPO, compile_sources, emit, mirctl_cmd, run_measured
from render import conditions

SHARED = REPO.parent / "shared" / "data" / "musdb18_7s" / "wav" / "The Easton Ellises - Falcon 69"
GOALS = {"realtime_x": 40.0}
STEMS = ("bass", "drums", "other", "vocals")


def make_stems(folder: Path, seconds: float) -> str:
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    if SHARED.is_dir():
        source = "musdb18_7s Falcon 69 stems, looped"
        for name in STEMS:
            wav, sr = sf.read(str(SHARED / f"{name}.wav"), dtype="float32", always_2d=True)
            n = int(seconds * sr)
            sf.write(str(folder / f"{name}.wav"), np.resize(wav, (n, wav.shape[1])), sr, subtype="PCM_16")
    else:
        sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "mix")]
        from mixstems import make_stems as synthetic

        source = "synthetic stems (tests/mix/mixstems.py)"
        for name, wav in synthetic(seconds=seconds).items():
            sf.write(str(folder / f"{name}.wav"), np.clip(wav.T, -1, 1), 44100, subtype="PCM_16")
    return source


def in_process(folder: Path, runs: int) -> float:
    sys.path.insert(0, str(REPO / "src"))
    from mirctl.pipeline.inputs import expand_stem_sets
    from mirctl.pipeline.sources import read_stem_set
    from mirctl.tasks import mix

    item = expand_stem_sets([str(folder)], (".wav",))[0]
    source = read_stem_set(item)
    session = mix.TASK.open(mix.Params())
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(source)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(folder: Path, runs: int, seconds: float) -> dict:
    """The default chain's unavoidable steps, each timed alone (parts=1: one core)."""
    import os

    import soundfile as sf

    sys.path.insert(0, str(REPO / "src"))
    from mirctl.backends import pedalboard_backend as pbk
    from mirctl.loudness import loudness_range, true_peak
    from mirctl.mixpresets import load_preset, role_of

    preset = load_preset("default")

    def timed(fn, *args, **kw) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn(*args, **kw)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def measure_alone(wav: np.ndarray, sr: int) -> None:
        loudness_range(wav, sr)
        true_peak(wav, sr)

    steps: dict[str, float] = {}
    paths = sorted(folder.glob("*.wav"))
    steps["read"] = timed(lambda: [sf.read(str(p), dtype="float32", always_2d=True) for p in paths])
    stems = {p.stem: np.ascontiguousarray(sf.read(str(p), dtype="float32", always_2d=True)[0].T) for p in paths}
    sr = sf.info(str(paths[0])).samplerate
    processed = {}
    for name, wav in stems.items():
        settings = preset.for_role(role_of(name))
        steps[f"measure_{name}"] = timed(measure_alone, wav, sr)
        steps[f"chain_{name}"] = timed(pbk.process_stem, settings, wav, sr)
        processed[name] = pbk.process_stem(settings, wav, sr)
        steps[f"measure_{name}_after"] = timed(measure_alone, processed[name], sr)
    bus = sum(processed.values()) * np.float32(0.5)
    steps["reverb"] = timed(pbk.reverb, preset.master.reverb, bus, sr, parts=1)
    steps["glue"] = timed(pbk.glue, preset.master.glue, bus, sr, parts=1)
    steps["true_peak_limiter"] = timed(pbk.limit, bus * np.float32(4), sr, -1.15, true_peak=True, parts=1)
    master = pbk.limit(bus * np.float32(4), sr, -1.15, true_peak=True, parts=1)
    steps["measure_master"] = timed(measure_alone, master, sr)
    with tempfile.TemporaryDirectory() as tmp:
        steps["write"] = timed(lambda: sf.write(str(Path(tmp) / "m.wav"), master.T, sr, subtype="PCM_16"))
    cores = os.cpu_count() or 1
    total = sum(steps.values())
    return {"case": "floor", "seconds": seconds, "cores": cores, "steps_s": {k: round(v, 3) for k, v in steps.items()},
            "one_core_s": round(total, 2), "floor_s": round(total / cores, 2),
            "ceiling_realtime_x": round(seconds / (total / cores), 1), **conditions()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--cases", default="mix,floor,matchering", help="which measurements to run")
    args = ap.parse_args()
    cases = set(args.cases.split(","))
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "song"
        source = make_stems(folder, args.seconds)
        out = Path(tmp) / "out"
        if "mix" in cases:
            record = {"case": "mix", "stems": len(STEMS), "seconds": args.seconds, "source": source, "runs": args.runs,
                      **conditions()}
            for name, extra in (("default", []), ("flat", ["--preset", "flat"])):
                walls, rss = [], []
                for _ in range(args.runs):
                    wall, peak = run_measured(mirctl_cmd("mix", str(folder), "-o", str(out), "--overwrite", "-q", *extra))
                    walls.append(wall)
                    rss.append(peak)
                record[f"command_{name}_s"] = round(statistics.median(walls), 3)
                record[f"command_{name}_realtime_x"] = round(args.seconds / statistics.median(walls), 1)
                record[f"peak_rss_{name}_mb"] = max(rss)
            inner = in_process(folder, args.runs)
            record["in_process_s"] = round(inner, 3)
            record["in_process_realtime_x"] = round(args.seconds / inner, 1)
            record["goals"] = GOALS
            record["goal_met"] = record["command_default_realtime_x"] >= GOALS["realtime_x"]
            emit(record)
        if "floor" in cases:
            emit(floor(folder, args.runs, args.seconds))
        if "matchering" not in cases:
            return
        try:
            import matchering as mg
        except ImportError:
            emit({"case": "matchering", "skipped": "matchering is not installed (pip install matchering)"})
            return
        import soundfile as sf

        mixture = Path(tmp) / "mixture.wav"
        wav = sum(sf.read(str(folder / f"{n}.wav"), dtype="float32")[0] for n in STEMS)
        sf.write(str(mixture), np.clip(wav, -1, 1), 44100, subtype="PCM_16")
        walls = []
        for _ in range(args.runs):
            start = time.perf_counter()
            mg.process(target=str(mixture), reference=str(folder / "vocals.wav"),
                       results=[mg.pcm16(str(Path(tmp) / "matchering.wav"))])
            walls.append(time.perf_counter() - start)
        emit({"case": "matchering", "seconds": args.seconds, "in_process_s": round(statistics.median(walls), 3),
              "realtime_x": round(args.seconds / statistics.median(walls), 1)})


if __name__ == "__main__":
    main()
