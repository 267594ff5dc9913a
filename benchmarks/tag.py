"""mirctl tag: files per second on 30 s clips, and the musicnn original on the same clips.

    python benchmarks/tag.py [--runs 5] [--files 20] [--tf-python /tmp/tfenv/bin/python]

Clips: 30 s excerpts of real music from ../shared (MUSDB clips and vocadito takes,
looped), else synthetic tones. Prints JSON lines:

- ``batch``: ``mirctl tag DIR`` over ``--files`` clips with ``--jobs 1`` and ``--jobs 2``
  (files per second, median of ``--runs``);
- ``single``: one clip end to end, ``mirctl tag FILE`` against musicnn's own command
  ``python -m musicnn.tagger FILE --model MTT_musicnn --topN 5 --print`` run by ``--tf-python``
  (the converter's throwaway venv, see tools/convert_musicnn.py), with whether both give
  the same top-5 tags. Skipped without ``--tf-python``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import REPO, compile_sources, emit, mirctl_cmd, run_measured
from render import conditions

SHARED = REPO.parent / "shared" / "data"
SOURCES = ("musdb18_7s/wav/Music Delta - 80s Rock/mixture.wav",
           "musdb18_7s/wav/The Easton Ellises - Falcon 69/mixture.wav",
           "basic_pitch_vocadito/vocadito_10.wav", "basic_pitch_vocadito/vocadito_14.wav")


def make_clips(folder: Path, count: int, seconds: float = 30.0) -> str:
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    found = [SHARED / s for s in SOURCES if (SHARED / s).exists()]
    for i in range(count):
        if found:
            wav, sr = sf.read(str(found[i % len(found)]), dtype="float32", always_2d=True)
        else:
            sr = 22050
            t = np.arange(int(seconds * sr)) / sr
            wav = (0.2 * np.sin(2 * np.pi * (220 + 20 * i) * t))[:, None].astype(np.float32)
        sf.write(str(folder / f"clip{i:02d}.wav"), np.resize(wav, (int(seconds * sr), wav.shape[1])), sr,
                 subtype="PCM_16")
    return "real clips from ../shared, looped" if found else "synthetic tones"


def musicnn_top5(tf_python: str, path: Path) -> tuple[float, list[str]]:
    start = time.perf_counter()
    out = subprocess.run([tf_python, "-m", "musicnn.tagger", str(path), "--model", "MTT_musicnn", "--topN", "5",
                          "--print"],
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    lines = [x.strip(" -") for x in out.stdout.splitlines() if x.startswith(" - ")]
    return wall, lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--tf-python", default=None)
    args = ap.parse_args()
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(tmp) / "clips"
        source = make_clips(clips, args.files)
        record = {"case": "batch", "files": args.files, "seconds_each": 30, "source": source, "runs": args.runs,
                  **conditions()}
        for jobs in (1, 2):
            walls = [run_measured(mirctl_cmd("tag", str(clips), "-j", str(jobs), "-q"))[0] for _ in range(args.runs)]
            record[f"jobs{jobs}_s"] = round(statistics.median(walls), 3)
            record[f"jobs{jobs}_files_per_s"] = round(args.files / statistics.median(walls), 2)
        emit(record)
        one = clips / "clip00.wav"
        single = {"case": "single", **conditions()}
        walls = [run_measured(mirctl_cmd("tag", str(one), "-q"))[0] for _ in range(args.runs)]
        single["mirctl_s"] = round(statistics.median(walls), 3)
        res = subprocess.run(mirctl_cmd("tag", str(one), "--json", "-q"), capture_output=True, text=True, check=True)
        ours = [t for t, _ in json.loads(res.stdout.splitlines()[0])["result"]["top"]]
        if not args.tf_python:
            single["musicnn"] = "skipped: pass --tf-python (the converter's venv)"
            emit(single)
            return
        theirs_walls, theirs = [], []
        for _ in range(args.runs):
            wall, theirs = musicnn_top5(args.tf_python, one)
            theirs_walls.append(wall)
        single["musicnn_s"] = round(statistics.median(theirs_walls), 3)
        single["speedup"] = round(single["musicnn_s"] / single["mirctl_s"], 2)
        single["top5_mirctl"], single["top5_musicnn"] = ours, theirs
        single["same_top5"] = ours == theirs
        emit(single)


if __name__ == "__main__":
    main()
